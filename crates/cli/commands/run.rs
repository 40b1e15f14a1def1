//! `worksample run`: fixtures in a temporary folder, the candidate's command under limits,
//! grading, one report.

use std::time::Duration;

use worksample_task::{CommandProblem, LoadedTask, pipeline, runner::EnvPolicy};

use crate::args::RunArgs;
use crate::exit::{CliError, Outcome};
use crate::progress::Bar;

pub(crate) fn run(t: &LoadedTask, a: RunArgs) -> Result<Outcome, CliError> {
    match worksample_task::check_command(&a.command) {
        Ok(()) => {}
        // A no-op (`-- true`) is how the harness's own overhead is timed: graded, with a word.
        Err(p @ CommandProblem::NoOutput) => {
            eprintln!("warning: the command after `--` {p}; it is graded on what it leaves there");
        }
        Err(
            p @ (CommandProblem::Empty
            | CommandProblem::NotAPlaceholder(_)
            | CommandProblem::ShellVariable(_)),
        ) => {
            return Err(CliError::usage(anyhow::anyhow!(
                "the command after `--` {p}"
            )));
        }
    }
    let seed = super::seed_source(&a.seed)?;
    super::prepare_reports(t, &a.report, seed.candidate())?;
    let hidden = seed.candidate().is_some();
    let limits = pipeline::limits(
        &t.data.spec.limits,
        a.timeout.map(Duration::from_secs),
        a.memory,
    );
    let mut env = EnvPolicy::default();
    env.allow.extend(a.pass_env.iter().cloned());
    let report = pipeline::run(
        t,
        pipeline::RunRequest {
            argv: a.command,
            profile: a.profile.as_deref(),
            seed,
            limits,
            env,
            threshold: a.report.fail_under,
            harness_version: super::HARNESS_VERSION.to_owned(),
            keep_output: a.keep_output,
            cwd: std::env::current_dir().ok(),
            figures: a.report.figures(hidden),
        },
        &Bar::default(),
    )?;
    super::deliver(report, &a.report, hidden)
}

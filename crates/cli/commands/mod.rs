//! One module per verb. Each resolves its settings, calls the task pipeline and prints; shared
//! resolution (registry, seeds, report audience and verdict) lives here.

pub(crate) mod check;
pub(crate) mod cohort;
pub(crate) mod demo;
pub(crate) mod generate;
pub(crate) mod grade;
pub(crate) mod kit;
pub(crate) mod list;
pub(crate) mod run;
pub(crate) mod shift_model;
pub(crate) mod show;
pub(crate) mod starter;
pub(crate) mod synth;

use worksample_rubric::{Report, Verdict};
use worksample_task::{CandidateId, LoadedTask, Registry, Secret, Seed, SeedSource};

use crate::args::{AudienceArg, Cli, Command, ReportArgs, SeedArgs};
use crate::exit::{CliError, Outcome};

/// The harness version written into manifests and reports.
pub(crate) const HARNESS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the verb.
pub(crate) fn dispatch(cli: Cli) -> Result<Outcome, CliError> {
    let tasks_dir = cli.tasks_dir.as_deref();
    match cli.command {
        Command::List => list::run(&registry(tasks_dir)?),
        Command::Show(a) => show::run(&task(tasks_dir, &a.task)?, &a),
        Command::Generate(a) => generate::run(&task(tasks_dir, &a.task)?, a),
        Command::Grade(a) => {
            usable_temp_dir()?;
            grade::run(&task(tasks_dir, &a.task)?, a)
        }
        Command::Run(a) => {
            usable_temp_dir()?;
            run::run(&task(tasks_dir, &a.task)?, a)
        }
        Command::Check(a) => {
            usable_temp_dir()?;
            check::run(&registry(tasks_dir)?, a)
        }
        Command::Kit(a) => kit::run(&registry(tasks_dir)?, a),
        Command::Demo(a) => {
            usable_temp_dir()?;
            demo::run(&registry(tasks_dir)?, a)
        }
        Command::Synth(a) => synth::run(a).map(|()| Outcome::Ok).map_err(CliError::usage),
        Command::Cohort(a) => cohort::run(&a),
        Command::ShiftModel(a) => shift_model::run(&a),
        Command::Starter(a) => starter::run(&task(tasks_dir, &a.task)?, &a),
    }
}

fn registry(tasks_dir: Option<&std::path::Path>) -> Result<Registry, CliError> {
    Ok(Registry::load(crate::tasks::all(), tasks_dir)?)
}

/// The one task a command is about, with only its data loaded.
fn task(tasks_dir: Option<&std::path::Path>, id: &str) -> Result<LoadedTask, CliError> {
    Ok(Registry::load_one(crate::tasks::all(), tasks_dir, id)?)
}

/// Checks that temporary folders can be made where `TMPDIR` says, before anything runs. A
/// `TMPDIR` naming a missing or read-only folder is the environment's to fix (exit 2, naming
/// the variable and the path), not a fault of the harness.
fn usable_temp_dir() -> Result<(), CliError> {
    let dir = crate::env::temp_dir();
    tempfile::Builder::new()
        .prefix("worksample-probe-")
        .tempdir_in(&dir)
        .map(drop)
        .map_err(|e| {
            CliError::usage(anyhow::anyhow!(
                "cannot make temporary folders in `{}` ({}): {e}; set {} to a writable folder",
                dir.display(),
                match crate::env::get(crate::env::TMPDIR) {
                    Some(_) => "from TMPDIR",
                    None => "the system's default; TMPDIR is unset",
                },
                crate::env::TMPDIR
            ))
        })
}

/// The assessor's secret, when the environment has one.
fn secret_from_env() -> Result<Option<Secret>, CliError> {
    match crate::env::get(crate::env::SECRET) {
        None => Ok(None),
        Some(v) => Ok(Some(Secret::from_env_value(Some(&v))?)),
    }
}

/// Resolves `--seed` / `--hidden --candidate`; without either, practice seed 1.
fn seed_source(a: &SeedArgs) -> Result<SeedSource, CliError> {
    match (&a.seed, a.hidden, &a.candidate) {
        (_, true, Some(candidate)) => {
            let candidate = CandidateId::new(candidate)?;
            let secret = secret_from_env()?.ok_or(worksample_task::TaskError::MissingSecret)?;
            Ok(SeedSource::Hidden { candidate, secret })
        }
        (Some(seed), _, _) => Ok(SeedSource::Public(Seed(*seed))),
        (None, _, _) => Ok(SeedSource::Public(Seed(1))),
    }
}

/// Checks, before anything runs, that `t`'s report for `candidate` (a hidden seed's, else
/// `None`) can be written where `args` says ([`crate::output::prepare`]).
fn prepare_reports(
    t: &LoadedTask,
    args: &ReportArgs,
    candidate: Option<&CandidateId>,
) -> Result<(), CliError> {
    crate::output::prepare(
        &args.formats(),
        args.out.as_deref(),
        crate::output::Owner {
            task: t.data.spec.id.as_str(),
            candidate: candidate.map(CandidateId::as_str),
        },
    )
}

/// Applies the audience (candidate reports hide hidden findings) and writes the report; the
/// outcome carries the verdict.
fn deliver(report: Report, args: &ReportArgs, hidden: bool) -> Result<Outcome, CliError> {
    let report = match args.audience(hidden) {
        AudienceArg::Assessor => report,
        AudienceArg::Candidate => report.for_candidate(),
    };
    let formats = args.formats();
    let removed = crate::output::write(&report, &formats, args.out.as_deref())?;
    // With --out, stdout is free: it says where the report went and what it says.
    if let Some(out) = &args.out {
        let written = match formats.as_slice() {
            [_] => out.display().to_string(),
            many => format!(
                "{} in {}",
                many.iter()
                    .map(|f| crate::output::file_name(*f))
                    .collect::<Vec<_>>()
                    .join(", "),
                out.display()
            ),
        };
        let removed = if removed.is_empty() {
            String::new()
        } else {
            let (these, verb) = if removed.len() == 1 {
                ("it", "disagrees")
            } else {
                ("they", "disagree")
            };
            format!(
                "\nremoved {} left there by an earlier run ({these} {verb} with this report)",
                removed.join(", ")
            )
        };
        crate::output::print_stdout(&format!(
            "{}\nwrote {written}{removed}\n",
            crate::output::total_line(&report)
        ))?;
    }
    Ok(verdict_outcome(report.verdict))
}

fn verdict_outcome(v: Verdict) -> Outcome {
    match v {
        Verdict::Unjudged | Verdict::Pass => Outcome::Ok,
        Verdict::Fail => Outcome::BelowThreshold,
    }
}

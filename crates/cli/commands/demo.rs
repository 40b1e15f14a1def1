//! `worksample demo`: the main job on built-in defaults. Every registered task is generated,
//! its starter solution is run through the real runner as a candidate would be, graded, and the
//! reports are written (JSON, Markdown, JUnit, text) with a score card on stdout.

use anyhow::{Context, anyhow};
use worksample_rubric::render::{self, Style};
use worksample_task::{Figures, Registry, Seed, SeedSource, pipeline, runner::EnvPolicy};

use crate::args::{DemoArgs, Format};
use crate::exit::{CliError, Outcome};
use crate::progress::Bar;

pub(crate) fn run(registry: &Registry, a: DemoArgs) -> Result<Outcome, CliError> {
    if registry.tasks().is_empty() {
        crate::output::print_stdout(
            "no tasks are registered in this build; nothing to demonstrate\n",
        )?;
        return Ok(Outcome::Ok);
    }
    let exe = std::env::current_exe()
        .context("cannot find the worksample binary to run the starter solutions")
        .map_err(CliError::internal)?;
    let exe = exe
        .to_str()
        .ok_or_else(|| CliError::internal(anyhow!("the binary's path is not UTF-8")))?
        .to_owned();
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("failed to create `{}`", a.out.display()))
        .map_err(CliError::usage)?;
    let color = crate::env::color_allowed() && std::io::IsTerminal::is_terminal(&std::io::stdout());
    for t in registry.tasks() {
        let id = t.task.id();
        let report = pipeline::run(
            t,
            pipeline::RunRequest {
                argv: vec![
                    exe.clone(),
                    "starter".into(),
                    id.into(),
                    "{input}".into(),
                    "{output}".into(),
                ],
                profile: None,
                seed: SeedSource::Public(Seed(a.seed)),
                limits: pipeline::limits(&t.data.spec.limits, None, None),
                env: EnvPolicy::default(),
                threshold: None,
                harness_version: super::HARNESS_VERSION.to_owned(),
                keep_output: None,
                cwd: None,
                // The demo writes JSON reports among others.
                figures: Figures::Draw,
            },
            &Bar::default(),
        )?;
        let dir = a.out.join(id);
        crate::output::write(
            &report,
            &[
                Format::Json,
                Format::Markdown,
                Format::Junit,
                Format::Terminal,
            ],
            Some(&dir),
        )?;
        let style = if color { Style::Color } else { Style::Plain };
        crate::output::print_stdout(&render::terminal(&report, style))?;
        crate::output::print_stdout(&format!("reports written to {}\n\n", dir.display()))?;
    }
    Ok(Outcome::Ok)
}

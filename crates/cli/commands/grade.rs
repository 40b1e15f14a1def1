//! `worksample grade`: grades an existing output folder against fixtures made by `generate`.
//! Only the fixtures' manifest is trusted: the key and the fixtures' digest are regenerated from
//! its seed, and the folder is graded only if it still has that digest.

use anyhow::anyhow;
use worksample_rubric::RunSummary;
use worksample_task::{LoadedTask, Manifest, pipeline};

use crate::args::GradeArgs;
use crate::exit::{CliError, Outcome};
use crate::progress::Bar;

pub(crate) fn run(t: &LoadedTask, a: GradeArgs) -> Result<Outcome, CliError> {
    if !a.submission.is_dir() {
        return Err(CliError::usage(anyhow!(
            "submission folder `{}` does not exist or is not a folder",
            a.submission.display()
        )));
    }
    // Grading the fixtures as their own output scores a copy of the input: a slip, refused.
    if let (Ok(f), Ok(s)) = (a.fixtures.canonicalize(), a.submission.canonicalize())
        && f == s
    {
        return Err(CliError::usage(anyhow!(
            "--fixtures and --submission are the same folder `{}`; --submission is the \
             candidate's output folder",
            a.submission.display()
        )));
    }
    // The seed's kind settles the report's default audience, and so which figures to draw
    // while regenerating; `regenerate` checks the rest of the manifest.
    let manifest = Manifest::read(&a.fixtures)?;
    super::prepare_reports(t, &a.report, manifest.seed.candidate())?;
    let progress = Bar::default();
    let secret = super::secret_from_env()?;
    let hidden = manifest.seed.candidate().is_some();
    let figures = a.report.figures(hidden);
    let regen = pipeline::regenerate(
        t,
        &a.fixtures,
        manifest,
        secret.as_ref(),
        super::HARNESS_VERSION,
        figures,
        &progress,
    )?;
    let mut report = pipeline::grade(
        t,
        &regen.generated,
        regen.fixtures.path(),
        &a.submission,
        pipeline::GradeInputs {
            run: RunSummary::not_run(),
            threshold: a.report.fail_under,
            harness_version: super::HARNESS_VERSION.to_owned(),
            figures,
        },
        &progress,
    )?;
    report.notes.extend(regen.note);
    super::deliver(report, &a.report, hidden)
}

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
    // Reports written among the candidate's files would replace a deliverable of the same name
    // (shift's own report.json) and be graded as output next time; among the fixtures they
    // would change the digest the manifest records.
    if let Some(out) = &a.report.out {
        for (flag, folder) in [("--submission", &a.submission), ("--fixtures", &a.fixtures)] {
            if lies_within(out, folder) {
                return Err(CliError::usage(anyhow!(
                    "--out `{}` is inside the {flag} folder `{}`; write reports elsewhere",
                    out.display(),
                    folder.display()
                )));
            }
        }
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

/// Whether `path` (which may not exist yet) is `folder` or lies inside it, links resolved as
/// far as `path` exists.
fn lies_within(path: &std::path::Path, folder: &std::path::Path) -> bool {
    let Ok(folder) = folder.canonicalize() else {
        return false;
    };
    let Ok(absolute) = std::path::absolute(path) else {
        return false;
    };
    // Component by component, as the kernel will walk it once the folders are made: what
    // exists is resolved (its links followed), `..` goes up from where the walk is, so
    // `missing/../submission/reports` is found inside the submission.
    let mut at = std::path::PathBuf::new();
    for component in absolute.components() {
        match component {
            std::path::Component::ParentDir => {
                at.pop();
            }
            std::path::Component::CurDir => {}
            std::path::Component::Normal(name) => {
                at.push(name);
                if let Ok(real) = at.canonicalize() {
                    at = real;
                }
            }
            std::path::Component::RootDir | std::path::Component::Prefix(_) => {
                at.push(component);
            }
        }
    }
    at.starts_with(&folder)
}

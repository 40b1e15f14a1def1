//! `worksample cohort`: reads many candidates' JSON reports of one task, checks they are
//! comparable (task, rubric, version, profile, seeds; see `worksample_rubric::cohort`) and
//! writes the ranking, per-criterion matrix and spread as HTML, Markdown or CSV.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use worksample_rubric::cohort::{Cohort, CohortEntry};
use worksample_rubric::render;

use crate::exit::{CliError, Outcome};

/// Largest report accepted: reports with figures carry PNG thumbnails, a few MiB at most.
const MAX_REPORT_BYTES: u64 = 256 << 20;

#[derive(Debug, Args)]
pub(crate) struct CohortArgs {
    /// The candidates' reports, as written by `--format json`, or the `report.json` files of
    /// `worksample check` (one report per task).
    #[arg(required = true, value_name = "REPORT.json")]
    pub(crate) reports: Vec<PathBuf>,
    /// The task to compare, when the files hold reports of several (`worksample check`'s do).
    #[arg(long, value_name = "ID")]
    pub(crate) task: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CohortFormat::Md)]
    pub(crate) format: CohortFormat,
    /// Write here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Compare reports of different task versions, profiles or seeds anyway (with a warning).
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CohortFormat {
    /// A self-contained HTML page.
    Html,
    /// GitHub-flavoured Markdown (also `markdown`, as `run` and `grade` name it).
    #[value(alias = "markdown")]
    Md,
    /// CSV (RFC 4180) for a spreadsheet.
    Csv,
}

pub(crate) fn run(a: &CohortArgs) -> Result<Outcome, CliError> {
    let mut entries = Vec::with_capacity(a.reports.len());
    for path in &a.reports {
        let text = read_capped(path).map_err(CliError::usage)?;
        let parsed = CohortEntry::parse_all(&path.display().to_string(), &text)
            .map_err(|e| CliError::usage(anyhow!(e)))?;
        entries.extend(parsed);
    }
    let entries = of_one_task(entries, a.task.as_deref()).map_err(CliError::usage)?;
    let cohort = Cohort::build(entries, a.force).map_err(|e| CliError::usage(anyhow!(e)))?;
    for w in &cohort.warnings {
        eprintln!("warning: {w}");
    }
    let text = match a.format {
        CohortFormat::Html => render::cohort_html(&cohort),
        CohortFormat::Md => render::cohort_markdown(&cohort),
        CohortFormat::Csv => render::cohort_csv(&cohort),
    };
    match &a.out {
        None => crate::output::print_stdout(&text)?,
        Some(path) => {
            crate::safe_fs::write_report(path, &text)
                .map_err(CliError::usage)
                .map_err(|e| crate::output::print_instead(e, &text))?;
            crate::output::print_stdout(&format!(
                "wrote the cohort of {} report(s) to {}\n",
                cohort.rows.len(),
                path.display()
            ))?;
        }
    }
    Ok(Outcome::Ok)
}

/// The reports of `task`, or all of them when they are of one task: a cohort compares one task,
/// and `worksample check` writes every task's report into one file.
fn of_one_task(entries: Vec<CohortEntry>, task: Option<&str>) -> anyhow::Result<Vec<CohortEntry>> {
    let ids: BTreeSet<&str> = entries.iter().map(|e| e.report.task.id.as_str()).collect();
    let list = || {
        ids.iter()
            .map(|id| format!("`{id}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match task {
        Some(task) if !ids.contains(task) => Err(anyhow!(
            "no report is of task `{task}`; the reports are of {}",
            list()
        )),
        Some(task) => Ok(entries
            .into_iter()
            .filter(|e| e.report.task.id == task)
            .collect()),
        None if ids.len() > 1 => Err(anyhow!(
            "the reports are of {}; a cohort compares one task: choose it with --task",
            list()
        )),
        None => Ok(entries),
    }
}

fn read_capped(path: &std::path::Path) -> anyhow::Result<String> {
    if path.is_dir() {
        // `reports/*/` instead of `reports/*/report.json`: say which file was meant.
        let hint = if path.join("report.json").is_file() {
            format!("; did you mean `{}`?", path.join("report.json").display())
        } else {
            "; pass the report.json files inside it".to_owned()
        };
        return Err(anyhow!(
            "`{}` is a folder, not a report{hint}",
            path.display()
        ));
    }
    worksample_task::textfile::read_text(path, MAX_REPORT_BYTES)
        .map_err(|p| anyhow!("cannot read report `{}`: {p}", path.display()))
}

//! Writes a report in the formats asked for: to stdout, to a file, or into a folder.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use worksample_rubric::{
    Report,
    render::{self, MarkdownOptions, Style},
};

use crate::args::Format;
use crate::exit::CliError;

/// The text of one format.
pub(crate) fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Terminal => {
            render::terminal(report, if color { Style::Color } else { Style::Plain })
        }
        Format::Json => render::json(report),
        Format::Markdown => render::markdown(report, &MarkdownOptions::default()),
        Format::Junit => render::junit(report),
        Format::Html => render::html(report),
    }
}

/// One line with the report's total and, when `--fail-under` was given, where it stands:
/// `series: 44.27% (44.27/100 points), below --fail-under 60%`.
pub(crate) fn total_line(report: &Report) -> String {
    let verdict = match (report.verdict, report.threshold) {
        (worksample_rubric::Verdict::Pass, Some(t)) => format!(", at or above --fail-under {t}%"),
        (worksample_rubric::Verdict::Fail, Some(t)) => format!(", below --fail-under {t}%"),
        (worksample_rubric::Verdict::Unjudged, _)
        | (worksample_rubric::Verdict::Pass | worksample_rubric::Verdict::Fail, None) => {
            String::new()
        }
    };
    format!(
        "{}: {:.2}% ({:.2}/{} points){verdict}",
        report.task.id, report.total.percent, report.total.points, report.total.max_points
    )
}

/// The conventional file name of a format inside a report folder.
pub(crate) fn file_name(format: Format) -> &'static str {
    match format {
        Format::Terminal => "report.txt",
        Format::Json => "report.json",
        Format::Markdown => "report.md",
        Format::Junit => "junit.xml",
        Format::Html => "report.html",
    }
}

/// Checks, before anything runs, that the report can be written where `write` will put it:
/// several formats need `--out`, a folder is made now, and each file is probed (left as it
/// was). A destination found unusable only after the candidate's run would lose the report.
pub(crate) fn prepare(formats: &[Format], out: Option<&Path>) -> Result<(), CliError> {
    match (formats, out) {
        ([_], None) => Ok(()),
        ([_], Some(path)) => crate::safe_fs::probe_report(path, true).map_err(CliError::usage),
        (many, Some(dir)) => {
            if dir.exists() && !dir.is_dir() {
                return Err(CliError::usage(anyhow::anyhow!(
                    "the report folder `{}` is a file; several --format values are written \
                     into a folder",
                    dir.display()
                )));
            }
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create report folder `{}`", dir.display()))
                .map_err(CliError::usage)?;
            for f in many {
                crate::safe_fs::probe_report(&dir.join(file_name(*f)), true)
                    .map_err(CliError::usage)?;
            }
            Ok(())
        }
        (_, None) => Err(several_without_out()),
    }
}

fn several_without_out() -> CliError {
    CliError::usage(anyhow::anyhow!(
        "several --format values need --out DIR to write them into"
    ))
}

/// Writes the report: one format without `out` goes to stdout; one format with `out` to that
/// file; several formats into the folder `out` (required then). A report that still cannot be
/// written (the disk filled up during the run, say) is printed on stdout instead of being lost.
pub(crate) fn write(
    report: &Report,
    formats: &[Format],
    out: Option<&Path>,
) -> Result<(), CliError> {
    let color = out.is_none()
        && crate::env::color_allowed()
        && std::io::IsTerminal::is_terminal(&std::io::stdout());
    match (formats, out) {
        ([one], None) => print_stdout(&render(report, *one, color)),
        ([one], Some(path)) => write_or_print(path, &render(report, *one, false)),
        (many, Some(dir)) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create report folder `{}`", dir.display()))
                .map_err(CliError::usage)
                .map_err(|e| print_instead(e, &render(report, many[0], false)))?;
            for f in many {
                write_or_print(&dir.join(file_name(*f)), &render(report, *f, false))?;
            }
            Ok(())
        }
        (_, None) => Err(several_without_out()),
    }
}

fn write_or_print(path: &Path, text: &str) -> Result<(), CliError> {
    crate::safe_fs::write_report(path, text, true)
        .map_err(CliError::usage)
        .map_err(|e| print_instead(e, text))
}

/// The report on stdout, and the error saying so: a graded run is not thrown away because its
/// file could not be written.
pub(crate) fn print_instead(e: CliError, text: &str) -> CliError {
    match print_stdout(text) {
        Ok(()) => CliError {
            code: e.code,
            error: anyhow::anyhow!("{:#}; the report is printed on stdout instead", e.error),
        },
        Err(_) => e,
    }
}

/// Prints to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn print_stdout(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::internal(
            anyhow::Error::new(e).context("failed to write to stdout"),
        )),
    }
}

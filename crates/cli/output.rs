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

/// Writes the report: one format without `out` goes to stdout; one format with `out` to that
/// file; several formats into the folder `out` (required then).
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
        ([one], Some(path)) => write_file(path, &render(report, *one, false)),
        (many, Some(dir)) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("failed to create report folder `{}`", dir.display()))
                .map_err(CliError::usage)?;
            for f in many {
                write_file(&dir.join(file_name(*f)), &render(report, *f, false))?;
            }
            Ok(())
        }
        (_, None) => Err(CliError::usage(anyhow::anyhow!(
            "several --format values need --out DIR to write them into"
        ))),
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text)
        .with_context(|| format!("failed to write report `{}`", path.display()))
        .map_err(CliError::usage)
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

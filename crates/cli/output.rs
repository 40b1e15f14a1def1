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
use crate::safe_fs::Folder;

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

/// Whose report a command is about to write: the task, and the candidate of a hidden seed
/// (`None` for a practice seed, which anyone may grade again into the same place).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owner<'a> {
    pub(crate) task: &'a str,
    pub(crate) candidate: Option<&'a str>,
}

/// The fields of an existing JSON report that say whose it is.
#[derive(serde::Deserialize)]
struct Whose {
    task: WhoseTask,
    candidate: Option<String>,
}

#[derive(serde::Deserialize)]
struct WhoseTask {
    id: String,
}

/// What an existing `report.json` holds: one report (`run`, `grade`) or `check`'s list of one
/// report per task.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Held {
    One(Whose),
    Many(Vec<Whose>),
}

/// How a report's owner reads in a refusal.
fn describe(task: &str, candidate: Option<&str>) -> String {
    match candidate {
        Some(c) => format!("candidate `{c}`'s report on `{task}`"),
        None => format!("a practice report on `{task}`"),
    }
}

/// How `check`'s reports read in a refusal.
fn describe_check(reports: &[Whose]) -> String {
    let tasks: Vec<String> = reports.iter().map(|w| format!("`{}`", w.task.id)).collect();
    let whose = match reports.iter().find_map(|w| w.candidate.as_deref()) {
        Some(c) => format!("candidate `{c}`'s"),
        None => "practice".to_owned(),
    };
    if tasks.is_empty() {
        return "`worksample check`'s reports on no task".to_owned();
    }
    format!(
        "`worksample check`'s {whose} reports on {}",
        tasks.join(", ")
    )
}

/// Refuses to write over another candidate's or another task's JSON report at `path`, or
/// `check`'s: an assessor who mistypes `--out` would otherwise replace one candidate's evidence
/// with another's and find out only when `cohort` counts one candidate twice. A file that is
/// not a JSON report is left to [`crate::safe_fs::probe_report`].
fn not_anothers(path: &Path, owner: Owner<'_>) -> Result<(), CliError> {
    let held = match held(path) {
        Some(Held::One(whose)) if whose.replaceable_by(owner) => return Ok(()),
        Some(Held::One(whose)) => describe(&whose.task.id, whose.candidate.as_deref()),
        Some(Held::Many(reports)) => describe_check(&reports),
        None => return Ok(()),
    };
    Err(CliError::usage(anyhow::anyhow!(
        "`{}` holds {held}, and this is {}; choose another --out, or remove it first",
        path.display(),
        describe(owner.task, owner.candidate)
    )))
}

/// `check`'s counterpart of [`not_anothers`]: its `report.json` may replace reports of the same
/// candidate and practice reports, on any tasks, since `worksample.toml` changes between
/// pushes, but never another candidate's (a practice check never replaces a candidate's).
pub(crate) fn not_another_candidates(path: &Path, candidate: Option<&str>) -> Result<(), CliError> {
    let another = |w: &Whose| w.candidate.is_some() && w.candidate.as_deref() != candidate;
    let (other, held) = match held(path) {
        Some(Held::One(w)) => (another(&w), describe(&w.task.id, w.candidate.as_deref())),
        Some(Held::Many(reports)) => (reports.iter().any(another), describe_check(&reports)),
        None => return Ok(()),
    };
    if !other {
        return Ok(());
    }
    let this = match candidate {
        Some(c) => format!("candidate `{c}`'s check"),
        None => "a practice check".to_owned(),
    };
    Err(CliError::usage(anyhow::anyhow!(
        "`{}` holds {held}, and this is {this}; choose another --out, or remove it first",
        path.display()
    )))
}

/// What JSON report `path` holds, when it is a regular file that reads as one. A link is never
/// read: one planted in place of a report would have root read its target (and print what it
/// names), and the writing refuses it anyway.
fn held(path: &Path) -> Option<Held> {
    // Reports are small; one that is not is not ours to judge (cut at the cap, it parses as
    // nothing).
    const LARGEST: usize = 64 << 20;
    let text = crate::safe_fs::read_regular(path, LARGEST).ok()?;
    serde_json::from_str(&text).ok()
}

impl Whose {
    /// Whether `owner`'s report may replace this one: the same task's, and the same
    /// candidate's or a practice report (nobody's evidence, which a hidden run may replace).
    fn replaceable_by(&self, owner: Owner<'_>) -> bool {
        self.task.id == owner.task
            && (self.candidate.is_none() || self.candidate.as_deref() == owner.candidate)
    }
}

/// Checks, before anything runs, that the report can be written where `write` will put it:
/// several formats need `--out`, a folder is made now, each file is probed (left as it was),
/// and no JSON report of another candidate or task is in the way (see [`not_anothers`]). A
/// destination found unusable only after the candidate's run would lose the report.
pub(crate) fn prepare(
    formats: &[Format],
    out: Option<&Path>,
    owner: Owner<'_>,
) -> Result<(), CliError> {
    match (formats, out) {
        ([_], None) => Ok(()),
        ([_], Some(path)) => {
            // `out/` is meant as a folder; written as a file it would be named `out`.
            if path.as_os_str().as_encoded_bytes().ends_with(b"/") {
                return Err(CliError::usage(anyhow::anyhow!(
                    "--out `{}` names a folder; with one --format it names the report file \
                     (give a file name, or several formats to write into the folder)",
                    path.display()
                )));
            }
            not_anothers(path, owner)?;
            crate::safe_fs::probe_report(path).map_err(CliError::usage)
        }
        (many, Some(dir)) => {
            if let Ok(meta) = std::fs::metadata(dir)
                && !meta.is_dir()
            {
                return Err(CliError::usage(anyhow::anyhow!(
                    "the report folder `{}` is {}; several --format values are written into a \
                     folder",
                    dir.display(),
                    kind_of(&meta)
                )));
            }
            not_anothers(&dir.join(file_name(Format::Json)), owner)?;
            let folder = make_folder(dir).map_err(CliError::usage)?;
            for f in many {
                folder.probe(file_name(*f)).map_err(CliError::usage)?;
            }
            Ok(())
        }
        (_, None) => Err(several_without_out()),
    }
}

/// What a path that is not a folder is, in words.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    let t = meta.file_type();
    if t.is_file() {
        "a file"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "something other than a folder"
    }
}

fn several_without_out() -> CliError {
    CliError::usage(anyhow::anyhow!(
        "several --format values need --out DIR to write them into"
    ))
}

/// Writes the report: one format without `out` goes to stdout; one format with `out` to that
/// file; several formats into the folder `out` (required then). When that folder held this
/// task's and candidate's `report.json` before, its report files of other formats, left by the
/// earlier run, are removed so it never holds two reports that disagree; their names are
/// returned. A report that still cannot be written (the disk filled up during the run, say) is
/// printed on stdout instead of being lost, and every other format is still written.
pub(crate) fn write(
    report: &Report,
    formats: &[Format],
    out: Option<&Path>,
) -> Result<Vec<&'static str>, CliError> {
    let color = out.is_none()
        && crate::env::color_allowed()
        && std::io::IsTerminal::is_terminal(&std::io::stdout());
    match (formats, out) {
        ([one], None) => print_stdout(&render(report, *one, color)).map(|()| Vec::new()),
        ([one], Some(path)) => {
            let text = render(report, *one, false);
            crate::safe_fs::write_report(path, &text)
                .map_err(|e| print_instead(CliError::usage(e), &text))
                .map(|()| Vec::new())
        }
        (many, Some(dir)) => {
            let folder = make_folder(dir)
                .map_err(CliError::usage)
                .map_err(|e| print_all_instead(e, report, many))?;
            // Only a folder that held this task's and candidate's report before is this run's
            // to tidy: another file named like a report (a candidate's own report.json in a
            // submission folder, another task's report.md) is never removed.
            let ours = matches!(held(&dir.join(file_name(Format::Json))), Some(Held::One(w)) if w.replaceable_by(Owner {
                task: &report.task.id,
                candidate: report.candidate.as_deref(),
            }));
            // Every format is attempted: one that cannot be written (the disk filled up) is
            // printed on stdout and the next is still written, so none is lost.
            let mut first_error = None;
            let mut failed = 0usize;
            for f in many {
                let text = render(report, *f, false);
                if let Err(e) = folder.write(file_name(*f), &text) {
                    failed += 1;
                    first_error.get_or_insert(print_instead(CliError::usage(e), &text));
                }
            }
            match first_error {
                None if ours => Ok(remove_stale(&folder, many)),
                None => Ok(Vec::new()),
                Some(e) if failed == 1 => Err(e),
                Some(e) => Err(CliError {
                    code: e.code,
                    error: anyhow::anyhow!(
                        "{:#}; {failed} of {} report files could not be written, each is printed on stdout instead",
                        e.error,
                        many.len()
                    ),
                }),
            }
        }
        (_, None) => Err(several_without_out()),
    }
}

/// Every format on stdout when the report folder itself cannot be made.
fn print_all_instead(e: CliError, report: &Report, formats: &[Format]) -> CliError {
    let text: String = formats
        .iter()
        .map(|f| render(report, *f, false))
        .collect::<Vec<_>>()
        .join("\n");
    print_instead(e, &text)
}

/// Removes the report files of the formats not in `written` from `folder`, returning their
/// names. Only regular files with the names [`write`] gives are touched; one that cannot be
/// removed stays (the new report is written either way).
fn remove_stale(folder: &Folder, written: &[Format]) -> Vec<&'static str> {
    <Format as clap::ValueEnum>::value_variants()
        .iter()
        .filter(|f| !written.contains(f))
        .copied()
        .map(file_name)
        .filter(|name| folder.remove_file(name))
        .collect()
}

/// Makes the report folder an assessor named (links in its path are theirs, and followed) and
/// opens it.
fn make_folder(dir: &Path) -> anyhow::Result<Folder> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("failed to create report folder `{}`", dir.display()))?;
    Folder::open(dir)
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
        // Where stdout goes is the environment's (a full disk, `> /dev/full`), not a fault of
        // the harness.
        Err(e) => Err(CliError::usage(
            anyhow::Error::new(e).context("failed to write to stdout"),
        )),
    }
}

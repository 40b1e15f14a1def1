//! `worksample check`: CI mode for a candidate's repository. Runs every task its
//! `worksample.toml` lists, writes `report.json`, `report.md` and `junit.xml` into one folder,
//! appends the Markdown to `$GITHUB_STEP_SUMMARY` (within GitHub's 1 MiB cap), prints at most
//! ten `::error`/`::warning` annotations for the worst findings, and exits by `--fail-under`.
//!
//! Practice seeds unless `--candidate` is given with `WORKSAMPLE_SECRET` in the environment:
//! hidden fixtures belong in an assessor-side job, never in a pull-request job that runs the
//! candidate's code with secrets (research/harness.md §2.2, the "pwn request" pattern).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow};
use worksample_rubric::{
    Report, Status,
    render::{self, MarkdownOptions, one_line},
};
use worksample_task::{
    CandidateId, CheckFile, CheckTask, Figures, LoadedTask, Registry, Seed, SeedSource, TaskError,
    pipeline,
    runner::{self, EnvPolicy, RunSpec, RunStatus},
};

use crate::args::{AudienceArg, CheckArgs};
use crate::exit::{CliError, Outcome};
use crate::progress::Bar;
use crate::safe_fs::Folder;

/// GitHub refuses step summaries over 1 MiB; stay clear of it with what earlier steps wrote.
const SUMMARY_BUDGET: usize = 900 * 1024;
/// GitHub shows at most 10 error and 10 warning annotations per step.
const MAX_ANNOTATIONS: usize = 10;

pub(crate) fn run(registry: &Registry, a: CheckArgs) -> Result<Outcome, CliError> {
    let manifest = a.manifest.clone();
    // The manifest is the candidate's: a link to a root-readable file would have the parse
    // error print that file's first line.
    let text = crate::safe_fs::read_regular(&manifest, worksample_task::MAX_CHECKFILE_BYTES)
        .map_err(|e| CliError::usage(with_manifest_hint(e, &manifest)))?;
    let file = CheckFile::parse(&text, &manifest.display().to_string())?;
    let repo = match manifest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let repo = repo
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", repo.display()))
        .map_err(CliError::usage)?;
    let hidden = match &a.candidate {
        Some(c) => Some((
            CandidateId::new(c)?,
            super::secret_from_env()?.ok_or(TaskError::MissingSecret)?,
        )),
        None => None,
    };
    // Every entry and every destination is checked before the first task runs: a typo in the
    // last entry or an unwritable --out found after the others ran would waste their runs and
    // lose their reports.
    let chooser = ProfileChooser {
        assessor: a.profile.as_deref(),
        hidden: hidden.is_some(),
    };
    let audience = a.audience();
    let planned = plan(registry, &file, &manifest, chooser)?;
    prepare_reports(&a.out, &repo, a.candidate.as_deref())?;
    let summary = crate::env::get(crate::env::GITHUB_STEP_SUMMARY);
    if let Some(path) = &summary {
        open_summary(Path::new(path))?;
    }

    let mut reports = Vec::with_capacity(file.tasks.len());
    for Planned {
        task: t,
        loaded,
        limits,
        profile,
    } in planned
    {
        let mut setup_note = None;
        if let Some(setup) = &t.setup {
            eprintln!("setup for `{}`: {}", one_line(&t.id), shown(setup));
            setup_note = run_setup(setup, &repo, limits.clone())?;
            // On stderr as well as in the report: the task still runs and scores, and a CI log
            // that says only "0.00 %" would hide why.
            if let Some(note) = &setup_note {
                eprintln!("setup for `{}` failed: {note}", one_line(&t.id));
            }
        }
        let seed = match &hidden {
            Some((candidate, secret)) => SeedSource::Hidden {
                candidate: candidate.clone(),
                secret: secret.clone(),
            },
            None => SeedSource::Public(Seed(t.seed.unwrap_or(1))),
        };
        eprintln!("checking `{}`: {}", one_line(&t.id), shown(&t.command));
        let mut report = pipeline::run(
            loaded,
            pipeline::RunRequest {
                argv: t.command.clone(),
                profile: profile.as_deref(),
                seed,
                limits,
                env: EnvPolicy::default(),
                threshold: a.fail_under,
                harness_version: super::HARNESS_VERSION.to_owned(),
                keep_output: None,
                cwd: Some(repo.clone()),
                // `report.json` carries them; a candidate's report shows only visible figures.
                figures: match audience {
                    AudienceArg::Assessor => Figures::Draw,
                    AudienceArg::Candidate => Figures::Visible,
                },
            },
            &Bar::default(),
        )?;
        if let Some(note) = setup_note {
            report.notes.insert(0, note);
        }
        if let Some(note) = chooser.note(t, &report.profile) {
            report.notes.insert(0, note);
        }
        reports.push(match audience {
            AudienceArg::Assessor => report,
            AudienceArg::Candidate => report.for_candidate(),
        });
    }

    write_reports(&reports, &a.out, &repo)?;
    let mut stdout = String::new();
    for line in annotations(&reports) {
        stdout.push_str(&line);
        stdout.push('\n');
    }
    for r in &reports {
        stdout.push_str(&crate::output::total_line(r));
        stdout.push('\n');
    }
    stdout.push_str(&format!("reports written to {}\n", a.out.display()));
    let below: Vec<String> = reports
        .iter()
        .filter(|r| matches!(r.verdict, worksample_rubric::Verdict::Fail))
        .map(|r| format!("{} ({:.2}%)", r.task.id, r.total.percent))
        .collect();
    if let (false, Some(t)) = (below.is_empty(), a.fail_under) {
        // The exit status alone would not say which task failed the rule (any task below).
        stdout.push_str(&format!(
            "below --fail-under {t}%: {}; exit 1\n",
            below.join(", ")
        ));
    }
    crate::output::print_stdout(&stdout)?;
    // After the results are printed: a summary that cannot be appended (a full disk) still
    // leaves the log its annotations and totals.
    if let Some(path) = summary {
        append_summary(Path::new(&path), &reports)?;
    }
    Ok(if !below.is_empty() {
        Outcome::BelowThreshold
    } else {
        Outcome::Ok
    })
}

/// Runs the candidate's setup command from the repository, under the task's limits. A failure
/// is the candidate's and becomes a note on the report, not a harness error.
fn run_setup(
    argv: &[String],
    repo: &Path,
    limits: runner::Limits,
) -> Result<Option<String>, CliError> {
    let scratch = tempfile::tempdir()
        .context("failed to create a temporary folder for the setup command")
        .map_err(CliError::internal)?;
    let input = scratch.path().join("input");
    std::fs::create_dir(&input)
        .context("failed to create a temporary folder for the setup command")
        .map_err(CliError::internal)?;
    let spec = RunSpec::new(argv.iter().cloned(), &input, scratch.path().join("output"))
        .with_cwd(repo)
        .with_limits(limits);
    // A stop request during setup is the same as during the command: 128 + the signal.
    let outcome = runner::run(&spec).map_err(TaskError::from)?;
    let failed = match &outcome.status {
        RunStatus::Completed { exit_code } => *exit_code != 0,
        RunStatus::TimedOut { .. }
        | RunStatus::Signaled { .. }
        | RunStatus::MemoryLimit { .. }
        | RunStatus::ProcessLimit { .. }
        | RunStatus::OutputLimit { .. }
        | RunStatus::FileSizeLimit
        | RunStatus::SpawnFailed { .. } => true,
    };
    if !failed {
        return Ok(None);
    }
    let s = worksample_task::summarize(&outcome);
    let tail: Vec<&str> = s
        .stderr_tail
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let tail = tail[tail.len().saturating_sub(SETUP_STDERR_LINES)..].join(" / ");
    // The detail quotes the candidate's program name (`program `x` not found`): one line, or a
    // newline in it would start a workflow command on stderr.
    let what = match &outcome.status {
        RunStatus::SpawnFailed { .. } => {
            format!("could not start: {}", one_line(&s.detail))
        }
        RunStatus::Completed { .. }
        | RunStatus::TimedOut { .. }
        | RunStatus::Signaled { .. }
        | RunStatus::MemoryLimit { .. }
        | RunStatus::ProcessLimit { .. }
        | RunStatus::OutputLimit { .. }
        | RunStatus::FileSizeLimit => one_line(&s.detail),
    };
    let tail = if tail.is_empty() {
        String::new()
    } else {
        format!("; stderr ends: {}", one_line(&tail))
    };
    // Setup runs in the command's sandbox: without network and with a private HOME (so no
    // rustup toolchain and no package cache), and under a root harness as an unprivileged user
    // that cannot write the repository (README, Reliability). A build fails there, and its last
    // line rarely says why.
    Ok(Some(format!(
        "the setup command `{}` {what} (setup runs sandboxed like the command: no \
         network where the kernel allows cutting it, a private HOME, and as root an \
         unprivileged user that cannot write the repository; build compiled solutions \
         before `check`){tail}",
        shown(argv),
    )))
}

/// Lines of a failed setup's stderr quoted in its note.
const SETUP_STDERR_LINES: usize = 3;

/// The report files `check` writes into `--out`.
const REPORT_FILES: [&str; 3] = ["report.json", "report.md", "junit.xml"];

/// The next step for the usual ways of pointing `check` at no task list: a folder (the
/// repository itself) or a missing file (run from elsewhere, or before `worksample kit`).
fn with_manifest_hint(e: anyhow::Error, manifest: &Path) -> anyhow::Error {
    // symlink_metadata: a link is refused as it is, whatever it points to.
    match std::fs::symlink_metadata(manifest) {
        Ok(m) if m.is_dir() => e.context(format!(
            "`{}` is a folder; did you mean `--manifest {}`?",
            manifest.display(),
            manifest.join("worksample.toml").display()
        )),
        Err(io) if io.kind() == std::io::ErrorKind::NotFound => e.context(format!(
            "no task list at `{}`: run `check` from the repository's root, or pass \
             `--manifest PATH` (`worksample kit` writes a worksample.toml)",
            manifest.display()
        )),
        Ok(_) | Err(_) => e,
    }
}

/// Who picks each task's fixture profile. The candidate's worksample.toml does for practice;
/// on hidden fixtures the assessor does (`--profile`, else the task's default), since a
/// repository that could ask for an easier profile would choose what it is graded on.
#[derive(Debug, Clone, Copy)]
struct ProfileChooser<'a> {
    /// `check --profile`.
    assessor: Option<&'a str>,
    /// `check --candidate`: hidden fixtures.
    hidden: bool,
}

impl ProfileChooser<'_> {
    /// The profile asked for `t` (`None`: the task's default).
    fn choose(self, t: &CheckTask) -> Option<String> {
        match (self.assessor, self.hidden) {
            (Some(p), _) => Some(p.to_owned()),
            (None, true) => None,
            (None, false) => t.profile.clone(),
        }
    }

    /// The report's note when the repository asked for a profile other than `used`.
    fn note(self, t: &CheckTask, used: &str) -> Option<String> {
        let asked = t.profile.as_deref().filter(|p| *p != used)?;
        let by = match (self.assessor, self.hidden) {
            (Some(_), true) => "the assessor's `--profile`",
            (Some(_), false) => "`check --profile`",
            (None, true) => "the task's default; on hidden fixtures the assessor chooses",
            // Practice with no override: the repository's own choice was used.
            (None, false) => return None,
        };
        Some(format!(
            "worksample.toml asks for profile `{}`; graded on `{used}` ({by})",
            one_line(asked)
        ))
    }
}

/// One checked entry of `worksample.toml`.
struct Planned<'r> {
    task: &'r CheckTask,
    loaded: &'r LoadedTask,
    limits: runner::Limits,
    /// The profile to generate (`None`: the task's default).
    profile: Option<String>,
}

/// Each entry of `worksample.toml` with its task, limits and profile, all checked: the task
/// exists, the profile is one of its profiles, and the limits are only tightened. Errors name
/// the file and the entry (`worksample.toml: task 2 (`deid`): …`), or `--profile` when that
/// named the profile.
fn plan<'r>(
    registry: &'r Registry,
    file: &'r CheckFile,
    manifest: &Path,
    chooser: ProfileChooser<'_>,
) -> Result<Vec<Planned<'r>>, CliError> {
    file.tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let entry = || {
                format!(
                    "{}: task {} (`{}`)",
                    manifest.display(),
                    i + 1,
                    one_line(&t.id)
                )
            };
            let loaded = registry
                .get(&t.id)
                .map_err(|e| CliError::usage(anyhow!("{}: {e}", entry())))?;
            let profile = chooser.choose(t);
            if loaded.data.profile(profile.as_deref()).is_err() {
                let known: Vec<&str> = loaded
                    .data
                    .spec
                    .profiles
                    .keys()
                    .map(String::as_str)
                    .collect();
                let from = if chooser.assessor.is_some() {
                    " (from --profile)"
                } else {
                    ""
                };
                return Err(CliError::usage(anyhow!(
                    "{}: no profile `{}`{from}; profiles: {}",
                    entry(),
                    one_line(profile.as_deref().unwrap_or_default()),
                    known.join(", ")
                )));
            }
            let spec = &loaded.data.spec.limits;
            if t.timeout_s.is_some_and(|s| s > spec.timeout_s)
                || t.memory_mb.is_some_and(|m| m > spec.memory_mb)
            {
                return Err(CliError::usage(anyhow!(
                    "{}: limits may only be tightened (the task allows timeout_s = {} and \
                     memory_mb = {})",
                    entry(),
                    spec.timeout_s,
                    spec.memory_mb
                )));
            }
            let limits = pipeline::limits(spec, t.timeout_s.map(Duration::from_secs), t.memory_mb);
            Ok(Planned {
                task: t,
                loaded,
                limits,
                profile,
            })
        })
        .collect()
}

/// Makes the report folder (refusing links in the repository), refuses to replace another
/// candidate's reports there, and probes each report file.
fn prepare_reports(dir: &Path, repo: &Path, candidate: Option<&str>) -> Result<(), CliError> {
    let folder = Folder::create_guarded(dir, repo).map_err(CliError::usage)?;
    crate::output::not_another_candidates(&dir.join(REPORT_FILES[0]), candidate)?;
    for name in REPORT_FILES {
        folder.probe(name).map_err(CliError::usage)?;
    }
    Ok(())
}

fn write_reports(reports: &[Report], dir: &Path, repo: &Path) -> Result<(), CliError> {
    let json = serde_json::to_string_pretty(reports)
        .context("failed to serialise the reports")
        .map_err(CliError::internal)?;
    let json = format!("{json}\n");
    // The folder is checked again, the run having come between the first check and these
    // writes, and held open while they are made.
    let folder = Folder::create_guarded(dir, repo)
        .map_err(CliError::usage)
        .map_err(|e| crate::output::print_instead(e, &json))?;
    let texts = [
        json.clone(),
        markdown(reports, usize::MAX),
        render::junit_many(reports),
    ];
    // Every file is attempted; the first failure prints the JSON (every report) on stdout, so a
    // full disk loses no task's report, and the error is returned once all were tried.
    let mut first_error = None;
    for (name, text) in REPORT_FILES.into_iter().zip(&texts) {
        if let Err(e) = folder.write(name, text) {
            let e = CliError::usage(e);
            first_error.get_or_insert_with(|| crate::output::print_instead(e, &json));
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// An argument vector as one line, each argument escaped. Candidate-controlled text (a command,
/// a task id) goes through [`one_line`]: printed raw on stderr, a newline in `worksample.toml`
/// would start a line GitHub reads as a workflow command (`::stop-commands::`, a forged
/// `::notice`).
fn shown(argv: &[String]) -> String {
    argv.iter()
        .map(|a| one_line(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Markdown of every report, together at most `budget` bytes.
fn markdown(reports: &[Report], budget: usize) -> String {
    let per = (budget / reports.len().max(1)).min(MarkdownOptions::default().max_bytes);
    let mut out = String::new();
    for r in reports {
        out.push_str(&render::markdown(r, &MarkdownOptions { max_bytes: per }));
        out.push('\n');
    }
    out
}

/// Opens the job summary for appending (creating it, as GitHub does), to learn before any
/// task runs that it can be written.
fn open_summary(path: &Path) -> Result<(), CliError> {
    summary_file(path)
        .map(drop)
        .with_context(|| format!("cannot append the job summary to `{}`", path.display()))
        .map_err(CliError::usage)
}

/// The job summary opened for appending. GitHub makes it a regular file; a FIFO would block
/// the open until a reader came (and that reader would see the early check's close as the
/// end), so only a file (created when missing), a character device such as `/dev/null`, or a
/// pipe the harness already writes to (`/dev/stdout` piped to `less`) is taken.
fn summary_file(path: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::FileTypeExt as _;
    match std::fs::metadata(path) {
        Ok(m)
            if m.is_file()
                || m.file_type().is_char_device()
                || crate::safe_fs::held_for_writing(&m) => {}
        Ok(m) if m.is_dir() => anyhow::bail!("it is a folder"),
        Ok(_) => anyhow::bail!("it is not a regular file"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    Ok(std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?)
}

/// Appends the reports' Markdown to the job summary. Earlier steps' summaries share the file, so
/// an append that fails part way (a full disk) is cut back to where it began: GitHub then shows
/// theirs and none of this step's, rather than a table broken off mid-row.
fn append_summary(path: &Path, reports: &[Report]) -> Result<(), CliError> {
    let failed = || format!("failed to append the job summary to `{}`", path.display());
    let mut f = summary_file(path)
        .with_context(failed)
        .map_err(CliError::usage)?;
    let used = f.metadata().map_or(0, |m| m.len());
    let budget = SUMMARY_BUDGET.saturating_sub(usize::try_from(used).unwrap_or(usize::MAX));
    if budget == 0 {
        // Earlier steps filled GitHub's cap: anything more would have the whole summary refused.
        eprintln!(
            "the job summary `{}` already holds {used} bytes, near GitHub's 1 MiB limit; this \
             step's summary is left out (its reports are in --out)",
            path.display()
        );
        return Ok(());
    }
    let text = markdown(reports, budget);
    if let Err(e) = f.write_all(text.as_bytes()).and_then(|()| f.flush()) {
        // Only a regular file can be cut back; a device or FIFO keeps what it was sent.
        let restored = f.set_len(used).is_ok();
        let what = if restored {
            "; the part written was removed"
        } else {
            ""
        };
        return Err(CliError::usage(anyhow!("{}: {e}{what}", failed())));
    }
    Ok(())
}

/// GitHub workflow-command annotations, [`MAX_ANNOTATIONS`] at most: first an `::error` for
/// each task whose command failed (how it ended, its last line on stderr), which explains every
/// point lost after it; then the criteria that lost the most points, `::error` for failed and
/// `::warning` for partial ones. Criteria of one task that lost points with the same summary and
/// no findings (an unusable output's "not graded") are one annotation, so they cannot crowd out
/// the criterion that holds the findings; a criterion a gate capped names the gate.
fn annotations(reports: &[Report]) -> Vec<String> {
    let mut out: Vec<String> = reports
        .iter()
        .filter_map(|r| {
            let note = worksample_task::failure_note(&r.run)?;
            Some(format!(
                "::error title={}::{}",
                escape_property(&format!("{}: the command failed", r.task.id)),
                escape_data(&one_line(&note))
            ))
        })
        .collect();
    for lost in lost_points(reports) {
        let first = lost.criteria[0];
        let level = match first.status {
            Status::Fail => "error",
            Status::Partial | Status::Pass => "warning",
        };
        let (title, message) = match lost.criteria.as_slice() {
            [c] => (c.title.clone(), criterion_message(c)),
            many => (
                format!("{} criteria", many.len()),
                format!(
                    "{}: {}{}",
                    many.iter()
                        .map(|c| c.title.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                    first.summary,
                    many.iter().map(|c| gates_text(c)).collect::<String>()
                ),
            ),
        };
        out.push(format!(
            "::{level} title={}::{}",
            escape_property(&format!(
                "{} / {title}: -{} points",
                lost.task,
                render::num(lost.points)
            )),
            escape_data(&message)
        ));
    }
    out.truncate(MAX_ANNOTATIONS);
    out
}

/// Points one annotation reports lost: one criterion, or several of a task alike.
struct Lost<'a> {
    points: f64,
    task: &'a str,
    criteria: Vec<&'a worksample_rubric::CriterionReport>,
}

/// Every criterion that lost points, most points first, those of one task with the same status
/// and summary and no findings together.
fn lost_points(reports: &[Report]) -> Vec<Lost<'_>> {
    let mut lost: Vec<Lost<'_>> = Vec::new();
    for r in reports {
        for c in &r.criteria {
            let points = c.max_points - c.points;
            // Reports round points to two decimals: a smaller loss would print as "-0 points".
            if points < 0.005 {
                continue;
            }
            let alike = |l: &&mut Lost<'_>| {
                let first = l.criteria[0];
                l.task == r.task.id
                    && c.findings.is_empty()
                    && first.findings.is_empty()
                    && first.status == c.status
                    && first.summary == c.summary
            };
            match lost.iter_mut().find(alike) {
                Some(l) => {
                    l.points += points;
                    l.criteria.push(c);
                }
                None => lost.push(Lost {
                    points,
                    task: &r.task.id,
                    criteria: vec![c],
                }),
            }
        }
    }
    // Stable: equal losses keep the reports' and rubric's order.
    lost.sort_by(|a, b| b.points.total_cmp(&a.points));
    lost
}

/// One criterion's annotation text: its summary, its first finding, and the gates that capped it.
fn criterion_message(c: &worksample_rubric::CriterionReport) -> String {
    let mut message = c.summary.clone();
    if let Some(f) = c.findings.first() {
        message.push_str(&format!(" — {}", render::finding_text(f)));
    }
    message.push_str(&gates_text(c));
    message
}

/// "; capped by gate G (closed by C): why" for every gate that capped `c`.
fn gates_text(c: &worksample_rubric::CriterionReport) -> String {
    c.gated_by
        .iter()
        .map(|g| {
            format!(
                "; capped by gate {} (closed by {}): {}",
                g.gate, g.by, g.reason
            )
        })
        .collect()
}

/// Workflow-command data escaping (the same rules `@actions/core` applies).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow-command property escaping: data escaping plus `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_candidate_text_inside_one_annotation() {
        assert_eq!(escape_data("a\nb%c\r"), "a%0Ab%25c%0D");
        assert_eq!(escape_property("x: y, z"), "x%3A y%2C z");
    }
}

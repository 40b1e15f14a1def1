//! The terminal rendering: a score card a candidate can read in five seconds. Header, run,
//! notes, one line per criterion with its evidence indented under it, cards, then the total
//! and the verdict last, where the eye lands when the command returns.
//!
//! Colour is plain ANSI SGR escapes (ECMA-48 §8.3.117) rather than a styling crate: we use four
//! of them, the CLI already decides whether colour is wanted (`NO_COLOR`, tty), and a leaf
//! crate that only builds strings should not pull in terminal detection. The text must read
//! the same without colour, so colour never carries meaning the marks do not.
//!
//! Everything that may come from the candidate's output goes through [`super::one_line`], so a
//! submission cannot move the cursor, clear the screen or reorder text on the assessor's
//! terminal.

use std::fmt::Write as _;

use super::{
    category_cap, finding_text, level_label, mib, num, omitted_line, one_line, points,
    run_status_text, seed_text, tally, verdict_text,
};
use crate::{Report, RunStatusKind, Status, Verdict, Visibility};

/// Whether the terminal text carries ANSI colour. The CLI decides (`NO_COLOR`, tty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// No escape sequences at all.
    Plain,
    /// Green, yellow and red marks and bold headings.
    Color,
}

/// The ANSI SGR sequences used; `RESET` ends each span so a cut line never leaks colour.
mod sgr {
    pub(super) const BOLD: &str = "\x1b[1m";
    pub(super) const GREEN: &str = "\x1b[32m";
    pub(super) const YELLOW: &str = "\x1b[33m";
    pub(super) const RED: &str = "\x1b[31m";
    pub(super) const RESET: &str = "\x1b[0m";
}

struct Painter(Style);

impl Painter {
    fn paint(&self, code: &str, text: &str) -> String {
        match self.0 {
            Style::Plain => text.to_owned(),
            Style::Color => format!("{code}{text}{}", sgr::RESET),
        }
    }

    fn status(&self, status: Status, text: &str) -> String {
        let code = match status {
            Status::Pass => sgr::GREEN,
            Status::Partial => sgr::YELLOW,
            Status::Fail => sgr::RED,
        };
        self.paint(code, text)
    }
}

fn mark(status: Status) -> &'static str {
    match status {
        Status::Pass => "✓",
        Status::Partial => "~",
        Status::Fail => "✗",
    }
}

/// How many trailing lines of stderr to show for a run that went wrong: enough for a panic
/// message or a Python traceback's last frame, short enough to keep the card on one screen.
const STDERR_LINES: usize = 5;
/// The same for stdout, shown before stderr: a message printed just before exiting.
const STDOUT_LINES: usize = 3;

/// The report as a terminal score card, ending in a newline.
pub fn terminal(report: &Report, style: Style) -> String {
    let p = Painter(style);
    let mut out = String::new();

    let mut header = format!(
        "{}@{} {} · profile {} · {}",
        one_line(&report.task.id),
        report.task.version,
        one_line(&report.task.title),
        one_line(&report.profile),
        seed_text(&report.seed),
    );
    if let Some(candidate) = &report.candidate {
        let _ = write!(header, " · candidate {}", one_line(candidate));
    }
    push_line(&mut out, &p.paint(sgr::BOLD, &header));
    run_lines(report, &p, &mut out);
    for note in &report.notes {
        push_line(&mut out, &format!("note: {}", one_line(note)));
    }
    out.push('\n');

    let titles: Vec<String> = report.criteria.iter().map(|c| one_line(&c.title)).collect();
    let scores: Vec<String> = report
        .criteria
        .iter()
        .map(|c| points(c.points, c.max_points))
        .collect();
    let title_width = titles.iter().map(|t| t.chars().count()).max().unwrap_or(0);
    let score_width = scores.iter().map(String::len).max().unwrap_or(0);
    for ((c, title), score) in report.criteria.iter().zip(&titles).zip(&scores) {
        let mut line = format!(
            "{} {title:<title_width$}  {score:>score_width$}  {}",
            p.status(c.status, mark(c.status)),
            level_label(c),
        );
        match c.visibility {
            Visibility::Visible => {}
            Visibility::Hidden => line.push_str("  [hidden]"),
        }
        push_line(&mut out, line.trim_end());
        push_line(&mut out, &format!("    {}", one_line(&c.summary)));
        for f in &c.findings {
            push_line(&mut out, &format!("    - {}", one_line(&finding_text(f))));
        }
        if let Some(line) = omitted_line(report, c) {
            push_line(&mut out, &format!("    {line}"));
        }
        for g in &c.gated_by {
            push_line(
                &mut out,
                &format!(
                    "    gate {} (closed by {}) {}: {}",
                    one_line(&g.gate),
                    g.by,
                    category_cap(&c.category),
                    one_line(&g.reason)
                ),
            );
        }
        for q in &c.debrief {
            push_line(&mut out, &format!("    debrief: {}", one_line(q)));
        }
    }

    for card in &report.cards {
        out.push('\n');
        push_line(&mut out, &p.paint(sgr::BOLD, &one_line(&card.title)));
        for row in &card.rows {
            let status = if row.handled {
                Status::Pass
            } else {
                Status::Fail
            };
            push_line(
                &mut out,
                &format!(
                    "  {} {}: {}",
                    p.status(status, mark(status)),
                    one_line(&row.name),
                    one_line(&row.detail)
                ),
            );
        }
    }

    out.push('\n');
    let total = format!(
        "total {} ({}%)",
        points(report.total.points, report.total.max_points),
        num(report.total.percent)
    );
    push_line(
        &mut out,
        &format!("{} · {}", p.paint(sgr::BOLD, &total), tally(report)),
    );
    let verdict = match report.verdict {
        Verdict::Unjudged => verdict_text(report),
        Verdict::Pass => p.status(Status::Pass, &verdict_text(report)),
        Verdict::Fail => p.status(Status::Fail, &verdict_text(report)),
    };
    push_line(&mut out, &format!("verdict: {verdict}"));
    out
}

/// The run line, plus the end of stderr when the run went wrong.
fn run_lines(report: &Report, p: &Painter, out: &mut String) {
    let run = &report.run;
    let mut status = run_status_text(run.status).to_owned();
    if let Some(code) = run.exit_code {
        let _ = write!(status, ", exit {code}");
    }
    let failed = run.failed();
    let status = if failed {
        p.paint(sgr::RED, &status)
    } else {
        status
    };
    match run.status {
        RunStatusKind::NotRun => {
            push_line(out, &format!("run: {status}: {}", one_line(&run.detail)));
        }
        RunStatusKind::Completed
        | RunStatusKind::TimedOut
        | RunStatusKind::Killed
        | RunStatusKind::MemoryLimit
        | RunStatusKind::ProcessLimit
        | RunStatusKind::OutputLimit
        | RunStatusKind::FileSizeLimit
        | RunStatusKind::SpawnFailed => {
            push_line(
                out,
                &format!(
                    "run: {status} ({}) · {} s wall · {} s CPU · {} MiB peak RSS",
                    one_line(&run.detail),
                    num(run.wall_s),
                    num(run.cpu_s),
                    mib(run.peak_rss_bytes)
                ),
            );
        }
    }
    if failed {
        // Many programs say why they failed on stdout (a Python `print` before `exit(1)`): its
        // last lines too, before stderr's.
        for (name, tail, keep) in [
            ("stdout", &run.stdout_tail, STDOUT_LINES),
            ("stderr", &run.stderr_tail, STDERR_LINES),
        ] {
            let lines: Vec<&str> = tail.lines().filter(|l| !l.trim().is_empty()).collect();
            let from = lines.len().saturating_sub(keep);
            for line in own_frame(&lines, from).into_iter().flatten() {
                push_line(out, &format!("  {name}: {}", one_line(line)));
            }
            for line in &lines[from..] {
                push_line(out, &format!("  {name}: {}", one_line(line)));
            }
        }
    }
}

/// The last frame of a Python traceback in the candidate's own code (not an installed package's
/// or the interpreter's), with its source line, when the last `from..` lines leave it out: a
/// crash inside pydicom ends in pydicom's frames, and the line to fix is the candidate's.
fn own_frame<'a>(lines: &[&'a str], from: usize) -> Option<Vec<&'a str>> {
    let own = |l: &str| {
        let t = l.trim_start();
        t.starts_with("File \"")
            && !["site-packages", "dist-packages", "/lib/python", "<frozen"]
                .iter()
                .any(|lib| t.contains(lib))
    };
    if lines[from..].iter().any(|l| own(l)) {
        return None;
    }
    let at = lines[..from].iter().rposition(|l| own(l))?;
    Some(lines[at..(at + 2).min(from)].to_vec())
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures;

    /// A Python crash inside pydicom shows the candidate's own frame before pydicom's last lines.
    #[test]
    fn a_traceback_shows_the_candidate_s_own_frame() {
        let tail = [
            "Traceback (most recent call last):",
            "  File \"/work/solve.py\", line 40, in <module>",
            "    main()",
            "  File \"/work/solve.py\", line 31, in main",
            "    uid = ds.SeriesInstanceUID",
            "  File \"/venv/lib/python3.11/site-packages/pydicom/dataset.py\", line 908, in __getattr__",
            "    return object.__getattribute__(self, name)",
            "  File \"/venv/lib/python3.11/site-packages/pydicom/dataset.py\", line 918, in __getattr__",
            "    raise AttributeError(f\"{type(self).__name__!r} object has no attribute {name!r}\")",
            "AttributeError: 'FileDataset' object has no attribute 'SeriesInstanceUID'",
        ];
        assert_eq!(
            own_frame(&tail, tail.len() - STDERR_LINES),
            Some(vec![
                "  File \"/work/solve.py\", line 31, in main",
                "    uid = ds.SeriesInstanceUID",
            ])
        );
        // Already among the last lines, or no traceback at all: nothing added.
        assert_eq!(own_frame(&tail[..6], 1), None);
        assert_eq!(own_frame(&["error: no such file"], 0), None);
    }

    #[test]
    fn plain_has_no_escapes_and_color_has_them() {
        let report = fixtures::gated_candidate();
        let plain = terminal(&report, Style::Plain);
        assert!(!plain.contains('\x1b'), "{plain}");
        let color = terminal(&report, Style::Color);
        assert!(color.contains("\x1b[31m✗\x1b[0m"));
        assert!(color.contains("\x1b[33m~\x1b[0m"));
        let stripped = color
            .replace(sgr::BOLD, "")
            .replace(sgr::GREEN, "")
            .replace(sgr::YELLOW, "")
            .replace(sgr::RED, "")
            .replace(sgr::RESET, "");
        assert_eq!(stripped, plain, "colour must not change the text");
    }

    #[test]
    fn candidate_text_cannot_inject_escape_sequences() {
        let mut report = fixtures::good();
        report.criteria[0].summary = "ok\x1b[2J\x1b]0;pwned\x07\u{202E}".into();
        report.notes.push("line one\nline two".into());
        let text = terminal(&report, Style::Plain);
        assert!(!text.contains('\x1b') && !text.contains('\x07') && !text.contains('\u{202E}'));
        assert!(text.contains("note: line one line two\n"), "{text}");
    }

    #[test]
    fn hidden_findings_are_counted_not_shown() {
        let text = terminal(&fixtures::gated_candidate(), Style::Plain);
        assert!(text.contains("findings hidden until review (2)"), "{text}");
        assert!(!text.contains("missing slice not reported"), "{text}");
        assert!(text.contains("1 hidden criterion"), "{text}");
    }

    #[test]
    fn a_failed_run_shows_the_end_of_stdout_and_stderr() {
        let mut report = fixtures::timed_out();
        report.run.stderr_tail = (1..=8).map(|i| format!("line {i}\n")).collect();
        report.run.stdout_tail = (1..=5).map(|i| format!("out {i}\n")).collect();
        let text = terminal(&report, Style::Plain);
        assert!(text.contains("stderr: line 8") && text.contains("stderr: line 4"));
        assert!(!text.contains("stderr: line 3"), "{text}");
        assert!(text.contains("stdout: out 5") && text.contains("stdout: out 3"));
        assert!(!text.contains("stdout: out 2"), "{text}");
        assert!(
            text.find("stdout: out 5") < text.find("stderr: line 4"),
            "{text}"
        );
        // A run that went well shows neither.
        let mut good = fixtures::good();
        good.run.stdout_tail = "all fine\n".into();
        assert!(!terminal(&good, Style::Plain).contains("stdout:"));
    }

    #[test]
    fn snapshots() {
        insta::assert_snapshot!("terminal_good", terminal(&fixtures::good(), Style::Plain));
        insta::assert_snapshot!(
            "terminal_gated_candidate",
            terminal(&fixtures::gated_candidate(), Style::Plain)
        );
        insta::assert_snapshot!(
            "terminal_timed_out",
            terminal(&fixtures::timed_out(), Style::Plain)
        );
    }
}

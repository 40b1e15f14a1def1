//! Renderings of a [`crate::Report`]: terminal text, JSON (and its published JSON Schema),
//! Markdown for pull-request comments and job summaries, JUnit XML for CI test views, and a
//! self-contained HTML page for assessors; plus the cohort comparison as HTML, Markdown and CSV.
//!
//! Every renderer is a pure function of the report: no clock, no environment, no IO, so the
//! same report always renders to the same bytes and snapshots stay stable. The CLI decides
//! where the text goes and whether the terminal gets colour.
//!
//! Shared wording lives here so that all formats say the same thing. In particular no format
//! ever claims that "all" criteria passed while some criteria are hidden: candidates were
//! confused by exactly that wording in Otter (harness research §0.5, §6.7), so the tally always
//! names the hidden criteria instead.

use crate::{
    Audience, CriterionReport, Finding, Report, RunStatusKind, SeedInfo, Status, Verdict,
    Visibility,
};

mod cohort;
mod html;
mod json;
mod junit;
mod markdown;
mod terminal;

#[cfg(test)]
pub(crate) mod fixtures;

pub use cohort::{cohort_csv, cohort_html, cohort_markdown};
pub use html::html;
pub use json::{SCHEMA_JSON, json};
pub use junit::{junit, junit_many};
pub use markdown::{MarkdownOptions, markdown};
pub use terminal::{Style, terminal};

/// A number of points or seconds with at most two decimals and no trailing zeros: `7.5`, `10`.
/// Public for the CLI's annotations, which must print points as the reports do.
pub fn num(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s.as_str()
    };
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// `points/max` of a criterion or total.
fn points(points: f64, max: f64) -> String {
    format!("{}/{}", num(points), num(max))
}

/// Bytes as MiB with one decimal, the unit limits are written in.
fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// The seed as people read it: the value, or that it is hidden with the commitment's start.
fn seed_text(seed: &SeedInfo) -> String {
    match seed {
        SeedInfo::Public { value } => format!("seed {value}"),
        SeedInfo::Hidden { commitment } => {
            let short: String = commitment.chars().take(12).collect();
            if short.len() < commitment.len() {
                format!("hidden seed (commitment {short}…)")
            } else {
                format!("hidden seed (commitment {short})")
            }
        }
    }
}

/// How the candidate's command ended, in words.
fn run_status_text(kind: RunStatusKind) -> &'static str {
    match kind {
        RunStatusKind::Completed => "completed",
        RunStatusKind::TimedOut => "timed out",
        RunStatusKind::Killed => "killed",
        RunStatusKind::MemoryLimit => "memory limit exceeded",
        RunStatusKind::ProcessLimit => "process limit exceeded",
        RunStatusKind::OutputLimit => "output limit exceeded",
        RunStatusKind::FileSizeLimit => "file size limit exceeded",
        RunStatusKind::SpawnFailed => "could not be started",
        RunStatusKind::NotRun => "not run",
    }
}

/// How the command ended, for a table cell: with the exit code when it is not zero
/// ("completed, exit 1"), so a crash does not read as "completed" in a cohort's table.
fn run_status_with_code(kind: RunStatusKind, exit_code: Option<i32>) -> String {
    match exit_code {
        Some(code) if code != 0 => format!("{}, exit {code}", run_status_text(kind)),
        Some(_) | None => run_status_text(kind).to_owned(),
    }
}

/// What a closed gate does to a criterion, beside the gate's reason: a gate caps a whole
/// category, and its criteria are scaled down together, so one criterion may keep more than the
/// cap's share of its own points.
fn category_cap(category: &str) -> String {
    format!("caps category `{category}` as a whole, its criteria scaled down together")
}

/// The serde name of a run status, used as a machine-readable type in JUnit.
fn run_status_id(kind: RunStatusKind) -> &'static str {
    match kind {
        RunStatusKind::Completed => "completed",
        RunStatusKind::TimedOut => "timed_out",
        RunStatusKind::Killed => "killed",
        RunStatusKind::MemoryLimit => "memory_limit",
        RunStatusKind::ProcessLimit => "process_limit",
        RunStatusKind::OutputLimit => "output_limit",
        RunStatusKind::FileSizeLimit => "file_size_limit",
        RunStatusKind::SpawnFailed => "spawn_failed",
        RunStatusKind::NotRun => "not_run",
    }
}

/// `pass`, `partial` or `fail`, as in the JSON.
fn status_id(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Partial => "partial",
        Status::Fail => "fail",
    }
}

/// Whether this criterion's findings are withheld from the report's reader.
fn findings_withheld(report: &Report, c: &CriterionReport) -> bool {
    match (report.audience, c.visibility) {
        (Audience::Candidate, Visibility::Hidden) => true,
        (Audience::Candidate, Visibility::Visible)
        | (Audience::Assessor, Visibility::Visible | Visibility::Hidden) => false,
    }
}

/// Where findings a candidate may not read go: on a hidden seed an assessor reviews the run
/// and may show them then; a practice seed has no review, so promising one would mislead.
fn withheld_phrase(report: &Report) -> &'static str {
    match report.seed {
        SeedInfo::Hidden { .. } => "held until review",
        SeedInfo::Public { .. } => "not shown to candidates",
    }
}

/// The line shown instead of, or after, a criterion's findings when some are not in the report:
/// "findings hidden until review (N)", "… and N more", "N held until review (they name the
/// answer key)", or both of the last two; on a practice seed, which has no review, "not shown
/// to candidates" in place of "hidden until review" and "held until review". `None` when
/// nothing was left out.
fn omitted_line(report: &Report, c: &CriterionReport) -> Option<String> {
    if findings_withheld(report, c) {
        return Some(match report.seed {
            SeedInfo::Hidden { .. } => {
                format!("findings hidden until review ({})", c.findings_omitted)
            }
            SeedInfo::Public { .. } => {
                format!("findings not shown to candidates ({})", c.findings_omitted)
            }
        });
    }
    let held = c.findings_held.min(c.findings_omitted);
    let over_cap = c.findings_omitted - held;
    let phrase = withheld_phrase(report);
    match (over_cap, held) {
        (0, 0) => None,
        (n, 0) => Some(format!("… and {n} more")),
        (0, h) => Some(format!("{h} more {phrase} (they name the answer key)")),
        (n, h) => Some(format!(
            "… and {n} more; {h} {phrase} (they name the answer key)"
        )),
    }
}

/// What introduces a criterion's level and its anchor text: "Level", or "Measured level" when a
/// gate scaled the criterion down, since the anchor then describes the work and not the points.
fn level_heading(c: &CriterionReport) -> &'static str {
    if c.gated_by.is_empty() {
        "Level"
    } else {
        "Measured level"
    }
}

/// A criterion's level as every format shows it: the level, or for a criterion a closed gate
/// scaled down "capped by gate g, measured excellent", so a perfect measurement that kept a
/// fraction of its points never reads as excellent on its own.
fn level_label(c: &CriterionReport) -> String {
    if c.gated_by.is_empty() {
        return c.level.as_str().to_owned();
    }
    let gates: Vec<&str> = c.gated_by.iter().map(|g| g.gate.as_str()).collect();
    let noun = if gates.len() == 1 { "gate" } else { "gates" };
    format!(
        "capped by {noun} {}, measured {}",
        gates.join(", "),
        c.level.as_str()
    )
}

/// `file: location: message`, leaving out the parts a finding lacks. Public for the CLI's
/// annotations, which quote a finding as the reports do.
pub fn finding_text(f: &Finding) -> String {
    let mut parts: Vec<&str> = Vec::with_capacity(3);
    if let Some(file) = &f.file {
        parts.push(file);
    }
    if let Some(location) = &f.location {
        parts.push(location);
    }
    parts.push(&f.message);
    parts.join(": ")
}

/// "3 passed, 2 partial (1 capped by a gate), 1 failed": the criteria a closed gate scaled
/// down are named beside their status (their work may have been perfect), then the hidden
/// criteria when there are any: never "all passed" while some criteria are hidden
/// (harness research §6.7), and never a capped criterion among the passed.
fn tally(report: &Report) -> String {
    // Counted by status, as every row shows it; the capped ones (partial or failed because a
    // gate took their points) are named after, so the counts and the rows agree. A report
    // written before gates set the status may say `pass` for a capped criterion: partial.
    // Each status's capped share sits beside its own count: "9 failed (10 of those capped)"
    // after "11 partial" read as more capped criteria than failed ones.
    let (mut pass, mut partial, mut fail) = (0usize, [0usize; 2], [0usize; 2]);
    for c in &report.criteria {
        let gated = !c.gated_by.is_empty();
        match (c.status, gated) {
            (Status::Pass, false) => pass += 1,
            (Status::Pass, true) | (Status::Partial, _) => partial[usize::from(gated)] += 1,
            (Status::Fail, _) => fail[usize::from(gated)] += 1,
        }
    }
    let count = |[free, capped]: [usize; 2], word: &str| {
        if capped == 0 {
            format!("{} {word}", free + capped)
        } else {
            format!("{} {word} ({capped} capped by a gate)", free + capped)
        }
    };
    let mut text = format!(
        "{pass} passed, {}, {}",
        count(partial, "partial"),
        count(fail, "failed")
    );
    let hidden = report
        .criteria
        .iter()
        .filter(|c| c.visibility == Visibility::Hidden)
        .count();
    if hidden > 0 {
        let noun = if hidden == 1 { "criterion" } else { "criteria" };
        match (report.audience, &report.seed) {
            (Audience::Candidate, SeedInfo::Hidden { .. }) => {
                text.push_str(&format!(
                    "; {hidden} hidden {noun}, findings shown after review"
                ));
            }
            (Audience::Candidate, SeedInfo::Public { .. }) => {
                text.push_str(&format!(
                    "; {hidden} hidden {noun}, findings not shown to candidates"
                ));
            }
            (Audience::Assessor, SeedInfo::Hidden { .. } | SeedInfo::Public { .. }) => {
                text.push_str(&format!(
                    "; {hidden} hidden {noun} (findings not shown to candidates)"
                ));
            }
        }
    }
    text
}

/// The verdict in words, with the threshold it was judged against.
fn verdict_text(report: &Report) -> String {
    let threshold = report.threshold.map(num);
    match (report.verdict, threshold) {
        (Verdict::Unjudged, _) => "unjudged (no threshold given)".to_owned(),
        (Verdict::Pass, Some(t)) => format!("pass (threshold {t}%)"),
        (Verdict::Fail, Some(t)) => format!("fail (threshold {t}%)"),
        (Verdict::Pass, None) => "pass".to_owned(),
        (Verdict::Fail, None) => "fail".to_owned(),
    }
}

/// Keeps only characters that cannot restyle a terminal or reorder text: control characters
/// (ESC starts ANSI sequences, C1 controls are alternative introducers) are dropped, and
/// bidirectional overrides (the "Trojan Source" trick, CVE-2021-42574) are dropped too.
/// Line breaks and tabs become spaces, since every caller wants one line. Public for the CLI,
/// which prints candidate-controlled text (commands, ids) where a line break could start a CI
/// workflow command.
pub fn one_line(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() || is_bidi_control(c) => None,
            c => Some(c),
        })
        .collect()
}

/// Unicode bidirectional embedding, override and isolate controls (UAX #9 §2).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_drop_trailing_zeros() {
        assert_eq!(num(10.0), "10");
        assert_eq!(num(7.5), "7.5");
        assert_eq!(num(2.0 / 3.0), "0.67");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(100.0), "100");
    }

    #[test]
    fn a_table_names_a_non_zero_exit_code() {
        use RunStatusKind::{Completed, TimedOut};
        assert_eq!(
            run_status_with_code(Completed, Some(1)),
            "completed, exit 1"
        );
        assert_eq!(run_status_with_code(Completed, Some(0)), "completed");
        assert_eq!(run_status_with_code(TimedOut, None), "timed out");
    }

    #[test]
    fn one_line_strips_escapes_and_bidi_controls() {
        assert_eq!(one_line("a\x1b[31mred\u{202E}x\ny\u{9b}"), "a[31mredx y");
    }

    /// JUnit's `type` attributes promise the JSON's enum names, so CI can match on either.
    #[test]
    fn machine_ids_are_the_serde_names() {
        let kinds = [
            RunStatusKind::Completed,
            RunStatusKind::TimedOut,
            RunStatusKind::Killed,
            RunStatusKind::MemoryLimit,
            RunStatusKind::ProcessLimit,
            RunStatusKind::OutputLimit,
            RunStatusKind::FileSizeLimit,
            RunStatusKind::SpawnFailed,
            RunStatusKind::NotRun,
        ];
        for kind in kinds {
            let serde = serde_json::to_value(kind).expect("an enum serializes");
            assert_eq!(serde, run_status_id(kind), "{kind:?}");
        }
        for status in [Status::Pass, Status::Partial, Status::Fail] {
            let serde = serde_json::to_value(status).expect("an enum serializes");
            assert_eq!(serde, status_id(status), "{status:?}");
        }
    }

    /// Findings dropped because they name the key are not passed off as the cap's overflow, and
    /// only a hidden seed, which an assessor reviews, promises a review.
    #[test]
    fn the_omitted_line_tells_held_findings_from_the_cap() {
        let practice = fixtures::good().for_candidate();
        let mut hidden = practice.clone();
        hidden.seed = SeedInfo::Hidden {
            commitment: "ab".repeat(32),
        };
        let mut visible = practice
            .criteria
            .iter()
            .find(|c| c.visibility == Visibility::Visible)
            .expect("a visible criterion")
            .clone();
        let rows = [
            (&practice, 0, 0, None),
            (&practice, 3, 0, Some("… and 3 more")),
            (
                &practice,
                2,
                2,
                Some("2 more not shown to candidates (they name the answer key)"),
            ),
            (
                &practice,
                5,
                2,
                Some("… and 3 more; 2 not shown to candidates (they name the answer key)"),
            ),
            (&hidden, 3, 0, Some("… and 3 more")),
            (
                &hidden,
                2,
                2,
                Some("2 more held until review (they name the answer key)"),
            ),
            (
                &hidden,
                5,
                2,
                Some("… and 3 more; 2 held until review (they name the answer key)"),
            ),
        ];
        for (report, omitted, held, want) in rows {
            visible.findings_omitted = omitted;
            visible.findings_held = held;
            assert_eq!(
                omitted_line(report, &visible).as_deref(),
                want,
                "{:?}: {omitted} omitted, {held} held",
                report.seed
            );
        }
        // A hidden criterion's findings: a review only on a hidden seed.
        let mut secret = visible.clone();
        secret.visibility = Visibility::Hidden;
        secret.findings_omitted = 4;
        assert_eq!(
            omitted_line(&practice, &secret).as_deref(),
            Some("findings not shown to candidates (4)")
        );
        assert_eq!(
            omitted_line(&hidden, &secret).as_deref(),
            Some("findings hidden until review (4)")
        );
    }

    /// A criterion a gate scaled down says so in its level and is counted apart, never among
    /// the passed.
    #[test]
    fn a_capped_criterion_reads_as_capped_everywhere_it_is_counted_or_levelled() {
        let report = fixtures::gated_candidate();
        let capped = report
            .criteria
            .iter()
            .find(|c| !c.gated_by.is_empty())
            .expect("a capped criterion");
        assert_ne!(capped.status, Status::Pass);
        let label = level_label(capped);
        assert!(
            label.starts_with("capped by gate ") && label.contains(", measured "),
            "{label}"
        );
        let open = report
            .criteria
            .iter()
            .find(|c| c.gated_by.is_empty())
            .expect("an uncapped criterion");
        assert_eq!(level_label(open), open.level.as_str());
        let text = tally(&report);
        assert!(text.contains(" capped by a gate)"), "{text}");
        let mut all_pass = report.clone();
        for c in &mut all_pass.criteria {
            c.status = Status::Pass;
        }
        let n = all_pass.criteria.len();
        let capped = all_pass
            .criteria
            .iter()
            .filter(|c| !c.gated_by.is_empty())
            .count();
        assert!(
            tally(&all_pass).starts_with(&format!("{} passed,", n - capped)),
            "capped criteria are not passes whatever their status says"
        );
        // The capped count sits beside the status the capped criteria have.
        let mut capped_to_zero = report.clone();
        for c in &mut capped_to_zero.criteria {
            c.status = if c.gated_by.is_empty() {
                Status::Partial
            } else {
                Status::Fail
            };
        }
        assert_eq!(
            tally(&capped_to_zero),
            format!(
                "0 passed, {} partial, {capped} failed ({capped} capped by a gate); 1 hidden criterion, findings shown after review",
                n - capped
            )
        );
    }

    #[test]
    fn tally_names_hidden_criteria_instead_of_claiming_all_passed() {
        let report = fixtures::good();
        let text = tally(&report.clone().for_candidate());
        assert!(text.contains("1 hidden criterion"), "{text}");
        assert!(!text.contains("all"), "{text}");
        assert!(tally(&report).contains("not shown to candidates"));
    }

    /// A practice seed has no review: a hidden criterion's summary promises none, where a
    /// hidden seed's does.
    #[test]
    fn hidden_criteria_promise_a_review_only_on_hidden_seeds() {
        let summary = |r: Report| {
            r.for_candidate()
                .criteria
                .into_iter()
                .find(|c| c.visibility == Visibility::Hidden)
                .expect("a hidden criterion")
                .summary
        };
        assert_eq!(
            summary(fixtures::good()),
            "measured on hidden checks; details are not shown to candidates"
        );
        assert_eq!(
            summary(fixtures::gated_candidate()),
            "measured on hidden checks; details after review"
        );
    }
}

//! The report model (`schema: "worksample.report/v1"`): the one structure every rendering
//! (terminal, JSON, Markdown, JUnit, HTML) is made from.
//!
//! The JSON form is the contract with CI and with `worksample cohort`; it is published as a JSON
//! Schema in `crates/worksample-rubric/report.schema.json`. Any change that is not a pure addition
//! of an optional field bumps [`REPORT_SCHEMA`].

use serde::{Deserialize, Serialize};

use crate::{Card, CriterionId, Figure, Finding, Visibility};

/// The schema tag every report carries.
pub const REPORT_SCHEMA: &str = "worksample.report/v1";

/// A graded run of one task for one candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// Version of the `worksample` binary that graded.
    pub harness_version: String,
    /// Which task and version.
    pub task: TaskRef,
    /// The fixture profile, e.g. `standard`.
    pub profile: String,
    /// The seed, or for hidden runs a commitment to it.
    pub seed: SeedInfo,
    /// Who was graded, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    /// For whom the report was prepared; candidate reports omit hidden findings.
    pub audience: Audience,
    /// How the candidate's command ran, or `not_run` when an existing output was graded.
    pub run: RunSummary,
    /// Problems with the submission as a whole.
    pub notes: Vec<String>,
    /// Per-criterion results, in rubric order.
    pub criteria: Vec<CriterionReport>,
    /// Debrief cards such as the trap card.
    pub cards: Vec<Card>,
    /// Pictures and plots; candidate reports keep only the visible ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub figures: Vec<Figure>,
    /// Points over all criteria.
    pub total: Total,
    /// `--fail-under` threshold in percent, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Pass or fail against the threshold.
    pub verdict: Verdict,
}

/// Task identity inside a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRef {
    /// Task id, e.g. `series`.
    pub id: String,
    /// Task version; fixtures and grading change only with it.
    pub version: u32,
    /// Human title.
    pub title: String,
}

/// The seed of a report's fixtures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SeedInfo {
    /// A practice seed anyone may use again.
    Public {
        /// The seed.
        value: u64,
    },
    /// A hidden seed: only a commitment, which an assessor holding the secret can verify.
    Hidden {
        /// Hex HMAC-SHA256 commitment.
        commitment: String,
    },
}

/// Who a report is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Hidden criteria show their score but not their findings.
    Candidate,
    /// Everything.
    Assessor,
}

/// How the candidate's command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatusKind {
    /// Exited by itself; see `exit_code`.
    Completed,
    /// Exceeded the wall-clock limit and was killed.
    TimedOut,
    /// Killed by a signal it did not get from us.
    Killed,
    /// Exceeded the memory limit.
    MemoryLimit,
    /// Exceeded the process-count limit.
    ProcessLimit,
    /// Wrote more to stdout and stderr than allowed.
    OutputLimit,
    /// Wrote a file larger than allowed.
    FileSizeLimit,
    /// Could not be started.
    SpawnFailed,
    /// No command was run: an existing output was graded.
    NotRun,
}

/// Resources and outcome of the candidate's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSummary {
    /// How it ended.
    pub status: RunStatusKind,
    /// Exit code, for `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// One sentence on what happened, e.g. "killed by SIGSEGV".
    pub detail: String,
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// CPU seconds (user + system) of the process tree.
    pub cpu_s: f64,
    /// Peak resident memory of the process tree, in bytes.
    pub peak_rss_bytes: u64,
    /// Last bytes of stdout (lossy UTF-8).
    pub stdout_tail: String,
    /// Last bytes of stderr (lossy UTF-8).
    pub stderr_tail: String,
    /// Total stdout bytes written.
    pub stdout_bytes: u64,
    /// Total stderr bytes written.
    pub stderr_bytes: u64,
    /// Whether the run had no network; absent when not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_isolated: Option<bool>,
    /// The limits the command ran under; absent when not run. An assessor comparing a cohort
    /// needs to know every run had the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<RunLimits>,
}

/// The limits a command ran under, as the runner applied them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunLimits {
    /// Wall-clock budget, seconds.
    pub wall_s: f64,
    /// Memory budget of the process tree (resident), bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// Most processes alive at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_processes: Option<u64>,
    /// Largest file it may write, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_bytes: Option<u64>,
    /// Most bytes of stdout and stderr together.
    pub max_output_bytes: u64,
}

impl RunSummary {
    /// The summary of grading an existing output without running anything.
    pub fn not_run() -> Self {
        Self {
            status: RunStatusKind::NotRun,
            exit_code: None,
            detail: "graded an existing output; no command was run".into(),
            wall_s: 0.0,
            cpu_s: 0.0,
            peak_rss_bytes: 0,
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            stdout_bytes: 0,
            stderr_bytes: 0,
            network_isolated: None,
            limits: None,
        }
    }

    /// Whether the command failed: it did not complete (stopped at a limit, killed, never
    /// started) or it exited with a code other than 0. Grading an existing output ran nothing,
    /// so nothing failed.
    pub fn failed(&self) -> bool {
        match self.status {
            RunStatusKind::Completed => self.exit_code.is_some_and(|code| code != 0),
            RunStatusKind::NotRun => false,
            RunStatusKind::TimedOut
            | RunStatusKind::Killed
            | RunStatusKind::MemoryLimit
            | RunStatusKind::ProcessLimit
            | RunStatusKind::OutputLimit
            | RunStatusKind::FileSizeLimit
            | RunStatusKind::SpawnFailed => true,
        }
    }

    /// The last line with text that the command wrote on stderr, trimmed: what a crash says
    /// last (a Python exception, a shell's "command not found"). Control characters are left
    /// in; whoever shows it escapes it for its format.
    pub fn last_stderr_line(&self) -> Option<&str> {
        self.stderr_tail
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
    }
}

/// Pass, partial or fail, from the points a criterion keeps after gates: a closed gate that
/// scaled a criterion down makes it partial (or fail, when it left no points) whatever it
/// measured. Reports written before that rule may say `pass` for such a criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Full marks, and no gate took any.
    Pass,
    /// Some marks.
    Partial,
    /// No marks.
    Fail,
}

/// The anchored level of a criterion score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Below the `mixed` threshold.
    Poor,
    /// At least `mixed`.
    Mixed,
    /// At least `good`.
    Good,
    /// At least `excellent`.
    Excellent,
}

impl Level {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Poor => "poor",
            Level::Mixed => "mixed",
            Level::Good => "good",
            Level::Excellent => "excellent",
        }
    }
}

/// A gate that capped a criterion's points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateHit {
    /// The gate's id.
    pub gate: String,
    /// The criterion that closed it.
    pub by: CriterionId,
    /// Why, from the rubric.
    pub reason: String,
}

/// One criterion's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionReport {
    /// Criterion id.
    pub id: CriterionId,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// Weight (maximum points).
    pub weight: f64,
    /// Measured score in 0..=1.
    pub score: f64,
    /// Points earned after gates.
    pub points: f64,
    /// Maximum points (the weight).
    pub max_points: f64,
    /// Pass, partial or fail, after gates.
    pub status: Status,
    /// Anchored level of the measured score, before gates (its anchor text describes the work).
    pub level: Level,
    /// The anchor text of that level.
    pub level_text: String,
    /// Who sees the findings.
    pub visibility: Visibility,
    /// What was measured, in one line.
    pub summary: String,
    /// Evidence, capped.
    pub findings: Vec<Finding>,
    /// Findings not shown (over the rubric's cap, dropped by the grader's own cap, or hidden
    /// from this audience).
    pub findings_omitted: usize,
    /// Of `findings_omitted`, the assessor-only findings a candidate's report dropped under a
    /// visible criterion (evidence that names the answer key), so a reader is not told they are
    /// merely over the cap.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub findings_held: usize,
    /// Gates that reduced the points.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gated_by: Vec<GateHit>,
    /// What gates on this criterion compared instead of the score, when its grader set one
    /// (e.g. the share of planted causes credited, without bonuses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_measure: Option<f64>,
    /// Debrief prompts, for criteria that lost points (assessor reports only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub debrief: Vec<String>,
}

/// Points over the whole rubric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Total {
    /// Points earned.
    pub points: f64,
    /// Points available.
    pub max_points: f64,
    /// `100 * points / max_points`, rounded to two decimals.
    pub percent: f64,
}

/// The verdict against `--fail-under`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No threshold was given.
    Unjudged,
    /// At or above the threshold.
    Pass,
    /// Below the threshold.
    Fail,
}

/// A criterion id, e.g. `ordering`.
impl From<&str> for CriterionId {
    fn from(s: &str) -> Self {
        CriterionId(s.to_owned())
    }
}

/// For `skip_serializing_if`: a count of nothing is left out of the JSON.
fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Report {
    /// The report as the candidate may see it: hidden criteria keep their score and level, lose
    /// their findings (counted in `findings_omitted`) and the measured summary, which can say as
    /// much as a finding; debrief prompts are dropped, and so are hidden figures (a picture of
    /// the right answer is the key) and, under visible criteria, assessor-only findings.
    pub fn for_candidate(mut self) -> Self {
        self.audience = Audience::Candidate;
        self.figures.retain(|f| match f.visibility {
            Visibility::Visible => true,
            Visibility::Hidden => false,
        });
        for c in &mut self.criteria {
            c.debrief.clear();
            match c.visibility {
                Visibility::Visible => {
                    let before = c.findings.len();
                    c.findings.retain(|f| f.visibility.is_visible());
                    c.findings_omitted += before - c.findings.len();
                    c.findings_held += before - c.findings.len();
                }
                Visibility::Hidden => {
                    c.findings_omitted += c.findings.len();
                    c.findings.clear();
                    // A practice seed has no review to promise.
                    c.summary = match self.seed {
                        SeedInfo::Hidden { .. } => {
                            "measured on hidden checks; details after review"
                        }
                        SeedInfo::Public { .. } => {
                            "measured on hidden checks; details are not shown to candidates"
                        }
                    }
                    .into();
                }
            }
        }
        self
    }
}

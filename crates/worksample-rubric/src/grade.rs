//! What a task's grader hands to the rubric: a score in 0..=1 and evidence per criterion, plus
//! optional cards (such as a trap card) and figures that assessors debrief from.
//!
//! Graders measure; they never weigh, cap or format. Weights, gates, levels and visibility are
//! applied by [`crate::score`] so that an assessor's edited rubric changes them without code.
//!
//! Two things only the grader can know are left to it:
//!
//! - a finding that names part of the answer key (a planted trap the candidate missed, a
//!   stratum measured on hidden labels) is marked [`Finding::assessor_only`], so that a
//!   candidate's report drops it even under a visible criterion;
//! - a criterion whose score holds more than the gate is about (a bonus beside the credit, say)
//!   attaches the measure its gates compare with [`CriterionGrade::gated_on`]; without one, a
//!   gate compares the score;
//! - a grader that keeps only the first findings of a long list (to bound its memory, or one
//!   volume's mistakes so they cannot crowd out the rest) says how many it dropped with
//!   [`CriterionGrade::with_dropped_findings`], so every report counts the findings it does not
//!   show honestly, rather than the grader writing its own "… and N more" finding that the
//!   rubric's cap may hide in turn.

use serde::{Deserialize, Serialize};

use crate::{CriterionId, Figure, Visibility};

/// A fraction in 0..=1. Construction clamps, and maps NaN to 0, so a grader bug can never
/// award more than full marks or produce a score JSON cannot carry.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Score(f64);

impl Score {
    /// Full marks.
    pub const FULL: Score = Score(1.0);
    /// No marks.
    pub const ZERO: Score = Score(0.0);

    /// A score from a fraction, clamped to 0..=1 (NaN becomes 0).
    pub fn new(fraction: f64) -> Self {
        if fraction.is_nan() {
            Score(0.0)
        } else {
            Score(fraction.clamp(0.0, 1.0))
        }
    }

    /// `part / whole`, or full marks when there was nothing to get right (`whole == 0`).
    pub fn ratio(part: usize, whole: usize) -> Self {
        if whole == 0 {
            Score::FULL
        } else {
            Score::new(part as f64 / whole as f64)
        }
    }

    /// The fraction.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// One piece of evidence: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// The file the finding is about, relative to the fixtures or submission folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Where inside it, e.g. an attribute path `(0040,0275)[0]>(0010,0010)` or a JSON pointer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Who may read it: [`Visibility::Hidden`] for evidence that reveals the answer key, which
    /// [`crate::Report::for_candidate`] drops (and counts as omitted) whatever the criterion's
    /// visibility. Visible when absent.
    #[serde(default, skip_serializing_if = "Visibility::is_visible")]
    pub visibility: Visibility,
}

impl Finding {
    /// A finding with only a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            file: None,
            location: None,
            message: message.into(),
            visibility: Visibility::Visible,
        }
    }

    /// Marks the finding as evidence for assessors only: it names part of the answer key.
    pub fn assessor_only(mut self) -> Self {
        self.visibility = Visibility::Hidden;
        self
    }

    /// Sets the file.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Sets the location inside the file.
    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
}

/// A grader's measurement of one criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionGrade {
    /// The rubric criterion this measures.
    pub id: CriterionId,
    /// The measured score.
    pub score: Score,
    /// One line saying what was measured, e.g. "41 of 44 volumes exactly right (F1 0.95)".
    pub summary: String,
    /// Evidence, most important first. The rubric caps how many are shown.
    pub findings: Vec<Finding>,
    /// What the rubric's gates on this criterion compare with `below`, when it is not the
    /// score: e.g. the share of planted causes credited, where the score also carries a bonus
    /// that must not open a gate about the diagnosis. `None`: the score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_measure: Option<Score>,
    /// Findings the grader measured but did not keep (beyond its own cap). The rubric adds them
    /// to the findings it leaves out, so a report's "… and N more" counts every one.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub findings_dropped: usize,
}

/// For `skip_serializing_if`: a count of nothing is left out.
fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl CriterionGrade {
    /// A measurement with no findings.
    pub fn new(id: impl Into<CriterionId>, score: Score, summary: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            score,
            summary: summary.into(),
            findings: Vec::new(),
            gate_measure: None,
            findings_dropped: 0,
        }
    }

    /// Adds findings.
    pub fn with_findings(mut self, findings: Vec<Finding>) -> Self {
        self.findings = findings;
        self
    }

    /// Says that `n` more findings were measured than [`Self::findings`] keeps: the grader's
    /// own cap dropped them. Adds to any count already given, so a grader folding several
    /// capped lists into one criterion can call it once per list.
    pub fn with_dropped_findings(mut self, n: usize) -> Self {
        self.findings_dropped += n;
        self
    }

    /// Sets the measure gates on this criterion compare, in place of the score.
    pub fn gated_on(mut self, measure: Score) -> Self {
        self.gate_measure = Some(measure);
        self
    }
}

/// A checklist assessors debrief from, e.g. each planted trap and whether it was handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    /// Title, e.g. "Trap card".
    pub title: String,
    /// One row per item.
    pub rows: Vec<CardRow>,
}

/// One row of a [`Card`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardRow {
    /// What was planted or checked.
    pub name: String,
    /// Whether the submission handled it.
    pub handled: bool,
    /// Evidence in a few words.
    pub detail: String,
}

/// Everything a grader measured for one submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grade {
    /// One entry per rubric criterion, in any order.
    pub criteria: Vec<CriterionGrade>,
    /// Debrief cards.
    pub cards: Vec<Card>,
    /// Problems with the submission as a whole (missing output file, schema errors), shown
    /// above the criteria. A non-empty list does not by itself change any score.
    pub notes: Vec<String>,
    /// Pictures and plots for assessors (see [`crate::figure`]); never scored.
    #[serde(default)]
    pub figures: Vec<Figure>,
}

impl Grade {
    /// The grade of an output too broken to measure (`output`, e.g. "the output", is missing,
    /// unreadable or fails its schema): every criterion of `ids` scores 0 and says why, the
    /// findings are listed once, under the first criterion rather than repeated under each, and
    /// `note` states the problem above the criteria.
    pub fn unusable(ids: &[&str], output: &str, note: String, findings: Vec<Finding>) -> Self {
        let summary = |i: usize| {
            if i == 0 || findings.is_empty() {
                format!("not graded: {output} is unusable")
            } else {
                // The title is the rubric's, which a grader does not hold; reports list the
                // criteria in rubric order, the graders' order too.
                format!(
                    "not graded: {output} is unusable (its findings are under the first criterion)"
                )
            }
        };
        let criteria = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let grade = CriterionGrade::new(*id, Score::ZERO, summary(i));
                if i == 0 {
                    grade.with_findings(findings.clone())
                } else {
                    grade
                }
            })
            .collect();
        Self {
            criteria,
            cards: Vec::new(),
            notes: vec![note],
            figures: Vec::new(),
        }
    }
}

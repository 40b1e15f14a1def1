//! The `rubric.toml` schema: criteria, weights, anchored levels, gates and debrief prompts.
//!
//! Parsing is strict (`deny_unknown_fields`) so that a typo in an assessor's edited rubric is an
//! error naming the key, not a silently ignored setting. [`RubricSpec::parse`] also checks the
//! rules serde cannot express (unique ids, positive weights, gates that name real criteria).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{CriterionId, Level, RubricError};

/// The most points one criterion may weigh.
pub const MAX_WEIGHT: f64 = 1000.0;
/// A whole rubric, as written in `tasks/<id>/rubric.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RubricSpec {
    /// Score thresholds that map a criterion score to an anchored level.
    #[serde(default)]
    pub levels: LevelThresholds,
    /// How many findings a criterion shows before it only counts the rest.
    #[serde(default = "default_max_findings")]
    pub max_findings: usize,
    /// The criteria, in the order the report lists them.
    #[serde(rename = "criterion")]
    pub criteria: Vec<CriterionSpec>,
    /// Gates: a failed criterion that caps the points of a whole category.
    #[serde(default, rename = "gate")]
    pub gates: Vec<GateSpec>,
}

fn default_max_findings() -> usize {
    20
}

/// One criterion of the rubric.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionSpec {
    /// Stable id, e.g. `ordering`; graders report scores under this id.
    pub id: CriterionId,
    /// Short human title.
    pub title: String,
    /// Category the criterion belongs to (gates cap whole categories).
    pub category: String,
    /// Points this criterion is worth; the rubric's total is the sum of weights.
    pub weight: f64,
    /// Why the weight differs from its neighbours, when it does (an OPM recommendation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_rationale: Option<String>,
    /// Who sees the findings. By default, everyone.
    #[serde(default)]
    pub visibility: Visibility,
    /// What the criterion measures and how, in one or two sentences.
    pub description: String,
    /// What each level means for this criterion, so assessors calibrate on behaviour.
    pub anchors: Anchors,
    /// Questions for the structured interview when the candidate lost points here.
    #[serde(default)]
    pub debrief: Vec<String>,
}

/// Who may see a criterion's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Score and findings are shown to the candidate.
    #[default]
    Visible,
    /// The candidate sees the score only; findings are for assessors.
    Hidden,
}

impl Visibility {
    /// Whether it is [`Visibility::Visible`] (serde leaves the default out).
    pub fn is_visible(&self) -> bool {
        matches!(self, Visibility::Visible)
    }
}

/// Behavioural anchors for the four levels.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Anchors {
    /// What a poor result looks like.
    pub poor: String,
    /// What a mixed result looks like.
    pub mixed: String,
    /// What a good result looks like.
    pub good: String,
    /// What an excellent result looks like.
    pub excellent: String,
}

impl Anchors {
    /// The anchor text of one level.
    pub fn text(&self, level: Level) -> &str {
        match level {
            Level::Poor => &self.poor,
            Level::Mixed => &self.mixed,
            Level::Good => &self.good,
            Level::Excellent => &self.excellent,
        }
    }
}

/// Lowest score of each level above `poor`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LevelThresholds {
    /// Lowest score that counts as mixed. By default 0.5.
    pub mixed: f64,
    /// Lowest score that counts as good. By default 0.75.
    pub good: f64,
    /// Lowest score that counts as excellent. By default 0.95.
    pub excellent: f64,
}

impl Default for LevelThresholds {
    fn default() -> Self {
        Self {
            mixed: 0.5,
            good: 0.75,
            excellent: 0.95,
        }
    }
}

impl LevelThresholds {
    /// The level a score falls in.
    pub fn level(&self, score: f64) -> Level {
        if score >= self.excellent {
            Level::Excellent
        } else if score >= self.good {
            Level::Good
        } else if score >= self.mixed {
            Level::Mixed
        } else {
            Level::Poor
        }
    }
}

/// A gate: while `criterion` scores below `below`, the category `caps` earns at most `cap` of
/// its points. "Any leaked direct identifier caps privacy" is a gate.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// Stable id of the gate, shown in the report.
    pub id: String,
    /// The criterion whose score opens or closes the gate.
    pub criterion: CriterionId,
    /// The gate closes when the criterion scores strictly below this.
    pub below: f64,
    /// The category whose points are capped.
    pub caps: String,
    /// Fraction (0..=1) of the category's maximum that it can earn while the gate is closed.
    pub cap: f64,
    /// Why, in words the candidate reads.
    pub reason: String,
}

impl RubricSpec {
    /// Parses and validates a rubric. `origin` names the file in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Self, RubricError> {
        let spec: RubricSpec = toml::from_str(text).map_err(|source| RubricError::Parse {
            origin: origin.to_owned(),
            message: source.to_string(),
        })?;
        spec.validate(origin)?;
        Ok(spec)
    }

    /// Checks what the schema cannot: unique ids, weights, thresholds and gate references.
    ///
    /// A criterion's weight is its points; [`MAX_WEIGHT`] bounds it.
    pub fn validate(&self, origin: &str) -> Result<(), RubricError> {
        let invalid = |message: String| RubricError::Invalid {
            origin: origin.to_owned(),
            message,
        };
        if self.criteria.is_empty() {
            return Err(invalid("a rubric needs at least one [[criterion]]".into()));
        }
        let mut ids = BTreeSet::new();
        for c in &self.criteria {
            if !ids.insert(c.id.as_str()) {
                return Err(invalid(format!("criterion id `{}` appears twice", c.id)));
            }
            // Bounded above too: reports round points to two decimals, so a weight of 1e17
            // showed 93.65 % as 100.00 %, and 1e308 made the total infinite.
            if !(c.weight.is_finite() && c.weight > 0.0 && c.weight <= MAX_WEIGHT) {
                return Err(invalid(format!(
                    "criterion `{}`: weight must be a positive number of points, at most \
                     {MAX_WEIGHT}, got {}",
                    c.id, c.weight
                )));
            }
        }
        let t = self.levels;
        let ordered =
            0.0 < t.mixed && t.mixed < t.good && t.good < t.excellent && t.excellent <= 1.0;
        if !ordered {
            return Err(invalid(format!(
                "[levels]: thresholds must satisfy 0 < mixed < good < excellent <= 1, got {} / {} / {}",
                t.mixed, t.good, t.excellent
            )));
        }
        let categories: BTreeSet<&str> =
            self.criteria.iter().map(|c| c.category.as_str()).collect();
        let mut gate_ids = BTreeSet::new();
        for g in &self.gates {
            if !gate_ids.insert(g.id.as_str()) {
                return Err(invalid(format!("gate id `{}` appears twice", g.id)));
            }
            if !ids.contains(g.criterion.as_str()) {
                return Err(invalid(format!(
                    "gate `{}`: criterion `{}` is not in this rubric",
                    g.id, g.criterion
                )));
            }
            if !categories.contains(g.caps.as_str()) {
                return Err(invalid(format!(
                    "gate `{}`: category `{}` has no criteria",
                    g.id, g.caps
                )));
            }
            if !(0.0..=1.0).contains(&g.cap) || !(0.0..=1.0).contains(&g.below) {
                return Err(invalid(format!(
                    "gate `{}`: `below` and `cap` must lie in 0..=1",
                    g.id
                )));
            }
        }
        Ok(())
    }

    /// The sum of all weights: the rubric's maximum points.
    pub fn max_points(&self) -> f64 {
        self.criteria.iter().map(|c| c.weight).sum()
    }

    /// Looks a criterion up by id.
    pub fn criterion(&self, id: &str) -> Option<&CriterionSpec> {
        self.criteria.iter().find(|c| c.id.as_str() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[[criterion]]
id = "coverage"
title = "Coverage"
category = "triage"
weight = 10
description = "Every file accounted for."
anchors = { poor = "p", mixed = "m", good = "g", excellent = "e" }
"#;

    #[test]
    fn parses_a_minimal_rubric_with_defaults() {
        let spec = RubricSpec::parse(MINIMAL, "rubric.toml").expect("valid");
        assert_eq!(spec.max_findings, 20);
        assert_eq!(spec.criteria[0].visibility, Visibility::Visible);
        assert_eq!(spec.max_points(), 10.0);
        assert_eq!(spec.levels.level(0.96), Level::Excellent);
        assert_eq!(spec.levels.level(0.5), Level::Mixed);
        assert_eq!(spec.levels.level(0.49), Level::Poor);
    }

    #[test]
    fn unknown_key_names_the_file_and_key() {
        let text = MINIMAL.replace("weight = 10", "weight = 10\nwieght = 3");
        let err = RubricSpec::parse(&text, "tasks/x/rubric.toml").expect_err("typo");
        let msg = err.to_string();
        assert!(msg.contains("tasks/x/rubric.toml"), "{msg}");
        assert!(msg.contains("wieght"), "{msg}");
    }

    #[test]
    fn rejects_rules_serde_cannot_express() {
        let cases = [
            (MINIMAL.replace("weight = 10", "weight = 0"), "positive"),
            (
                MINIMAL.replace("weight = 10", "weight = 1e308"),
                "at most 1000",
            ),
            (
                MINIMAL.replace("weight = 10", "weight = 1000.5"),
                "at most 1000",
            ),
            (format!("{MINIMAL}{MINIMAL}"), "appears twice"),
            (
                format!(
                    "{MINIMAL}\n[[gate]]\nid = \"g\"\ncriterion = \"nope\"\nbelow = 1\ncaps = \"triage\"\ncap = 0\nreason = \"r\"\n"
                ),
                "not in this rubric",
            ),
            (
                format!(
                    "{MINIMAL}\n[[gate]]\nid = \"g\"\ncriterion = \"coverage\"\nbelow = 1\ncaps = \"privacy\"\ncap = 0\nreason = \"r\"\n"
                ),
                "has no criteria",
            ),
            (
                format!("[levels]\nmixed = 0.8\ngood = 0.7\nexcellent = 0.9\n{MINIMAL}"),
                "thresholds",
            ),
        ];
        for (text, expected) in cases {
            let err = RubricSpec::parse(&text, "r.toml").expect_err(expected);
            assert!(err.to_string().contains(expected), "{err} lacks {expected}");
        }
    }
}

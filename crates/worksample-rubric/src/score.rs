//! Turns a grader's [`Grade`] into a [`Report`]: weights, gates, levels, finding caps, verdict.
//!
//! Order of operations: each criterion earns `score × weight`; then every closed gate caps its
//! category at `cap × category maximum`, scaling that category's criteria down in proportion so
//! the evidence of where points were lost stays visible per criterion. A gate compares the
//! criterion's gate measure when its grader attached one ([`crate::CriterionGrade::gated_on`]),
//! else its score.
//!
//! A criterion's status follows the points it keeps after the gates, not its measured score: a
//! perfect measurement whose category a gate capped earned part of its points, so it is
//! `partial` (or `fail`, under a cap of 0), never `pass`; its level stays the measured one,
//! since the level's anchor text describes the work, and every rendering shows such a level as
//! capped. A criterion's omitted findings count those over the rubric's cap and those its
//! grader dropped ([`crate::CriterionGrade::with_dropped_findings`]).

use std::collections::BTreeMap;

use crate::{
    Audience, CriterionReport, GateHit, Grade, Report, RubricError, RubricSpec, RunSummary,
    SeedInfo, Status, TaskRef, Total, Verdict, report::REPORT_SCHEMA,
};

/// Everything about a run the rubric needs besides the grade.
#[derive(Debug, Clone)]
pub struct ReportContext {
    /// Version of the harness binary.
    pub harness_version: String,
    /// The task graded.
    pub task: TaskRef,
    /// Fixture profile.
    pub profile: String,
    /// Seed or commitment.
    pub seed: SeedInfo,
    /// Candidate id, when known.
    pub candidate: Option<String>,
    /// How the candidate's command ran.
    pub run: RunSummary,
    /// `--fail-under`, in percent.
    pub threshold: Option<f64>,
}

/// Scores a grade against a rubric. The report is for assessors; call
/// [`Report::for_candidate`] before showing it to a candidate.
///
/// A grade that misses a rubric criterion or names one the rubric lacks is a grader bug, not a
/// candidate failure, and is an error.
pub fn score(spec: &RubricSpec, grade: Grade, ctx: ReportContext) -> Result<Report, RubricError> {
    let mut measured: BTreeMap<String, crate::CriterionGrade> = BTreeMap::new();
    for g in grade.criteria {
        if spec.criterion(g.id.as_str()).is_none() {
            return Err(RubricError::GradeMismatch(format!(
                "the grader scored `{}`, which the rubric does not define",
                g.id
            )));
        }
        let id = g.id.as_str().to_owned();
        if measured.insert(id.clone(), g).is_some() {
            return Err(RubricError::GradeMismatch(format!(
                "the grader scored `{id}` twice"
            )));
        }
    }

    let mut criteria = Vec::with_capacity(spec.criteria.len());
    for c in &spec.criteria {
        let g = measured.remove(c.id.as_str()).ok_or_else(|| {
            RubricError::GradeMismatch(format!("the grader did not score `{}`", c.id))
        })?;
        let score = g.score.get();
        let level = spec.levels.level(score);
        let status = if score >= 1.0 {
            Status::Pass
        } else if score > 0.0 {
            Status::Partial
        } else {
            Status::Fail
        };
        let gate_measure = g.gate_measure.map(crate::Score::get);
        let shown = g.findings.len().min(spec.max_findings);
        let omitted = g.findings.len() - shown + g.findings_dropped;
        let mut findings = g.findings;
        findings.truncate(shown);
        criteria.push(CriterionReport {
            id: c.id.clone(),
            title: c.title.clone(),
            category: c.category.clone(),
            weight: c.weight,
            score,
            points: score * c.weight,
            max_points: c.weight,
            status,
            level,
            level_text: c.anchors.text(level).to_owned(),
            visibility: c.visibility,
            summary: g.summary,
            findings,
            findings_omitted: omitted,
            findings_held: 0,
            gated_by: Vec::new(),
            gate_measure,
            debrief: if score < 1.0 {
                c.debrief.clone()
            } else {
                Vec::new()
            },
        });
    }

    for gate in &spec.gates {
        let trigger = criteria
            .iter()
            .find(|c| c.id == gate.criterion)
            .map(|c| c.gate_measure.unwrap_or(c.score))
            .unwrap_or(1.0);
        if trigger >= gate.below {
            continue;
        }
        let in_category = |c: &&mut CriterionReport| c.category == gate.caps;
        let max: f64 = criteria
            .iter_mut()
            .filter(in_category)
            .map(|c| c.max_points)
            .sum();
        let earned: f64 = criteria
            .iter_mut()
            .filter(in_category)
            .map(|c| c.points)
            .sum();
        let allowed = gate.cap * max;
        if earned <= allowed {
            continue;
        }
        let factor = if earned > 0.0 { allowed / earned } else { 0.0 };
        // Only criteria that lose points carry the gate; a zero stays a zero for its own reason.
        for c in criteria
            .iter_mut()
            .filter(in_category)
            .filter(|c| c.points > 0.0)
        {
            c.points *= factor;
            // The gate took points: whatever was measured, this criterion did not pass.
            c.status = if c.points > 0.0 {
                Status::Partial
            } else {
                Status::Fail
            };
            c.gated_by.push(GateHit {
                gate: gate.id.clone(),
                by: gate.criterion.clone(),
                reason: gate.reason.clone(),
            });
        }
    }

    let points: f64 = criteria.iter().map(|c| c.points).sum();
    let max_points = spec.max_points();
    let percent = round2(100.0 * points / max_points);
    let verdict = match ctx.threshold {
        None => Verdict::Unjudged,
        Some(t) if percent >= t => Verdict::Pass,
        Some(_) => Verdict::Fail,
    };
    Ok(Report {
        schema: REPORT_SCHEMA.to_owned(),
        harness_version: ctx.harness_version,
        task: ctx.task,
        profile: ctx.profile,
        seed: ctx.seed,
        candidate: ctx.candidate,
        audience: Audience::Assessor,
        run: ctx.run,
        notes: grade.notes,
        criteria,
        cards: grade.cards,
        figures: grade.figures,
        total: Total {
            points: round2(points),
            max_points,
            percent,
        },
        threshold: ctx.threshold,
        verdict,
    })
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CriterionGrade, Finding, Score};

    fn spec() -> RubricSpec {
        let text = r#"
max_findings = 2
[[criterion]]
id = "leaks"
title = "No leaks"
category = "privacy"
weight = 20
description = "d"
anchors = { poor = "leaks", mixed = "m", good = "g", excellent = "none" }
debrief = ["How did you find every identifier?"]

[[criterion]]
id = "actions"
title = "Actions"
category = "privacy"
weight = 30
visibility = "hidden"
description = "d"
anchors = { poor = "p", mixed = "m", good = "g", excellent = "e" }

[[criterion]]
id = "utility"
title = "Utility"
category = "utility"
weight = 50
description = "d"
anchors = { poor = "p", mixed = "m", good = "g", excellent = "e" }

[[gate]]
id = "direct-leak"
criterion = "leaks"
below = 1.0
caps = "privacy"
cap = 0.25
reason = "a direct identifier leaked"
"#;
        RubricSpec::parse(text, "test").expect("valid")
    }

    fn ctx(threshold: Option<f64>) -> ReportContext {
        ReportContext {
            harness_version: "0.1.0".into(),
            task: TaskRef {
                id: "t".into(),
                version: 1,
                title: "T".into(),
            },
            profile: "standard".into(),
            seed: SeedInfo::Public { value: 7 },
            candidate: None,
            run: RunSummary::not_run(),
            threshold,
        }
    }

    fn grade(leaks: f64, actions: f64, utility: f64) -> Grade {
        Grade {
            criteria: vec![
                CriterionGrade::new("leaks", Score::new(leaks), "s").with_findings(vec![
                    Finding::new("a"),
                    Finding::new("b"),
                    Finding::new("c"),
                ]),
                CriterionGrade::new("actions", Score::new(actions), "s")
                    .with_findings(vec![Finding::new("hidden evidence")]),
                CriterionGrade::new("utility", Score::new(utility), "s"),
            ],
            cards: vec![],
            notes: vec![],
            figures: vec![],
        }
    }

    #[test]
    fn weights_levels_and_caps() {
        let r = score(&spec(), grade(1.0, 0.5, 0.8), ctx(Some(70.0))).expect("scored");
        assert_eq!(r.total.points, 20.0 + 15.0 + 40.0);
        assert_eq!(r.total.percent, 75.0);
        assert_eq!(r.verdict, Verdict::Pass);
        let leaks = &r.criteria[0];
        assert_eq!(leaks.status, Status::Pass);
        assert_eq!(leaks.findings.len(), 2);
        assert_eq!(leaks.findings_omitted, 1);
        assert!(leaks.debrief.is_empty(), "full marks need no debrief");
        assert_eq!(r.criteria[1].status, Status::Partial);
        assert_eq!(r.criteria[1].level, crate::Level::Mixed);
        assert_eq!(r.criteria[2].level, crate::Level::Good);
    }

    #[test]
    fn a_closed_gate_caps_its_category_only() {
        let r = score(&spec(), grade(0.9, 1.0, 1.0), ctx(Some(80.0))).expect("scored");
        // privacy max 50, cap 25 % → 12.5 points shared in proportion 18 : 30.
        let privacy: f64 = r.criteria[..2].iter().map(|c| c.points).sum();
        assert!((privacy - 12.5).abs() < 1e-9, "{privacy}");
        assert_eq!(r.criteria[2].points, 50.0);
        assert!(r.criteria[..2].iter().all(|c| c.gated_by.len() == 1));
        assert!(r.criteria[2].gated_by.is_empty());
        assert_eq!(r.total.percent, 62.5);
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.criteria[0].debrief.len(), 1);
    }

    /// A gate that took points turns a measured pass into a partial (or a fail, when it took
    /// them all); the level stays the measured one, which its anchor text describes.
    #[test]
    fn a_criterion_a_gate_capped_is_not_a_pass() {
        let r = score(&spec(), grade(0.9, 1.0, 1.0), ctx(None)).expect("scored");
        let actions = &r.criteria[1];
        assert_eq!(actions.score, 1.0);
        assert!(actions.points < actions.max_points);
        assert_eq!(actions.status, Status::Partial);
        assert_eq!(actions.level, crate::Level::Excellent);
        assert_eq!(
            r.criteria[2].status,
            Status::Pass,
            "an open category passes"
        );
        let zero = spec().gates[0].clone();
        let mut shut = spec();
        shut.gates = vec![crate::GateSpec { cap: 0.0, ..zero }];
        let r = score(&shut, grade(0.9, 1.0, 1.0), ctx(None)).expect("scored");
        assert_eq!(r.criteria[1].points, 0.0);
        assert_eq!(r.criteria[1].status, Status::Fail);
    }

    /// Findings a grader dropped under its own cap are counted with those over the rubric's.
    #[test]
    fn findings_a_grader_dropped_are_counted_as_omitted() {
        let cases = [
            // (kept by the grader, dropped by it, shown, omitted)
            (3, 0, 2, 1),
            (3, 222, 2, 223),
            (1, 5, 1, 5),
            (0, 0, 0, 0),
        ];
        for (kept, dropped, shown, omitted) in cases {
            let mut g = grade(1.0, 1.0, 1.0);
            g.criteria[0] = CriterionGrade::new("leaks", Score::new(0.5), "s")
                .with_findings((0..kept).map(|i| Finding::new(format!("f{i}"))).collect())
                .with_dropped_findings(dropped);
            let r = score(&spec(), g, ctx(None)).expect("scored");
            let c = &r.criteria[0];
            assert_eq!(
                (c.findings.len(), c.findings_omitted),
                (shown, omitted),
                "{kept} kept, {dropped} dropped"
            );
        }
    }

    #[test]
    fn candidate_view_hides_findings_of_hidden_criteria_but_not_scores() {
        let r = score(&spec(), grade(1.0, 0.5, 1.0), ctx(None)).expect("scored");
        assert_eq!(r.verdict, Verdict::Unjudged);
        let c = r.for_candidate();
        assert_eq!(c.audience, Audience::Candidate);
        assert!(c.criteria[1].findings.is_empty());
        assert_eq!(c.criteria[1].findings_omitted, 1);
        assert_eq!(c.criteria[1].score, 0.5);
        assert_eq!(c.criteria[0].findings.len(), 2);
    }

    #[test]
    fn a_gate_compares_the_gate_measure_when_the_grader_sets_one() {
        // A score of 0.95 that holds a bonus beside a credited share of 0.5: the gate (below
        // 1.0) is about the share, so it closes.
        let mut g = grade(0.95, 1.0, 1.0);
        g.criteria[0] = g.criteria[0].clone().gated_on(Score::new(0.5));
        let r = score(&spec(), g, ctx(None)).expect("scored");
        assert_eq!(r.criteria[0].gate_measure, Some(0.5));
        assert!(r.criteria[..2].iter().all(|c| c.gated_by.len() == 1));
        // And the other way round: a low score whose measure is high leaves the gate open.
        let mut g = grade(0.5, 1.0, 1.0);
        g.criteria[0] = g.criteria[0].clone().gated_on(Score::FULL);
        let r = score(&spec(), g, ctx(None)).expect("scored");
        assert!(r.criteria.iter().all(|c| c.gated_by.is_empty()));
    }

    #[test]
    fn candidate_view_drops_assessor_only_findings_of_visible_criteria() {
        let mut g = grade(0.5, 1.0, 1.0);
        g.criteria[0].findings = vec![
            Finding::new("your claim 2 matches nothing"),
            Finding::new("planted trap X missed").assessor_only(),
        ];
        let r = score(&spec(), g, ctx(None)).expect("scored");
        assert_eq!(r.criteria[0].findings.len(), 2, "assessors see both");
        assert_eq!(
            r.criteria[0].findings_held, 0,
            "nothing held from assessors"
        );
        let c = r.for_candidate();
        let messages: Vec<&str> = c.criteria[0]
            .findings
            .iter()
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(messages, ["your claim 2 matches nothing"]);
        assert_eq!(c.criteria[0].findings_omitted, 1);
        assert_eq!(
            c.criteria[0].findings_held, 1,
            "said to be held, not over the cap"
        );
        let json = serde_json::to_string(&c).expect("serialises");
        assert!(!json.contains("planted trap"), "{json}");
    }

    #[test]
    fn grader_bugs_are_errors() {
        let mut g = grade(1.0, 1.0, 1.0);
        g.criteria.pop();
        let err = score(&spec(), g, ctx(None)).expect_err("missing");
        assert!(err.to_string().contains("did not score `utility`"), "{err}");
        let mut g = grade(1.0, 1.0, 1.0);
        g.criteria
            .push(CriterionGrade::new("bogus", Score::FULL, ""));
        assert!(score(&spec(), g, ctx(None)).is_err());
    }

    #[test]
    fn scores_clamp_and_nan_is_zero() {
        assert_eq!(Score::new(f64::NAN).get(), 0.0);
        assert_eq!(Score::new(3.0).get(), 1.0);
        assert_eq!(Score::ratio(0, 0), Score::FULL);
    }
}

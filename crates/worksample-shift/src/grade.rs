//! The grader: the report is validated against the published schema, then four criteria are
//! measured (research shift.md §3.6):
//!
//! - `metrics`: every (grouping attribute, value) cell of the development set recomputed from
//!   P0's outputs and the labels, compared field by field;
//! - `causes`: each planted cause matched by the claim of the same id whose selected cases
//!   overlap its stratum best (Jaccard), weighted by the evidence, minus false claims;
//! - `fix`: the corrected configuration replayed on the hidden-label test set, recovery per
//!   affected stratum relative to P0 and to the reference fix, guards on the others, and the
//!   submitted predictions checked against the replay;
//! - `hygiene`: no claims on null or too-small strata, claimed effects confirmed after Holm,
//!   effect values right.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use worksample_task::Figures;
use worksample_task::rubric::{Card, CardRow, CriterionGrade, Finding, Grade, Score, Visibility};
use worksample_task::submission::{self, Caps};

use crate::config::Config;
use crate::figures::{self, Intensity};
use crate::key::{Case, Cause, Key, Role, Split};
use crate::model::{Decision, Prediction, predict};
use crate::output::{
    AucMethod, Claim, Metric, PREDICTIONS_FILE, REPORT_FILE, REPORT_SCHEMA, REQUIRED_GROUPS, Report,
};
use crate::slice::Slice;
use crate::stats::{Confusion, Interval, Z95, auc_delong, holm, newcombe_diff, two_proportion_p};

/// The rubric criteria this grader measures.
pub const CRITERIA: [&str; 4] = ["metrics", "causes", "fix", "hygiene"];

/// Tolerances of the metric cells (research shift.md §3.6 R1).
const TOL_EST: f64 = 0.001;
const TOL_CI: f64 = 0.002;
const TOL_DELONG: f64 = 0.01;
const TOL_BOOTSTRAP: f64 = 0.05;
/// Tolerance of claimed effect values.
const TOL_EFFECT: f64 = 0.01;
/// Replay agreement below which the fix criterion is halved.
const MIN_AGREEMENT: f64 = 0.98;

/// Grades the submission folder against the key; `fixtures` is the trusted copy the replay
/// reads, and `shown` says whether to draw the (hidden) figures. Candidate problems become
/// findings; `Err` is a harness fault.
pub fn grade_submission(
    schema: &Value,
    key: &Key,
    fixtures: &Path,
    submission: &Path,
    shown: Figures,
) -> Result<Grade, String> {
    let doc: Value = match submission::read_json(submission, REPORT_FILE, &Caps::default()) {
        Ok(v) => v,
        Err(problem) => {
            return Ok(failed(
                format!("no usable {REPORT_FILE}: {problem}"),
                vec![Finding::new(problem.to_string()).in_file(REPORT_FILE)],
            ));
        }
    };
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| format!("output.schema.json is not valid JSON Schema: {e}"))?;
    let errors: Vec<Finding> = validator
        .iter_errors(&doc)
        .take(50)
        .map(|e| {
            let at = e.instance_path().to_string();
            Finding::new(e.to_string())
                .in_file(REPORT_FILE)
                .at(if at.is_empty() { "/".to_owned() } else { at })
        })
        .collect();
    if !errors.is_empty() {
        return Ok(failed(
            format!(
                "{REPORT_FILE} does not match output.schema.json ({} shown); every criterion scores 0",
                match errors.len() {
                    1 => "1 error".to_owned(),
                    n => format!("{n} errors"),
                }
            ),
            errors,
        ));
    }
    // JSON Schema's `integer` admits any number with a zero fraction (`20.0`, `1e308`); the
    // typed counts are u64, which refuse them. Exact ones are read as the integers the schema
    // accepted; what still does not fit is the candidate's value, not a harness fault.
    let mut doc = doc;
    integral_floats_as_integers(&mut doc);
    let report: Report = match serde_json::from_value(doc) {
        Ok(r) => r,
        Err(e) => {
            let problem = format!("passed the schema, but a value does not fit its field: {e}");
            return Ok(failed(
                format!("{REPORT_FILE} is unusable: {problem}; every criterion scores 0"),
                vec![Finding::new(problem).in_file(REPORT_FILE)],
            ));
        }
    };
    if report.schema != REPORT_SCHEMA {
        return Err(format!(
            "the schema let `schema: {}` through",
            report.schema
        ));
    }
    let predictions = read_predictions(submission);
    let ctx = Context::new(key);
    let test: Vec<&Case> = key.split(Split::Test).collect();
    // The replay bins the histogram sample while it has the slices decoded (figures.rs). Every
    // figure is hidden: the per-site bars are the metrics' answer.
    let draw = shown.draws(Visibility::Hidden);
    let sampled = if draw {
        figures::sample(&test)
    } else {
        BTreeSet::new()
    };
    let (causes, card) = grade_causes(&ctx, &report);
    let (fix, replayed) = grade_fix(&ctx, &report, &predictions, fixtures, &test, &sampled)?;
    let criteria = vec![
        grade_metrics(&ctx, &report),
        causes,
        fix,
        grade_hygiene(&ctx, &report),
    ];
    let figures = if draw {
        let (fix_predictions, intensities) = match replayed {
            Some(r) => (Some(r.predictions), r.intensities),
            None => (None, figures::read_intensities(&test, &sampled, fixtures)),
        };
        figures::figures(
            &test,
            fix_predictions.as_deref(),
            sampled.len(),
            &intensities,
        )
    } else {
        Vec::new()
    };
    Ok(Grade {
        criteria,
        cards: vec![card],
        notes: predictions.note.into_iter().collect(),
        figures,
    })
}

/// Rewrites numbers with a zero fraction that an f64 holds exactly (below 2^53) as integers.
/// Depth is bounded: the document was parsed under serde_json's recursion limit.
fn integral_floats_as_integers(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                && n.is_f64()
            {
                *n = serde_json::Number::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// Every criterion 0, the findings once, and a note saying why.
fn failed(note: String, findings: Vec<Finding>) -> Grade {
    Grade::unusable(&CRITERIA, "the report", note, findings)
}

/// What every criterion needs: the key and its cases indexed.
struct Context<'a> {
    key: &'a Key,
    dev: Vec<&'a Case>,
    reference: Confusion,
}

impl<'a> Context<'a> {
    fn new(key: &'a Key) -> Self {
        let dev: Vec<&Case> = key.split(Split::Dev).collect();
        let reference = p0_confusion(dev.iter().copied().filter(|c| c.unit == 0));
        Context {
            key,
            dev,
            reference,
        }
    }

    /// Every case (both splits) a selector picks.
    fn select(&self, selector: &BTreeMap<String, String>) -> BTreeSet<&'a str> {
        self.key
            .cases
            .iter()
            .filter(|c| matches(c, selector))
            .map(|c| c.uid.as_str())
            .collect()
    }

    fn select_dev(&self, selector: &BTreeMap<String, String>) -> Vec<&'a Case> {
        self.dev
            .iter()
            .copied()
            .filter(|c| matches(c, selector))
            .collect()
    }
}

fn matches(case: &Case, selector: &BTreeMap<String, String>) -> bool {
    selector
        .iter()
        .all(|(k, v)| case.attributes.get(k).map_or("", String::as_str) == v.trim())
}

fn p0_confusion<'a>(cases: impl Iterator<Item = &'a Case>) -> Confusion {
    let mut c = Confusion::default();
    for case in cases {
        c.add(case.label, case.p0.decision == Decision::Pos);
    }
    c
}

fn jaccard(a: &BTreeSet<&str>, b: &BTreeSet<&str>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        0.0
    } else {
        a.intersection(b).count() as f64 / union as f64
    }
}

/// One recomputed metric cell.
struct Truth {
    confusion: Confusion,
    sens: Interval,
    spec: Interval,
    auc: Interval,
}

fn truth_cells<'a>(ctx: &Context<'a>) -> BTreeMap<(&'static str, String), Truth> {
    let mut groups: BTreeMap<(&'static str, String), Vec<&Case>> = BTreeMap::new();
    for c in &ctx.dev {
        for g in REQUIRED_GROUPS {
            let v = c.attributes.get(g).cloned().unwrap_or_default();
            groups.entry((g, v)).or_default().push(c);
        }
    }
    groups
        .into_iter()
        .map(|(k, cases)| {
            let confusion = p0_confusion(cases.iter().copied());
            let pos: Vec<f64> = cases
                .iter()
                .filter(|c| c.label)
                .map(|c| c.p0.score)
                .collect();
            let neg: Vec<f64> = cases
                .iter()
                .filter(|c| !c.label)
                .map(|c| c.p0.score)
                .collect();
            let truth = Truth {
                sens: confusion.sensitivity(),
                spec: confusion.specificity(),
                auc: auc_delong(&pos, &neg),
                confusion,
            };
            (k, truth)
        })
        .collect()
}

fn grade_metrics(ctx: &Context<'_>, report: &Report) -> CriterionGrade {
    const FIELDS: usize = 16;
    let truth = truth_cells(ctx);
    let mut given: BTreeMap<(&str, &str), &crate::output::Cell> = BTreeMap::new();
    for c in &report.strata_metrics {
        given
            .entry((c.group_by.as_str(), c.value.trim()))
            .or_insert(c);
    }
    let mut right = 0usize;
    let mut findings = Vec::new();
    for ((g, v), t) in &truth {
        let Some(cell) = given.get(&(*g, v.as_str())) else {
            findings.push(Finding::new(format!("no cell for {g} = \"{v}\"")).in_file(REPORT_FILE));
            continue;
        };
        let k = &t.confusion;
        let close = |a: f64, b: f64, tol: f64| (a - b).abs() <= tol + 1e-12;
        let auc_tol = match cell.auc.method {
            AucMethod::Delong => TOL_DELONG,
            AucMethod::Bootstrap => TOL_BOOTSTRAP,
        };
        let checks: [(&str, bool); FIELDS] = [
            ("n", cell.n as usize == k.n_pos() + k.n_neg()),
            ("n_pos", cell.n_pos as usize == k.n_pos()),
            ("tp", cell.tp as usize == k.tp),
            ("fp", cell.fp as usize == k.fp),
            ("tn", cell.tn as usize == k.tn),
            ("fn", cell.fn_ as usize == k.fn_),
            (
                "sensitivity.est",
                close(cell.sensitivity.est, t.sens.est, TOL_EST),
            ),
            (
                "sensitivity.ci95[0]",
                close(cell.sensitivity.ci95[0], t.sens.lo, TOL_CI),
            ),
            (
                "sensitivity.ci95[1]",
                close(cell.sensitivity.ci95[1], t.sens.hi, TOL_CI),
            ),
            (
                "specificity.est",
                close(cell.specificity.est, t.spec.est, TOL_EST),
            ),
            (
                "specificity.ci95[0]",
                close(cell.specificity.ci95[0], t.spec.lo, TOL_CI),
            ),
            (
                "specificity.ci95[1]",
                close(cell.specificity.ci95[1], t.spec.hi, TOL_CI),
            ),
            ("auc.est", close(cell.auc.est, t.auc.est, TOL_EST)),
            ("auc.ci95[0]", close(cell.auc.ci95[0], t.auc.lo, auc_tol)),
            ("auc.ci95[1]", close(cell.auc.ci95[1], t.auc.hi, auc_tol)),
            (
                "insufficient",
                cell.insufficient == (k.n_pos() < 10 || k.n_neg() < 10),
            ),
        ];
        let wrong: Vec<&str> = checks
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| *n)
            .collect();
        right += FIELDS - wrong.len();
        if !wrong.is_empty() {
            findings.push(
                Finding::new(format!("{g} = \"{v}\": wrong {}", wrong.join(", ")))
                    .in_file(REPORT_FILE),
            );
        }
    }
    let total = FIELDS * truth.len();
    CriterionGrade::new(
        "metrics",
        Score::ratio(right, total),
        format!(
            "{right} of {total} cell fields right over {} strata",
            truth.len()
        ),
    )
    .with_findings(findings)
}

/// How well one claim supports its cause: 1 with tags and every measurement right, 0.75 with
/// the tags only, 0.5 otherwise (research shift.md §3.6 R2).
fn evidence_factor(claim: &Claim, cause: Cause, expected: &BTreeMap<String, (f64, f64)>) -> f64 {
    let tags = claim.evidence_tags.iter().any(|t| {
        cause
            .primary_tags()
            .iter()
            .any(|p| p.eq_ignore_ascii_case(t))
    });
    let values = expected.iter().all(|(name, (v, tol))| {
        claim
            .evidence
            .get(name)
            .is_some_and(|x| (x - v).abs() <= tol + 1e-9)
    });
    match (tags, values) {
        (true, true) => 1.0,
        (true, false) => 0.75,
        (false, true | false) => 0.5,
    }
}

/// Whether each claim's effect is confirmed: its diff interval excludes 0, and the harness's
/// Newcombe interval on the claimed cases excludes 0 on the same side with a Holm-adjusted
/// two-proportion p below 0.05 across all claims.
fn confirmations(ctx: &Context<'_>, report: &Report) -> Vec<bool> {
    let r = ctx.reference;
    let mut tests = Vec::new();
    for claim in &report.root_causes {
        let c = p0_confusion(ctx.select_dev(&claim.selector).into_iter());
        let (k1, n1, k2, n2) = match claim.effect.metric {
            Metric::Sensitivity => (c.tp, c.n_pos(), r.tp, r.n_pos()),
            Metric::Specificity => (c.tn, c.n_neg(), r.tn, r.n_neg()),
        };
        tests.push((
            two_proportion_p(k1, n1, k2, n2),
            newcombe_diff(k1, n1, k2, n2, Z95),
        ));
    }
    let adjusted = holm(&tests.iter().map(|t| t.0).collect::<Vec<_>>());
    report
        .root_causes
        .iter()
        .zip(tests.iter().zip(adjusted))
        .map(|(claim, ((_, d), p))| {
            let [lo, hi] = claim.effect.diff_ci95;
            let theirs_neg = hi < 0.0;
            let theirs_pos = lo > 0.0;
            p < 0.05 && ((theirs_neg && d.hi < 0.0) || (theirs_pos && d.lo > 0.0))
        })
        .zip(&report.root_causes)
        .map(|(ok, claim)| ok && sufficient(ctx, claim))
        .collect()
}

fn grade_causes(ctx: &Context<'_>, report: &Report) -> (CriterionGrade, Card) {
    let key = ctx.key;
    let confirmed = confirmations(ctx, report);
    let claim_sets: Vec<BTreeSet<&str>> = report
        .root_causes
        .iter()
        .map(|c| ctx.select(&c.selector))
        .collect();
    let mut matched = vec![false; report.root_causes.len()];
    let mut credit_sum = 0.0;
    let mut rows = Vec::new();
    let mut findings = Vec::new();
    for planted in &key.planted {
        let truth = key.unit_cases(planted.unit);
        let mut best: Option<(usize, f64)> = None;
        for (i, claim) in report.root_causes.iter().enumerate() {
            if Cause::parse(&claim.cause) != Some(planted.cause) {
                continue;
            }
            let j = jaccard(&claim_sets[i], &truth);
            if j >= 0.5 {
                matched[i] = true;
            }
            if best.is_none_or(|(_, b)| j > b) {
                best = Some((i, j));
            }
        }
        let (credit, detail) = match best {
            Some((i, j)) => {
                let overlap = if j >= 0.9 {
                    1.0
                } else if j >= 0.5 {
                    0.5
                } else {
                    0.0
                };
                let mut e =
                    evidence_factor(&report.root_causes[i], planted.cause, &planted.evidence);
                if !confirmed[i] {
                    e = e.min(0.75);
                }
                (
                    overlap * e,
                    format!("best claim overlaps its stratum at J = {j:.2}, evidence × {e:.2}"),
                )
            }
            None => (0.0, "not claimed".to_owned()),
        };
        if credit < 1.0 {
            findings.push(Finding::new(format!("{}: {detail}", planted.cause.id())));
        }
        credit_sum += credit;
        rows.push(CardRow {
            name: planted.cause.id().to_owned(),
            handled: credit >= 0.75,
            detail,
        });
    }
    let false_claims = matched.iter().filter(|m| !**m).count();
    for (i, m) in matched.iter().enumerate() {
        if !m {
            findings.push(
                Finding::new(format!(
                    "claim {} ({}) matches no planted cause on the cases it selects",
                    i, report.root_causes[i].cause
                ))
                .in_file(REPORT_FILE)
                .at(format!("/root_causes/{i}")),
            );
        }
    }
    // Declared-harmless strata: +1 point (of 35) per decoy stratum named exactly, −1 per
    // declaration that covers a planted stratum.
    let mut bonus = 0.0;
    for nc in &report.not_causal {
        let set = ctx.select(&nc.selector);
        let decoy =
            key.units.iter().enumerate().any(|(u, unit)| {
                unit.role == Role::Decoy && jaccard(&set, &key.unit_cases(u)) >= 0.9
            });
        let planted = key
            .planted
            .iter()
            .any(|p| jaccard(&set, &key.unit_cases(p.unit)) >= 0.5);
        if planted {
            bonus -= 1.0 / 35.0;
            findings.push(Finding::new(format!(
                "a stratum declared harmless ({:?}) holds a planted cause",
                nc.selector
            )));
        } else if decoy {
            bonus += 1.0 / 35.0;
        }
    }
    let t = key.planted.len().max(1) as f64;
    let score = (credit_sum / t - 0.5 * false_claims as f64 / t).max(0.0) + bonus;
    let grade = CriterionGrade::new(
        "causes",
        Score::new(score),
        format!(
            "{:.2} of {} planted causes credited, {false_claims} false claims",
            credit_sum,
            key.planted.len()
        ),
    )
    .with_findings(findings);
    (
        grade,
        Card {
            title: "Planted causes".into(),
            rows,
        },
    )
}

/// The submitted test predictions, by SOP Instance UID.
struct Predictions {
    by_uid: BTreeMap<String, Decision>,
    note: Option<String>,
}

fn read_predictions(submission: &Path) -> Predictions {
    let bytes = match submission::read_bytes(submission, PREDICTIONS_FILE, &Caps::default()) {
        Ok(b) => b,
        Err(problem) => {
            return Predictions {
                by_uid: BTreeMap::new(),
                note: Some(format!("no usable {PREDICTIONS_FILE}: {problem}")),
            };
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(uid), Some(decision)) = (col("sop_instance_uid"), col("decision")) else {
        return Predictions {
            by_uid: BTreeMap::new(),
            note: Some(format!(
                "{PREDICTIONS_FILE} needs a header with sop_instance_uid and decision columns"
            )),
        };
    };
    let mut by_uid = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if let (Some(u), Some(d)) = (fields.get(uid), fields.get(decision))
            && let Some(d) = Decision::parse(d)
        {
            by_uid.entry((*u).to_owned()).or_insert(d);
        }
    }
    Predictions { by_uid, note: None }
}

/// Balanced accuracy with REJECT counted as an error (every case here is in scope).
fn balanced(cases: &[(&Case, Decision)]) -> f64 {
    let mut c = Confusion::default();
    for (case, d) in cases {
        let right = match d {
            Decision::Pos => case.label,
            Decision::Neg => !case.label,
            Decision::Reject => false,
        };
        c.add(case.label, right == case.label);
    }
    c.balanced_accuracy()
}

fn grade_fix(
    ctx: &Context<'_>,
    report: &Report,
    predictions: &Predictions,
    fixtures: &Path,
    test: &[&Case],
    sampled: &BTreeSet<usize>,
) -> Result<(CriterionGrade, Option<Replay>), String> {
    let config = match Config::from_value(&report.pipeline_config) {
        Ok(c) => c,
        Err(e @ crate::config::ConfigError::Schema(_)) => return Err(e.to_string()),
        Err(e) => {
            let grade = CriterionGrade::new(
                "fix",
                Score::ZERO,
                "the pipeline configuration cannot be replayed",
            )
            .with_findings(vec![
                Finding::new(e.to_string())
                    .in_file(REPORT_FILE)
                    .at("/pipeline_config"),
            ]);
            return Ok((grade, None));
        }
    };
    let replayed = replay(&config, test, fixtures, sampled)?;
    let replay = &replayed.predictions;
    let agree = test
        .iter()
        .zip(replay)
        .filter(|(c, p)| predictions.by_uid.get(&c.uid) == Some(&p.decision))
        .count();
    let agreement = if test.is_empty() {
        1.0
    } else {
        agree as f64 / test.len() as f64
    };
    let mut findings = Vec::new();
    let mut recoveries = Vec::new();
    let mut guards = 0usize;
    for (u, unit) in ctx.key.units.iter().enumerate() {
        let of = |pick: &dyn Fn(usize) -> Decision| -> Vec<(&Case, Decision)> {
            test.iter()
                .enumerate()
                .filter(|(_, c)| c.unit == u)
                .map(|(i, c)| (*c, pick(i)))
                .collect()
        };
        let p0 = balanced(&of(&|i| test[i].p0.decision));
        let oracle = balanced(&of(&|i| test[i].oracle.decision));
        let cand = balanced(&of(&|i| replay[i].decision));
        let name = unit
            .selector
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        match unit.role {
            Role::Planted(_) if oracle - p0 >= 0.05 => {
                let rec = ((cand - p0) / (oracle - p0)).clamp(0.0, 1.0);
                if rec < 1.0 {
                    findings.push(Finding::new(format!(
                        "{name}: balanced accuracy {cand:.2} under the replay (P0 {p0:.2}, reference fix {oracle:.2})"
                    )));
                }
                recoveries.push(rec);
            }
            Role::Planted(_) | Role::Reference | Role::Decoy => {
                if cand < p0 - 0.03 {
                    guards += 1;
                    findings.push(Finding::new(format!(
                        "{name}: the configuration breaks a stratum that worked (balanced accuracy {cand:.2}, P0 {p0:.2})"
                    )));
                }
            }
            Role::Tiny => {}
        }
    }
    let mean = if recoveries.is_empty() {
        1.0
    } else {
        recoveries.iter().sum::<f64>() / recoveries.len() as f64
    };
    let mut score = (mean - 0.1 * guards as f64).max(0.0);
    if agreement < MIN_AGREEMENT {
        score *= 0.5;
        findings.insert(
            0,
            Finding::new(format!(
                "{PREDICTIONS_FILE} agrees with the replay of pipeline_config on {:.1} % of the test cases (at least {:.0} % needed); the criterion is halved",
                100.0 * agreement,
                100.0 * MIN_AGREEMENT
            ))
            .in_file(PREDICTIONS_FILE),
        );
    }
    let grade = CriterionGrade::new(
        "fix",
        Score::new(score),
        format!(
            "mean recovery {mean:.2} over {} affected strata, {guards} broken, replay agreement {:.1} %",
            recoveries.len(),
            100.0 * agreement
        ),
    )
    .with_findings(findings);
    Ok((grade, Some(replayed)))
}

/// The replay's predictions on the test cases (same order), and the intensity counts of the
/// sampled ones by index.
struct Replay {
    predictions: Vec<Prediction>,
    intensities: BTreeMap<usize, Intensity>,
}

/// Runs `config` on the test cases from the trusted fixtures, binning the `sampled` slices for
/// the figures while they are decoded.
fn replay(
    config: &Config,
    test: &[&Case],
    fixtures: &Path,
    sampled: &BTreeSet<usize>,
) -> Result<Replay, String> {
    use rayon::prelude::*;
    let results: Vec<(Prediction, Option<Intensity>)> = test
        .par_iter()
        .enumerate()
        .map(|(i, c)| {
            let slice = Slice::read(&fixtures.join(&c.file)).map_err(|e| e.to_string())?;
            let counts = sampled.contains(&i).then(|| figures::intensity(&slice));
            Ok((predict(config, &slice), counts))
        })
        .collect::<Result<_, String>>()?;
    let mut intensities = BTreeMap::new();
    let mut predictions = Vec::with_capacity(results.len());
    for (i, (p, counts)) in results.into_iter().enumerate() {
        predictions.push(p);
        if let Some(c) = counts {
            intensities.insert(i, c);
        }
    }
    Ok(Replay {
        predictions,
        intensities,
    })
}

/// Whether a claim's development cases hold at least 10 positives and 10 negatives.
fn sufficient(ctx: &Context<'_>, claim: &Claim) -> bool {
    let c = p0_confusion(ctx.select_dev(&claim.selector).into_iter());
    c.n_pos() >= 10 && c.n_neg() >= 10
}

fn grade_hygiene(ctx: &Context<'_>, report: &Report) -> CriterionGrade {
    let mut findings = Vec::new();
    let claims = &report.root_causes;
    // (a) 4 points: claims exist, none on a null attribute or an insufficient stratum.
    let mut a = if claims.is_empty() { 0.0 } else { 1.0 };
    for (i, claim) in claims.iter().enumerate() {
        let null = claim
            .selector
            .keys()
            .any(|k| k == "PatientSex" || k == "AgeBand");
        let c = p0_confusion(ctx.select_dev(&claim.selector).into_iter());
        let small = c.n_pos() < 10 || c.n_neg() < 10;
        if null || small {
            a = 0.0;
            findings.push(
                Finding::new(format!(
                    "claim {i} is on {}",
                    if null {
                        "a null attribute (sex or age band)"
                    } else {
                        "a stratum too small to judge (fewer than 10 positives or negatives)"
                    }
                ))
                .in_file(REPORT_FILE)
                .at(format!("/root_causes/{i}")),
            );
        }
    }
    // (b) 5 points: claimed effects confirmed after Holm.
    let confirmed = confirmations(ctx, report);
    let b = if claims.is_empty() {
        0.0
    } else {
        confirmed.iter().filter(|c| **c).count() as f64 / claims.len() as f64
    };
    for (i, ok) in confirmed.iter().enumerate() {
        if !ok {
            findings.push(
                Finding::new(format!(
                    "claim {i}: the effect is not confirmed (interval includes 0, or not significant after Holm)"
                ))
                .in_file(REPORT_FILE)
                .at(format!("/root_causes/{i}/effect")),
            );
        }
    }
    // (c) 6 points: effect values equal the harness's ±0.01.
    let r = ctx.reference;
    let mut right = 0usize;
    for (i, claim) in claims.iter().enumerate() {
        let c = p0_confusion(ctx.select_dev(&claim.selector).into_iter());
        let (mine, refv) = match claim.effect.metric {
            Metric::Sensitivity => (c.sensitivity().est, r.sensitivity().est),
            Metric::Specificity => (c.specificity().est, r.specificity().est),
        };
        if sufficient(ctx, claim)
            && (claim.effect.p0 - mine).abs() <= TOL_EFFECT
            && (claim.effect.reference - refv).abs() <= TOL_EFFECT
        {
            right += 1;
        } else {
            findings.push(
                Finding::new(format!(
                    "claim {i}: effect p0/reference should be {mine:.3}/{refv:.3}"
                ))
                .in_file(REPORT_FILE)
                .at(format!("/root_causes/{i}/effect")),
            );
        }
    }
    let c = if claims.is_empty() {
        0.0
    } else {
        right as f64 / claims.len() as f64
    };
    let score = (4.0 * a + 5.0 * b + 6.0 * c) / 15.0;
    CriterionGrade::new(
        "hygiene",
        Score::new(score),
        format!(
            "null/small strata {}, {} of {} effects confirmed, {right} effect values right",
            if a == 1.0 {
                "respected"
            } else {
                "not respected"
            },
            confirmed.iter().filter(|c| **c).count(),
            claims.len()
        ),
    )
    .with_findings(findings)
}

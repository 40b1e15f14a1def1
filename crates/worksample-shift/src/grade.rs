//! The grader: the report is validated against the published schema, then four criteria are
//! measured (research shift.md §3.6):
//!
//! - `metrics`: every (grouping attribute, value) cell of the development set recomputed from
//!   P0's outputs and the labels, compared field by field;
//! - `causes`: each planted cause matched by the claim of the same id whose selected cases
//!   overlap its stratum best (Jaccard), weighted by the evidence, minus false claims, plus
//!   declared decoys; the fix gate reads the credited share net of false claims;
//! - `fix`: the corrected configuration replayed on the hidden-label test set, recovery per
//!   affected stratum relative to P0 and to the reference fix, guards on the others, and the
//!   submitted predictions checked against the replay;
//! - `hygiene`: no claims on null or too-small strata, claimed effects confirmed after Holm with
//!   the harness's interval, effect values right, each counted for claims that match a cause.
//!
//! Evidence that names the key (planted causes and their strata, balanced accuracy on the hidden
//! test labels) is assessor-only; the candidate reads counts and the outcome of their own claims.

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
    match grade_usable(schema, key, fixtures, submission, shown)? {
        Measured::Usable(grade) => Ok(grade),
        // Unusable output still gets the figures the fixtures alone can draw (P0's bars and
        // the per-scanner histograms), as series does: the debrief can start from them.
        Measured::Unusable(mut unusable) => {
            if shown.draws(Visibility::Hidden) {
                let test: Vec<&Case> = key.split(Split::Test).collect();
                let sampled = figures::sample(&test);
                let intensities = figures::read_intensities(&test, &sampled, fixtures);
                unusable.figures = figures::figures(&test, None, sampled.len(), &intensities);
            }
            Ok(unusable)
        }
    }
}

/// What [`grade_usable`] made of a submission.
enum Measured {
    /// The report was read and measured, figures drawn as asked.
    Usable(Grade),
    /// The report could not be used: every criterion 0, without figures.
    Unusable(Grade),
}

/// [`grade_submission`] of a report that can be measured, or the grade of one that cannot.
fn grade_usable(
    schema: &Value,
    key: &Key,
    fixtures: &Path,
    submission: &Path,
    shown: Figures,
) -> Result<Measured, String> {
    let mut doc: Value = match read_report(submission) {
        Ok(v) => v,
        Err(problem) => {
            return Ok(Measured::Unusable(failed(
                format!("no usable {REPORT_FILE}: {problem}"),
                vec![Finding::new(problem).in_file(REPORT_FILE)],
            )));
        }
    };
    // The configuration has a schema of its own (config.schema.json, which output.schema.json
    // embeds): a mistake in it is the fix criterion's, since only the replay reads it (brief,
    // "pipeline_config"), and must not throw the measured diagnosis away. The rest of the
    // report is validated with P0's `{}` in its place; `grade_fix` validates the real one and
    // names the field.
    let pipeline_config = doc
        .as_object_mut()
        .and_then(|m| m.get_mut("pipeline_config"))
        .map(|v| std::mem::replace(v, Value::Object(serde_json::Map::new())));
    let validator = jsonschema::validator_for(schema)
        .map_err(|e| format!("output.schema.json is not valid JSON Schema: {e}"))?;
    let (errors, more) = schema_findings(&validator, &doc);
    if !errors.is_empty() {
        let mut grade = failed(
            format!(
                "{REPORT_FILE} does not match output.schema.json ({}); every criterion scores 0",
                match errors.len() + more {
                    1 => "1 error".to_owned(),
                    n => format!("{n} errors"),
                }
            ),
            errors,
        );
        // The findings sit under the first criterion (`Grade::unusable`); so does their count.
        if let Some(first) = grade.criteria.first_mut() {
            first.findings_dropped += more;
        }
        return Ok(Measured::Unusable(grade));
    }
    // JSON Schema's `integer` admits any number with a zero fraction (`20.0`, `1e308`); the
    // typed counts are u64, which refuse them. Exact ones are read as the integers the schema
    // accepted; what still does not fit is the candidate's value, not a harness fault.
    integral_floats_as_integers(&mut doc);
    let mut report: Report = match serde_json::from_value(doc) {
        Ok(r) => r,
        Err(e) => {
            let problem = format!("passed the schema, but a value does not fit its field: {e}");
            return Ok(Measured::Unusable(failed(
                format!("{REPORT_FILE} is unusable: {problem}; every criterion scores 0"),
                vec![Finding::new(problem).in_file(REPORT_FILE)],
            )));
        }
    };
    if let Some(mut config) = pipeline_config {
        integral_floats_as_integers(&mut config);
        report.pipeline_config = config;
    }
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
    Ok(Measured::Usable(Grade {
        criteria,
        cards: card.into_iter().collect(),
        notes: predictions.note.into_iter().collect(),
        figures,
    }))
}

/// Reads report.json within the caps (a leading byte-order mark is skipped, as for every task).
fn read_report(submission: &Path) -> Result<Value, String> {
    submission::read_json(submission, REPORT_FILE, &Caps::default()).map_err(|p| p.to_string())
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

/// Schema errors listed as findings; the rest are counted.
const SCHEMA_FINDINGS: usize = 50;

/// The report's first [`SCHEMA_FINDINGS`] schema errors as findings, and how many more there
/// are. Each further error is dropped as soon as it is made, so a document of many errors
/// costs no more memory than one of a few, and the report can still say how many it holds.
fn schema_findings(validator: &jsonschema::Validator, doc: &Value) -> (Vec<Finding>, usize) {
    let mut errors: Vec<Finding> = Vec::new();
    let mut more = 0usize;
    for e in validator.iter_errors(doc) {
        if errors.len() == SCHEMA_FINDINGS {
            more += 1;
            continue;
        }
        let at = e.instance_path().to_string();
        errors.push(
            Finding::new(e.to_string())
                .in_file(REPORT_FILE)
                .at(if at.is_empty() { "/".to_owned() } else { at }),
        );
    }
    (errors, more)
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
            // A number written another way ("1.0" for the header's "1") is the likeliest miss:
            // values are the text as written (brief, selectors).
            let number = |s: &str| s.trim().parse::<f64>().ok();
            let respelt = given.keys().find(|(gg, vv)| {
                gg == g
                    && !truth.contains_key(&(*g, (*vv).to_owned()))
                    && number(vv).is_some()
                    && number(vv) == number(v)
            });
            let hint = match respelt {
                Some((_, vv)) => format!(
                    " (your cell \"{}\" is the same number written otherwise; a value is the \
                     text as the header writes it)",
                    submission::quoted(vv, 40)
                ),
                None => String::new(),
            };
            findings.push(
                Finding::new(format!("no cell for {g} = \"{v}\"{hint}")).in_file(REPORT_FILE),
            );
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

/// How a claim's selected cases overlap a planted stratum (brief, "causes": "Jaccard ≥ 0.9
/// full credit, ≥ 0.5 half").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overlap {
    Full,
    Half,
    Below,
}

impl Overlap {
    fn of(jaccard: f64) -> Self {
        if jaccard >= 0.9 {
            Overlap::Full
        } else if jaccard >= 0.5 {
            Overlap::Half
        } else {
            Overlap::Below
        }
    }

    fn credit(self) -> f64 {
        match self {
            Overlap::Full => 1.0,
            Overlap::Half => 0.5,
            Overlap::Below => 0.0,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Overlap::Full => "its cases overlap the stratum (J ≥ 0.9)",
            Overlap::Half => "its cases overlap the stratum by half (0.5 ≤ J < 0.9)",
            Overlap::Below => "its cases overlap the stratum below J = 0.5",
        }
    }
}

/// What a claim's evidence tags show (brief, "causes": one of the cause's tags, and none of
/// another cause's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tags {
    /// One of the cause's tags, none of another's.
    Named,
    /// None of the cause's tags.
    Missing,
    /// Also another cause's tag: a list naming every cause's tags shows nothing.
    Indiscriminate,
}

fn tags_of(claim: &Claim, cause: Cause) -> Tags {
    let is = |tag: &str, c: Cause| c.primary_tags().iter().any(|p| p.eq_ignore_ascii_case(tag));
    // A tag two causes share (Rescale Type for RESCALE_IGNORED and NON_HU_INPUT) is the
    // claimed cause's own, not another's; so are the tags of the causes it also shows.
    let ours = |t: &str| is(t, cause) || cause.also_shows().iter().any(|c| is(t, *c));
    let own = claim.evidence_tags.iter().any(|t| ours(t));
    let foreign = claim
        .evidence_tags
        .iter()
        .any(|t| !ours(t) && Cause::ALL.iter().any(|c| is(t, *c)));
    match (own, foreign) {
        (true, false) => Tags::Named,
        (_, true) => Tags::Indiscriminate,
        (false, false) => Tags::Missing,
    }
}

/// The checked measurements (brief, the causes table) that `claim` leaves out or gets wrong
/// beyond their tolerance, by name.
fn off_tolerance<'a>(claim: &Claim, expected: &'a BTreeMap<String, (f64, f64)>) -> Vec<&'a str> {
    expected
        .iter()
        .filter(|(name, (v, tol))| {
            !claim
                .evidence
                .get(*name)
                .is_some_and(|x| (x - v).abs() <= tol + 1e-9)
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

/// How well one claim supports its cause: 1 with its tags and every measurement right, 0.75
/// with the tags only, 0.5 otherwise (research shift.md §3.6 R2; brief, "causes").
fn evidence_factor(
    claim: &Claim,
    cause: Cause,
    expected: &BTreeMap<String, (f64, f64)>,
) -> (f64, Tags) {
    let tags = tags_of(claim, cause);
    let values = off_tolerance(claim, expected).is_empty();
    let factor = match (tags, values) {
        (Tags::Named, true) => 1.0,
        (Tags::Named, false) => 0.75,
        (Tags::Missing | Tags::Indiscriminate, true | false) => 0.5,
    };
    (factor, tags)
}

/// The harness's view of one claim's effect.
struct Check {
    /// The harness confirms it: Holm-adjusted two-proportion p < 0.05 across all claims, its
    /// Newcombe interval excludes 0 on the side the claimed interval does, and the claimed
    /// cases hold 10 positives and 10 negatives.
    confirmed: bool,
    /// The harness's Newcombe interval of `p0 − reference` on the claimed cases.
    newcombe: Interval,
}

/// Whether each claim's effect is confirmed (see [`Check`]).
fn checks(ctx: &Context<'_>, report: &Report, matched: &[ClaimMatch]) -> Vec<Check> {
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
    // A claim neither credited nor charged stays out of the Holm family, so adding one cannot
    // change whether another's effect is confirmed.
    let family: Vec<usize> = (0..tests.len())
        .filter(|i| matched[*i] != ClaimMatch::AlsoShown)
        .collect();
    let mut adjusted: Vec<f64> = tests.iter().map(|t| t.0).collect();
    let family_p: Vec<f64> = family.iter().map(|i| tests[*i].0).collect();
    for (i, p) in family.iter().zip(holm(&family_p)) {
        adjusted[*i] = p;
    }
    report
        .root_causes
        .iter()
        .zip(tests.into_iter().zip(adjusted))
        .map(|(claim, ((_, d), p))| {
            let [lo, hi] = claim.effect.diff_ci95;
            let theirs_neg = hi < 0.0;
            let theirs_pos = lo > 0.0;
            let confirmed = p < 0.05
                && ((theirs_neg && d.hi < 0.0) || (theirs_pos && d.lo > 0.0))
                && sufficient(ctx, claim);
            Check {
                confirmed,
                newcombe: d,
            }
        })
        .collect()
}

/// Whether the claimed interval is the harness's Newcombe interval, limits ±0.01 (brief,
/// "hygiene"): a made-up interval on the right side of 0 is not a measurement.
fn interval_right(claim: &Claim, check: &Check) -> bool {
    let [lo, hi] = claim.effect.diff_ci95;
    (lo - check.newcombe.lo).abs() <= TOL_EFFECT + 1e-12
        && (hi - check.newcombe.hi).abs() <= TOL_EFFECT + 1e-12
}

/// What a claim matches among the planted causes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClaimMatch {
    /// A planted cause of the same id, on cases overlapping its stratum at J ≥ 0.5.
    Planted,
    /// A cause a planted one also shows ([`Cause::also_shows`]) on that one's stratum: true,
    /// but scored as the planted cause, so neither credited nor charged.
    AlsoShown,
    /// Nothing: the claim costs half a cause.
    Nothing,
}

/// What each claim matches (brief, "causes": a claim matching no planted cause costs half a
/// cause; the answer on "true" HU names the cause a MONOCHROME1 stratum also shows).
fn matched_claims(ctx: &Context<'_>, report: &Report) -> Vec<ClaimMatch> {
    report
        .root_causes
        .iter()
        .map(|claim| {
            let set = ctx.select(&claim.selector);
            let claimed = Cause::parse(&claim.cause);
            let on = |p: &crate::key::Planted| jaccard(&set, &ctx.key.unit_cases(p.unit)) >= 0.5;
            let planted = &ctx.key.planted;
            if planted.iter().any(|p| claimed == Some(p.cause) && on(p)) {
                ClaimMatch::Planted
            } else if planted
                .iter()
                .any(|p| claimed.is_some_and(|c| p.cause.also_shows().contains(&c)) && on(p))
            {
                ClaimMatch::AlsoShown
            } else {
                ClaimMatch::Nothing
            }
        })
        .collect()
}

/// A selector in the brief's words, `StationName = RMCT04, …`; `every case` when empty.
fn describe_selector(selector: &BTreeMap<String, String>) -> String {
    if selector.is_empty() {
        return "every case".to_owned();
    }
    selector
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What one planted cause earned, and from which claim.
struct Credit {
    claim: Option<usize>,
    credit: f64,
    detail: String,
    /// Why the claim's evidence factor is below 1, in words the candidate may see (which
    /// requirement of the brief it misses, never the expected value).
    short: Vec<String>,
}

fn grade_causes(ctx: &Context<'_>, report: &Report) -> (CriterionGrade, Option<Card>) {
    let key = ctx.key;
    let matched = matched_claims(ctx, report);
    let checks = checks(ctx, report, &matched);
    let claim_sets: Vec<BTreeSet<&str>> = report
        .root_causes
        .iter()
        .map(|c| ctx.select(&c.selector))
        .collect();
    let mut credits = Vec::new();
    for planted in &key.planted {
        let truth = key.unit_cases(planted.unit);
        let mut best: Option<(usize, f64)> = None;
        for (i, claim) in report.root_causes.iter().enumerate() {
            if Cause::parse(&claim.cause) != Some(planted.cause) {
                continue;
            }
            let j = jaccard(&claim_sets[i], &truth);
            if best.is_none_or(|(_, b)| j > b) {
                best = Some((i, j));
            }
        }
        credits.push(match best {
            Some((i, j)) => {
                let overlap = Overlap::of(j);
                let claim = &report.root_causes[i];
                let (mut e, tags) = evidence_factor(claim, planted.cause, &planted.evidence);
                let mut short = Vec::new();
                match tags {
                    Tags::Named => {}
                    Tags::Missing => short.push("no tag of the cause in evidence_tags".to_owned()),
                    Tags::Indiscriminate => {
                        short.push("evidence_tags name a tag of another cause".to_owned());
                    }
                }
                short.extend(
                    off_tolerance(claim, &planted.evidence)
                        .into_iter()
                        .map(|name| format!("evidence `{name}` missing or outside its tolerance")),
                );
                if !checks[i].confirmed {
                    e = e.min(0.75);
                    short.push("the harness cannot confirm its effect (see hygiene)".to_owned());
                }
                let tags = match tags {
                    Tags::Named => "",
                    Tags::Missing => ", none of the cause's tags",
                    Tags::Indiscriminate => ", tags of other causes listed too",
                };
                Credit {
                    claim: Some(i),
                    credit: overlap.credit() * e,
                    detail: format!("claim {i}: J = {j:.2}, evidence × {e:.2}{tags}"),
                    short,
                }
            }
            None => Credit {
                claim: None,
                credit: 0.0,
                detail: "not claimed".to_owned(),
                short: Vec::new(),
            },
        });
    }
    let credit_sum: f64 = credits.iter().map(|c| c.credit).sum();
    let false_claims = matched
        .iter()
        .filter(|m| **m == ClaimMatch::Nothing)
        .count();

    // Declared-harmless strata (brief, "causes"): +1 point (of 35) per decoy stratum declared
    // exactly, each stratum once however often it is declared; −1 per declaration covering a
    // planted stratum, that is holding at least half its cases (a site-level declaration
    // covers the station-level cause inside it, though their Jaccard is small).
    let mut decoys = BTreeSet::new();
    let mut covering = 0usize;
    let mut visible = Vec::new();
    let mut assessor = Vec::new();
    for (n, nc) in report.not_causal.iter().enumerate() {
        let set = ctx.select(&nc.selector);
        let covers = key.planted.iter().any(|p| {
            let truth = key.unit_cases(p.unit);
            2 * set.intersection(&truth).count() >= truth.len().max(1)
        });
        if covers {
            covering += 1;
            visible.push(
                Finding::new(format!(
                    "the stratum declared harmless ({}) holds a planted cause",
                    describe_selector(&nc.selector)
                ))
                .in_file(REPORT_FILE)
                .at(format!("/not_causal/{n}")),
            );
        } else if let Some(u) = key.units.iter().enumerate().position(|(u, unit)| {
            unit.role == Role::Decoy && jaccard(&set, &key.unit_cases(u)) >= 0.9
        }) {
            decoys.insert(u);
        }
    }

    // The candidate's own claims, in their words: what each earned. Which planted causes
    // exist, and on which strata, is the key: assessor-only findings below.
    let mut rows = Vec::new();
    for (i, claim) in report.root_causes.iter().enumerate() {
        let credited = credits
            .iter()
            .position(|c| c.claim == Some(i) && c.credit > 0.0);
        let (handled, detail) = match (matched[i], credited) {
            (ClaimMatch::AlsoShown, _) => (
                false,
                "true of its cases, but part of the cause planted on them, which is scored \
                 instead: neither credited nor charged"
                    .to_owned(),
            ),
            (ClaimMatch::Nothing, _) => {
                visible.push(
                    Finding::new(format!(
                        "claim {i} ({}) matches no planted cause on the cases it selects; it costs half a cause",
                        claim.cause
                    ))
                    .in_file(REPORT_FILE)
                    .at(format!("/root_causes/{i}")),
                );
                // For the debrief: the right cause on too broad or too narrow a selector is
                // another mistake than the wrong cause. The candidate's finding keeps the key.
                let near = key
                    .planted
                    .iter()
                    .filter(|p| Cause::parse(&claim.cause) == Some(p.cause))
                    .map(|p| (p, jaccard(&claim_sets[i], &key.unit_cases(p.unit))))
                    .filter(|(_, j)| *j > 0.0)
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                if let Some((p, j)) = near {
                    assessor.push(
                        Finding::new(format!(
                            "claim {i} names the planted {} but selects other cases than its \
                             stratum {} (J = {j:.2}, under 0.5)",
                            p.cause.id(),
                            describe_selector(&key.units[p.unit].selector)
                        ))
                        .in_file(REPORT_FILE)
                        .at(format!("/root_causes/{i}"))
                        .assessor_only(),
                    );
                }
                (false, "matches no planted cause".to_owned())
            }
            (ClaimMatch::Planted, Some(p)) => {
                let c = &credits[p];
                let overlap = Overlap::of(jaccard(
                    &claim_sets[i],
                    &key.unit_cases(key.planted[p].unit),
                ));
                let detail = format!("credited {:.2} of 1: {}", c.credit, overlap.words());
                if c.credit < 1.0 {
                    // What fell short, in the brief's terms; never the expected values.
                    let short = if c.short.is_empty() {
                        String::new()
                    } else {
                        format!("; short of full evidence: {}", c.short.join("; "))
                    };
                    visible.push(
                        Finding::new(format!("claim {i} ({}): {detail}{short}", claim.cause))
                            .in_file(REPORT_FILE)
                            .at(format!("/root_causes/{i}")),
                    );
                }
                (c.credit >= 0.75, detail)
            }
            (ClaimMatch::Planted, None) => (
                false,
                "another claim of the same cause overlaps its stratum better".to_owned(),
            ),
        };
        rows.push(CardRow {
            name: format!(
                "claim {i}: {} on {}",
                claim.cause,
                describe_selector(&claim.selector)
            ),
            handled,
            detail,
        });
    }
    let mut findings = visible;
    findings.extend(assessor);
    for (planted, c) in key.planted.iter().zip(&credits) {
        findings.push(
            Finding::new(format!(
                "planted {} on {}: credited {:.2} ({})",
                planted.cause.id(),
                describe_selector(&key.units[planted.unit].selector),
                c.credit,
                c.detail
            ))
            .assessor_only(),
        );
    }
    let t = key.planted.len().max(1) as f64;
    // Bonus and penalties count before the floor at 0, so declared decoys cannot buy back
    // false claims (brief: "each claim that matches no planted cause costs half a cause").
    let score = (credit_sum - 0.5 * false_claims as f64) / t
        + (decoys.len() as f64 - covering as f64) / 35.0;
    let grade = CriterionGrade::new(
        "causes",
        Score::new(score),
        format!(
            "{credit_sum:.2} of {} planted causes credited, {false_claims} false claims, {} decoy strata declared harmless, {covering} harmless declarations covering a planted cause",
            key.planted.len(),
            decoys.len()
        ),
    )
    .with_findings(findings)
    // The gate on the diagnosis is about credited causes net of false claims, not declared
    // decoys (brief: "while fewer than 30 % of the causes are credited, net of false claims"):
    // claiming every cause on every failing stratum credits each planted cause somewhere, and
    // must not buy the fix its points.
    .gated_on(Score::new(
        ((credit_sum - 0.5 * false_claims as f64) / t).max(0.0),
    ));
    let card = (!rows.is_empty()).then(|| Card {
        title: "Root-cause claims".into(),
        rows,
    });
    (grade, card)
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
    // pandas' `utf-8-sig` and Excel write a byte-order mark; R's write.csv and Python's
    // QUOTE_ALL quote every field. Both are CSV (RFC 4180 §2), so both are read.
    let text = String::from_utf8_lossy(bytes.strip_prefix(submission::BOM).unwrap_or(&bytes));
    let mut records = csv_records(&text).into_iter();
    let header: Vec<String> = records
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(uid), Some(decision)) = (col("sop_instance_uid"), col("decision")) else {
        return Predictions {
            by_uid: BTreeMap::new(),
            note: Some(format!(
                "{PREDICTIONS_FILE}: the first row must name the columns sop_instance_uid and decision; it reads {:?}",
                header.iter().take(8).collect::<Vec<_>>()
            )),
        };
    };
    let mut by_uid = BTreeMap::new();
    // Decisions that are none of the three: counted and the first few quoted, since each one
    // silently disagrees with the replay otherwise.
    let (mut unreadable, mut quoted) = (0usize, Vec::new());
    for fields in records {
        let (Some(u), Some(d)) = (fields.get(uid), fields.get(decision)) else {
            continue;
        };
        match Decision::parse(d.trim()) {
            Some(d) => {
                by_uid.entry(u.trim().to_owned()).or_insert(d);
            }
            None => {
                unreadable += 1;
                let d = submission::quoted(d.trim(), 20);
                if quoted.len() < 3 && !quoted.contains(&d) {
                    quoted.push(d);
                }
            }
        }
    }
    let note = (unreadable > 0).then(|| {
        format!(
            "{PREDICTIONS_FILE}: {unreadable} row(s) have a decision that is not POS, NEG or REJECT \
             (e.g. {}); they count as disagreeing with the replay",
            quoted
                .iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    Predictions { by_uid, note }
}

/// The records of a CSV text (RFC 4180 §2): fields separated by commas, records by CRLF or
/// LF; a field in double quotes may hold commas, line breaks and `""` for a quote. Rows may
/// differ in length and a row that is not well-formed is skipped, since it only costs its own
/// prediction.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .into_records()
        .filter_map(Result::ok)
        .map(|r| r.iter().map(str::to_owned).collect::<Vec<String>>())
        .filter(|r| !(r.len() == 1 && r[0].is_empty()))
        .collect()
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
            // A configuration the schema or the ranges refuse: the other criteria stand (see
            // `grade_submission`), the fix has nothing to replay.
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
        let name = describe_selector(&unit.selector);
        match unit.role {
            Role::Planted(_) if oracle - p0 >= 0.05 => {
                let rec = ((cand - p0) / (oracle - p0)).clamp(0.0, 1.0);
                // Each names a planted stratum and its balanced accuracy on the hidden test
                // labels: the key, for assessors only; the candidate reads the counts.
                if rec < 1.0 {
                    findings.push(Finding::new(format!(
                        "{name}: balanced accuracy {cand:.2} under the replay (P0 {p0:.2}, reference fix {oracle:.2})"
                    )).assessor_only());
                }
                recoveries.push(rec);
            }
            Role::Planted(_) | Role::Reference | Role::Decoy => {
                if cand < p0 - 0.03 {
                    guards += 1;
                    findings.push(Finding::new(format!(
                        "{name}: the configuration breaks a stratum that worked (balanced accuracy {cand:.2}, P0 {p0:.2})"
                    )).assessor_only());
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
    let partial = recoveries.iter().filter(|r| **r < 1.0).count();
    let grade = CriterionGrade::new(
        "fix",
        Score::new(score),
        format!(
            "mean recovery {mean:.2} over {} affected strata ({partial} short of the reference fix), {guards} strata that worked broken, replay agreement {:.1} %",
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
    let claims = &report.root_causes;
    if claims.is_empty() {
        return CriterionGrade::new(
            "hygiene",
            Score::ZERO,
            "no root-cause claims, so no effects to judge",
        );
    }
    let mut findings = Vec::new();
    // Every part counts only claims that match a planted cause (rubric, "hygiene"): the
    // arithmetic of an effect on a stratum that holds no cause is not a finding about P0.
    let matched = matched_claims(ctx, report);
    for (i, m) in matched.iter().enumerate() {
        if *m == ClaimMatch::Nothing {
            findings.push(
                Finding::new(format!(
                    "claim {i} matches no planted cause, so its effect earns nothing here"
                ))
                .in_file(REPORT_FILE)
                .at(format!("/root_causes/{i}")),
            );
        }
    }
    // (a) 4 points: a claim that matches a planted cause, and none on a null attribute or an
    // insufficient stratum.
    let mut a = if matched.contains(&ClaimMatch::Planted) {
        1.0
    } else {
        0.0
    };
    let mut respected = true;
    for (i, claim) in claims.iter().enumerate() {
        let null = claim
            .selector
            .keys()
            .any(|k| k == "PatientSex" || k == "AgeBand");
        if null || !sufficient(ctx, claim) {
            a = 0.0;
            respected = false;
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
    // (b) 5 points: the claimed interval is the harness's Newcombe interval (limits ±0.01) and
    // the harness confirms the effect after Holm.
    let checks = checks(ctx, report, &matched);
    let mut confirmed = 0usize;
    for (i, (claim, check)) in claims.iter().zip(&checks).enumerate() {
        // A cause its stratum's planted one also shows is out of the shares, as of the causes.
        if matched[i] == ClaimMatch::AlsoShown {
            continue;
        }
        let right = interval_right(claim, check);
        if matched[i] == ClaimMatch::Planted && check.confirmed && right {
            confirmed += 1;
        } else if !check.confirmed {
            findings.push(
                Finding::new(format!(
                    "claim {i}: the effect is not confirmed (the harness's interval includes 0 or lies on the other side of 0 than claimed, or the test is not significant after Holm)"
                ))
                .in_file(REPORT_FILE)
                .at(format!("/root_causes/{i}/effect")),
            );
        } else if !right {
            findings.push(
                Finding::new(format!(
                    "claim {i}: diff_ci95 should be Newcombe's [{:.3}, {:.3}] (±{TOL_EFFECT})",
                    check.newcombe.lo, check.newcombe.hi
                ))
                .in_file(REPORT_FILE)
                .at(format!("/root_causes/{i}/effect/diff_ci95")),
            );
        }
    }
    // (c) 6 points: effect values equal the harness's ±0.01.
    let r = ctx.reference;
    let mut right = 0usize;
    for (i, claim) in claims.iter().enumerate() {
        if matched[i] == ClaimMatch::AlsoShown {
            continue;
        }
        let c = p0_confusion(ctx.select_dev(&claim.selector).into_iter());
        let (mine, refv) = match claim.effect.metric {
            Metric::Sensitivity => (c.sensitivity().est, r.sensitivity().est),
            Metric::Specificity => (c.specificity().est, r.specificity().est),
        };
        let values = sufficient(ctx, claim)
            && (claim.effect.p0 - mine).abs() <= TOL_EFFECT
            && (claim.effect.reference - refv).abs() <= TOL_EFFECT;
        if matched[i] == ClaimMatch::Planted && values {
            right += 1;
        } else if !values {
            findings.push(
                Finding::new(format!(
                    "claim {i}: effect p0/reference should be {mine:.3}/{refv:.3}"
                ))
                .in_file(REPORT_FILE)
                .at(format!("/root_causes/{i}/effect")),
            );
        }
    }
    let sharing = matched
        .iter()
        .filter(|m| **m != ClaimMatch::AlsoShown)
        .count();
    let n = sharing.max(1) as f64;
    let score = (4.0 * a + 5.0 * confirmed as f64 / n + 6.0 * right as f64 / n) / 15.0;
    CriterionGrade::new(
        "hygiene",
        Score::new(score),
        format!(
            "null/small strata {}, {confirmed} of {} claimed effects confirmed with the harness's interval, {right} with effect values right, {} claims matching a planted cause",
            if respected {
                "respected"
            } else {
                "not respected"
            },
            sharing,
            matched
                .iter()
                .filter(|m| **m == ClaimMatch::Planted)
                .count()
        ),
    )
    .with_findings(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every schema error is a finding or counted: none is lost past the first fifty.
    #[test]
    fn schema_errors_past_the_listed_ones_are_counted() {
        let schema = serde_json::json!({"type": "array", "items": {"type": "integer"}});
        let validator = jsonschema::validator_for(&schema).expect("a valid schema");
        for (bad, listed, more) in [
            (0, 0, 0),
            (3, 3, 0),
            (SCHEMA_FINDINGS, SCHEMA_FINDINGS, 0),
            (SCHEMA_FINDINGS + 123, SCHEMA_FINDINGS, 123),
        ] {
            let doc = Value::Array((0..bad).map(|_| Value::from("x")).collect());
            let (findings, dropped) = schema_findings(&validator, &doc);
            assert_eq!((findings.len(), dropped), (listed, more), "{bad} bad items");
        }
    }

    #[test]
    fn csv_records_follow_rfc_4180() {
        let rows = [
            ("a,b\nc,d\n", vec![vec!["a", "b"], vec!["c", "d"]]),
            (
                "\"a\",\"b\"\r\n\"c\",\"d\"",
                vec![vec!["a", "b"], vec!["c", "d"]],
            ),
            (
                "\"x,y\",\"say \"\"hi\"\"\"\n\n\"two\nlines\",z\n",
                vec![vec!["x,y", "say \"hi\""], vec!["two\nlines", "z"]],
            ),
            ("a,,\n", vec![vec!["a", "", ""]]),
        ];
        for (text, want) in rows {
            assert_eq!(csv_records(text), want, "{text:?}");
        }
    }
}

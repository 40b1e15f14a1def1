//! The whole task, end to end: generate → solve → grade. The reference solution scores ≥ 95 over
//! 20 seeds, every guessing strategy of research shift.md §3.7 scores ≤ 15 over 20 seeds, each
//! mutant of the reference loses points only on its own criterion, and the naive starter scores
//! low.

mod common;

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde_json::{Value, json};
use worksample_shift::ShiftTask;
use worksample_shift::config::{Config, Gate};
use worksample_shift::key::Cause;
use worksample_task::{
    DigestSink, Figures, FolderSink, GenerateContext, NoProgress, Seed, Sink, Task, digest_folder,
};

const SEEDS: u64 = 20;
/// Seeds of the `hard` run: every plantable cause makes each fixture half again as large, and
/// eight seeds already meet every cause on both sites.
const HARD_SEEDS: u64 = 8;

/// A guessing strategy: from the input folder, another seed's reference answer and the profile's
/// `causes` list (public: task.toml ships in the binary), a submission.
type Guesser = fn(&std::path::Path, &(Value, String), &[String]) -> (Value, String);

fn empty_report(config: Value) -> Value {
    json!({"schema": "shift-report/1", "strata_metrics": [], "root_causes": [],
           "not_causal": [], "pipeline_config": config})
}

fn dummy_effect() -> Value {
    json!({"metric": "sensitivity", "p0": 0.0, "reference": 1.0, "diff_ci95": [-1.0, -0.5]})
}

/// Every cause of the vocabulary claimed on every case.
fn claim_everything(dir: &std::path::Path, _: &(Value, String), _: &[String]) -> (Value, String) {
    let input = common::read_input(dir);
    let mut report = empty_report(json!({}));
    report["root_causes"] = Cause::ALL
        .iter()
        .map(|c| {
            json!({"cause": c.id(), "selector": {}, "evidence_tags": c.primary_tags(),
                   "evidence": {}, "effect": dummy_effect()})
        })
        .collect();
    (report, common::predictions(&Config::p0(), &input.test))
}

/// Every plantable cause claimed on every station that differs from the reference site.
fn list_differences(dir: &std::path::Path, _: &(Value, String), _: &[String]) -> (Value, String) {
    claim_on_other_stations(dir, Cause::PLANTABLE)
}

/// `causes`, each claimed on every non-reference station with its primary tags and a dummy
/// effect, with P0's predictions.
fn claim_on_other_stations(
    dir: &std::path::Path,
    causes: impl IntoIterator<Item = Cause> + Clone,
) -> (Value, String) {
    let input = common::read_input(dir);
    let mut claims = Vec::new();
    for s in &other_stations(&input) {
        for c in causes.clone() {
            claims.push(json!({"cause": c.id(), "selector": {"StationName": s},
                               "evidence_tags": c.primary_tags(), "evidence": {},
                               "effect": dummy_effect()}));
        }
    }
    let mut report = empty_report(json!({}));
    report["root_causes"] = Value::Array(claims);
    (report, common::predictions(&Config::p0(), &input.test))
}

/// Stations that differ from the reference site, from the development headers.
fn other_stations(input: &common::Input) -> std::collections::BTreeSet<String> {
    input
        .dev
        .iter()
        .filter(|i| i.slice.attribute("InstitutionName") != input.reference_site)
        .map(|i| i.slice.attribute("StationName").to_owned())
        .collect()
}

/// Exactly the profile's listed causes, each claimed on every non-reference station with its
/// primary tags: what a candidate who read task.toml, and nothing in the data, could submit.
/// Once every seed plants the same list, the list is no secret; the selector must be.
fn claim_the_listed_causes(
    dir: &std::path::Path,
    _: &(Value, String),
    listed: &[String],
) -> (Value, String) {
    let causes: Vec<Cause> = listed
        .iter()
        .map(|id| Cause::parse(id).expect("a listed cause is in the vocabulary"))
        .collect();
    claim_on_other_stations(dir, causes)
}

/// Every header-respecting correction switched on, nothing diagnosed.
fn switch_everything(dir: &std::path::Path, _: &(Value, String), _: &[String]) -> (Value, String) {
    let input = common::read_input(dir);
    let config = Config {
        gate: Gate::RescaleTypeHu,
        ..Config::header_respecting()
    };
    (
        empty_report(serde_json::to_value(&config).expect("config")),
        common::predictions(&config, &input.test),
    )
}

/// P0 unchanged, random test predictions.
fn random_predictions(dir: &std::path::Path, _: &(Value, String), _: &[String]) -> (Value, String) {
    let input = common::read_input(dir);
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut csv = String::from("sop_instance_uid,score,decision\n");
    for item in &input.test {
        let d = if r.random_bool(0.5) { "POS" } else { "NEG" };
        csv.push_str(&format!("{},0,{d}\n", item.slice.sop_instance_uid));
    }
    (empty_report(json!({})), csv)
}

/// The reference answer of another seed, submitted unchanged.
fn other_seed(_: &std::path::Path, other: &(Value, String), _: &[String]) -> (Value, String) {
    other.clone()
}

const GUESSERS: [(&str, Guesser); 6] = [
    ("claim every cause everywhere", claim_everything),
    ("list every differing station", list_differences),
    (
        "claim the listed causes on every station",
        claim_the_listed_causes,
    ),
    ("switch on every correction", switch_everything),
    ("random predictions", random_predictions),
    ("another seed's answers", other_seed),
];

fn grade_submission(
    dir: &std::path::Path,
    key: &worksample_shift::key::Key,
    sub: &(Value, String),
    profile: &str,
) -> worksample_task::rubric::Grade {
    let out = tempfile::tempdir().expect("tempdir");
    common::write(out.path(), &sub.0, &sub.1);
    common::grade(dir, out.path(), key, profile)
}

/// The profile's `causes` list as task.toml gives it.
fn listed_causes(profile: &str) -> Vec<String> {
    let params: worksample_shift::generate::Params = common::data()
        .profile(Some(profile))
        .and_then(|p| p.parse())
        .expect("params");
    params.causes
}

fn describe(grade: &worksample_task::rubric::Grade) -> String {
    grade
        .criteria
        .iter()
        .flat_map(|c| {
            std::iter::once(format!("  {} {:.3}: {}", c.id, c.score.get(), c.summary)).chain(
                c.findings
                    .iter()
                    .take(4)
                    .map(move |f| format!("    {}", f.message)),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every guesser's total on one seed.
type Totals = Vec<(&'static str, f64)>;

/// Generates `profile` over `seeds` seeds, grades the reference answer and every guesser on
/// each, and returns the problems (reference under 95, a guesser over 15) and every guesser's
/// highest total.
fn reference_and_guessers(profile: &str, seeds: u64) -> (Vec<String>, BTreeMap<&'static str, f64>) {
    let listed = listed_causes(profile);
    // Every fixture once: the "another seed" guesser submits the next seed's reference answer.
    let solved: Vec<(
        tempfile::TempDir,
        worksample_shift::key::Key,
        (Value, String),
    )> = (0..seeds)
        .into_par_iter()
        .map(|seed| {
            let (dir, key) = common::fixture(seed, profile);
            let reference = common::reference(dir.path());
            (dir, key, reference)
        })
        .collect();
    let graded: Vec<(Vec<String>, Totals)> = (0..solved.len())
        .into_par_iter()
        .map(|i| {
            let mut problems = Vec::new();
            let mut totals = Vec::new();
            let (dir, key, reference) = &solved[i];
            let other = &solved[(i + 1) % solved.len()].2;
            let grade = grade_submission(dir.path(), key, reference, profile);
            let total = common::total(&grade);
            if total < 95.0 {
                problems.push(format!(
                    "{profile} seed {i}: reference scored {total:.2}\n{}",
                    describe(&grade)
                ));
            }
            for (name, guess) in GUESSERS {
                let sub = guess(dir.path(), other, &listed);
                let grade = grade_submission(dir.path(), key, &sub, profile);
                let total = common::total(&grade);
                totals.push((name, total));
                if total > 15.0 {
                    problems.push(format!(
                        "{profile} seed {i}: guesser `{name}` scored {total:.2}\n{}",
                        describe(&grade)
                    ));
                }
            }
            (problems, totals)
        })
        .collect();
    let mut highest = BTreeMap::new();
    for (name, total) in graded.iter().flat_map(|(_, t)| t) {
        let h = highest.entry(*name).or_insert(0.0_f64);
        *h = h.max(*total);
    }
    (graded.into_iter().flat_map(|(p, _)| p).collect(), highest)
}

/// The reference scores 95 and every guesser at most 15 on each of `seeds` seeds of `profile`;
/// knowing the profile's cause list names no station, so claiming those causes everywhere
/// misses or is false (about 0.2 measured).
fn assert_guessers_held(profile: &str, seeds: u64) {
    let (problems, highest) = reference_and_guessers(profile, seeds);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let listed = highest["claim the listed causes on every station"];
    assert!(
        listed <= 1.0,
        "{profile}: the listed causes everywhere scored {listed:.2}"
    );
}

#[test]
fn reference_scores_95_and_guessers_15_over_20_seeds() {
    assert_guessers_held("standard", SEEDS);
}

#[test]
fn on_hard_every_cause_planted_guessers_still_score_15_at_most() {
    // `hard` plants every plantable cause, so "claim every cause" and "switch every correction
    // on" name only true causes and true fixes: the claim rules (selector, evidence, effect) and
    // the fix gate, not the cause list, must hold them down.
    assert_guessers_held("hard", HARD_SEEDS);
}

/// A change to the reference answer and the one criterion it must cost.
type Mutation = fn(&mut Value, &mut String);

fn cells(report: &mut Value) -> impl Iterator<Item = &mut Value> {
    report["strata_metrics"]
        .as_array_mut()
        .expect("cells")
        .iter_mut()
}

fn claims(report: &mut Value) -> impl Iterator<Item = &mut Value> {
    report["root_causes"]
        .as_array_mut()
        .expect("claims")
        .iter_mut()
}

const MUTANTS: [(&str, &str, Mutation); 11] = [
    ("point intervals", "metrics", |r, _| {
        for c in cells(r) {
            for m in ["sensitivity", "specificity"] {
                let est = c[m]["est"].clone();
                c[m]["ci95"] = json!([est.clone(), est]);
            }
        }
    }),
    ("Wald intervals", "metrics", |r, _| {
        for c in cells(r) {
            // Sensitivity and specificity by the normal approximation instead of Wilson.
            for (m, k, n) in [("sensitivity", "tp", "n_pos"), ("specificity", "tn", "")] {
                let k = c[k].as_f64().unwrap_or(0.0);
                let n = if n.is_empty() {
                    c["n"].as_f64().unwrap_or(0.0) - c["n_pos"].as_f64().unwrap_or(0.0)
                } else {
                    c[n].as_f64().unwrap_or(0.0)
                };
                let p = if n > 0.0 { k / n } else { 0.0 };
                let h = 1.96 * (p * (1.0 - p) / n.max(1.0)).sqrt();
                c[m]["ci95"] = json!([(p - h).max(0.0), (p + h).min(1.0)]);
            }
        }
    }),
    ("no insufficient flags", "metrics", |r, _| {
        for c in cells(r) {
            c["insufficient"] = json!(false);
        }
    }),
    ("AUC intervals [0, 1]", "metrics", |r, _| {
        for c in cells(r) {
            c["auc"]["ci95"] = json!([0.0, 1.0]);
        }
    }),
    ("tp and fn swapped", "metrics", |r, _| {
        for c in cells(r) {
            let tp = c["tp"].clone();
            c["tp"] = c["fn"].clone();
            c["fn"] = tp;
        }
    }),
    ("no evidence tags", "causes", |r, _| {
        for c in claims(r) {
            c["evidence_tags"] = json!([]);
        }
    }),
    ("evidence values doubled", "causes", |r, _| {
        for c in claims(r) {
            if let Some(map) = c["evidence"].as_object_mut() {
                for v in map.values_mut() {
                    *v = json!(v.as_f64().unwrap_or(0.0) * 2.0 + 1.0);
                }
            }
        }
    }),
    ("first cause dropped", "causes", |r, _| {
        r["root_causes"].as_array_mut().expect("claims").remove(0);
    }),
    ("P0 kept", "fix", |r, p| {
        r["pipeline_config"] = json!({});
        *p = p.replace(",POS\n", ",NEG\n");
    }),
    ("predictions disagree with the config", "fix", |_, p| {
        *p = p.replace(",POS\n", ",NEG\n");
    }),
    ("effect values off", "hygiene", |r, _| {
        for c in claims(r) {
            let v = c["effect"]["p0"].as_f64().unwrap_or(0.0);
            c["effect"]["p0"] = json!(if v > 0.5 { v - 0.05 } else { v + 0.05 });
        }
    }),
];

#[test]
fn each_mutant_loses_points_only_on_its_criterion() {
    let problems: Vec<String> = (0..3u64)
        .into_par_iter()
        .flat_map(|seed| {
            let mut problems = Vec::new();
            let (dir, key) = common::fixture(seed, "standard");
            let reference = common::reference(dir.path());
            let base = common::points(&grade_submission(dir.path(), &key, &reference, "standard"));
            for (name, target, mutate) in MUTANTS {
                let mut sub = reference.clone();
                if name == "P0 kept" {
                    // Replay P0 itself so that only the recovery, not the agreement, drops.
                    let input = common::read_input(dir.path());
                    sub.1 = common::predictions(&Config::p0(), &input.test);
                    sub.0["pipeline_config"] = json!({});
                } else {
                    mutate(&mut sub.0, &mut sub.1);
                }
                let got = common::points(&grade_submission(dir.path(), &key, &sub, "standard"));
                for (criterion, before) in &base {
                    let after = got.get(criterion).copied().unwrap_or(0.0);
                    let lost = before - after;
                    if criterion == target && lost < 0.01 {
                        problems.push(format!(
                            "seed {seed}: mutant `{name}` lost only {lost:.2} on {criterion}"
                        ));
                    }
                    if criterion != target && lost.abs() > 1e-9 {
                        problems.push(format!(
                            "seed {seed}: mutant `{name}` moved {criterion} by {:.2}",
                            -lost
                        ));
                    }
                }
            }
            problems
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Output that cannot be used scores 0 and still shows the figures the fixtures alone draw
/// (P0's sensitivity and specificity bars, the intensity histograms), the same four a usable
/// report without a replay shows.
#[test]
fn unusable_output_keeps_the_fixtures_figures() {
    let (dir, key) = common::fixture(3, "standard");
    let out = tempfile::tempdir().expect("tempdir");
    std::fs::write(out.path().join("report.json"), "{ not json").expect("write");
    let grade = common::grade(dir.path(), out.path(), &key, "standard");
    assert_eq!(common::total(&grade), 0.0);
    assert!(
        grade.notes[0].starts_with("no usable report.json"),
        "{:?}",
        grade.notes
    );
    let titles: Vec<&str> = grade.figures.iter().map(|f| f.title.as_str()).collect();
    assert_eq!(titles.len(), 4, "{titles:?}");
}

#[test]
fn the_starter_runs_and_scores_low() {
    let (dir, key) = common::fixture(3, "standard");
    let out = tempfile::tempdir().expect("tempdir");
    ShiftTask
        .starter(dir.path(), out.path())
        .expect("the starter runs");
    let grade = common::grade(dir.path(), out.path(), &key, "standard");
    let points: BTreeMap<String, f64> = common::points(&grade);
    let total: f64 = points.values().sum();
    assert!(
        (5.0..20.0).contains(&total),
        "starter scored {total:.2}: {points:?}\n{}",
        describe(&grade)
    );
    assert!(points["metrics"] > 0.0, "it reports some cells right");
    assert_eq!(points["causes"], 0.0);
}

#[test]
fn generation_is_deterministic_and_labels_leak_nowhere_in_names() {
    let (a, key_a) = common::fixture(11, "standard");
    let (b, key_b) = common::fixture(11, "standard");
    assert_eq!(key_a, key_b);
    let files = |d: &std::path::Path| {
        worksample_shift::folder::list_files(d)
            .expect("list")
            .into_iter()
            .map(|(rel, path)| (rel, std::fs::read(path).expect("read")))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        files(a.path()),
        files(b.path()),
        "byte-identical regeneration"
    );
    let planted = key_a.planted.len();
    assert!((3..=4).contains(&planted), "{planted} causes planted");
    for case in &key_a.cases {
        let name = case.file.rsplit('/').next().unwrap_or_default();
        assert_eq!(name.len(), 20, "{name}: 16 hex digits and .dcm");
    }
}

#[test]
fn published_schemas_agree_with_each_other_and_the_model_runner_with_p0_dev() {
    let data = common::data();
    let output: Value =
        serde_json::from_str(&data.files["output.schema.json"]).expect("output schema is JSON");
    let config: Value =
        serde_json::from_str(&data.files["config.schema.json"]).expect("config schema is JSON");
    for key in ["type", "additionalProperties", "properties"] {
        assert_eq!(
            output["$defs"]["config"][key], config[key],
            "config schema `{key}`"
        );
    }
    let validator = jsonschema::validator_for(&config).expect("a valid schema");
    for (text, valid) in [
        ("{}", true),
        (
            r#"{"window": {"mode": "fixed", "center": 50, "width": 100}}"#,
            true,
        ),
        (
            r#"{"denoise": [{"selector": {"ConvolutionKernel": "D"}, "filter": "median", "radius_px": 1}]}"#,
            true,
        ),
        (r#"{"modality": "header"}"#, false),
        (
            r#"{"hu_offset": [{"selector": {"Kernel": "D"}, "add_hu": 1}]}"#,
            false,
        ),
    ] {
        let doc: Value = serde_json::from_str(text).expect("JSON");
        assert_eq!(validator.is_valid(&doc), valid, "schema on {text}");
        assert_eq!(
            Config::from_json(text).is_ok(),
            valid,
            "typed reader on {text}"
        );
    }
    // `worksample shift-model` on the development folder reproduces p0_dev.csv.
    let (dir, key) = common::fixture(4, "standard");
    let results = worksample_shift::run_folder(&Config::p0(), &dir.path().join("dev"))
        .expect("the folder lists");
    let dev: BTreeMap<&str, &worksample_shift::key::Case> =
        key.cases.iter().map(|c| (c.uid.as_str(), c)).collect();
    assert_eq!(
        results.len(),
        key.split(worksample_shift::key::Split::Dev).count()
    );
    for r in &results {
        let uid = r.sop_instance_uid.as_deref().expect("every fixture reads");
        assert_eq!(r.prediction, Some(dev[uid].p0), "{}", r.file);
    }
}

#[test]
fn every_seed_of_a_profile_plants_the_same_causes() {
    // Hiring fairness: candidates on one profile, each on a hidden seed of their own, face the
    // same number and kinds of causes (tasks/shift/task.toml `causes`); the seed still draws
    // where they sit, so one candidate's answer does not transfer to another's fixtures.
    for (name, count) in [("standard", 4), ("hard", Cause::PLANTABLE.len())] {
        let drawn: Vec<(Vec<&'static str>, Vec<String>)> = (1..=12u64)
            .into_par_iter()
            .map(|seed| {
                let key = common::generate_into(seed, name, &DigestSink::new());
                let kinds = key.planted.iter().map(|p| p.cause.id()).collect();
                let strata = key
                    .planted
                    .iter()
                    .map(|p| format!("{:?}", key.units[p.unit].selector))
                    .collect();
                (kinds, strata)
            })
            .collect();
        let (first, _) = &drawn[0];
        assert_eq!(first.len(), count, "{name}: {first:?}");
        for (i, (kinds, _)) in drawn.iter().enumerate() {
            assert_eq!(kinds, first, "{name} seed {}", i + 1);
        }
        // Each seed draws where every cause sits: two seeds share few (cause, selector) pairs,
        // so one candidate's claims do not carry to another's fixtures. Some pools are small
        // (KERNEL_NOISE's selector is one of two kernels, HEADER_WINDOW_USED's a software
        // version), so a pair or two in common is chance; over 12 seeds (66 pairs) at most 3
        // and a mean of 0.70 (standard) and 0.65 (hard) were measured. Counting distinct whole
        // placements, as before, passed even if every seed but one agreed on all but one.
        let pairs: Vec<std::collections::BTreeSet<(&str, &str)>> = drawn
            .iter()
            .map(|(kinds, strata)| {
                kinds
                    .iter()
                    .copied()
                    .zip(strata.iter().map(String::as_str))
                    .collect()
            })
            .collect();
        let mut shared = Vec::new();
        for i in 0..pairs.len() {
            for j in i + 1..pairs.len() {
                shared.push(pairs[i].intersection(&pairs[j]).count());
            }
        }
        let most = shared.iter().copied().max().unwrap_or(0);
        let mean = shared.iter().sum::<usize>() as f64 / shared.len() as f64;
        assert!(
            most <= 3.min(count - 1) && mean <= 1.0,
            "{name}: seeds share up to {most} of {count} placements (mean {mean:.2}): {shared:?}"
        );
    }
}

#[test]
fn a_redrawn_seed_leaves_only_the_accepted_draws_files() {
    // Seed 2's first standard draw fails the self-checks (4 of the first 40 do: 2, 10, 15,
    // 36). Its files were streamed out before the checks ran and must all have been taken back.
    let data = common::data();
    let profile = data.profile(Some("standard")).expect("profile exists");
    let generate = |out: &dyn Sink| {
        let ctx = GenerateContext {
            seed: Seed(2),
            profile: &profile,
            data: &data,
            progress: &NoProgress,
            figures: Figures::Skip,
        };
        ShiftTask.generate(&ctx, out).expect("generation succeeds")
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = FolderSink::new(dir.path());
    let key = generate(&sink);
    assert!(
        key.redraws > 0,
        "pick another seed: this one no longer redraws"
    );
    // No digest entry of the rejected draw is left either, written or in memory.
    let written = sink.finish();
    assert_eq!(written, digest_folder(dir.path()).expect("digest"));
    let memory = DigestSink::new();
    generate(&memory);
    assert_eq!(memory.finish(), written);
    let mut expected: std::collections::BTreeSet<String> =
        key.cases.iter().map(|c| c.file.clone()).collect();
    expected.extend(["dev_labels.csv", "p0_dev.csv", "deployment.json"].map(String::from));
    let found: std::collections::BTreeSet<String> =
        worksample_shift::folder::list_files(dir.path())
            .expect("list")
            .into_iter()
            .map(|(rel, _)| rel)
            .collect();
    assert_eq!(found, expected);
}

/// What a hole's exploit starts from: one seed's fixtures, key and reference answer.
struct Env<'a> {
    key: &'a worksample_shift::key::Key,
    input: &'a common::Input,
}

/// A submission as written: report.json (after `report_prefix`, e.g. a byte-order mark) and
/// predictions_test.csv.
#[derive(Clone)]
struct Sub {
    report: Value,
    report_prefix: &'static str,
    predictions: String,
}

/// How a submission fared: points per criterion (gates applied) and the grade.
struct Outcome {
    base: BTreeMap<String, f64>,
    got: BTreeMap<String, f64>,
    grade: worksample_task::rubric::Grade,
}

impl Outcome {
    fn unchanged(&self, criteria: &[&str]) -> Result<(), String> {
        for c in criteria {
            if (self.base[*c] - self.got[*c]).abs() > 1e-9 {
                return Err(format!(
                    "{c} moved {:.2} → {:.2}",
                    self.base[*c], self.got[*c]
                ));
            }
        }
        Ok(())
    }

    fn total(&self) -> f64 {
        self.got.values().sum()
    }

    fn criterion(&self, id: &str) -> &worksample_task::rubric::CriterionGrade {
        self.grade
            .criteria
            .iter()
            .find(|c| c.id.as_str() == id)
            .expect("criterion graded")
    }
}

type Exploit = fn(&Env<'_>, &mut Sub);
type Expect = fn(&Env<'_>, &Outcome) -> Result<(), String>;

/// A claim of NON_HU_INPUT (never planted on these seeds) on the first claim's stratum, with
/// P0's effect values right: a claim that matches no planted cause.
fn false_claim(report: &Value) -> Value {
    let mut claim = report["root_causes"][0].clone();
    claim["cause"] = json!("NON_HU_INPUT");
    claim["evidence_tags"] = json!([]);
    claim["evidence"] = json!({});
    claim
}

fn every_global_knob() -> Config {
    Config {
        denoise: vec![worksample_shift::config::Denoise {
            selector: worksample_shift::config::Selector(BTreeMap::new()),
            filter: worksample_shift::config::Filter::Median,
            radius_px: 1,
        }],
        ..Config::header_respecting()
    }
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what()) }
}

/// The holes of the grader's red-team review: each exploit, from the reference answer, and what
/// the grade must show. Every row failed before its fix.
const HOLES: [(&str, Exploit, Expect); 14] = [
    (
        "zero diagnosis: one false claim, a decoy declared 60 times, every global knob",
        |env, s| {
            let claim = {
                let mut c = false_claim(&s.report);
                c["effect"]["diff_ci95"] = json!([-1.0, -0.5]);
                c
            };
            s.report["root_causes"] = json!([claim]);
            let nc = s.report["not_causal"][0].clone();
            s.report["not_causal"] = Value::Array(vec![nc; 60]);
            let config = every_global_knob();
            s.report["pipeline_config"] = serde_json::to_value(&config).expect("config");
            s.predictions = common::predictions(&config, &env.input.test);
        },
        |_, o| {
            check(o.total() <= 25.0, || {
                format!("scored {:.2}: {:?}", o.total(), o.got)
            })
        },
    ),
    (
        "every cause claimed on every stratum where one was found, every global knob",
        |env, s| {
            let found = s.report["root_causes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut shotgun = Vec::new();
            for claim in &found {
                for cause in Cause::ALL {
                    let mut c = claim.clone();
                    c["cause"] = json!(cause.id());
                    shotgun.push(c);
                }
            }
            s.report["root_causes"] = Value::Array(shotgun);
            let config = every_global_knob();
            s.report["pipeline_config"] = serde_json::to_value(&config).expect("config");
            s.predictions = common::predictions(&config, &env.input.test);
        },
        |_, o| {
            // Each planted cause is credited somewhere, but net of the false claims the
            // diagnosis is below 30 %: the fix gate stays closed.
            check(o.got["fix"] <= 3.0 + 1e-9, || {
                format!("fix {:.2}: {:?}", o.got["fix"], o.got)
            })
        },
    ),
    (
        "one harmless stratum declared 40 times, nothing claimed",
        |_, s| {
            s.report["root_causes"] = json!([]);
            let nc = s.report["not_causal"][0].clone();
            s.report["not_causal"] = Value::Array(vec![nc; 40]);
        },
        |_, o| {
            // One decoy stratum earns one point, however often it is declared (brief: "+1
            // point per decoy stratum").
            check(o.got["causes"] <= 1.0 + 1e-9, || {
                format!("causes {:.2}", o.got["causes"])
            })
        },
    ),
    (
        "false claims beside the decoys",
        |_, s| {
            for c in s.report["root_causes"]
                .as_array_mut()
                .expect("claims")
                .iter_mut()
            {
                c["cause"] = json!("NON_HU_INPUT");
            }
        },
        |_, o| {
            // Each false claim costs half a cause; decoys cannot buy the cost back.
            check(o.got["causes"] < 1e-9, || {
                format!("causes {:.2}", o.got["causes"])
            })
        },
    ),
    (
        "one cause credited, the decoys declared",
        |_, s| {
            let first = s.report["root_causes"][0].clone();
            s.report["root_causes"] = json!([first]);
        },
        |env, o| {
            // Fewer than 30 % of the causes credited closes the gate, decoys or not.
            if env.key.planted.len() < 4 {
                return Ok(());
            }
            check(o.got["fix"] <= 3.0 + 1e-9, || {
                format!(
                    "fix {:.2} with one of {} causes",
                    o.got["fix"],
                    env.key.planted.len()
                )
            })
        },
    ),
    (
        "made-up effect intervals on the right side of 0",
        |_, s| {
            for c in s.report["root_causes"]
                .as_array_mut()
                .expect("claims")
                .iter_mut()
            {
                let hi = c["effect"]["diff_ci95"][1].as_f64().unwrap_or(0.0);
                c["effect"]["diff_ci95"] = if hi < 0.0 {
                    json!([-0.999, -0.001])
                } else {
                    json!([0.001, 0.999])
                };
            }
        },
        |_, o| {
            o.unchanged(&["metrics", "causes", "fix"])?;
            check(o.got["hygiene"] < o.base["hygiene"] - 1.0, || {
                format!("hygiene {:.2}", o.got["hygiene"])
            })
        },
    ),
    (
        "a false claim with P0's effect right",
        |_, s| {
            let claim = false_claim(&s.report);
            s.report["root_causes"]
                .as_array_mut()
                .expect("claims")
                .push(claim);
        },
        |_, o| {
            check(o.got["hygiene"] < o.base["hygiene"] - 0.5, || {
                format!("hygiene {:.2}", o.got["hygiene"])
            })
        },
    ),
    (
        "P0 kept, nothing claimed: the candidate's report",
        |env, s| {
            s.report["root_causes"] = json!([]);
            s.report["not_causal"] = json!([]);
            s.report["pipeline_config"] = json!({});
            s.predictions = common::predictions(&Config::p0(), &env.input.test);
        },
        |env, o| {
            let report = common::report(&o.grade);
            let assessor = serde_json::to_string(&report).expect("JSON");
            let candidate = serde_json::to_string(&report.for_candidate()).expect("JSON");
            for p in &env.key.planted {
                check(assessor.contains(p.cause.id()), || {
                    format!("the assessor loses {}", p.cause.id())
                })?;
                check(!candidate.contains(p.cause.id()), || {
                    format!("the candidate reads {}", p.cause.id())
                })?;
            }
            for unit in &env.key.units {
                for (k, v) in &unit.selector {
                    let named = format!("{k} = {v}");
                    check(!candidate.contains(&named), || {
                        format!("the candidate reads the stratum `{named}`")
                    })?;
                }
            }
            check(candidate.contains("planted causes credited"), || {
                "the candidate still gets the count".into()
            })
        },
    ),
    (
        "predictions with a byte-order mark, every field quoted, CRLF",
        |_, s| {
            let quoted: Vec<String> = s
                .predictions
                .lines()
                .map(|l| {
                    l.split(',')
                        .map(|f| format!("\"{f}\""))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect();
            s.predictions = format!("\u{feff}{}\r\n", quoted.join("\r\n"));
        },
        |_, o| {
            o.unchanged(&["metrics", "causes", "fix", "hygiene"])?;
            check(o.grade.notes.is_empty(), || format!("{:?}", o.grade.notes))
        },
    ),
    (
        "report.json with a byte-order mark",
        |_, s| s.report_prefix = "\u{feff}",
        |_, o| o.unchanged(&["metrics", "causes", "fix", "hygiene"]),
    ),
    (
        "a denoise radius out of the schema's range",
        |_, s| {
            let bad = json!({"selector": {}, "filter": "median", "radius_px": 4});
            let config = &mut s.report["pipeline_config"];
            match config.get_mut("denoise").and_then(Value::as_array_mut) {
                Some(list) => list.insert(0, bad),
                None => config["denoise"] = json!([bad]),
            }
        },
        |_, o| {
            // A bad configuration costs the fix only, and says which field.
            o.unchanged(&["metrics", "causes", "hygiene"])?;
            check(o.got["fix"] == 0.0, || format!("fix {:.2}", o.got["fix"]))?;
            check(
                o.criterion("fix")
                    .findings
                    .iter()
                    .any(|f| f.message.contains("radius_px")),
                || "no finding names radius_px".into(),
            )
        },
    ),
    (
        "every cause's tags listed on every claim",
        |_, s| {
            let all: Vec<&str> = Cause::ALL
                .iter()
                .flat_map(|c| c.primary_tags().iter().copied())
                .collect();
            for c in s.report["root_causes"]
                .as_array_mut()
                .expect("claims")
                .iter_mut()
            {
                c["evidence_tags"] = json!(all);
            }
        },
        |_, o| {
            o.unchanged(&["metrics", "fix", "hygiene"])?;
            check(o.got["causes"] < o.base["causes"] - 1.0, || {
                format!("causes {:.2}", o.got["causes"])
            })
        },
    ),
    (
        "every case declared harmless",
        |_, s| {
            // Alone: the reference's decoys would lift the score past its ceiling.
            s.report["not_causal"] = json!([{"selector": {}, "examined": []}]);
        },
        |_, o| {
            // The declaration covers every planted stratum (brief: "−1 per harmless
            // declaration covering a planted stratum").
            check(o.got["causes"] < o.base["causes"] - 0.5, || {
                format!("causes {:.2}", o.got["causes"])
            })
        },
    ),
    (
        "nothing claimed: the hygiene summary",
        |_, s| s.report["root_causes"] = json!([]),
        |_, o| {
            let summary = &o.criterion("hygiene").summary;
            check(!summary.contains("not respected"), || summary.clone())
        },
    ),
];

#[test]
fn each_hole_of_the_review_stays_closed() {
    let problems: Vec<String> = [0u64, 2]
        .into_par_iter()
        .flat_map(|seed| {
            let (dir, key) = common::fixture(seed, "standard");
            let input = common::read_input(dir.path());
            let (report, predictions) = common::reference(dir.path());
            let reference = Sub {
                report,
                report_prefix: "",
                predictions,
            };
            let run = |s: &Sub| {
                let out = tempfile::tempdir().expect("tempdir");
                let text = serde_json::to_string_pretty(&s.report).expect("JSON");
                std::fs::write(
                    out.path().join("report.json"),
                    format!("{}{text}", s.report_prefix),
                )
                .expect("write");
                std::fs::write(out.path().join("predictions_test.csv"), &s.predictions)
                    .expect("write");
                common::grade(dir.path(), out.path(), &key, "standard")
            };
            let base = common::points(&run(&reference));
            let env = Env {
                key: &key,
                input: &input,
            };
            let mut problems = Vec::new();
            for (name, exploit, expect) in HOLES {
                let mut sub = reference.clone();
                exploit(&env, &mut sub);
                let grade = run(&sub);
                let outcome = Outcome {
                    base: base.clone(),
                    got: common::points(&grade),
                    grade,
                };
                if let Err(e) = expect(&env, &outcome) {
                    problems.push(format!(
                        "seed {seed}: `{name}`: {e}\n{}",
                        describe(&outcome.grade)
                    ));
                }
            }
            problems
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// On the hard profile's MONOCHROME1 stratum, P0's HU is off by the brief's own "true HU" too:
/// a RESCALE_IGNORED claim there is neither credited nor charged, and the rescale tags count as
/// MONOCHROME1's. A claim short of full evidence says which requirement it missed, and a
/// decision that is none of POS, NEG and REJECT is a note.
#[test]
fn claims_are_judged_as_the_brief_defines_them() {
    let (dir, key) = common::fixture(1, "hard");
    let (report, predictions) = common::reference(dir.path());
    let run = |report: &Value, predictions: &str| {
        let out = tempfile::tempdir().expect("tempdir");
        common::write(out.path(), report, predictions);
        common::grade(dir.path(), out.path(), &key, "hard")
    };
    let base = run(&report, &predictions);
    let base_points = common::points(&base);
    let mono = key
        .planted
        .iter()
        .find(|p| p.cause == Cause::Monochrome1Ignored)
        .expect("hard plants MONOCHROME1");
    let selector = &key.units[mono.unit].selector;
    let claim_index = report["root_causes"]
        .as_array()
        .expect("claims")
        .iter()
        .position(|c| c["cause"] == "MONOCHROME1_IGNORED")
        .expect("the reference claims MONOCHROME1");

    // RESCALE_IGNORED on the MONOCHROME1 stratum, with MONOCHROME1's effect.
    let mut also = report.clone();
    let mut claim = also["root_causes"][claim_index].clone();
    claim["cause"] = json!("RESCALE_IGNORED");
    claim["selector"] = json!(selector);
    claim["evidence_tags"] = json!(["(0028,1052)"]);
    claim["evidence"] = json!({"hu_offset_p0": 973.5});
    also["root_causes"]
        .as_array_mut()
        .expect("claims")
        .push(claim);
    let graded = run(&also, &predictions);
    let got = common::points(&graded);
    for c in ["causes", "hygiene"] {
        assert!(
            (got[c] - base_points[c]).abs() < 1e-9,
            "{c}: {} → {}\n{}",
            base_points[c],
            got[c],
            describe(&graded)
        );
    }
    let card = serde_json::to_string(&graded.cards).expect("JSON");
    assert!(card.contains("neither credited nor charged"), "{card}");

    // MONOCHROME1's own claim may name the rescale tags it also shows, alone or beside its own.
    for listed in [
        json!(["(0028,1052)"]),
        json!(["(0028,0004)", "(0028,1052)"]),
    ] {
        let mut tags = report.clone();
        tags["root_causes"][claim_index]["evidence_tags"] = listed;
        let got = common::points(&run(&tags, &predictions));
        assert!((got["causes"] - base_points["causes"]).abs() < 1e-9);
    }

    // A measurement left out: the finding names it.
    let mut short = report.clone();
    let rescale = short["root_causes"]
        .as_array_mut()
        .expect("claims")
        .iter_mut()
        .find(|c| c["cause"] == "RESCALE_IGNORED")
        .expect("the reference claims RESCALE_IGNORED");
    rescale["evidence"] = json!({});
    let graded = run(&short, &predictions);
    let causes = graded
        .criteria
        .iter()
        .find(|c| c.id.as_str() == "causes")
        .expect("causes");
    assert!(
        causes.findings.iter().any(|f| f.message.contains(
            "short of full evidence: evidence `hu_offset_p0` missing or outside its tolerance"
        )),
        "{}",
        describe(&graded)
    );

    // The right cause on every case: a false claim to the candidate, and to the assessor the
    // planted stratum it missed.
    let mut broad = report.clone();
    let mut claim = broad["root_causes"][0].clone();
    claim["cause"] = json!("RESCALE_IGNORED");
    claim["selector"] = json!({});
    broad["root_causes"]
        .as_array_mut()
        .expect("claims")
        .push(claim);
    let graded = run(&broad, &predictions);
    let said = "names the planted RESCALE_IGNORED but selects other cases than its stratum";
    let report_json = common::report(&graded);
    let assessor = serde_json::to_string(&report_json).expect("JSON");
    let candidate = serde_json::to_string(&report_json.for_candidate()).expect("JSON");
    assert!(assessor.contains(said), "{}", describe(&graded));
    assert!(!candidate.contains(said));

    // A thickness cell written "1.0" for the header's "1" is named as such.
    let mut respelt = report.clone();
    let cell = respelt["strata_metrics"]
        .as_array_mut()
        .expect("cells")
        .iter_mut()
        .find(|c| {
            c["group_by"] == "SliceThickness" && !c["value"].as_str().unwrap_or(".").contains('.')
        })
        .expect("a whole-millimetre thickness");
    let value = cell["value"].as_str().expect("text").to_owned();
    cell["value"] = json!(format!("{value}.0"));
    let graded = run(&respelt, &predictions);
    assert!(
        graded
            .criteria
            .iter()
            .any(|c| c.findings.iter().any(|f| f.message.contains(&format!(
                "your cell \"{value}.0\" is the same number written otherwise"
            )))),
        "{}",
        describe(&graded)
    );

    // Lower-case decisions are none of the three.
    let lower = predictions.replace(",POS", ",pos").replace(",NEG", ",neg");
    let graded = run(&report, &lower);
    assert!(
        graded
            .notes
            .iter()
            .any(|n| n.contains("not POS, NEG or REJECT (e.g. `")),
        "{:?}",
        graded.notes
    );
}

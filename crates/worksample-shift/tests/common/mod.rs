//! Test support: fixtures from the real task data, grading with rubric weights and gates, and
//! the Rust reference solution, written from brief.md: it reads only the input folder (never the
//! key), measures P0 per stratum, diagnoses the strata that fail from their headers and pixels,
//! and builds the corrected configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};
use worksample_shift::ShiftTask;
use worksample_shift::config::{Config, Decode, Denoise, Filter, HuOffset, ModalityLut, Selector};
use worksample_shift::folder::list_files;
use worksample_shift::key::Key;
use worksample_shift::model::{
    Decision, decode, hu_values, largest_component_mask, median, predict,
};
use worksample_shift::output::REQUIRED_GROUPS;
use worksample_shift::slice::Slice;
use worksample_shift::stats::{Confusion, Z95, auc_delong, holm, newcombe_diff, two_proportion_p};
use worksample_task::rubric::{Grade, Report, ReportContext, RunSummary, SeedInfo, TaskRef};
use worksample_task::{
    Figures, FolderSink, GenerateContext, GradeContext, NoProgress, Seed, Sink, Task, TaskData,
};

/// The task data as compiled in.
pub fn data() -> TaskData {
    TaskData::from_embedded("shift", &ShiftTask.embedded()).expect("the shipped task data loads")
}

/// Generates `profile` fixtures for `seed` into a new temporary folder.
pub fn fixture(seed: u64, profile: &str) -> (tempfile::TempDir, Key) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = generate_into(seed, profile, &FolderSink::new(dir.path()));
    (dir, key)
}

/// Generates `profile` fixtures for `seed` into `sink` and returns the key.
pub fn generate_into(seed: u64, profile: &str, sink: &dyn Sink) -> Key {
    let data = data();
    let profile = data.profile(Some(profile)).expect("profile exists");
    let ctx = GenerateContext {
        seed: Seed(seed),
        profile: &profile,
        data: &data,
        progress: &NoProgress,
        figures: Figures::Skip,
    };
    ShiftTask.generate(&ctx, sink).expect("generation succeeds")
}

/// Grades the submission folder with the task's own grader.
pub fn grade(fixtures: &Path, submission: &Path, key: &Key, profile: &str) -> Grade {
    let data = data();
    let profile = data.profile(Some(profile)).expect("profile exists");
    let ctx = GradeContext {
        profile: &profile,
        data: &data,
        fixtures,
        submission,
        progress: &NoProgress,
        figures: Figures::Draw,
    };
    ShiftTask
        .grade(&ctx, key)
        .expect("grading never fails on candidate output")
}

/// The report the rubric makes of a grade (rubric.toml's weights and gates, as the CLI
/// applies them), for the assessor.
pub fn report(grade: &Grade) -> Report {
    let data = data();
    let ctx = ReportContext {
        harness_version: "test".into(),
        task: TaskRef {
            id: "shift".into(),
            version: 1,
            title: "shift".into(),
        },
        profile: "standard".into(),
        seed: SeedInfo::Public { value: 0 },
        candidate: None,
        run: RunSummary::not_run(),
        threshold: None,
    };
    worksample_task::rubric::score(&data.rubric, grade.clone(), ctx).expect("grade fits rubric")
}

/// Points per criterion under rubric.toml, gates applied.
pub fn points(grade: &Grade) -> BTreeMap<String, f64> {
    report(grade)
        .criteria
        .iter()
        .map(|c| (c.id.as_str().to_owned(), c.points))
        .collect()
}

/// The total out of 100.
pub fn total(grade: &Grade) -> f64 {
    points(grade).values().sum()
}

/// Writes a submission: report.json and predictions_test.csv.
pub fn write(dir: &Path, report: &Value, predictions: &str) {
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(report).expect("JSON"),
    )
    .expect("write report.json");
    std::fs::write(dir.join("predictions_test.csv"), predictions).expect("write predictions");
}

/// One development or test slice as the reference sees it.
pub struct Item {
    pub slice: Slice,
    pub label: Option<bool>,
    pub p0: Option<(f64, bool)>,
    pub burned: bool,
}

/// Everything the reference reads from the input folder.
pub struct Input {
    pub dev: Vec<Item>,
    pub test: Vec<Item>,
    pub reference_site: String,
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .expect("csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

pub fn read_input(dir: &Path) -> Input {
    let labels: BTreeMap<String, bool> = csv_rows(&dir.join("dev_labels.csv"))
        .into_iter()
        .map(|r| (r[1].clone(), r[2] == "1"))
        .collect();
    let p0: BTreeMap<String, (f64, bool)> = csv_rows(&dir.join("p0_dev.csv"))
        .into_iter()
        .map(|r| (r[1].clone(), (r[2].parse().expect("score"), r[4] == "POS")))
        .collect();
    let deployment: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("deployment.json")).expect("deployment.json"),
    )
    .expect("JSON");
    let read = |sub: &str| -> Vec<Item> {
        list_files(&dir.join(sub))
            .expect("list")
            .into_iter()
            .map(|(_, path)| {
                let slice = Slice::read(&path).expect("fixture slices read");
                let file = worksample_dicom::read::read_header(&path, &Default::default())
                    .expect("header");
                let burned = file
                    .dataset
                    .get(dicom_dictionary_std::tags::BURNED_IN_ANNOTATION)
                    .and_then(|e| e.to_str().ok().map(|s| s.trim() == "YES"))
                    .unwrap_or(false);
                Item {
                    label: labels.get(&slice.sop_instance_uid).copied(),
                    p0: p0.get(&slice.sop_instance_uid).copied(),
                    slice,
                    burned,
                }
            })
            .collect()
    };
    Input {
        dev: read("dev"),
        test: read("test"),
        reference_site: deployment["reference_site"]
            .as_str()
            .expect("reference_site")
            .to_owned(),
    }
}

fn confusion<'a>(items: impl Iterator<Item = &'a Item>) -> Confusion {
    let mut c = Confusion::default();
    for i in items {
        if let (Some(label), Some((_, pos))) = (i.label, i.p0) {
            c.add(label, pos);
        }
    }
    c
}

/// The strata the reference examines: (station, software, kernel) combinations, each as the
/// smallest selector that picks exactly it.
fn strata(items: &[Item]) -> Vec<BTreeMap<String, String>> {
    let combos: BTreeSet<(String, String, String)> = items
        .iter()
        .map(|i| {
            (
                i.slice.attribute("StationName").to_owned(),
                i.slice.attribute("SoftwareVersions").to_owned(),
                i.slice.attribute("ConvolutionKernel").to_owned(),
            )
        })
        .collect();
    combos
        .iter()
        .map(|(st, sw, k)| {
            let same_station: Vec<_> = combos.iter().filter(|c| &c.0 == st).collect();
            let mut sel = BTreeMap::from([("StationName".to_owned(), st.clone())]);
            if same_station.iter().any(|c| &c.1 != sw) {
                sel.insert("SoftwareVersions".into(), sw.clone());
            }
            if same_station.iter().any(|c| &c.2 != k) {
                sel.insert("ConvolutionKernel".into(), k.clone());
            }
            sel
        })
        .collect()
}

fn selected<'a>(items: &'a [Item], sel: &BTreeMap<String, String>) -> Vec<&'a Item> {
    items
        .iter()
        .filter(|i| sel.iter().all(|(k, v)| i.slice.attribute(k) == v))
        .collect()
}

/// Noise SD in HU from horizontal neighbour differences inside soft tissue.
fn noise_sd(items: &[&Item]) -> f64 {
    let config = Config {
        decode: Decode::Header,
        modality_lut: ModalityLut::Header,
        ..Config::p0()
    };
    let mut diffs = Vec::new();
    for item in items.iter().filter(|i| i.label == Some(false)).take(6) {
        let s = &item.slice;
        let hu = hu_values(&config, s, &decode(s, Decode::Header));
        for y in 0..s.rows {
            for x in 0..s.columns - 1 {
                let (a, b) = (hu[y * s.columns + x], hu[y * s.columns + x + 1]);
                if (-100.0..200.0).contains(&a) && (-100.0..200.0).contains(&b) {
                    diffs.push(a - b);
                }
            }
        }
    }
    // Robust to tissue edges: the median absolute difference of two independent N(0, σ²)
    // values is 0.6745 × √2 σ.
    let mut abs: Vec<f64> = diffs.iter().map(|d| d.abs()).collect();
    abs.sort_by(f64::total_cmp);
    abs.get(abs.len() / 2).copied().unwrap_or(0.0) / (0.674_49 * std::f64::consts::SQRT_2)
}

/// Median lesion contrast over parenchyma (33 HU) in the positive slices: the mean HU of the
/// largest component of 3 × 3-median HU within 42..200 inside the body.
fn lesion_contrast(items: &[&Item]) -> f64 {
    let config = Config {
        decode: Decode::Header,
        modality_lut: ModalityLut::Header,
        ..Config::p0()
    };
    let mut contrasts = Vec::new();
    for item in items.iter().filter(|i| i.label == Some(true)) {
        let s = &item.slice;
        let hu = hu_values(&config, s, &decode(s, Decode::Header));
        let smooth = median(&hu, s.rows, s.columns, 1);
        let band: Vec<bool> = smooth.iter().map(|h| (42.0..200.0).contains(h)).collect();
        let lesion = largest_component_mask(&band, s.rows, s.columns);
        let values: Vec<f64> = smooth
            .iter()
            .zip(&lesion)
            .filter(|(_, l)| **l)
            .map(|(h, _)| *h)
            .collect();
        if !values.is_empty() {
            contrasts.push(values.iter().sum::<f64>() / values.len() as f64 - 33.0);
        }
    }
    contrasts.sort_by(f64::total_cmp);
    contrasts.get(contrasts.len() / 2).copied().unwrap_or(0.0)
}

/// The reference solution: (report.json, predictions_test.csv).
pub fn reference(dir: &Path) -> (Value, String) {
    let input = read_input(dir);
    let dev = &input.dev;
    // Metrics: every required attribute, every value.
    let mut cells = Vec::new();
    for g in REQUIRED_GROUPS {
        let values: BTreeSet<&str> = dev.iter().map(|i| i.slice.attribute(g)).collect();
        for v in values {
            let items: Vec<&Item> = dev.iter().filter(|i| i.slice.attribute(g) == v).collect();
            let c = confusion(items.iter().copied());
            let pos: Vec<f64> = items
                .iter()
                .filter(|i| i.label == Some(true))
                .filter_map(|i| i.p0.map(|p| p.0))
                .collect();
            let neg: Vec<f64> = items
                .iter()
                .filter(|i| i.label == Some(false))
                .filter_map(|i| i.p0.map(|p| p.0))
                .collect();
            let (sens, spec, auc) = (c.sensitivity(), c.specificity(), auc_delong(&pos, &neg));
            cells.push(json!({
                "group_by": g, "value": v, "n": c.n_pos() + c.n_neg(), "n_pos": c.n_pos(),
                "tp": c.tp, "fp": c.fp, "tn": c.tn, "fn": c.fn_,
                "sensitivity": {"est": sens.est, "ci95": [sens.lo, sens.hi]},
                "specificity": {"est": spec.est, "ci95": [spec.lo, spec.hi]},
                "auc": {"est": auc.est, "ci95": [auc.lo, auc.hi], "method": "delong"},
                "insufficient": c.n_pos() < 10 || c.n_neg() < 10,
            }));
        }
    }
    // The reference site's stratum and its header conventions.
    let reference: Vec<&Item> = dev
        .iter()
        .filter(|i| i.slice.attribute("InstitutionName") == input.reference_site)
        .collect();
    let rc = confusion(reference.iter().copied());
    let ref_noise = noise_sd(&reference);
    let ref_contrast = lesion_contrast(&reference);
    // Judge every other sufficient stratum against it.
    let mut judged = Vec::new();
    for sel in strata(dev) {
        let items = selected(dev, &sel);
        if items[0].slice.attribute("InstitutionName") == input.reference_site {
            continue;
        }
        let c = confusion(items.iter().copied());
        if c.n_pos() < 10 || c.n_neg() < 10 {
            continue;
        }
        judged.push((sel, items, c));
    }
    let mut p = Vec::new();
    for (_, _, c) in &judged {
        p.push(two_proportion_p(c.tp, c.n_pos(), rc.tp, rc.n_pos()));
        p.push(two_proportion_p(c.tn, c.n_neg(), rc.tn, rc.n_neg()));
    }
    let adjusted = holm(&p);
    let mut claims = Vec::new();
    let mut not_causal = Vec::new();
    let mut config = Config::header_respecting();
    for (i, (sel, items, c)) in judged.iter().enumerate() {
        let affected = (adjusted[2 * i] < 0.05 || adjusted[2 * i + 1] < 0.05)
            && rc.balanced_accuracy() - c.balanced_accuracy() >= 0.1;
        if !affected {
            not_causal.push(json!({"selector": sel, "examined": ["(0028,0103)", "(0028,0120)", "(0028,1052)", "(0028,1050)", "(0028,0030)", "(0018,1210)", "(0018,0050)"]}));
            continue;
        }
        let s = &items[0].slice;
        let sens = newcombe_diff(c.tp, c.n_pos(), rc.tp, rc.n_pos(), Z95);
        let spec = newcombe_diff(c.tn, c.n_neg(), rc.tn, rc.n_neg(), Z95);
        let (metric, d, p0, refv) = if sens.est.abs() >= spec.est.abs() {
            (
                "sensitivity",
                sens,
                c.sensitivity().est,
                rc.sensitivity().est,
            )
        } else {
            (
                "specificity",
                spec,
                c.specificity().est,
                rc.specificity().est,
            )
        };
        let effect =
            json!({"metric": metric, "p0": p0, "reference": refv, "diff_ci95": [d.lo, d.hi]});
        let mut claim = |cause: &str, tags: &[&str], evidence: Value| {
            claims.push(json!({"cause": cause, "selector": sel, "evidence_tags": tags, "evidence": evidence, "effect": effect}));
        };
        let intercept = s.rescale_intercept.unwrap_or(0.0);
        if s.photometric == "MONOCHROME1" {
            claim("MONOCHROME1_IGNORED", &["(0028,0004)"], json!({}));
        } else if intercept != -1024.0 || s.rescale_slope.unwrap_or(1.0) != 1.0 {
            claim(
                "RESCALE_IGNORED",
                &["(0028,1052)"],
                json!({"hu_offset_p0": -1024.0 - intercept}),
            );
        } else if let Some((wc, ww)) = s.window.filter(|w| *w != (50.0, 100.0)) {
            claim(
                "HEADER_WINDOW_USED",
                &["(0028,1050)", "(0028,1051)"],
                json!({"header_window_center": wc, "header_window_width": ww}),
            );
        } else if let Some([ps, _]) = s.pixel_spacing.filter(|p| (p[0] - 0.9).abs() > 1e-6) {
            claim(
                "PIXEL_SPACING_IGNORED",
                &["(0028,0030)"],
                json!({"area_scale_p0": (0.9 / ps).powi(2)}),
            );
        } else if items.iter().any(|i| i.burned) {
            let fraction = items.iter().filter(|i| i.burned).count() as f64 / items.len() as f64;
            claim(
                "BURNED_IN_ANNOTATION",
                &["(0028,0301)"],
                json!({"annotated_fraction": fraction}),
            );
        } else if s.attribute("SliceThickness").parse::<f64>().unwrap_or(0.0) >= 4.0 {
            let ratio = lesion_contrast(items) / ref_contrast;
            claim(
                "SLICE_THICKNESS_PV",
                &["(0018,0050)"],
                json!({"lesion_contrast_ratio": ratio}),
            );
            config.hu_offset.push(HuOffset {
                selector: Selector(sel.clone()),
                add_hu: 12.0,
            });
        } else {
            let sd = noise_sd(items);
            if sd > 2.0 * ref_noise {
                claim("KERNEL_NOISE", &["(0018,1210)"], json!({"noise_sd_hu": sd}));
                config.denoise.push(Denoise {
                    selector: Selector(sel.clone()),
                    filter: Filter::Median,
                    radius_px: 1,
                });
            }
        }
    }
    let report = json!({
        "schema": "shift-report/1",
        "strata_metrics": cells,
        "root_causes": claims,
        "not_causal": not_causal,
        "pipeline_config": serde_json::to_value(&config).expect("config serialises"),
    });
    (report, predictions(&config, &input.test))
}

/// `predictions_test.csv` of a configuration.
pub fn predictions(config: &Config, test: &[Item]) -> String {
    let mut csv = String::from("sop_instance_uid,score,decision\n");
    for item in test {
        let p = predict(config, &item.slice);
        let d = match p.decision {
            Decision::Pos => "POS",
            Decision::Neg => "NEG",
            Decision::Reject => "REJECT",
        };
        csv.push_str(&format!(
            "{},{},{d}\n",
            item.slice.sop_instance_uid, p.score
        ));
    }
    csv
}

//! The naive starter of the worksample `shift` task, in Rust (dicom-rs).
//!
//! Usage: solve INPUT OUTPUT
//!
//! Reports P0's counts per institution without intervals, diagnoses nothing, keeps P0's
//! configuration (`{}`) and predicts every test slice NEG. It runs and writes valid output, and
//! scores low on purpose: run `worksample shift-model` for P0's real test predictions, measure per
//! stratum, find the causes, fix the pipeline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::open_file;
use serde_json::json;

fn rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().skip(1).map(|l| l.split(',').map(str::to_owned).collect()).collect()
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: solve INPUT OUTPUT");
        std::process::exit(2);
    };
    let labels: BTreeMap<String, bool> =
        rows(&input.join("dev_labels.csv")).into_iter().map(|r| (r[1].clone(), r[2] == "1")).collect();
    let calls: BTreeMap<String, bool> =
        rows(&input.join("p0_dev.csv")).into_iter().map(|r| (r[1].clone(), r[4] == "POS")).collect();
    let mut cells: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    let mut test = Vec::new();
    for (dir, is_dev) in [("dev", true), ("test", false)] {
        let Ok(entries) = std::fs::read_dir(input.join(dir)) else { continue };
        for entry in entries.flatten() {
            let Ok(obj) = open_file(entry.path()) else { continue };
            let text = |tag| obj.element(tag).ok().and_then(|e| e.to_str().ok()).map(|s| s.trim().to_owned()).unwrap_or_default();
            let uid = text(tags::SOP_INSTANCE_UID);
            if !is_dev {
                test.push(uid);
                continue;
            }
            let (Some(label), Some(pos)) = (labels.get(&uid), calls.get(&uid)) else { continue };
            let c = cells.entry(text(tags::INSTITUTION_NAME)).or_default();
            c[match (label, pos) { (true, true) => 0, (false, true) => 1, (false, false) => 2, (true, false) => 3 }] += 1;
        }
    }
    let ratio = |k: u64, n: u64| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    let metrics: Vec<_> = cells.iter().map(|(value, [tp, fp, tn, fneg])| {
        let (sens, spec) = (ratio(*tp, tp + fneg), ratio(*tn, tn + fp));
        json!({"group_by": "InstitutionName", "value": value, "n": tp + fp + tn + fneg, "n_pos": tp + fneg,
               "tp": tp, "fp": fp, "tn": tn, "fn": fneg,
               "sensitivity": {"est": sens, "ci95": [sens, sens]},
               "specificity": {"est": spec, "ci95": [spec, spec]},
               "auc": {"est": 0.5, "ci95": [0.0, 1.0], "method": "delong"},
               "insufficient": false})
    }).collect();
    let report = json!({"schema": "shift-report/1", "strata_metrics": metrics, "root_causes": [],
                        "not_causal": [], "pipeline_config": {}});
    std::fs::create_dir_all(output).expect("create the output folder");
    std::fs::write(output.join("report.json"), serde_json::to_string_pretty(&report).expect("JSON"))
        .expect("write report.json");
    let mut csv = String::from("sop_instance_uid,score,decision\n");
    for uid in test {
        csv.push_str(&format!("{uid},0,NEG\n"));
    }
    std::fs::write(output.join("predictions_test.csv"), csv).expect("write predictions_test.csv");
}

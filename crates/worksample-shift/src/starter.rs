//! The naive starter shipped in the binary: what a hurried first pass produces. It reports P0's
//! counts per stratum with normal-approximation (Wald) intervals and no AUC, flags no stratum as
//! insufficient, diagnoses nothing, keeps P0's configuration and predicts the test set with P0.
//! It runs and writes valid output; it scores low on purpose.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::folder::list_files;
use crate::model::{Decision, predict};
use crate::output::{PREDICTIONS_FILE, REPORT_FILE, REPORT_SCHEMA, REQUIRED_GROUPS};
use crate::slice::Slice;

/// Why the starter failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StarterError {
    /// A file could not be read or written.
    #[error("{action} `{}`: {source}", path.display())]
    Io {
        /// What we were doing.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The input is not a shift fixture folder.
    #[error("{0}")]
    Input(String),
}

fn read(path: &Path) -> Result<String, StarterError> {
    std::fs::read_to_string(path).map_err(|source| StarterError::Io {
        action: "failed to read",
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, text: &str) -> Result<(), StarterError> {
    std::fs::write(path, text).map_err(|source| StarterError::Io {
        action: "failed to write",
        path: path.to_path_buf(),
        source,
    })
}

/// Reads `input` (a shift fixture folder), writes `report.json` and `predictions_test.csv` into
/// `output`.
pub fn run(input: &Path, output: &Path) -> Result<(), StarterError> {
    let mut labels: BTreeMap<String, bool> = BTreeMap::new();
    for line in read(&input.join("dev_labels.csv"))?.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if let [_, uid, label] = f.as_slice() {
            labels.insert((*uid).to_owned(), *label == "1");
        }
    }
    let mut decisions: BTreeMap<String, bool> = BTreeMap::new();
    for line in read(&input.join("p0_dev.csv"))?.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if let [_, uid, _, _, decision] = f.as_slice() {
            decisions.insert((*uid).to_owned(), *decision == "POS");
        }
    }
    let list =
        |dir: &str| list_files(&input.join(dir)).map_err(|e| StarterError::Input(e.to_string()));
    // tp, fp, tn, fn per (attribute, value).
    let mut cells: BTreeMap<(&str, String), [u64; 4]> = BTreeMap::new();
    for (_, path) in list("dev")? {
        let slice = Slice::read(&path).map_err(|e| StarterError::Input(e.to_string()))?;
        let (Some(label), Some(pos)) = (
            labels.get(&slice.sop_instance_uid),
            decisions.get(&slice.sop_instance_uid),
        ) else {
            continue;
        };
        let i = match (label, pos) {
            (true, true) => 0,
            (false, true) => 1,
            (false, false) => 2,
            (true, false) => 3,
        };
        for g in REQUIRED_GROUPS {
            cells.entry((g, slice.attribute(g).to_owned())).or_default()[i] += 1;
        }
    }
    // The normal approximation: what a first pass reaches for, wrong at small n and at 0 or 1.
    let wald = |k: u64, n: u64| {
        let p = if n == 0 { 0.0 } else { k as f64 / n as f64 };
        let h = 1.96 * (p * (1.0 - p) / n.max(1) as f64).sqrt();
        (p, [(p - h).max(0.0), (p + h).min(1.0)])
    };
    let metrics: Vec<serde_json::Value> = cells
        .iter()
        .map(|((group, value), [tp, fp, tn, fn_])| {
            let (sens, sens_ci) = wald(*tp, tp + fn_);
            let (spec, spec_ci) = wald(*tn, tn + fp);
            serde_json::json!({
                "group_by": group, "value": value,
                "n": tp + fp + tn + fn_, "n_pos": tp + fn_,
                "tp": tp, "fp": fp, "tn": tn, "fn": fn_,
                "sensitivity": {"est": sens, "ci95": sens_ci},
                "specificity": {"est": spec, "ci95": spec_ci},
                "auc": {"est": 0.5, "ci95": [0.0, 1.0], "method": "delong"},
                "insufficient": false,
            })
        })
        .collect();
    let report = serde_json::json!({
        "schema": REPORT_SCHEMA,
        "strata_metrics": metrics,
        "root_causes": [],
        "not_causal": [],
        "pipeline_config": {},
    });
    let text = serde_json::to_string_pretty(&report)
        .map_err(|e| StarterError::Input(format!("cannot encode the report: {e}")))?;
    std::fs::create_dir_all(output).map_err(|source| StarterError::Io {
        action: "failed to create",
        path: output.to_path_buf(),
        source,
    })?;
    write(&output.join(REPORT_FILE), &text)?;
    let mut csv = String::from("sop_instance_uid,score,decision\n");
    let p0 = Config::p0();
    for (_, path) in list("test")? {
        let slice = Slice::read(&path).map_err(|e| StarterError::Input(e.to_string()))?;
        let p = predict(&p0, &slice);
        let d = match p.decision {
            Decision::Pos => "POS",
            Decision::Neg | Decision::Reject => "NEG",
        };
        csv.push_str(&format!("{},{},{d}\n", slice.sop_instance_uid, p.score));
    }
    write(&output.join(PREDICTIONS_FILE), &csv)
}

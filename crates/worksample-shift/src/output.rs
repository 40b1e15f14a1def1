//! The output contract: `report.json` (schema `shift-report/1`, published as
//! tasks/shift/output.schema.json) and `predictions_test.csv`, as typed values the grader reads
//! after the schema has accepted the document.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The report's file name in the submission folder.
pub const REPORT_FILE: &str = "report.json";
/// The test predictions' file name.
pub const PREDICTIONS_FILE: &str = "predictions_test.csv";
/// The `schema` value of the report.
pub const REPORT_SCHEMA: &str = "shift-report/1";
/// The grouping attributes every report must cover, causal or not (research shift.md §3.5).
pub const REQUIRED_GROUPS: [&str; 8] = [
    "InstitutionName",
    "StationName",
    "ManufacturerModelName",
    "ConvolutionKernel",
    "SoftwareVersions",
    "SliceThickness",
    "PatientSex",
    "AgeBand",
];

/// `report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Always `shift-report/1`.
    pub schema: String,
    /// One cell per (grouping attribute, value) of the development set.
    pub strata_metrics: Vec<Cell>,
    /// Diagnosed root causes.
    pub root_causes: Vec<Claim>,
    /// Strata examined and found harmless.
    pub not_causal: Vec<NotCausal>,
    /// The corrected pipeline configuration (read by [`crate::config::Config::from_value`]).
    pub pipeline_config: serde_json::Value,
}

/// P0's performance on one stratum of the development set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    /// A keyword of [`REQUIRED_GROUPS`].
    pub group_by: String,
    /// The attribute value (as in the header, trimmed; `""` when absent).
    pub value: String,
    /// Cases.
    pub n: u64,
    /// Positive cases.
    pub n_pos: u64,
    /// True positives.
    pub tp: u64,
    /// False positives.
    pub fp: u64,
    /// True negatives.
    pub tn: u64,
    /// False negatives.
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// Sensitivity with its Wilson interval.
    pub sensitivity: Estimate,
    /// Specificity with its Wilson interval.
    pub specificity: Estimate,
    /// AUC of P0's score with its interval.
    pub auc: AucEstimate,
    /// Whether the stratum has fewer than 10 positives or fewer than 10 negatives.
    pub insufficient: bool,
}

/// A proportion and its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Estimate {
    /// Point estimate.
    pub est: f64,
    /// 95 % interval.
    pub ci95: [f64; 2],
}

/// How an AUC interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AucMethod {
    /// DeLong's variance.
    Delong,
    /// A percentile bootstrap.
    Bootstrap,
}

/// An AUC and its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AucEstimate {
    /// Point estimate.
    pub est: f64,
    /// 95 % interval.
    pub ci95: [f64; 2],
    /// Method.
    pub method: AucMethod,
}

/// Which metric a claimed effect is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Sensitivity.
    Sensitivity,
    /// Specificity.
    Specificity,
}

/// A diagnosed root cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// An id of the closed vocabulary.
    pub cause: String,
    /// The cases it affects: every named attribute equal.
    pub selector: BTreeMap<String, String>,
    /// Attribute tags, `(gggg,eeee)`, that show it.
    pub evidence_tags: Vec<String>,
    /// Measured values by name.
    pub evidence: BTreeMap<String, f64>,
    /// P0's measured effect on the development set.
    pub effect: Effect,
}

/// P0's effect on the claimed stratum against the reference site.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Effect {
    /// Which metric.
    pub metric: Metric,
    /// P0's metric on the claimed stratum (development set).
    pub p0: f64,
    /// P0's metric at the reference site (development set).
    pub reference: f64,
    /// 95 % interval of `p0 − reference`.
    pub diff_ci95: [f64; 2],
}

/// A stratum examined and found harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotCausal {
    /// The stratum.
    pub selector: BTreeMap<String, String>,
    /// Attribute tags examined.
    pub examined: Vec<String>,
}

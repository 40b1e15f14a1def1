//! Rubrics for worksample: criteria with weights, gates, anchored levels and visibility; the
//! scoring that turns a grader's measurements into a [`Report`]; and the renderings of a report.
//!
//! Graders produce a [`Grade`] (a score in 0..=1 and findings per criterion). [`score`] applies
//! an assessor-editable [`RubricSpec`] to it. Renderers in [`render`] turn the report into
//! terminal text, JSON, Markdown, JUnit XML or a self-contained HTML page; they return strings
//! and never print. [`cohort`] compares many reports of one task.
//!
//! ```
//! use worksample_rubric::{CriterionGrade, Grade, RubricSpec, Score};
//! let spec = RubricSpec::parse(r#"
//! [[criterion]]
//! id = "ordering"
//! title = "Slice order"
//! category = "geometry"
//! weight = 10
//! description = "Slices ascend along the normal."
//! anchors = { poor = "p", mixed = "m", good = "g", excellent = "e" }
//! "#, "rubric.toml").unwrap();
//! let grade = Grade {
//!     criteria: vec![CriterionGrade::new("ordering", Score::new(0.5), "half reversed")],
//!     cards: vec![],
//!     notes: vec![],
//!     figures: vec![],
//! };
//! # let ctx = worksample_rubric::ReportContext {
//! #     harness_version: "0".into(),
//! #     task: worksample_rubric::TaskRef { id: "t".into(), version: 1, title: "T".into() },
//! #     profile: "standard".into(), seed: worksample_rubric::SeedInfo::Public { value: 1 },
//! #     candidate: None, run: worksample_rubric::RunSummary::not_run(), threshold: None };
//! let report = worksample_rubric::score(&spec, grade, ctx).unwrap();
//! assert_eq!(report.total.percent, 50.0);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod cohort;
pub mod figure;
mod grade;
pub mod render;
mod report;
mod score;
mod spec;

pub use figure::{
    Bar, Figure, FigureId, FigureKind, HistogramSeries, Mark, MarkKind, PngImage, Tile,
};
pub use grade::{Card, CardRow, CriterionGrade, Finding, Grade, Score};
pub use report::{
    Audience, CriterionReport, GateHit, Level, REPORT_SCHEMA, Report, RunLimits, RunStatusKind,
    RunSummary, SeedInfo, Status, TaskRef, Total, Verdict,
};
pub use score::{ReportContext, score};
pub use spec::{Anchors, CriterionSpec, GateSpec, LevelThresholds, RubricSpec, Visibility};

/// The id of a rubric criterion, e.g. `ordering`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CriterionId(String);

impl CriterionId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CriterionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Errors of this crate. Each names the rubric file or the grader that caused it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RubricError {
    /// The rubric file is not valid TOML or does not match the schema.
    #[error("invalid rubric `{origin}`: {message}")]
    Parse {
        /// The file.
        origin: String,
        /// What the parser said, with line and key.
        message: String,
    },
    /// The rubric parses but breaks a rule.
    #[error("invalid rubric `{origin}`: {message}")]
    Invalid {
        /// The file.
        origin: String,
        /// Which rule.
        message: String,
    },
    /// The grader's output does not match the rubric (a harness bug).
    #[error("grader and rubric disagree: {0}")]
    GradeMismatch(String),
}

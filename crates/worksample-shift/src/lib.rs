//! The `shift` work-sample: a deployed rule-based hyperdense-lesion detector (P0) works at Site A
//! and fails elsewhere; the candidate finds the DICOM-level causes, measures them per stratum and
//! corrects P0's preprocessing configuration, which the harness replays on a hidden-label test
//! set (research shift.md §3).
//!
//! - [`slice`] decodes one CT slice without interpreting it;
//! - [`config`] is the pipeline configuration, `{}` being P0;
//! - [`model`] is P0 and its configurable pipeline as one pure function, [`model::predict`];
//! - [`folder`] runs it over a folder (`worksample shift-model`);
//! - [`generate`] plants the causes the profile lists (`causes` in task.toml), decoys, a tiny
//!   and null strata, verifies the draw, and returns the in-memory [`key::Key`];
//! - [`grade`] validates `report.json` against the published schema and measures the four
//!   rubric criteria; [`stats`] holds the statistics it recomputes;
//! - [`figures`] draws the assessor figures the grader attaches (metric bars, intensity
//!   histograms per scanner);
//! - [`starter`] is the naive baseline shipped in the binary.

pub mod config;
pub mod figures;
pub mod folder;
pub mod generate;
pub mod grade;
pub mod key;
pub mod model;
pub mod output;
pub mod slice;
pub mod starter;
pub mod stats;

use std::path::Path;

use worksample_task::{EmbeddedTask, GenerateContext, GradeContext, Sink, Task, TaskError};

pub use config::{Config, ConfigError};
pub use folder::{FileResult, FolderError, run_folder};
pub use model::{Decision, Prediction, predict};
pub use slice::{Slice, SliceError};

/// The task id.
pub const ID: &str = "shift";

/// The published JSON Schema's file name.
pub const SCHEMA_FILE: &str = "output.schema.json";

/// The published JSON Schema of the pipeline configuration alone (the same definition as
/// `pipeline_config` in [`SCHEMA_FILE`]; a test keeps them equal).
pub const CONFIG_SCHEMA_FILE: &str = "config.schema.json";

/// The candidate kit's starters: they run, write valid output and score low on purpose.
const KIT: &[(&str, &str)] = &[
    (
        "python/solve.py",
        include_str!("../../../tasks/shift/kit/python/solve.py"),
    ),
    (
        "python/requirements.txt",
        include_str!("../../../tasks/shift/kit/python/requirements.txt"),
    ),
    (
        "rust/Cargo.toml",
        include_str!("../../../tasks/shift/kit/rust/Cargo.toml"),
    ),
    (
        "rust/src/main.rs",
        include_str!("../../../tasks/shift/kit/rust/src/main.rs"),
    ),
];

/// The `shift` task.
#[derive(Debug, Clone, Copy, Default)]
pub struct ShiftTask;

impl Task for ShiftTask {
    type Key = key::Key;

    fn id(&self) -> &'static str {
        ID
    }

    fn embedded(&self) -> EmbeddedTask {
        EmbeddedTask {
            task_toml: include_str!("../../../tasks/shift/task.toml"),
            brief_md: include_str!("../../../tasks/shift/brief.md"),
            rubric_toml: include_str!("../../../tasks/shift/rubric.toml"),
            files: &[
                (
                    SCHEMA_FILE,
                    include_str!("../../../tasks/shift/output.schema.json"),
                ),
                (CONFIG_SCHEMA_FILE, config::CONFIG_SCHEMA),
            ],
        }
    }

    fn generate(&self, ctx: &GenerateContext<'_>, out: &dyn Sink) -> Result<key::Key, TaskError> {
        let params = ctx.profile.parse_checked(generate::Params::validate)?;
        ctx.one_step("generating shift fixtures", || {
            generate::generate_into(ctx.seed.0, &params, out)
                .map_err(|e| TaskError::generate(ID, &e))
        })
    }

    fn grade(
        &self,
        ctx: &GradeContext<'_>,
        key: &key::Key,
    ) -> Result<worksample_task::rubric::Grade, TaskError> {
        let grader_error = |message: String| TaskError::Grader {
            task: ID.to_owned(),
            message,
        };
        let schema = ctx.data_json(SCHEMA_FILE)?;
        ctx.one_step("replaying the corrected configuration", || {
            grade::grade_submission(&schema, key, ctx.fixtures, ctx.submission, ctx.figures)
                .map_err(grader_error)
        })
    }

    fn kit(&self) -> &'static [(&'static str, &'static str)] {
        KIT
    }

    fn starter(&self, input: &Path, output: &Path) -> Result<(), TaskError> {
        starter::run(input, output).map_err(|e| match e {
            starter::StarterError::Io {
                action,
                path,
                source,
            } => TaskError::Io {
                action,
                path,
                source,
            },
            starter::StarterError::Input(message) => TaskError::Usage(message),
        })
    }
}

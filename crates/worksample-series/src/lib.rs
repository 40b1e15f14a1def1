//! The `series` work-sample: the candidate gets a shuffled folder of DICOM files (random names,
//! nested folders, junk) and must assemble it into volumes, order the slices along the normal,
//! report geometry and flag what is wrong, in one `volumes.json`.
//!
//! - [`generate`] plants the trap families of research/series.md §4.2 the profile lists and returns
//!   the in-memory [`key::Key`];
//! - [`grade`] validates the output against the published schema and measures the seven rubric
//!   criteria plus a trap card;
//! - [`starter`] is the naive baseline shipped in the binary.

pub mod generate;
pub mod grade;
pub mod key;
pub mod output;
pub mod schema;
pub mod starter;
pub mod truth;

use std::path::Path;

use worksample_task::rubric::Visibility;
use worksample_task::{EmbeddedTask, GenerateContext, GradeContext, Sink, Task, TaskError};

/// The task id.
pub const ID: &str = "series";

/// The published JSON Schema's file name.
pub const SCHEMA_FILE: &str = "output.schema.json";

/// The candidate kit's starters: they run, write valid output and score low on purpose.
const KIT: &[(&str, &str)] = &[
    (
        "python/solve.py",
        include_str!("../../../tasks/series/kit/python/solve.py"),
    ),
    (
        "python/requirements.txt",
        include_str!("../../../tasks/series/kit/python/requirements.txt"),
    ),
    (
        "rust/Cargo.toml",
        include_str!("../../../tasks/series/kit/rust/Cargo.toml"),
    ),
    (
        "rust/src/main.rs",
        include_str!("../../../tasks/series/kit/rust/src/main.rs"),
    ),
];

/// The `series` task.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeriesTask;

impl Task for SeriesTask {
    type Key = key::Key;

    fn id(&self) -> &'static str {
        ID
    }

    fn embedded(&self) -> EmbeddedTask {
        EmbeddedTask {
            task_toml: include_str!("../../../tasks/series/task.toml"),
            brief_md: include_str!("../../../tasks/series/brief.md"),
            rubric_toml: include_str!("../../../tasks/series/rubric.toml"),
            files: &[(
                SCHEMA_FILE,
                include_str!("../../../tasks/series/output.schema.json"),
            )],
        }
    }

    fn generate(&self, ctx: &GenerateContext<'_>, out: &dyn Sink) -> Result<key::Key, TaskError> {
        let params = ctx.profile.parse_checked(generate::Params::validate)?;
        ctx.one_step("generating series fixtures", || {
            generate::generate_into(ctx.seed.0, &params, out, ctx.figures)
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
        // Every volume figure is hidden: it pictures the right answer.
        if ctx.figures.draws(Visibility::Hidden) {
            grade::grade_with_figures(&schema, key, ctx.submission, ctx.fixtures)
        } else {
            grade::grade_submission(&schema, key, ctx.submission)
        }
        .map_err(grader_error)
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
        })
    }
}

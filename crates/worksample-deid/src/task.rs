//! The `deid` task as the harness sees it: the [`Task`] implementation that ties the profile
//! parameters, the generator, the grader, the starter and the candidate kit together.

use std::path::Path;

use worksample_task::rubric::Grade;
use worksample_task::{EmbeddedTask, GenerateContext, GradeContext, Sink, Task, TaskError};

use crate::key::Key;
use crate::params::Params;
use crate::{EMBEDDED, TASK_ID, generate, grade, starter};

/// The candidate kit's starters, as (path inside the task's kit folder, content).
const KIT: &[(&str, &str)] = &[
    (
        "python/solve.py",
        include_str!("../../../tasks/deid/kit/python/solve.py"),
    ),
    (
        "python/requirements.txt",
        include_str!("../../../tasks/deid/kit/python/requirements.txt"),
    ),
    (
        "rust/Cargo.toml",
        include_str!("../../../tasks/deid/kit/rust/Cargo.toml"),
    ),
    (
        "rust/src/main.rs",
        include_str!("../../../tasks/deid/kit/rust/src/main.rs"),
    ),
];

/// The `deid` work-sample.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeidTask;

impl Task for DeidTask {
    type Key = Key;

    fn id(&self) -> &'static str {
        TASK_ID
    }

    fn embedded(&self) -> EmbeddedTask {
        EMBEDDED
    }

    fn generate(&self, ctx: &GenerateContext<'_>, out: &dyn Sink) -> Result<Key, TaskError> {
        let params = ctx.profile.parse_checked(Params::validate)?;
        ctx.one_step("generating deid fixtures", || {
            generate::generate_into(ctx.seed.0, &params, out)
                .map_err(|e| TaskError::generate(TASK_ID, &e))
        })
    }

    fn grade(&self, ctx: &GradeContext<'_>, key: &Key) -> Result<Grade, TaskError> {
        grade::grade_submission(key, ctx.fixtures, ctx.submission, ctx.progress, ctx.figures)
            .map_err(|e| TaskError::Grader {
                task: TASK_ID.to_owned(),
                message: worksample_task::error_chain(&e),
            })
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
            other @ (starter::StarterError::Read { .. } | starter::StarterError::Write { .. }) => {
                TaskError::Runner(format!(
                    "the `{TASK_ID}` starter failed: {}",
                    worksample_task::error_chain(&other)
                ))
            }
        })
    }

    fn kit(&self) -> &'static [(&'static str, &'static str)] {
        KIT
    }
}

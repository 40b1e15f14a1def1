//! The worksample task model: the [`Task`] trait every work-sample implements, strict loading of
//! task data (`task.toml`, `rubric.toml`, `brief.md`), seeds (public, or hidden and derived
//! from the assessor's secret), the `worksample.json` manifest, and the generate → run → grade
//! [`pipeline`] every command shares.
//!
//! Dependencies point one way: task crates → this crate → {rubric, runner, dicom}.

mod checkfile;
mod error;
mod manifest;
pub mod metrics;
mod outcome;
pub mod pipeline;
mod registry;
mod seed;
mod sink;
mod spec;
pub mod submission;
mod task;
pub mod textfile;

pub use checkfile::{CheckFile, CheckTask, CommandProblem, MAX_CHECKFILE_BYTES, check_command};
pub use error::{Blame, TaskError, error_chain};
pub use manifest::{
    FolderDigest, ListError, MANIFEST_FILE, MANIFEST_SCHEMA, Manifest, digest_folder, fixture_files,
};
pub use outcome::{failure_note, summarize};
pub use registry::{LoadedTask, Registry};
pub use seed::{CandidateId, PublicSeed, ResolvedSeed, Secret, Seed, SeedSource, commitment};
pub use sink::{DigestSink, FolderSink, Sink, SinkError};
pub use spec::{EmbeddedTask, LimitsSpec, Profile, ProfileSpec, TaskData, TaskId, TaskSpec};
pub use task::{
    AnswerKey, DynTask, Figures, GenerateContext, GradeContext, NoProgress, Progress, Task,
};

/// Re-exported so task crates and the CLI name one version of the rubric and runner types.
pub use worksample_rubric as rubric;
pub use worksample_runner as runner;

//! The `Task` trait every work-sample implements, and its type-erased form for the registry.
//!
//! A task generates fixtures from a seed into a folder and returns its answer key in memory; it
//! grades a submission folder against that key. The key never touches disk: `grade` on an
//! existing folder regenerates it from the manifest's seed.

use std::any::Any;
use std::path::Path;

use worksample_rubric::{Grade, Visibility};

use crate::{EmbeddedTask, Profile, Seed, Sink, TaskData, TaskError};

/// Progress of a long step, drawn by the CLI (libraries never print).
pub trait Progress: Sync {
    /// A step of `total` units begins.
    fn start(&self, label: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The step is over.
    fn finish(&self);
}

/// Progress that goes nowhere, for tests and quiet runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _label: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

/// What a generator gets.
pub struct GenerateContext<'a> {
    /// The seed (for hidden runs, the derived seed: never write it down).
    pub seed: Seed,
    /// The profile and its parameters.
    pub profile: &'a Profile,
    /// The task's data.
    pub data: &'a TaskData,
    /// Where to report progress.
    pub progress: &'a dyn Progress,
    /// Which figures the grade of this key will show. A generator whose figures show the
    /// fixtures may draw what they need while it has each file in memory, instead of the
    /// grader reading every file back (series: a thumbnail of every slice it shows).
    pub figures: Figures,
}

impl std::fmt::Debug for GenerateContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The seed may be a hidden one: never let a debug log print it.
        f.debug_struct("GenerateContext")
            .field("profile", &self.profile.name)
            .field("figures", &self.figures)
            .finish_non_exhaustive()
    }
}

impl GenerateContext<'_> {
    /// Runs `generate` as the single progress step `what`: every task's generator is one call.
    pub fn one_step<T>(&self, what: &str, generate: impl FnOnce() -> T) -> T {
        one_step(self.progress, what, generate)
    }
}

/// Runs `work` as a progress bar of one step labelled `what`.
fn one_step<T>(progress: &dyn Progress, what: &str, work: impl FnOnce() -> T) -> T {
    progress.start(what, 1);
    let out = work();
    progress.advance(1);
    progress.finish();
    out
}

/// Which of a grade's figures will be shown. Only the JSON and HTML renderings of a report
/// include figures, and a candidate's report drops the hidden ones
/// ([`Report::for_candidate`](crate::rubric::Report::for_candidate)); drawing them costs time
/// (series encodes a thumbnail of every slice it shows, shift bins slices per scanner), so
/// generators and graders draw only the figures some report will show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figures {
    /// Draw every figure: a JSON or HTML report for an assessor.
    Draw,
    /// Draw only [`Visibility::Visible`] figures: the JSON or HTML reports are for a candidate.
    Visible,
    /// Leave [`Grade::figures`](crate::rubric::Grade::figures) empty: no report shows them.
    Skip,
}

impl Figures {
    /// Whether figures of `visibility` are drawn.
    pub fn draws(self, visibility: Visibility) -> bool {
        match (self, visibility) {
            (Figures::Draw, _) | (Figures::Visible, Visibility::Visible) => true,
            (Figures::Visible, Visibility::Hidden) | (Figures::Skip, _) => false,
        }
    }
}

/// What a grader gets besides its key.
pub struct GradeContext<'a> {
    /// The profile the fixtures were generated with.
    pub profile: &'a Profile,
    /// The task's data.
    pub data: &'a TaskData,
    /// The fixtures as generated: a private regenerated copy, or the candidate's input once every
    /// process of the run is gone and its digest still matches the one taken at generation.
    pub fixtures: &'a Path,
    /// The candidate's output folder.
    pub submission: &'a Path,
    /// Where to report progress.
    pub progress: &'a dyn Progress,
    /// Which figures some report will show.
    pub figures: Figures,
}

impl std::fmt::Debug for GradeContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradeContext")
            .field("profile", &self.profile.name)
            .field("fixtures", &self.fixtures)
            .field("submission", &self.submission)
            .field("figures", &self.figures)
            .finish_non_exhaustive()
    }
}

impl GradeContext<'_> {
    /// Runs `grade` as the single progress step `what`, for graders that are one call.
    pub fn one_step<T>(&self, what: &str, grade: impl FnOnce() -> T) -> T {
        one_step(self.progress, what, grade)
    }

    /// The task data file `name` (an output schema) parsed as JSON. It is compiled in or an
    /// assessor's edited copy, so a missing or broken file is a harness error naming it.
    pub fn data_json(&self, name: &str) -> Result<serde_json::Value, TaskError> {
        let error = |message: String| TaskError::Grader {
            task: self.data.spec.id.to_string(),
            message,
        };
        let text = self
            .data
            .files
            .get(name)
            .ok_or_else(|| error(format!("the task data has no {name}")))?;
        serde_json::from_str(text).map_err(|e| error(format!("{name} is not JSON: {e}")))
    }
}

/// A work-sample task.
pub trait Task: Send + Sync + 'static {
    /// The answer key the generator returns and the grader consumes.
    type Key: Send + Sync + 'static;

    /// The task id; equals its folder under `tasks/`.
    fn id(&self) -> &'static str;

    /// The task's data files, compiled in.
    fn embedded(&self) -> EmbeddedTask;

    /// Puts the candidate's input fixtures into `out` and returns the key. Must be a pure
    /// function of (task version, profile, seed): the same files whichever sink receives them.
    fn generate(&self, ctx: &GenerateContext<'_>, out: &dyn Sink) -> Result<Self::Key, TaskError>;

    /// Measures a submission against the key. Candidate output is untrusted: anything it holds
    /// becomes findings and scores, never an `Err` (errors are harness faults).
    fn grade(&self, ctx: &GradeContext<'_>, key: &Self::Key) -> Result<Grade, TaskError>;

    /// The naive starter solution shipped in the binary: reads `input`, writes `output`.
    fn starter(&self, input: &Path, output: &Path) -> Result<(), TaskError>;

    /// The candidate kit's starter files, as (path inside the task's kit folder, content):
    /// at least `python/solve.py` and `python/requirements.txt`, and a Rust starter under `rust/`.
    fn kit(&self) -> &'static [(&'static str, &'static str)];
}

/// An answer key with its type erased, so the registry can hold tasks of different key types.
pub struct AnswerKey(Box<dyn Any + Send + Sync>);

impl std::fmt::Debug for AnswerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key holds the answers; never print them, not even in a debug log.
        f.write_str("AnswerKey(..)")
    }
}

/// A [`Task`] with its key type erased. Implemented for every `Task`.
pub trait DynTask: Send + Sync {
    /// See [`Task::id`].
    fn id(&self) -> &'static str;
    /// See [`Task::embedded`].
    fn embedded(&self) -> EmbeddedTask;
    /// See [`Task::generate`].
    fn generate(&self, ctx: &GenerateContext<'_>, out: &dyn Sink) -> Result<AnswerKey, TaskError>;
    /// See [`Task::grade`]; a key of another task is a harness error.
    fn grade(&self, ctx: &GradeContext<'_>, key: &AnswerKey) -> Result<Grade, TaskError>;
    /// See [`Task::starter`].
    fn starter(&self, input: &Path, output: &Path) -> Result<(), TaskError>;
    /// See [`Task::kit`].
    fn kit(&self) -> &'static [(&'static str, &'static str)];
}

impl<T: Task> DynTask for T {
    fn id(&self) -> &'static str {
        Task::id(self)
    }

    fn embedded(&self) -> EmbeddedTask {
        Task::embedded(self)
    }

    fn generate(&self, ctx: &GenerateContext<'_>, out: &dyn Sink) -> Result<AnswerKey, TaskError> {
        let key = Task::generate(self, ctx, out)?;
        Ok(AnswerKey(Box::new(key)))
    }

    fn grade(&self, ctx: &GradeContext<'_>, key: &AnswerKey) -> Result<Grade, TaskError> {
        let key = key
            .0
            .downcast_ref::<T::Key>()
            .ok_or_else(|| TaskError::Grader {
                task: Task::id(self).to_owned(),
                message: "the answer key belongs to another task".into(),
            })?;
        Task::grade(self, ctx, key)
    }

    fn starter(&self, input: &Path, output: &Path) -> Result<(), TaskError> {
        Task::starter(self, input, output)
    }

    fn kit(&self) -> &'static [(&'static str, &'static str)] {
        Task::kit(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_choice_draws_the_figures_its_report_shows() {
        for (figures, visible, hidden) in [
            (Figures::Draw, true, true),
            (Figures::Visible, true, false),
            (Figures::Skip, false, false),
        ] {
            assert_eq!(figures.draws(Visibility::Visible), visible, "{figures:?}");
            assert_eq!(figures.draws(Visibility::Hidden), hidden, "{figures:?}");
        }
    }
}

//! Fuzzing of every parser of candidate or user input: the DICOM reader entry points, the
//! series task's `volumes.json` (schema validation and grading included), the deid task's
//! `patients.csv` and `uids.csv` and the shift task's `report.json` (each graded by its task's
//! grader beside the reference solution's output), `worksample.toml`, `task.toml`, `rubric.toml`
//! and the fixtures manifest.
//!
//! It is not coverage-guided (no libFuzzer, no sanitizer passes): it runs on the stable toolchain
//! with the workspace's own crates, mutates seeds taken from generated fixtures with
//! structure-aware edits ([`mutate`]), keeps inputs whose outcome is new ([`target`]), and
//! checks each target's invariant on every input: no panic, no hang past the per-input time
//! cap, no heap growth past the per-input memory cap ([`guard`]), and no grader error caused by
//! the input alone ([`engine`]). `run.sh TARGET SECONDS` runs one target with a time budget.

pub mod deid_maps;
pub mod engine;
pub mod guard;
pub mod mutate;
mod reference;
pub mod shift_json;
pub mod target;

pub use engine::{Config, Stats, supervise, work};
pub use target::{Outcome, TargetId};

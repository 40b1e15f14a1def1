//! Runs one candidate command under limits and reports what happened.
//!
//! The candidate runs without a shell, in its own process group and network namespace, with a
//! cleared environment (an allow-list; `WORKSAMPLE_*` never passes), stdin from `/dev/null`, a
//! private `HOME`/`TMPDIR`, as an unprivileged id of the run's own ([`SANDBOX_IDS`]) when the
//! harness is root (root ignores a read-only input), rlimits (`FSIZE`, `CORE`, `NPROC`, an `AS` backstop) and a watchdog
//! that polls the whole process tree for wall time, summed RSS, process count and output volume.
//! Whatever the candidate does, including double-forking daemons, nothing of its tree survives
//! the run. This crate knows nothing about tasks or scoring.
//!
//! ```no_run
//! use std::time::Duration;
//! use worksample_runner::{Limits, RunSpec, RunStatus, run};
//!
//! let spec = RunSpec::new(["python3", "solve.py", "--in={input}", "--out={output}"], "in", "out")
//!     .with_limits(Limits { wall: Duration::from_secs(60), ..Limits::default() });
//! let outcome = run(&spec)?;
//! match outcome.status {
//!     RunStatus::Completed { exit_code } => println!("exited with {exit_code}"),
//!     other => println!("did not complete: {other:?}"),
//! }
//! # Ok::<(), worksample_runner::RunnerError>(())
//! ```
//!
//! Linux only: other platforms get [`RunStatus::SpawnFailed`] with the reason.
#![deny(missing_docs)]
#![expect(
    clippy::disallowed_methods,
    reason = "this crate is the one place that spawns candidate code"
)]
#![cfg_attr(
    not(target_os = "linux"),
    expect(
        dead_code,
        reason = "the non-Linux fallback uses none of the process-control helpers"
    )
)]

#[cfg(target_os = "linux")]
mod capture;
mod error;
mod outcome;
#[cfg(target_os = "linux")]
mod procfs;
#[cfg(target_os = "linux")]
mod sandbox;
mod spec;

#[cfg(target_os = "linux")]
#[path = "unix.rs"]
mod os;

#[cfg(not(target_os = "linux"))]
#[path = "other.rs"]
mod os;

pub use error::RunnerError;
pub use outcome::{Captured, InputProtection, Isolation, NetworkIsolation, RunOutcome, RunStatus};
#[cfg(target_os = "linux")]
pub use sandbox::{SANDBOX_ID, SANDBOX_IDS};
pub use spec::{
    EnvPolicy, INPUT_PLACEHOLDER, Limits, OUTPUT_PLACEHOLDER, RunSpec, SECRET_ENV_PREFIX,
};

/// Runs `spec` to completion and reports what happened.
///
/// Returns `Err` only for harness faults (the input directory is unreadable, the output or
/// working directory cannot be created, procfs is missing...). Everything the candidate does,
/// including not existing, is a [`RunStatus`].
pub fn run(spec: &RunSpec) -> Result<RunOutcome, RunnerError> {
    os::run(spec)
}

/// Sets up now the process-wide state the first [`run`] would otherwise set up on its way to
/// starting the command: the harness becomes a child subreaper, and a forked child probes which
/// network isolation this machine allows. Optional; a caller about to do other work first (such
/// as generating fixtures) can call it on another thread so the probe overlaps that work and
/// forks a process that is still small.
pub fn prepare() {
    os::prepare();
}

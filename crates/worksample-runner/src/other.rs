//! Fallback for platforms other than Linux: the runner relies on procfs, `prctl` and network
//! namespaces, so every run reports [`RunStatus::SpawnFailed`] with the reason.

use std::time::Duration;

use crate::error::RunnerError;
use crate::outcome::{
    Captured, InputProtection, Isolation, NetworkIsolation, RunOutcome, RunStatus,
};
use crate::spec::RunSpec;

const REASON: &str =
    "the worksample runner supports only Linux (it needs procfs, prctl and namespaces)";

/// Nothing to set up; see [`crate::prepare`].
pub(crate) fn prepare() {}

/// Runs the spec; see [`crate::run`].
pub(crate) fn run(_spec: &RunSpec) -> Result<RunOutcome, RunnerError> {
    Ok(RunOutcome {
        status: RunStatus::SpawnFailed {
            reason: REASON.to_owned(),
        },
        wall: Duration::ZERO,
        cpu: Duration::ZERO,
        peak_rss_bytes: 0,
        stdout: Captured::default(),
        stderr: Captured::default(),
        isolation: Isolation {
            network: NetworkIsolation::Unavailable {
                reason: REASON.to_owned(),
            },
            env_cleared: false,
            input: InputProtection::None,
        },
        failed_allocation_cap: None,
    })
}

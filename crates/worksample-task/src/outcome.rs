//! Maps the runner's outcome of a candidate's command into the report's run summary: the one
//! place where process facts become report vocabulary.

use worksample_rubric::{RunLimits, RunStatusKind, RunSummary};
use worksample_runner::{Limits, NetworkIsolation, RunOutcome, RunStatus};

/// The report's view of the limits a command ran under.
pub fn limits_of(limits: &Limits) -> RunLimits {
    RunLimits {
        wall_s: limits.wall.as_secs_f64(),
        memory_bytes: limits.memory_bytes,
        max_processes: limits.max_processes,
        max_file_bytes: limits.max_file_bytes,
        max_output_bytes: limits.max_output_bytes,
    }
}

/// The report's view of a run.
pub fn summarize(outcome: &RunOutcome) -> RunSummary {
    let (status, exit_code, detail) = match &outcome.status {
        RunStatus::Completed { exit_code } => (
            RunStatusKind::Completed,
            Some(*exit_code),
            format!("exited with code {exit_code}"),
        ),
        RunStatus::TimedOut { after } => (
            RunStatusKind::TimedOut,
            None,
            format!(
                "timed out after {:.1} s and was stopped with its whole process tree",
                after.as_secs_f64()
            ),
        ),
        RunStatus::Signaled { signal, name } => (
            RunStatusKind::Killed,
            None,
            format!("killed by {name} (signal {signal})"),
        ),
        RunStatus::MemoryLimit {
            limit_bytes,
            peak_bytes,
        } => (
            RunStatusKind::MemoryLimit,
            None,
            format!(
                "exceeded the memory limit of {} MiB (peak {} MiB)",
                limit_bytes >> 20,
                peak_bytes >> 20
            ),
        ),
        RunStatus::ProcessLimit { limit } => (
            RunStatusKind::ProcessLimit,
            None,
            format!("started more than {limit} processes at once and was stopped"),
        ),
        RunStatus::OutputLimit { limit_bytes } => (
            RunStatusKind::OutputLimit,
            None,
            format!(
                "wrote more than {} MiB to stdout and stderr and was stopped",
                limit_bytes >> 20
            ),
        ),
        RunStatus::FileSizeLimit => (
            RunStatusKind::FileSizeLimit,
            None,
            "wrote a file larger than the file-size limit and was stopped".to_owned(),
        ),
        RunStatus::SpawnFailed { reason } => (
            RunStatusKind::SpawnFailed,
            None,
            // Every rendering puts the status ("could not be started") beside the detail.
            reason.clone(),
        ),
    };
    let detail = match outcome.failed_allocation_cap {
        Some(cap) => format!(
            "{detail}; its stderr reports a failed allocation: the address space is capped at \
             {} MiB (four times the memory limit), and a single larger request fails at once",
            cap >> 20
        ),
        None => detail,
    };
    let network_isolated = match &outcome.isolation.network {
        NetworkIsolation::Applied => true,
        NetworkIsolation::Unavailable { .. } => false,
    };
    RunSummary {
        status,
        exit_code,
        detail,
        wall_s: round3(outcome.wall.as_secs_f64()),
        cpu_s: round3(outcome.cpu.as_secs_f64()),
        peak_rss_bytes: outcome.peak_rss_bytes,
        stdout_tail: String::from_utf8_lossy(&outcome.stdout.tail).into_owned(),
        stderr_tail: String::from_utf8_lossy(&outcome.stderr.tail).into_owned(),
        stdout_bytes: outcome.stdout.total_bytes,
        stderr_bytes: outcome.stderr.total_bytes,
        network_isolated: Some(network_isolated),
        limits: None,
    }
}

/// The note a report opens with when the command failed: how it ended and the last line it
/// wrote on stderr, so that neither a cohort's first note nor the top of a report reads as a
/// matching problem when the solution crashed.
pub fn failure_note(run: &RunSummary) -> Option<String> {
    if !run.failed() {
        return None;
    }
    let how = match run.status {
        RunStatusKind::SpawnFailed => format!("could not be started: {}", run.detail),
        _ => run.detail.clone(),
    };
    let last = match run.last_stderr_line() {
        Some(line) => format!(
            "; its last line on stderr: `{}`",
            crate::submission::quoted(line, LINE_SHOWN)
        ),
        None => "; it wrote nothing on stderr".to_owned(),
    };
    Some(format!(
        "the command {how}{last}. Every criterion grades what it left in the output folder"
    ))
}

/// Characters of a stderr line a note quotes.
const LINE_SHOWN: usize = 200;

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use worksample_runner::{Captured, InputProtection, Isolation};

    fn outcome(status: RunStatus, failed_allocation_cap: Option<u64>) -> RunOutcome {
        RunOutcome {
            status,
            wall: Duration::from_millis(90),
            cpu: Duration::from_millis(80),
            peak_rss_bytes: 13 << 20,
            stdout: Captured::default(),
            stderr: Captured::default(),
            isolation: Isolation {
                network: NetworkIsolation::Applied,
                env_cleared: true,
                input: InputProtection::Sealed,
            },
            failed_allocation_cap,
        }
    }

    /// The detail says what the status alone does not: a failed allocation under the cap, and a
    /// spawn failure's reason without repeating the status.
    #[test]
    fn the_detail_adds_to_the_status_without_repeating_it() {
        let crashed = RunStatus::Completed { exit_code: 1 };
        let cases = [
            (outcome(crashed.clone(), None), "exited with code 1"),
            (
                outcome(crashed, Some(200 << 20)),
                "exited with code 1; its stderr reports a failed allocation: the address space \
                 is capped at 200 MiB (four times the memory limit), and a single larger request \
                 fails at once",
            ),
            (
                outcome(
                    RunStatus::SpawnFailed {
                        reason: "program `x` not found on PATH".into(),
                    },
                    None,
                ),
                "program `x` not found on PATH",
            ),
        ];
        for (outcome, detail) in cases {
            assert_eq!(summarize(&outcome).detail, detail);
        }
    }
}

//! Exit codes, in one place (DESIGN.md): 0 graded (at or above `--fail-under`), 1 graded below
//! it, 2 usage or input error, 3 internal harness error, 128 + N stopped by signal N while a
//! candidate ran. A candidate's failure is a graded outcome and never changes the exit code by
//! itself.

use std::process::ExitCode;

use worksample_task::{Blame, TaskError};

/// Graded, and at or above `--fail-under` (or no threshold).
pub(crate) const OK: u8 = 0;
/// Graded below `--fail-under`.
pub(crate) const BELOW_THRESHOLD: u8 = 1;
/// Bad flags, task data, manifest or environment.
pub(crate) const USAGE: u8 = 2;
/// A fault of the harness itself.
pub(crate) const INTERNAL: u8 = 3;

/// Stopped by a signal while a candidate ran: 128 + the signal, as a shell reports a process
/// the signal ended (130 for Ctrl-C, 143 for SIGTERM), once the run's processes are killed.
fn stopped(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(INTERNAL)
}

/// What a command ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Success.
    Ok,
    /// Graded below the threshold.
    BelowThreshold,
}

/// An error that knows its exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) code: u8,
    pub(crate) error: anyhow::Error,
}

impl CliError {
    pub(crate) fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: USAGE,
            error: error.into(),
        }
    }

    pub(crate) fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: INTERNAL,
            error: error.into(),
        }
    }
}

impl From<TaskError> for CliError {
    fn from(e: TaskError) -> Self {
        let code = match e.blame() {
            Blame::User => USAGE,
            Blame::Harness => INTERNAL,
            Blame::Stopped { signal } => stopped(signal),
        };
        Self {
            code,
            error: e.into(),
        }
    }
}

/// Prints the error chain and turns the result into the process exit code.
pub(crate) fn finish(result: Result<Outcome, CliError>) -> ExitCode {
    match result {
        Ok(Outcome::Ok) => ExitCode::from(OK),
        Ok(Outcome::BelowThreshold) => ExitCode::from(BELOW_THRESHOLD),
        Err(CliError { code, error }) => {
            let mut said = error.to_string();
            eprintln!("error: {said}");
            // Many errors put their cause in their own message too (`failed to open `x`: No
            // such file`): a cause already said is not repeated.
            for cause in error.chain().skip(1) {
                let cause = cause.to_string();
                if !said.contains(&cause) {
                    eprintln!("  caused by: {cause}");
                    said.push_str(&cause);
                }
            }
            if code == INTERNAL {
                eprintln!(
                    "this is a fault of worksample itself, not of the submission; please report it"
                );
            }
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A harness fault is exit 3. No user action reaches one any more (an unusable TMPDIR is
    /// now the environment's to fix), so the mapping is held here.
    #[test]
    fn a_harness_fault_exits_3_and_a_usage_error_2() {
        let fault = finish(Err(CliError::internal(anyhow::anyhow!("broken"))));
        assert_eq!(fault, ExitCode::from(INTERNAL));
        let usage = finish(Err(CliError::usage(anyhow::anyhow!("bad flag"))));
        assert_eq!(usage, ExitCode::from(USAGE));
    }

    /// A stop request while a candidate (or its setup) ran exits as a shell reports the signal.
    #[test]
    fn a_stop_request_exits_128_plus_the_signal() {
        for (signal, code) in [(2, 130), (15, 143), (1, 129)] {
            let stopped = TaskError::Stopped {
                signal,
                name: format!("signal {signal}"),
            };
            assert_eq!(finish(Err(CliError::from(stopped))), ExitCode::from(code));
        }
    }
}

//! What a run produced: [`RunOutcome`] and its parts, plus the pure classification rules that
//! turn raw evidence (exit status, stderr tail, peaks) into a [`RunStatus`].

use std::time::Duration;

/// Everything observed about one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// How the run ended.
    pub status: RunStatus,
    /// Wall-clock time from spawn until the main process was reaped.
    pub wall: Duration,
    /// User+system CPU time of the tree: the `wait4` rusage of every process the runner reaped
    /// (the main process, which includes the descendants it waited for itself, and every orphan
    /// adopted by the runner), or the polled `/proc` sum of live members if that was larger.
    /// Processes reaped by someone else outside the tree are not counted.
    pub cpu: Duration,
    /// Peak of the polled summed RSS of the tree, or the largest `ru_maxrss` if larger.
    pub peak_rss_bytes: u64,
    /// The captured standard output.
    pub stdout: Captured,
    /// The captured standard error.
    pub stderr: Captured,
    /// Which isolation measures were in force.
    pub isolation: Isolation,
    /// The address-space cap in bytes, when the command failed by itself (a non-zero exit or
    /// SIGABRT) and its stderr reports a failed allocation, but nothing showed it reaching the
    /// memory limit (so the status is not [`RunStatus::MemoryLimit`]): a single request above
    /// the cap is refused at once, before the watchdog sees any growth. `None` otherwise.
    pub failed_allocation_cap: Option<u64>,
}

/// How a run ended. Candidate failures are statuses, never errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// The main process exited by itself, successfully or not.
    Completed {
        /// Its exit code.
        exit_code: i32,
    },
    /// The wall budget was spent; the tree was sent SIGTERM, then SIGKILL after the grace period.
    TimedOut {
        /// Elapsed wall time when the runner gave up.
        after: Duration,
    },
    /// The main process was killed by a signal the runner did not send (segfault, abort...).
    Signaled {
        /// The signal number.
        signal: i32,
        /// Its name, such as `SIGSEGV`.
        name: String,
    },
    /// The tree used more memory than allowed.
    MemoryLimit {
        /// The limit in force.
        limit_bytes: u64,
        /// The peak observed (RSS, or virtual size when an allocation failed at the backstop).
        peak_bytes: u64,
    },
    /// The tree had more live processes than allowed.
    ProcessLimit {
        /// The limit in force.
        limit: u64,
    },
    /// Standard output and error together exceeded the limit.
    OutputLimit {
        /// The limit in force.
        limit_bytes: u64,
    },
    /// A write exceeded `RLIMIT_FSIZE` (the process died of SIGXFSZ).
    FileSizeLimit,
    /// The command could not be started.
    SpawnFailed {
        /// Why, for example "program `nosuch` not found on PATH".
        reason: String,
    },
}

/// The tail of one output stream, plus how much was written in total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The last bytes written, at most `Limits::capture_bytes`.
    pub tail: Vec<u8>,
    /// Every byte written to the stream.
    pub total_bytes: u64,
}

impl Captured {
    /// Bytes written but not kept.
    pub fn dropped_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.tail.len() as u64)
    }

    /// The tail as text, with invalid UTF-8 replaced.
    pub fn tail_lossy(&self) -> String {
        String::from_utf8_lossy(&self.tail).into_owned()
    }
}

/// Which isolation measures were in force for the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isolation {
    /// Whether the candidate ran in its own network namespace.
    pub network: NetworkIsolation,
    /// Whether the environment was cleared down to the allow-list (always true on unix).
    pub env_cleared: bool,
    /// How far the input tree was kept from the candidate's writes.
    pub input: InputProtection,
}

/// How far the candidate could have changed its input tree: what a grader may trust of the
/// input folder after the run without checking it. Ordered from the least protection to the most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum InputProtection {
    /// Some write bit could not be removed, or the platform has no such measure: the candidate
    /// may have changed anything.
    None,
    /// The write bits were removed, but the candidate ran as the input's owner (a harness that
    /// is not root cannot run it as anyone else) and may set them back, or root ignored them.
    ModeBits,
    /// The write bits were removed, and the candidate ran as a user who owns no entry of the
    /// tree (a root harness demotes it), which held only folders and regular files: no process
    /// of the run could change, add or remove anything in it.
    Sealed,
}

impl InputProtection {
    /// Whether the input could have been changed, so that a grader must check it.
    pub fn may_have_changed(self) -> bool {
        match self {
            InputProtection::None | InputProtection::ModeBits => true,
            InputProtection::Sealed => false,
        }
    }
}

/// Whether the candidate was cut off from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkIsolation {
    /// The candidate ran in a fresh network namespace with no interfaces up.
    Applied,
    /// The candidate ran with the harness's network.
    Unavailable {
        /// Why no namespace could be created.
        reason: String,
    },
}

/// Text that language runtimes print when an allocation fails: Python, libc `strerror(ENOMEM)`,
/// Rust's `handle_alloc_error`, C++ and generic messages (Go, Java, numpy's "Unable to allocate").
const ALLOCATION_FAILURE_MARKERS: [&str; 6] = [
    "MemoryError",
    "Cannot allocate memory",
    "memory allocation of",
    "std::bad_alloc",
    "out of memory",
    "Unable to allocate",
];

/// Evidence for [`allocation_failure`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemoryEvidence {
    pub limit_bytes: u64,
    pub peak_rss_bytes: u64,
    /// Peak polled virtual size of any single tree member (`VmPeak`).
    pub peak_virtual_bytes: u64,
}

/// Whether a process that died by itself actually ran out of its memory budget.
///
/// Rule: allocations can fail here only because of the `RLIMIT_AS` backstop (four times the
/// limit), which a program hits when it reserves memory faster than the watchdog polls RSS. The
/// runtime then reports the failure on stderr and exits non-zero (or aborts: Rust and C++ raise
/// SIGABRT). A message alone is not enough, since a candidate may print those words for other
/// reasons, so one of these must also hold:
/// - the polled peak virtual size of a member reached the memory limit (it really reserved more
///   than the budget before failing), or
/// - the polled peak RSS reached half the limit, or
/// - the message names a request size at least as large as the limit (Rust's "memory allocation
///   of N bytes failed").
///
/// Returns the peak to report when the rule holds.
pub(crate) fn allocation_failure(stderr_tail: &str, evidence: MemoryEvidence) -> Option<u64> {
    if !reports_allocation_failure(stderr_tail) {
        return None;
    }
    let limit = evidence.limit_bytes;
    let requested = requested_allocation(stderr_tail).unwrap_or(0);
    let supported = evidence.peak_virtual_bytes >= limit
        || evidence.peak_rss_bytes >= limit / 2
        || requested >= limit;
    supported.then(|| {
        evidence
            .peak_rss_bytes
            .max(evidence.peak_virtual_bytes)
            .max(requested)
    })
}

/// Whether a runtime's message about a failed allocation is in `stderr_tail`.
pub(crate) fn reports_allocation_failure(stderr_tail: &str) -> bool {
    ALLOCATION_FAILURE_MARKERS
        .iter()
        .any(|marker| stderr_tail.contains(marker))
}

/// The address-space backstop (`RLIMIT_AS`) for a memory limit: four times it, since runtimes
/// reserve far more address space than they touch (thread stacks, arenas, numpy, the JVM), and
/// the watchdog's RSS poll is the real limit.
pub(crate) fn address_space_cap(memory_limit_bytes: u64) -> u64 {
    memory_limit_bytes.saturating_mul(4)
}

/// The size in Rust's "memory allocation of N bytes failed" message, if present.
fn requested_allocation(stderr_tail: &str) -> Option<u64> {
    let (_, after) = stderr_tail.rsplit_once("memory allocation of ")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Conventional name of a signal number (Linux numbering).
pub(crate) fn signal_name(signal: i32) -> String {
    let name = match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        16 => "SIGSTKFLT",
        17 => "SIGCHLD",
        18 => "SIGCONT",
        19 => "SIGSTOP",
        20 => "SIGTSTP",
        21 => "SIGTTIN",
        22 => "SIGTTOU",
        23 => "SIGURG",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        26 => "SIGVTALRM",
        27 => "SIGPROF",
        28 => "SIGWINCH",
        29 => "SIGIO",
        30 => "SIGPWR",
        31 => "SIGSYS",
        other => return format!("signal {other}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn evidence(peak_rss_bytes: u64, peak_virtual_bytes: u64) -> MemoryEvidence {
        MemoryEvidence {
            limit_bytes: 256 * MIB,
            peak_rss_bytes,
            peak_virtual_bytes,
        }
    }

    #[test]
    fn a_memory_error_at_the_backstop_is_a_memory_limit() {
        let stderr =
            "Traceback (most recent call last):\n  File \"<string>\", line 1\nMemoryError\n";
        assert_eq!(
            allocation_failure(stderr, evidence(12 * MIB, 1000 * MIB)),
            Some(1000 * MIB)
        );
    }

    #[test]
    fn a_memory_error_without_evidence_stays_a_plain_failure() {
        let stderr = "raise MemoryError('pretend')\nMemoryError: pretend\n";
        assert_eq!(
            allocation_failure(stderr, evidence(12 * MIB, 40 * MIB)),
            None
        );
    }

    #[test]
    fn evidence_without_a_message_is_not_a_memory_limit() {
        assert_eq!(
            allocation_failure(
                "ValueError: bad pixel spacing\n",
                evidence(200 * MIB, 900 * MIB)
            ),
            None
        );
    }

    #[test]
    fn rss_near_the_limit_supports_an_allocation_message() {
        assert_eq!(
            allocation_failure(
                "terminate called after throwing an instance of 'std::bad_alloc'",
                evidence(130 * MIB, 140 * MIB)
            ),
            Some(140 * MIB)
        );
    }

    #[test]
    fn a_rust_request_larger_than_the_limit_is_evidence_by_itself() {
        let stderr = "memory allocation of 4294967296 bytes failed\n";
        assert_eq!(
            allocation_failure(stderr, evidence(2 * MIB, 10 * MIB)),
            Some(4 << 30)
        );
        let small = "memory allocation of 1024 bytes failed\n";
        assert_eq!(allocation_failure(small, evidence(2 * MIB, 10 * MIB)), None);
    }

    #[test]
    fn signal_names_follow_linux_numbering() {
        assert_eq!(signal_name(11), "SIGSEGV");
        assert_eq!(signal_name(25), "SIGXFSZ");
        assert_eq!(signal_name(64), "signal 64");
    }

    #[test]
    fn captured_reports_dropped_bytes_and_lossy_text() {
        let captured = Captured {
            tail: b"ok \xff".to_vec(),
            total_bytes: 10,
        };
        assert_eq!(captured.dropped_bytes(), 6);
        assert_eq!(captured.tail_lossy(), "ok \u{fffd}");
    }
}

//! Linux process control: spawning the candidate in its own process group with rlimits and a
//! network namespace, the watchdog that polls the whole process tree for time, memory, process
//! count and output, and the cleanup that kills and reaps every member of the tree.
//!
//! Tree membership: the main process's group, its descendants, and orphans re-parented to the
//! harness. The harness process is a child subreaper (`PR_SET_CHILD_SUBREAPER`, set once), and so
//! is every main candidate process: while the main process lives, orphans of its tree re-parent
//! to it and stay its descendants, even after `setsid()`; once it exits they re-parent to the
//! harness, where any child that is not a registered main process is a leftover and is killed
//! and reaped. This assumes the runner is the only code in the process that spawns children,
//! which clippy's `disallowed-methods` enforces for the workspace.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::capture::{OutputBudget, Reader};
use crate::error::RunnerError;
use crate::outcome::{
    Captured, InputProtection, Isolation, MemoryEvidence, NetworkIsolation, RunOutcome, RunStatus,
    address_space_cap, allocation_failure, reports_allocation_failure, signal_name,
};
use crate::procfs::{self, ProcStat};
use crate::sandbox::{Access, Demotion, Identity, euid};
use crate::spec::{RunSpec, child_env, resolve_program, substitute};

/// How often the watchdog looks at the tree; short enough to catch fast allocators early, long
/// enough that a `/proc` walk every tick costs little. The main process's exit ends a tick at
/// once (see [`ExitWatch`]), so a run does not wait out the tick after its command is done.
const POLL: Duration = Duration::from_millis(10);
/// How long to wait for the capture threads once the tree is gone.
const READER_DRAIN: Duration = Duration::from_secs(1);
/// Upper bound on kill-and-rescan rounds, in case a member is stuck in uninterruptible sleep.
const CLEANUP_ROUNDS: usize = 400;

/// How the candidate is cut off from the network, decided once per harness process.
#[derive(Debug, Clone)]
enum NetMode {
    /// `unshare(CLONE_NEWNET)`: works with `CAP_SYS_ADMIN` (root).
    Namespace,
    /// `unshare(CLONE_NEWUSER | CLONE_NEWNET)`: works unprivileged where user namespaces are on.
    UserNamespace,
    /// Neither works; the candidate keeps the harness's network.
    Unavailable(String),
}

impl NetMode {
    fn flags(&self) -> Option<libc::c_int> {
        match self {
            Self::Namespace => Some(libc::CLONE_NEWNET),
            Self::UserNamespace => Some(libc::CLONE_NEWUSER | libc::CLONE_NEWNET),
            Self::Unavailable(_) => None,
        }
    }

    fn isolation(&self) -> NetworkIsolation {
        match self {
            Self::Namespace | Self::UserNamespace => NetworkIsolation::Applied,
            Self::Unavailable(reason) => NetworkIsolation::Unavailable {
                reason: reason.clone(),
            },
        }
    }
}

/// Process-wide state. Spawning and every tree scan happen under its lock, so a scan never sees
/// a freshly forked main process before it is registered and mistakes it for a leftover.
#[derive(Debug)]
struct Harness {
    pid: i32,
    net: NetMode,
    main_processes: HashSet<i32>,
    active_runs: usize,
    /// The dispositions of [`STOP_SIGNALS`] before the first active run caught them, put back
    /// when the last one ends.
    previous_handlers: Option<[libc::sigaction; 3]>,
}

/// The signals that ask a harness to stop: Ctrl-C, a CI runner's cancel (SIGTERM before its
/// SIGKILL), a closed terminal. While a candidate runs they are caught, so its processes (in
/// their own group, out of the terminal's reach) are killed before the harness goes; at any
/// other time they act as they would.
const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The stop signal caught while a candidate ran, 0 for none. Set by the handler, read by every
/// run's watchdog.
static INTERRUPT: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop_signal(signal: libc::c_int) {
    // An atomic store is async-signal-safe; the watchdog does the rest within one tick.
    INTERRUPT.store(signal, Ordering::SeqCst);
}

/// The stop signal caught while a candidate ran, if any.
fn interrupted() -> Option<i32> {
    match INTERRUPT.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// Catches [`STOP_SIGNALS`], returning the dispositions they had.
fn catch_stop_signals() -> [libc::sigaction; 3] {
    STOP_SIGNALS.map(|signal| {
        // SAFETY: zeroed sigaction structs are valid; the handler only stores an atomic, and
        // `sigaction` with valid pointers has no other precondition. A caught signal is reset to
        // its default by exec, so the candidate never inherits the handler.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_stop_signal as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&raw mut action.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signal, &raw const action, &raw mut previous);
            previous
        }
    })
}

/// Puts back the dispositions [`catch_stop_signals`] returned.
fn restore_stop_signals(previous: &[libc::sigaction; 3]) {
    for (signal, action) in STOP_SIGNALS.iter().zip(previous) {
        // SAFETY: `action` is a disposition `sigaction` returned for this signal.
        unsafe { libc::sigaction(*signal, action, std::ptr::null_mut()) };
    }
}

static HARNESS: LazyLock<Mutex<Harness>> = LazyLock::new(|| {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on this process. If it fails
    // (very old kernels), orphans go to init instead and only the group kill reaches them.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    Mutex::new(Harness {
        pid,
        net: probe_network(),
        main_processes: HashSet::new(),
        active_runs: 0,
        previous_handlers: None,
    })
});

fn harness() -> MutexGuard<'static, Harness> {
    HARNESS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sets up the process-wide state now; see [`crate::prepare`].
pub(crate) fn prepare() {
    LazyLock::force(&HARNESS);
}

/// Decides the network mode before any candidate is spawned, so the reported isolation is
/// truthful: a forked child tries each `unshare` and reports its errno as its exit code.
fn probe_network() -> NetMode {
    let direct = probe_unshare(libc::CLONE_NEWNET);
    let Err(direct) = direct else {
        return NetMode::Namespace;
    };
    match probe_unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) {
        Ok(()) => NetMode::UserNamespace,
        Err(user) => NetMode::Unavailable(format!(
            "unshare(CLONE_NEWNET) failed: {direct}; unshare(CLONE_NEWUSER|CLONE_NEWNET) failed: {user}"
        )),
    }
}

fn probe_unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: the child only calls unshare, reads errno and calls _exit, all async-signal-safe,
    // so forking a multi-threaded process is sound here.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: see above; this is the single-threaded child.
        unsafe {
            let code = if libc::unshare(flags) == 0 {
                0
            } else {
                *libc::__errno_location()
            };
            libc::_exit(code);
        }
    }
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child with a valid status pointer.
        let rc = unsafe { libc::waitpid(pid, &raw mut status, 0) };
        if rc == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else if libc::WIFEXITED(status) {
        Err(io::Error::from_raw_os_error(libc::WEXITSTATUS(status)))
    } else {
        Err(io::Error::other("probe process died"))
    }
}

/// Keeps a main process registered (and the run counted) until the run ends, on every path.
struct Registration {
    pid: i32,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut state = harness();
        state.main_processes.remove(&self.pid);
        state.active_runs -= 1;
        if state.active_runs == 0 {
            if let Some(previous) = state.previous_handlers.take() {
                restore_stop_signals(&previous);
            }
        }
    }
}

/// Why the watchdog ended the run.
#[derive(Debug, Clone, Copy)]
enum KillReason {
    Timeout(Duration),
    Memory { limit: u64, peak: u64 },
    Processes(u64),
    Output,
}

/// Why the watchdog's loop stopped watching a main process that had not ended by itself.
enum Stop {
    /// A limit: the run's outcome.
    Limit(KillReason),
    /// The harness was asked to stop (the signal): not the candidate's outcome.
    Interrupted(i32),
}

/// Running totals over the whole run.
#[derive(Debug, Default)]
struct Usage {
    /// Most tree members alive at once, seen by any scan.
    peak_live: u64,
    peak_rss: u64,
    peak_virtual: u64,
    polled_cpu_ticks: u64,
    reaped_cpu: Duration,
    max_ru_maxrss: u64,
}

impl Usage {
    fn add_rusage(&mut self, usage: &libc::rusage) {
        let time = |t: libc::timeval| {
            Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
                + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
        };
        self.reaped_cpu += time(usage.ru_utime) + time(usage.ru_stime);
        // ru_maxrss is in KiB on Linux (getrusage(2)).
        let maxrss = u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024;
        self.max_ru_maxrss = self.max_ru_maxrss.max(maxrss);
    }
}

/// A live view of the tree from one scan.
#[derive(Debug, Default)]
struct TreeSample {
    live: u64,
    rss: u64,
}

/// Runs the spec; see [`crate::run`].
pub(crate) fn run(spec: &RunSpec) -> Result<RunOutcome, RunnerError> {
    let proc_self = Path::new("/proc/self/stat");
    fs::read_to_string(proc_self).map_err(|source| RunnerError::Procfs {
        path: proc_self.to_owned(),
        source,
    })?;
    let absolute = |path: &Path| {
        std::path::absolute(path).map_err(|source| RunnerError::Absolute {
            path: path.to_owned(),
            source,
        })
    };
    let input = absolute(&spec.input)?;
    fs::read_dir(&input).map_err(|source| RunnerError::Input {
        path: input.clone(),
        source,
    })?;
    let output = absolute(&spec.output)?;
    fs::create_dir_all(&output).map_err(|source| RunnerError::OutputDir {
        path: output.clone(),
        source,
    })?;

    // Dropping `_temp` at the end of this function removes the temporary workdir.
    let (_temp, workdir) = match &spec.workdir {
        Some(dir) => (None, absolute(dir)?),
        None => {
            let temp = tempfile::Builder::new()
                .prefix("worksample-run-")
                .tempdir()
                .map_err(|source| RunnerError::TempDir {
                    path: std::env::temp_dir(),
                    source,
                })?;
            let path = temp.path().to_owned();
            (Some(temp), path)
        }
    };
    let home = workdir.join("home");
    let tmp = workdir.join("tmp");
    for dir in [&workdir, &home, &tmp] {
        fs::create_dir_all(dir).map_err(|source| RunnerError::Workdir {
            path: dir.clone(),
            source,
        })?;
    }

    // A root harness runs the candidate as an id of this run's own, held until the end of this
    // function, after everything lent has been handed back (`_access` is dropped first).
    let identity = (euid() == 0).then(Identity::take);
    let demotion = identity.as_ref().map(|i| i.demotion);
    // One walk seals the input and, for a demoted candidate, opens it to other users.
    let seal = seal_input(&input, demotion);
    let mut input_protection = seal.protection;
    // A folder the candidate is given must not hold the input or lie inside it: handing it over
    // would hand over the input with it.
    let within = |a: &Path, b: &Path| match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a.starts_with(&b) || b.starts_with(&a),
        _ => true,
    };
    if within(&input, &output) || within(&input, &workdir) {
        input_protection = input_protection.min(InputProtection::ModeBits);
    }
    let env = child_env(&spec.env, |name| std::env::var_os(name), &home, &tmp);
    let argv = substitute(&spec.argv, &input, &output);
    let net = harness().net.clone();
    let start_dir = match &spec.cwd {
        Some(dir) => absolute(dir)?,
        None => workdir.clone(),
    };
    let program = argv
        .split_first()
        .ok_or_else(|| "the command is empty".to_owned())
        .and_then(|(arg0, args)| {
            resolve_program(arg0, path_of(&env), &start_dir).map(|program| (program, arg0, args))
        });
    // Kept until the end of this function: dropping it hands back what the run was lent.
    let _access = demotion.map(|demotion| {
        let mentioned: Vec<PathBuf> = argv
            .iter()
            .map(|arg| start_dir.join(arg))
            .chain(program.iter().map(|(program, ..)| program.clone()))
            .filter(|path| path.exists())
            // A venv's `python` is a link into the interpreter's own tree (often under a
            // `0700` home): the target's folders must be reachable too.
            .flat_map(|path| {
                let target = fs::canonicalize(&path)
                    .ok()
                    .filter(|target| *target != path);
                std::iter::once(path).chain(target)
            })
            .collect();
        let mut reachable: Vec<&Path> = vec![&start_dir, &input];
        reachable.extend(mentioned.iter().map(PathBuf::as_path));
        let access = Access::grant(demotion, &[&workdir, &output], &reachable);
        if !access.complete {
            // What went wrong is not known in detail: claim no more than the mode bits.
            input_protection = input_protection.min(InputProtection::ModeBits);
        }
        access
    });
    let isolation = Isolation {
        network: net.isolation(),
        env_cleared: true,
        input: input_protection,
    };
    let spawn_failed = |reason: String| RunOutcome {
        status: RunStatus::SpawnFailed { reason },
        wall: Duration::ZERO,
        cpu: Duration::ZERO,
        peak_rss_bytes: 0,
        stdout: Captured::default(),
        stderr: Captured::default(),
        isolation: isolation.clone(),
        failed_allocation_cap: None,
    };
    let (program, arg0, args) = match program {
        Ok(resolved) => resolved,
        Err(reason) => return Ok(spawn_failed(reason)),
    };

    let mut command = Command::new(&program);
    command
        .arg0(arg0)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_os_str(), v.as_os_str())))
        .current_dir(&start_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let setup = ChildSetup::new(spec, net.flags(), demotion);
    // SAFETY: the closure runs between fork and exec and only makes raw syscalls (getrlimit,
    // setrlimit, unshare, setgroups, setgid, setuid, prctl, getppid) on values computed before
    // the fork; it allocates nothing and takes no locks.
    unsafe { command.pre_exec(move || setup.apply()) };

    let start = Instant::now();
    let (mut child, registration) = {
        let mut state = harness();
        let child = match command.spawn() {
            Ok(child) => child,
            Err(err) => {
                return Ok(spawn_failed(format!(
                    "cannot start `{}`: {err}",
                    program.display()
                )));
            }
        };
        let pid = i32::try_from(child.id()).expect("Linux pids fit in i32");
        state.main_processes.insert(pid);
        if state.active_runs == 0 {
            state.previous_handlers = Some(catch_stop_signals());
        }
        state.active_runs += 1;
        (child, Registration { pid })
    };
    let pid = registration.pid;

    let budget = Arc::new(OutputBudget::new(spec.limits.max_output_bytes));
    let capacity = spec.limits.capture_bytes;
    let stdout_pipe = child
        .stdout
        .take()
        .expect("stdout was configured as a pipe");
    let stderr_pipe = child
        .stderr
        .take()
        .expect("stderr was configured as a pipe");
    let readers = Reader::spawn("stdout", stdout_pipe, capacity, Arc::clone(&budget))
        .map_err(|source| RunnerError::CaptureThread {
            stream: "stdout",
            source,
        })
        .and_then(|out| {
            Reader::spawn("stderr", stderr_pipe, capacity, Arc::clone(&budget))
                .map(|err| (out, err))
                .map_err(|source| RunnerError::CaptureThread {
                    stream: "stderr",
                    source,
                })
        });
    let (stdout_reader, stderr_reader) = match readers {
        Ok(pair) => pair,
        Err(err) => {
            let mut usage = Usage::default();
            kill_group(pid, libc::SIGKILL);
            wait_blocking(pid, &mut usage);
            cleanup(pid, &mut usage);
            return Err(err);
        }
    };

    let mut usage = Usage::default();
    let mut watch = Watch {
        pid,
        spec,
        budget: &budget,
        usage: &mut usage,
        start,
        exit: ExitWatch::open(pid),
    };
    let watched = watch.until_exit_or_limit();
    let wall = start.elapsed();
    cleanup(pid, &mut usage);
    drop(registration);
    let ended = watched.map_err(|signal| RunnerError::Interrupted {
        signal,
        name: signal_name(signal),
    })?;

    let drain_deadline = Instant::now() + READER_DRAIN;
    stdout_reader.wait_until(drain_deadline);
    stderr_reader.wait_until(drain_deadline);
    let stdout = stdout_reader.finish();
    let stderr = stderr_reader.finish();

    let status = classify(ended, spec, &budget, &usage, &stderr);
    // A failure the evidence could not pin on the memory limit, whose stderr still reports a
    // failed allocation: most likely one request above the address-space backstop, refused at
    // once (Python's `bytearray(10**9)`), which the report should say.
    let failed_allocation_cap = match status {
        RunStatus::Completed { exit_code } if exit_code != 0 => spec.limits.memory_bytes,
        RunStatus::Signaled { signal, .. } if signal == libc::SIGABRT => spec.limits.memory_bytes,
        _ => None,
    }
    .filter(|_| reports_allocation_failure(&stderr.tail_lossy()))
    .map(address_space_cap);
    let cpu = usage
        .reaped_cpu
        .max(ticks_to_duration(usage.polled_cpu_ticks));
    // Every process of the run is gone: what the input's path leads to now is what a grader
    // would read.
    let mut isolation = isolation;
    isolation.input = isolation.input.min(seal.after_run(&input));
    Ok(RunOutcome {
        status,
        wall,
        cpu,
        peak_rss_bytes: usage.peak_rss.max(usage.max_ru_maxrss),
        stdout,
        stderr,
        isolation,
        failed_allocation_cap,
    })
}

/// How the main process ended, before classification.
#[derive(Debug, Clone, Copy)]
enum Ended {
    /// It exited or was signalled by someone else; the raw `wait` status.
    ByItself(libc::c_int),
    /// The watchdog killed the tree.
    Killed(KillReason),
}

fn classify(
    ended: Ended,
    spec: &RunSpec,
    budget: &OutputBudget,
    usage: &Usage,
    stderr: &Captured,
) -> RunStatus {
    let status = match ended {
        Ended::Killed(KillReason::Timeout(after)) => return RunStatus::TimedOut { after },
        Ended::Killed(KillReason::Memory { limit, peak }) => {
            return RunStatus::MemoryLimit {
                limit_bytes: limit,
                peak_bytes: peak,
            };
        }
        Ended::Killed(KillReason::Processes(limit)) => return RunStatus::ProcessLimit { limit },
        Ended::Killed(KillReason::Output) => {
            return RunStatus::OutputLimit {
                limit_bytes: spec.limits.max_output_bytes,
            };
        }
        Ended::ByItself(status) => status,
    };
    // The kernel's RLIMIT_NPROC backstop may have stopped a fast fork bomb between two ticks,
    // and its main process then gave up and exited: the tree still outgrew the limit.
    if let Some(limit) = spec
        .limits
        .max_processes
        .filter(|&limit| usage.peak_live > limit)
    {
        return RunStatus::ProcessLimit { limit };
    }
    // The candidate may finish before the watchdog's next tick noticed the flood; the output was
    // still over the limit.
    if budget.exceeded() {
        return RunStatus::OutputLimit {
            limit_bytes: spec.limits.max_output_bytes,
        };
    }
    let memory_failure = || {
        let limit_bytes = spec.limits.memory_bytes?;
        let evidence = MemoryEvidence {
            limit_bytes,
            peak_rss_bytes: usage.peak_rss.max(usage.max_ru_maxrss),
            peak_virtual_bytes: usage.peak_virtual,
        };
        allocation_failure(&stderr.tail_lossy(), evidence).map(|peak_bytes| {
            RunStatus::MemoryLimit {
                limit_bytes,
                peak_bytes,
            }
        })
    };
    if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        if signal == libc::SIGXFSZ {
            return RunStatus::FileSizeLimit;
        }
        if signal == libc::SIGABRT {
            if let Some(memory) = memory_failure() {
                return memory;
            }
        }
        return RunStatus::Signaled {
            signal,
            name: signal_name(signal),
        };
    }
    let exit_code = libc::WEXITSTATUS(status);
    if exit_code != 0 {
        if let Some(memory) = memory_failure() {
            return memory;
        }
    }
    RunStatus::Completed { exit_code }
}

/// The watchdog over one run.
struct Watch<'a> {
    pid: i32,
    spec: &'a RunSpec,
    budget: &'a OutputBudget,
    usage: &'a mut Usage,
    start: Instant,
    exit: ExitWatch,
}

impl Watch<'_> {
    /// Polls until the main process ends by itself or a limit is hit; in the latter case the
    /// tree has been terminated and the main process reaped when this returns.
    fn until_exit_or_limit(&mut self) -> Result<Ended, i32> {
        let limits = &self.spec.limits;
        // The first scan comes one tick after the start, like every later one: a scan of a
        // process that has only just started finds nothing to limit, and a command that is done
        // within the tick is not kept waiting by a `/proc` walk.
        self.exit.wait(POLL);
        let reason = loop {
            if let Some(status) = try_wait(self.pid, self.usage) {
                return Ok(Ended::ByItself(status));
            }
            if let Some(signal) = interrupted() {
                break Stop::Interrupted(signal);
            }
            if self.budget.exceeded() {
                break Stop::Limit(KillReason::Output);
            }
            let elapsed = self.start.elapsed();
            if elapsed >= limits.wall {
                break Stop::Limit(KillReason::Timeout(elapsed));
            }
            let sample = self.sample(true);
            if let Some(limit) = limits.memory_bytes.filter(|&limit| sample.rss > limit) {
                break Stop::Limit(KillReason::Memory {
                    limit,
                    peak: self.usage.peak_rss,
                });
            }
            if let Some(limit) = limits.max_processes.filter(|&limit| sample.live > limit) {
                break Stop::Limit(KillReason::Processes(limit));
            }
            self.exit.wait(POLL);
        };
        // A timeout gets the grace period to clean up; a limit hit or a stop request does not.
        if let Stop::Limit(KillReason::Timeout(_)) = reason {
            self.terminate_gracefully();
        }
        kill_group(self.pid, libc::SIGKILL);
        kill_members(self.pid, libc::SIGKILL);
        wait_blocking(self.pid, self.usage);
        match reason {
            Stop::Limit(reason) => Ok(Ended::Killed(reason)),
            Stop::Interrupted(signal) => Err(signal),
        }
    }

    /// SIGTERM to the group and every descendant, then up to `grace` for the main process to go.
    fn terminate_gracefully(&mut self) {
        kill_group(self.pid, libc::SIGTERM);
        kill_members(self.pid, libc::SIGTERM);
        let deadline = Instant::now() + self.spec.limits.grace;
        while Instant::now() < deadline {
            if self.sample(false).live == 0 {
                return;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Scans the tree and updates the peaks. `adopt_when_alone`: count orphans adopted by the
    /// harness as ours when no other run is active (with concurrent runs they cannot be
    /// attributed, and are killed by whichever run cleans up next).
    fn sample(&mut self, adopt_when_alone: bool) -> TreeSample {
        let state = harness();
        let adopt = adopt_when_alone && state.active_runs == 1;
        let Ok(all) = procfs::snapshot() else {
            return TreeSample::default();
        };
        let members = procfs::tree_members(&all, self.pid, self.pid, |stat| {
            adopt && is_leftover(&state, stat)
        });
        drop(state);
        let page = page_size();
        let mut sample = TreeSample::default();
        let mut cpu_ticks = 0;
        for stat in members.iter().filter(|stat| !stat.is_zombie()) {
            sample.live += 1;
            sample.rss += stat.rss_pages * page;
            cpu_ticks += stat.cpu_ticks;
            self.usage.peak_virtual = self.usage.peak_virtual.max(stat.vsize);
        }
        self.usage.peak_rss = self.usage.peak_rss.max(sample.rss);
        self.usage.peak_live = self.usage.peak_live.max(sample.live);
        self.usage.polled_cpu_ticks = self.usage.polled_cpu_ticks.max(cpu_ticks);
        sample
    }
}

/// Ends a watchdog tick early when the main process exits: a pidfd (pidfd_open(2), Linux 5.3)
/// polls readable once its process has ended. Without one (older kernels) a tick is a sleep.
#[derive(Debug)]
struct ExitWatch {
    pidfd: Option<OwnedFd>,
}

impl ExitWatch {
    /// Watches `pid`, a child the caller has not reaped yet (so the pid cannot be reused).
    fn open(pid: i32) -> Self {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let pidfd = i32::try_from(fd).ok().filter(|&fd| fd >= 0).map(|fd| {
            // SAFETY: the kernel just returned this descriptor, and nothing else owns it.
            unsafe { OwnedFd::from_raw_fd(fd) }
        });
        Self { pidfd }
    }

    /// Returns when the process has ended or after `tick`, whichever is first. A process that
    /// has ended keeps its pidfd readable until it is reaped, so after one wake-up the next ticks
    /// sleep: the watchdog never spins if the reap it expects does not come.
    fn wait(&mut self, tick: Duration) {
        let Some(fd) = &self.pidfd else {
            std::thread::sleep(tick);
            return;
        };
        let mut poll = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = libc::c_int::try_from(tick.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd, owned by this frame.
        let ready = unsafe { libc::poll(&raw mut poll, 1, millis) };
        if ready != 0 {
            // Ended (or poll failed): from now on a tick is a plain sleep.
            self.pidfd = None;
        }
    }
}

/// A child of the harness that no run is waiting for: a leftover of a finished main process.
fn is_leftover(state: &Harness, stat: &ProcStat) -> bool {
    stat.ppid == state.pid && !state.main_processes.contains(&stat.pid)
}

/// Sends `signal` to every current member of the tree of `pid` (descendants, group members and
/// adopted leftovers), so that processes that left the group with `setsid()` are reached too.
fn kill_members(pid: i32, signal: libc::c_int) {
    let state = harness();
    let Ok(all) = procfs::snapshot() else { return };
    for stat in procfs::tree_members(&all, pid, pid, |stat| is_leftover(&state, stat)) {
        if !stat.is_zombie() {
            // SAFETY: kill has no memory-safety preconditions; the pid was a tree member in the
            // scan just made under the lock that also guards spawning.
            unsafe { libc::kill(stat.pid, signal) };
        }
    }
}

/// After the main process is reaped: kill and reap whatever is left of its tree, until nothing
/// remains, so that no background grandchild outlives the run.
fn cleanup(pid: i32, usage: &mut Usage) {
    for _ in 0..CLEANUP_ROUNDS {
        kill_group(pid, libc::SIGKILL);
        let state = harness();
        let Ok(all) = procfs::snapshot() else { return };
        // The main pid is reaped, so it may be reused: match only the group (whose id cannot be
        // reused while a member exists) and leftovers adopted by the harness.
        let members = procfs::tree_members(&all, -1, pid, |stat| is_leftover(&state, stat));
        if members.is_empty() {
            return;
        }
        let live = members.iter().filter(|stat| !stat.is_zombie()).count();
        usage.peak_live = usage.peak_live.max(u64::try_from(live).unwrap_or(u64::MAX));
        for stat in &members {
            if !stat.is_zombie() {
                // SAFETY: as in `kill_members`.
                unsafe { libc::kill(stat.pid, libc::SIGKILL) };
            }
        }
        let adopted: Vec<i32> = members
            .iter()
            .filter(|stat| stat.ppid == state.pid)
            .map(|stat| stat.pid)
            .collect();
        drop(state);
        for orphan in adopted {
            try_wait(orphan, usage);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kill_group(pgid: i32, signal: libc::c_int) {
    // SAFETY: killpg has no memory-safety preconditions; ESRCH (group gone) is expected.
    unsafe { libc::killpg(pgid, signal) };
}

/// Reaps `pid` if it has ended, adding its rusage; returns its wait status.
fn try_wait(pid: i32, usage: &mut Usage) -> Option<libc::c_int> {
    wait4(pid, libc::WNOHANG, usage)
}

/// Reaps `pid`, waiting for it (it has been sent SIGKILL).
fn wait_blocking(pid: i32, usage: &mut Usage) -> Option<libc::c_int> {
    wait4(pid, 0, usage)
}

fn wait4(pid: i32, flags: libc::c_int, usage: &mut Usage) -> Option<libc::c_int> {
    let mut status = 0;
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; waits only for the given pid, never for -1, so the
        // status of another run's process is never stolen.
        let rc = unsafe { libc::wait4(pid, &raw mut status, flags, &raw mut rusage) };
        if rc == pid {
            usage.add_rusage(&rusage);
            return Some(status);
        }
        if rc == 0 {
            return None;
        }
        if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            // ECHILD: not our child (any more); nothing to reap.
            return None;
        }
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

fn ticks_to_duration(ticks: u64) -> Duration {
    // SAFETY: sysconf has no preconditions.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .ok()
        .filter(|&hz| hz > 0)
        .unwrap_or(100);
    Duration::from_secs(ticks / per_second)
        + Duration::from_nanos((ticks % per_second) * 1_000_000_000 / per_second)
}

/// What sealing the input found: how far it is protected, and which folder it is (device and
/// inode), so that after the run a folder put in its place is noticed.
#[derive(Debug, Clone, Copy)]
struct Seal {
    protection: InputProtection,
    identity: Option<(u64, u64)>,
}

impl Seal {
    /// The protection that holds after the run: a sealed input whose path no longer leads to
    /// the folder sealed (renamed away and replaced through a loose ancestor, say) protects
    /// nothing.
    fn after_run(self, root: &Path) -> InputProtection {
        match self.protection {
            InputProtection::Sealed if identity(root) != self.identity => InputProtection::None,
            other => other,
        }
    }
}

/// The device and inode of `path` itself (a link is not followed).
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// File systems whose mode bits are the whole of their access control for local users, as the
/// sealing walk needs: `chmod` takes effect and no ACL outside the mode grants write (POSIX ACLs
/// are masked by the group bits `chmod` clears). Magic numbers from linux/magic.h; anything
/// else (NFS, SMB, FUSE, vfat, 9p) is mode bits at best.
const MODE_BIT_FILE_SYSTEMS: [i64; 7] = [
    0xEF53,      // EXT2/3/4_SUPER_MAGIC
    0x0102_1994, // TMPFS_MAGIC
    0x5846_5342, // XFS_SUPER_MAGIC
    0x9123_683E, // BTRFS_SUPER_MAGIC
    0x794C_7630, // OVERLAYFS_SUPER_MAGIC
    0x2FC1_2FC1, // ZFS_SUPER_MAGIC
    0xF2F5_2010, // F2FS_SUPER_MAGIC
];

/// Whether `path` lies on one of [`MODE_BIT_FILE_SYSTEMS`].
fn on_mode_bit_file_system(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `statfs` is plain old data, for which all zeroes is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: the path is NUL-terminated and `st` a live local that statfs fills.
    if unsafe { libc::statfs(c_path.as_ptr(), &mut st) } != 0 {
        return false;
    }
    #[expect(
        clippy::useless_conversion,
        reason = "f_type is an i64 on x86-64 and aarch64 but a u32 on s390x"
    )]
    let kind = i64::from(st.f_type);
    MODE_BIT_FILE_SYSTEMS.contains(&kind)
}

/// Whether a demoted user could replace `dir` through one of its ancestors: one it owns, or one
/// it may write to (other-writable without the sticky bit, or group-writable by its group), in
/// which it could rename a folder away and put another in its place.
fn loose_ancestor(dir: &Path, demoted: Demotion) -> bool {
    use std::os::unix::fs::MetadataExt;
    dir.ancestors()
        .skip(1)
        .any(|a| match fs::symlink_metadata(a) {
            Ok(m) => {
                let mode = m.mode();
                m.uid() == demoted.uid
                    || (mode & 0o002 != 0 && mode & 0o1000 == 0)
                    || (mode & 0o020 != 0 && m.gid() == demoted.gid)
            }
            Err(_) => true,
        })
}

/// Removes the write bits from every file and directory under `root` (symlinks are skipped) and,
/// for a `demoted` candidate, makes files readable and folders readable and searchable by other
/// users (a demoted candidate reads fixtures the harness wrote under a strict umask). Best
/// effort: says how far the tree is protected. Mode bits alone do not stop the tree's owner (who
/// may set them back) or root, so the input is [`InputProtection::Sealed`] only when every one
/// of these holds:
/// - the candidate is demoted and owns no entry of the tree;
/// - the tree holds only folders and regular files, each file with one link (a second could sit
///   in a folder the candidate is given, and be handed to it with that folder);
/// - every write bit is off, as read back after the change (some file systems accept a
///   `chmod` and ignore it), on a file system whose mode bits are its access control;
/// - no ancestor lets the candidate replace the folder (see [`loose_ancestor`]).
///
/// The caller still checks that the candidate's own folders do not overlap the input, and,
/// after the run, that the input's path still leads to the folder sealed ([`Seal::after_run`]).
fn seal_input(root: &Path, demoted: Option<Demotion>) -> Seal {
    use std::os::unix::fs::MetadataExt;
    let mut ok = true;
    // Whether something rules out sealing: an entry that is a link, a device or the like, a
    // file with other links, an entry of the demoted user's, or the file system or an ancestor.
    let mut foreign =
        !on_mode_bit_file_system(root) || demoted.is_some_and(|d| loose_ancestor(root, d));
    let mut stack = vec![root.to_owned()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = fs::symlink_metadata(&path) else {
            ok = false;
            continue;
        };
        if !(meta.is_dir() || meta.is_file()) {
            foreign = true;
            continue;
        }
        foreign |= demoted.is_some_and(|d| meta.uid() == d.uid);
        foreign |= meta.is_file() && meta.nlink() > 1;
        if meta.is_dir() {
            match fs::read_dir(&path) {
                Ok(entries) => {
                    for entry in entries {
                        match entry {
                            Ok(entry) => stack.push(entry.path()),
                            Err(_) => ok = false,
                        }
                    }
                }
                Err(_) => ok = false,
            }
        }
        let mode = meta.permissions().mode() & 0o7777;
        let opened = match (demoted.is_some(), meta.is_dir()) {
            (false, _) => 0,
            (true, true) => 0o005,
            (true, false) => 0o004,
        };
        let wanted = (mode & !0o222) | opened;
        if wanted != mode {
            ok &= fs::set_permissions(&path, fs::Permissions::from_mode(wanted)).is_ok()
                && fs::symlink_metadata(&path).is_ok_and(|m| m.mode() & 0o222 == 0);
        }
    }
    let protection = match (ok, demoted.is_some() && !foreign) {
        (false, _) => InputProtection::None,
        (true, false) => InputProtection::ModeBits,
        (true, true) => InputProtection::Sealed,
    };
    Seal {
        protection,
        identity: identity(root),
    }
}

/// Limits applied in the child between fork and exec, computed beforehand in the parent.
#[derive(Debug, Clone, Copy)]
struct ChildSetup {
    parent: libc::pid_t,
    file_bytes: Option<u64>,
    address_space: Option<u64>,
    processes: Option<u64>,
    unshare: Option<libc::c_int>,
    demotion: Option<Demotion>,
}

impl ChildSetup {
    fn new(spec: &RunSpec, unshare: Option<libc::c_int>, demotion: Option<Demotion>) -> Self {
        let limits = &spec.limits;
        // SAFETY: getpid and geteuid have no preconditions.
        let (parent, euid) = unsafe { (libc::getpid(), libc::geteuid()) };
        // RLIMIT_NPROC counts every process of the user, not of the tree, and root ignores it;
        // so it is only a backstop, at twice the limit above what the user already runs, for
        // bombs that outrun a tick, for a harness that is not root. Demoted candidates get none:
        // on the shared fallback id one run's processes would eat another's allowance, and on
        // an id of their own a bomb stopped by the kernel rather than the watchdog would read
        // as a plain failure. The tree count in the watchdog is the real limit.
        let processes = limits
            .max_processes
            .filter(|_| euid != 0 && demotion.is_none())
            .map(|limit| limit.saturating_mul(2) + processes_of_user(euid));
        Self {
            parent,
            file_bytes: limits.max_file_bytes,
            address_space: limits.memory_bytes.map(address_space_cap),
            processes,
            unshare,
            demotion,
        }
    }

    /// Runs in the forked child: only async-signal-safe syscalls.
    fn apply(&self) -> io::Result<()> {
        set_rlimit(libc::RLIMIT_CORE, 0)?;
        if let Some(bytes) = self.file_bytes {
            set_rlimit(libc::RLIMIT_FSIZE, bytes)?;
        }
        if let Some(bytes) = self.address_space {
            set_rlimit(libc::RLIMIT_AS, bytes)?;
        }
        if let Some(count) = self.processes {
            set_rlimit(libc::RLIMIT_NPROC, count)?;
        }
        // The network namespace first: creating one needs the privileges the demotion drops.
        if let Some(flags) = self.unshare {
            // SAFETY: a plain syscall.
            if unsafe { libc::unshare(flags) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if let Some(demotion) = self.demotion {
            demotion.apply()?;
        }
        // SAFETY: prctl and getppid are plain syscalls.
        unsafe {
            // No exec of the candidate's may gain privileges: setuid and file-capability
            // programs run without them (prctl(2), PR_SET_NO_NEW_PRIVS). Nothing a solution
            // needs, and a demoted candidate could otherwise climb back to root through one.
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // Armed after the demotion, which clears it (prctl(2), PR_SET_PDEATHSIG). The death
            // signal fires when the spawning thread exits; `run` keeps that thread until the
            // tree is gone, so this only matters if the harness itself dies.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The harness may have died before PDEATHSIG was armed.
            if libc::getppid() != self.parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            // Orphans of the candidate's tree re-parent to the main process while it lives.
            if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

/// Sets soft and hard limit to `value`, never above the current hard limit (raising it needs
/// privileges, and the candidate must not be able to raise the soft limit back).
fn set_rlimit(resource: libc::__rlimit_resource_t, value: u64) -> io::Result<()> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid pointer to a local; plain syscalls.
    unsafe {
        if libc::getrlimit(resource, &raw mut current) != 0 {
            return Err(io::Error::last_os_error());
        }
        let value = value.min(current.rlim_max);
        let wanted = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        if libc::setrlimit(resource, &raw const wanted) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// How many processes `uid` owns now (the owner of `/proc/<pid>` is the process's uid).
fn processes_of_user(uid: libc::uid_t) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    let count = entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter(|entry| entry.metadata().is_ok_and(|meta| meta.uid() == uid))
        .count();
    u64::try_from(count).unwrap_or(u64::MAX)
}

/// The value of `PATH` in the child environment: where `argv[0]` is looked up.
fn path_of(env: &[(OsString, OsString)]) -> Option<&OsStr> {
    env.iter()
        .find(|(name, _)| name == "PATH")
        .map(|(_, value)| value.as_os_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::SANDBOX_ID;

    #[test]
    fn ticks_convert_with_the_clock_rate() {
        // SAFETY: sysconf has no preconditions.
        let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).expect("positive");
        assert_eq!(ticks_to_duration(hz * 3), Duration::from_secs(3));
        assert_eq!(ticks_to_duration(hz / 2), Duration::from_millis(500));
    }

    #[test]
    fn the_network_probe_finds_a_namespace_as_root_or_gives_a_reason() {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        match probe_network() {
            NetMode::Namespace => {}
            NetMode::UserNamespace => assert!(!root, "root can unshare the network directly"),
            NetMode::Unavailable(reason) => {
                assert!(!root, "root can unshare the network: {reason}");
                assert!(
                    reason.contains("unshare(CLONE_NEWUSER|CLONE_NEWNET)"),
                    "{reason}"
                );
            }
        }
    }

    #[test]
    fn read_only_walk_clears_write_bits_below_the_root() {
        let dir = tempfile::tempdir().expect("temp dir");
        let nested = dir.path().join("a/b");
        fs::create_dir_all(&nested).expect("create nested");
        fs::write(nested.join("f.dcm"), b"x").expect("write file");
        fs::set_permissions(nested.join("f.dcm"), fs::Permissions::from_mode(0o600))
            .expect("chmod");
        assert_eq!(
            seal_input(dir.path(), None).protection,
            InputProtection::ModeBits
        );
        let mode = |path: &Path| fs::metadata(path).expect("metadata").permissions().mode();
        for path in [dir.path().to_owned(), nested.clone(), nested.join("f.dcm")] {
            assert_eq!(mode(&path) & 0o222, 0, "{}", path.display());
        }
        assert_eq!(
            mode(&nested.join("f.dcm")) & 0o777,
            0o400,
            "no read bits added"
        );
        assert_eq!(
            seal_input(dir.path(), Some(stranger())).protection,
            InputProtection::Sealed
        );
        assert_eq!(
            mode(&nested.join("f.dcm")) & 0o777,
            0o404,
            "readable by others"
        );
        assert_eq!(mode(&nested) & 0o007, 0o005, "searchable by others");
        // Give the write bits back so the temp dir can be removed by a non-root user too.
        for path in [dir.path().to_owned(), dir.path().join("a"), nested] {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("restore");
        }
    }

    #[test]
    fn the_exit_watch_wakes_at_exit_not_at_the_end_of_the_tick() {
        // SAFETY: the child only calls _exit; the parent reaps it below.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            // SAFETY: the forked child exits at once.
            unsafe { libc::_exit(0) };
        }
        let mut watch = ExitWatch::open(pid);
        let tick = Duration::from_secs(30);
        if watch.pidfd.is_some() {
            let start = Instant::now();
            watch.wait(tick);
            assert!(start.elapsed() < tick, "woken by the exit");
            assert!(watch.pidfd.is_none(), "later ticks sleep");
        }
        let mut usage = Usage::default();
        assert!(wait_blocking(pid, &mut usage).is_some(), "reaped");
    }

    /// The test's own user, who owns every file it creates.
    fn us() -> Demotion {
        // SAFETY: geteuid and getegid have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        Demotion { uid, gid }
    }

    /// A demotion to a user who owns nothing the test creates. The sealing walk only reads
    /// owners and changes the modes of the caller's own files, so no privilege is needed.
    fn stranger() -> Demotion {
        let uid = if us().uid == SANDBOX_ID {
            SANDBOX_ID - 1
        } else {
            SANDBOX_ID
        };
        Demotion { uid, gid: uid }
    }

    /// How a tree is built for the sealing table: beside one plain file, one of these.
    #[derive(Clone, Copy, Debug)]
    enum Extra {
        Nothing,
        Symlink,
        HardLink,
        LooseParent,
    }

    /// Only a demoted candidate owning no entry of a tree of folders and regular files with one
    /// link each, under no ancestor it could write to, leaves the input sealed; anything less
    /// is mode bits at best, and a walk that fails protects nothing.
    #[test]
    fn the_input_is_sealed_only_when_nothing_of_it_is_within_reach() {
        use Extra::{HardLink, LooseParent, Nothing, Symlink};
        use InputProtection::{ModeBits, Sealed};
        let seal = |extra: Extra, demoted: Option<Demotion>| {
            let top = tempfile::tempdir().expect("temp dir");
            // The input sits one folder down, so that folder can be made loose.
            let parent = top.path().join("run");
            let input = parent.join("input");
            let series = input.join("series");
            fs::create_dir_all(&series).expect("create");
            fs::write(series.join("1.dcm"), b"x").expect("write");
            match extra {
                Nothing => {}
                Symlink => {
                    std::os::unix::fs::symlink("/etc/hostname", series.join("2.dcm")).expect("link")
                }
                HardLink => {
                    fs::hard_link(series.join("1.dcm"), top.path().join("elsewhere.dcm"))
                        .expect("hard link");
                }
                LooseParent => {
                    fs::set_permissions(&parent, fs::Permissions::from_mode(0o777)).expect("chmod");
                }
            }
            let sealed = seal_input(&input, demoted).protection;
            // Write bits back, so a harness that is not root can remove the folder.
            for folder in [&input, &series] {
                fs::set_permissions(folder, fs::Permissions::from_mode(0o755)).expect("restore");
            }
            sealed
        };
        let table = [
            ("a stranger", Nothing, Some(stranger()), Sealed),
            ("no demotion", Nothing, None, ModeBits),
            ("a demotion to the owner", Nothing, Some(us()), ModeBits),
            ("a link in the tree", Symlink, Some(stranger()), ModeBits),
            (
                "a file linked elsewhere too",
                HardLink,
                Some(stranger()),
                ModeBits,
            ),
            (
                "an ancestor anyone may write",
                LooseParent,
                Some(stranger()),
                ModeBits,
            ),
        ];
        for (name, extra, demoted, expected) in table {
            assert_eq!(seal(extra, demoted), expected, "{name}");
        }
        let missing = tempfile::tempdir()
            .expect("temp dir")
            .path()
            .join("no-such-input");
        assert_eq!(
            seal_input(&missing, Some(stranger())).protection,
            InputProtection::None,
            "a walk that cannot start"
        );
    }

    /// A sealed input whose path leads elsewhere after the run (the folder renamed away and
    /// another put in its place) protects nothing; the same folder still does.
    #[test]
    fn a_sealed_input_replaced_during_the_run_protects_nothing() {
        let top = tempfile::tempdir().expect("temp dir");
        let input = top.path().join("input");
        fs::create_dir(&input).expect("create");
        fs::write(input.join("1.dcm"), b"x").expect("write");
        let seal = seal_input(&input, Some(stranger()));
        assert_eq!(seal.protection, InputProtection::Sealed);
        assert_eq!(seal.after_run(&input), InputProtection::Sealed);
        fs::rename(&input, top.path().join("moved")).expect("rename");
        fs::create_dir(&input).expect("a forged input");
        assert_eq!(seal.after_run(&input), InputProtection::None);
        for folder in [top.path().join("moved"), input] {
            fs::set_permissions(folder, fs::Permissions::from_mode(0o755)).expect("restore");
        }
    }

    #[test]
    fn path_lookup_reads_only_path() {
        let env = [
            (OsString::from("LANG"), OsString::from("C")),
            (OsString::from("PATH"), OsString::from("/bin")),
        ];
        assert_eq!(path_of(&env), Some(OsStr::new("/bin")));
    }
}

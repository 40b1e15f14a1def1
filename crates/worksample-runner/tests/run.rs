//! Runs real processes through `worksample_runner::run`: limits, kill-the-tree, capture, the
//! environment filter and placeholder substitution.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use worksample_runner::{
    EnvPolicy, InputProtection, Limits, NetworkIsolation, RunOutcome, RunSpec, RunStatus, run,
};

const MIB: u64 = 1 << 20;

/// A scratch area with an input directory holding one file and a not-yet-created output dir.
struct Scratch {
    _root: tempfile::TempDir,
    input: PathBuf,
    output: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let input = root.path().join("in");
        fs::create_dir(&input).expect("create input");
        fs::write(input.join("case.txt"), "42\n").expect("write input");
        let output = root.path().join("out");
        Self {
            input,
            output,
            _root: root,
        }
    }

    fn spec(&self, argv: &[&str]) -> RunSpec {
        RunSpec::new(argv.iter().copied(), &self.input, &self.output).with_limits(short())
    }

    fn pid_from(&self, file: &str) -> i32 {
        let text = fs::read_to_string(self.output.join(file)).expect("script wrote its pid");
        text.trim().parse().expect("a pid")
    }
}

/// Limits small enough to keep the suite quick.
fn short() -> Limits {
    Limits {
        wall: Duration::from_secs(10),
        grace: Duration::from_millis(500),
        ..Limits::default()
    }
}

fn run_ok(spec: &RunSpec) -> RunOutcome {
    run(spec).expect("no harness fault")
}

/// Whether a process with this pid and command name is still in the process table.
fn still_running(pid: i32, comm: &str) -> bool {
    fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|name| name.trim() == comm)
}

/// Pids of every process whose process group is `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").expect("procfs").flatten() {
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = tail.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid) {
            pids.push(
                head.split_whitespace()
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(-1),
            );
        }
    }
    pids
}

#[test]
fn an_infinite_loop_times_out_and_is_gone_within_the_grace_period() {
    let scratch = Scratch::new();
    let limits = Limits {
        wall: Duration::from_secs(1),
        ..short()
    };
    let spec = scratch
        .spec(&["sh", "-c", "echo $$ > {output}/pid; while :; do :; done"])
        .with_limits(limits.clone());
    let started = Instant::now();
    let outcome = run_ok(&spec);
    let elapsed = started.elapsed();
    let RunStatus::TimedOut { after } = outcome.status else {
        panic!("expected a timeout, got {:?}", outcome.status);
    };
    assert!(after >= limits.wall, "{after:?}");
    assert!(
        elapsed < limits.wall + limits.grace + Duration::from_secs(1),
        "{elapsed:?}"
    );
    assert!(outcome.cpu > Duration::ZERO);
    assert!(!still_running(scratch.pid_from("pid"), "sh"));
}

#[test]
fn background_grandchildren_do_not_outlive_a_timed_out_run() {
    let scratch = Scratch::new();
    let script = "sleep 1000 & echo $! > {output}/bg; \
                  setsid sleep 1000 & echo $! > {output}/setsid; \
                  (setsid sleep 1000 & echo $! > {output}/double); \
                  sleep 1000";
    let spec = scratch.spec(&["sh", "-c", script]).with_limits(Limits {
        wall: Duration::from_secs(1),
        ..short()
    });
    let outcome = run_ok(&spec);
    assert!(
        matches!(outcome.status, RunStatus::TimedOut { .. }),
        "{:?}",
        outcome.status
    );
    for file in ["bg", "setsid", "double"] {
        let pid = scratch.pid_from(file);
        assert!(
            !still_running(pid, "sleep"),
            "{file} sleeper {pid} survived"
        );
    }
}

#[test]
fn a_daemon_left_behind_by_a_completed_run_is_killed() {
    let scratch = Scratch::new();
    let spec = scratch.spec(&[
        "sh",
        "-c",
        "(setsid sleep 1000 & echo $! > {output}/daemon); sleep 1000 & echo $! > {output}/bg",
    ]);
    let outcome = run_ok(&spec);
    assert_eq!(outcome.status, RunStatus::Completed { exit_code: 0 });
    for file in ["daemon", "bg"] {
        let pid = scratch.pid_from(file);
        assert!(
            !still_running(pid, "sleep"),
            "{file} sleeper {pid} survived"
        );
    }
}

#[test]
fn an_output_flood_is_stopped_with_bounded_capture() {
    let scratch = Scratch::new();
    let spec = scratch
        .spec(&["yes", "aaaaaaaaaaaaaaaa"])
        .with_limits(Limits {
            capture_bytes: 4096,
            max_output_bytes: 4 * MIB,
            ..short()
        });
    let outcome = run_ok(&spec);
    assert_eq!(
        outcome.status,
        RunStatus::OutputLimit {
            limit_bytes: 4 * MIB
        }
    );
    assert_eq!(outcome.stdout.tail.len(), 4096);
    assert!(outcome.stdout.total_bytes > 4 * MIB);
    assert_eq!(
        outcome.stdout.dropped_bytes(),
        outcome.stdout.total_bytes - 4096
    );
    assert!(outcome.stdout.tail_lossy().ends_with("aaaaaaaaaaaaaaaa\n"));
}

#[test]
fn a_flood_on_stderr_counts_towards_the_same_limit() {
    let scratch = Scratch::new();
    let spec = scratch
        .spec(&["sh", "-c", "echo start; head -c 1G /dev/zero >&2"])
        .with_limits(Limits {
            capture_bytes: 1024,
            max_output_bytes: MIB,
            ..short()
        });
    let outcome = run_ok(&spec);
    assert_eq!(outcome.status, RunStatus::OutputLimit { limit_bytes: MIB });
    assert_eq!(outcome.stderr.tail.len(), 1024);
    assert!(outcome.stderr.total_bytes > MIB / 2);
    assert!(outcome.stderr.total_bytes < (1 << 30));
    assert_eq!(outcome.stdout.tail_lossy(), "start\n");
}

#[test]
fn a_growing_shell_string_hits_the_memory_limit() {
    let scratch = Scratch::new();
    let spec = scratch
        .spec(&[
            "sh",
            "-c",
            r#"a=$(head -c 3G /dev/zero | tr "\0" x); echo done"#,
        ])
        .with_limits(Limits {
            memory_bytes: Some(256 * MIB),
            ..short()
        });
    let outcome = run_ok(&spec);
    let RunStatus::MemoryLimit {
        limit_bytes,
        peak_bytes,
    } = outcome.status
    else {
        panic!("expected a memory limit, got {:?}", outcome.status);
    };
    assert_eq!(limit_bytes, 256 * MIB);
    assert!(peak_bytes > 256 * MIB, "{peak_bytes}");
    assert!(outcome.peak_rss_bytes >= peak_bytes);
    assert_eq!(outcome.stdout.total_bytes, 0);
}

#[test]
fn an_allocation_failure_at_the_address_space_backstop_is_a_memory_limit() {
    let scratch = Scratch::new();
    // `bytes(n)` is calloc'd, so virtual size grows without RSS until RLIMIT_AS (4 x 256 MiB)
    // refuses; the pause keeps the reservation visible to the watchdog before re-raising.
    let program = "import time\nheld = []\ntry:\n    while True:\n        held.append(bytes(64 << 20))\nexcept MemoryError:\n    time.sleep(0.3)\n    raise\n";
    let spec = scratch
        .spec(&["python3", "-c", program])
        .with_limits(Limits {
            memory_bytes: Some(256 * MIB),
            ..short()
        });
    let outcome = run_ok(&spec);
    let RunStatus::MemoryLimit {
        limit_bytes,
        peak_bytes,
    } = outcome.status
    else {
        panic!(
            "expected a memory limit, got {:?}; stderr: {}",
            outcome.status,
            outcome.stderr.tail_lossy()
        );
    };
    assert_eq!(limit_bytes, 256 * MIB);
    assert!(peak_bytes >= 256 * MIB, "{peak_bytes}");
    assert!(outcome.stderr.tail_lossy().contains("MemoryError"));
}

#[test]
fn printing_memory_error_without_using_memory_is_a_plain_failure() {
    let scratch = Scratch::new();
    let spec = scratch.spec(&["sh", "-c", "echo MemoryError >&2; exit 1"]);
    let outcome = run_ok(&spec);
    assert_eq!(outcome.status, RunStatus::Completed { exit_code: 1 });
    // What it printed may still be the truth (one request above the backstop fails at once):
    // the outcome carries the cap for the report to say so, and only for a failure saying it.
    let cap = short().memory_bytes.map(|m| m * 4);
    assert!(cap.is_some());
    assert_eq!(outcome.failed_allocation_cap, cap);
    for (name, script) in [
        ("a success", "echo MemoryError >&2; exit 0"),
        ("another failure", "echo no space >&2; exit 1"),
    ] {
        let outcome = run_ok(&scratch.spec(&["sh", "-c", script]));
        assert_eq!(outcome.failed_allocation_cap, None, "{name}");
    }
}

/// Two runs at once under a root harness get ids of their own: one's candidate can neither
/// read the other's output nor signal its processes.
#[test]
fn overlapping_runs_cannot_reach_each_other() {
    if std::os::unix::fs::MetadataExt::uid(&fs::metadata("/proc/self").expect("procfs")) != 0 {
        return;
    }
    let (first, second) = (Scratch::new(), Scratch::new());
    let answer = first.output.join("answer");
    let ready = first.output.join("ready");
    // The first writes its answer and lingers; the second, once the answer exists, tries to
    // read it and to signal every process of the first's uid.
    let a = first.spec(&[
        "sh",
        "-c",
        "echo 42 > {output}/answer; id -u > {output}/ready; sleep 3",
    ]);
    let other = thread::spawn(move || run_ok(&a));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ready.exists() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let uid = fs::read_to_string(&ready).expect("the first run started");
    let probe = format!(
        "cat {} > {{output}}/read 2>/dev/null; echo $? > {{output}}/read-status; \
         kill -TERM -1 2>/dev/null; id -u > {{output}}/uid",
        answer.display()
    );
    let b = run_ok(&second.spec(&["sh", "-c", &probe]));
    assert_eq!(b.status, RunStatus::Completed { exit_code: 0 });
    let mine = fs::read_to_string(second.output.join("uid")).expect("uid");
    assert_ne!(mine.trim(), uid.trim(), "an id of each run's own");
    assert_ne!(
        fs::read_to_string(second.output.join("read-status"))
            .expect("status")
            .trim(),
        "0",
        "the other run's answer was readable"
    );
    assert_eq!(
        fs::read_to_string(second.output.join("read")).expect("read"),
        ""
    );
    let a = other.join().expect("the first run");
    assert_eq!(
        a.status,
        RunStatus::Completed { exit_code: 0 },
        "not killed by the other"
    );
}

/// No exec of the candidate's can gain privileges, and a demoted candidate holds no
/// capability at all (proc(5): the status fields of the process itself).
#[test]
fn the_candidate_cannot_gain_privileges() {
    let scratch = Scratch::new();
    let outcome = run_ok(&scratch.spec(&[
        "grep",
        "-E",
        "^(NoNewPrivs|CapEff|CapPrm):",
        "/proc/self/status",
    ]));
    assert_eq!(outcome.status, RunStatus::Completed { exit_code: 0 });
    let status = outcome.stdout.tail_lossy();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("{name} in {status}"))
            .to_owned()
    };
    assert_eq!(field("NoNewPrivs:"), "1", "{status}");
    let root =
        std::os::unix::fs::MetadataExt::uid(&fs::metadata("/proc/self").expect("procfs")) == 0;
    if root {
        for name in ["CapEff:", "CapPrm:"] {
            assert!(field(name).bytes().all(|b| b == b'0'), "{name} {status}");
        }
    }
}

#[test]
fn a_missing_program_is_a_spawn_failure_not_an_error() {
    let scratch = Scratch::new();
    let outcome = run_ok(&scratch.spec(&["nosuch-program-xyz", "--help"]));
    assert_eq!(
        outcome.status,
        RunStatus::SpawnFailed {
            reason: "program `nosuch-program-xyz` not found on PATH".to_owned()
        }
    );
}

#[test]
fn exit_codes_and_foreign_signals_are_reported() {
    let scratch = Scratch::new();
    let exited = run_ok(&scratch.spec(&["sh", "-c", "echo partial; exit 3"]));
    assert_eq!(exited.status, RunStatus::Completed { exit_code: 3 });
    assert_eq!(exited.stdout.tail_lossy(), "partial\n");

    let crashed = run_ok(&scratch.spec(&["sh", "-c", "kill -SEGV $$"]));
    assert_eq!(
        crashed.status,
        RunStatus::Signaled {
            signal: 11,
            name: "SIGSEGV".to_owned()
        }
    );
}

#[test]
fn writing_past_the_file_size_limit_is_reported() {
    let scratch = Scratch::new();
    let spec = scratch
        .spec(&["sh", "-c", "exec head -c 4194304 /dev/zero > {output}/big"])
        .with_limits(Limits {
            max_file_bytes: Some(MIB),
            ..short()
        });
    let outcome = run_ok(&spec);
    assert_eq!(outcome.status, RunStatus::FileSizeLimit);
    let written = fs::metadata(scratch.output.join("big"))
        .expect("partial file")
        .len();
    assert_eq!(written, MIB);
}

#[test]
fn the_child_environment_is_cleared_and_never_carries_worksample_variables() {
    let scratch = Scratch::new();
    let workdir = scratch.output.with_file_name("work");
    let spec = scratch
        .spec(&["env"])
        .with_workdir(&workdir)
        .with_env(EnvPolicy {
            allow: vec![
                "PATH".into(),
                "WORKSAMPLE_SECRET".into(),
                "NOT_SET_ANYWHERE_XYZ".into(),
            ],
            set: vec![
                ("WORKSAMPLE_SEED".into(), "1234".into()),
                ("CANARY".into(), "yes".into()),
            ],
        });
    let outcome = run_ok(&spec);
    assert_eq!(outcome.status, RunStatus::Completed { exit_code: 0 });
    assert!(outcome.isolation.env_cleared);
    let dump = outcome.stdout.tail_lossy();
    let mut names: Vec<&str> = dump
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(n, _)| n)
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["CANARY", "HOME", "PATH", "TMPDIR"]);
    let home = format!("HOME={}", workdir.join("home").display());
    let tmp = format!("TMPDIR={}", workdir.join("tmp").display());
    assert!(dump.lines().any(|l| l == home), "{dump}");
    assert!(dump.lines().any(|l| l == tmp), "{dump}");
    assert!(workdir.join("home").is_dir(), "an explicit workdir is kept");
}

#[test]
fn placeholders_are_substituted_with_absolute_directories() {
    let scratch = Scratch::new();
    let spec = scratch.spec(&[
        "sh",
        "-c",
        "printf '%s\\n' \"$1\" \"$2\"; cat \"${1#--in=}/case.txt\"; pwd",
        "sh",
        "--in={input}",
        "{output}/result.json",
    ]);
    assert!(!scratch.output.exists());
    let outcome = run_ok(&spec);
    assert_eq!(outcome.status, RunStatus::Completed { exit_code: 0 });
    let text = outcome.stdout.tail_lossy();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("--in={}", scratch.input.display()));
    assert_eq!(
        lines[1],
        format!("{}/result.json", scratch.output.display())
    );
    assert_eq!(lines[2], "42");
    assert!(
        scratch.output.is_dir(),
        "the runner creates the output directory"
    );
    let workdir = Path::new(lines[3]);
    assert!(workdir.is_absolute());
    assert!(!workdir.exists(), "the temporary workdir is removed");
}

#[test]
fn the_input_is_read_only_and_the_network_is_isolated() {
    let scratch = Scratch::new();
    let outcome = run_ok(&scratch.spec(&["cat", "/proc/net/dev"]));
    assert_eq!(outcome.status, RunStatus::Completed { exit_code: 0 });
    // A root harness demotes the candidate, which then owns nothing of the input.
    let root =
        std::os::unix::fs::MetadataExt::uid(&fs::metadata("/proc/self").expect("procfs")) == 0;
    let expected = if root {
        InputProtection::Sealed
    } else {
        InputProtection::ModeBits
    };
    assert_eq!(outcome.isolation.input, expected);
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(scratch.input.join("case.txt"))
            .expect("input file")
            .permissions()
            .mode()
    };
    assert_eq!(mode & 0o222, 0);
    let devices = outcome.stdout.tail_lossy();
    let interfaces: Vec<&str> = devices
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(name, _)| name.trim())
        .collect();
    match outcome.isolation.network {
        NetworkIsolation::Applied => assert_eq!(interfaces, ["lo"]),
        NetworkIsolation::Unavailable { reason } => assert!(reason.contains("unshare"), "{reason}"),
    }
}

#[test]
fn a_fork_bomb_hits_the_process_limit_and_leaves_nothing_behind() {
    let scratch = Scratch::new();
    let spec = scratch
        .spec(&[
            "sh",
            "-c",
            "echo $$ > {output}/pid; for i in $(seq 1 1000); do sleep 30 & done; wait",
        ])
        .with_limits(Limits {
            max_processes: Some(64),
            ..short()
        });
    let outcome = run_ok(&spec);
    assert_eq!(
        outcome.status,
        RunStatus::ProcessLimit { limit: 64 },
        "{}",
        outcome.stderr.tail_lossy()
    );
    let pgid = scratch.pid_from("pid");
    assert_eq!(group_members(pgid), Vec::<i32>::new());
}

#[test]
fn a_missing_input_directory_is_a_harness_error_naming_the_path() {
    let scratch = Scratch::new();
    let spec = RunSpec::new(["true"], scratch.input.join("absent"), &scratch.output);
    let err = run(&spec).expect_err("the input directory is missing");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot read input directory `{}`",
            scratch.input.join("absent").display()
        )
    );
}

#[test]
fn the_command_starts_in_cwd_while_home_stays_private() {
    let s = Scratch::new();
    let repo = tempfile::tempdir().expect("repo dir");
    fs::write(
        repo.path().join("solve.sh"),
        "echo solved > \"$1/result\"\npwd\necho \"$HOME\"\n",
    )
    .expect("script");
    let spec = s
        .spec(&["sh", "solve.sh", "{output}"])
        .with_cwd(repo.path());
    let outcome = run_ok(&spec);
    assert_eq!(outcome.status, RunStatus::Completed { exit_code: 0 });
    let stdout = outcome.stdout.tail_lossy();
    let mut lines = stdout.lines();
    let repo_path = repo.path().canonicalize().expect("canonical");
    assert_eq!(lines.next().map(PathBuf::from), Some(repo_path.clone()));
    let home = lines.next().expect("home line");
    assert!(
        !Path::new(home).starts_with(&repo_path),
        "HOME {home} is not in the repository"
    );
    assert!(s.output.join("result").exists());
    let left: Vec<_> = fs::read_dir(repo.path()).expect("list").collect();
    assert_eq!(
        left.len(),
        1,
        "nothing but solve.sh is left in the repository"
    );
}

/// A program named by a relative path (`./solve.sh`) is found where the command starts, as a
/// shell would find it there; the harness's own folder is not where the candidate's repository
/// is (`check --manifest repo/worksample.toml` from elsewhere).
#[test]
fn a_relative_program_is_found_from_the_start_folder() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    let repo = tempfile::tempdir().expect("repo dir");
    let script = repo.path().join("solve.sh");
    fs::write(&script, "#!/bin/sh\necho solved > \"$1/result\"\n").expect("script");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    assert!(
        !std::env::current_dir()
            .expect("cwd")
            .join("solve.sh")
            .exists(),
        "the test needs a harness folder without solve.sh"
    );
    let spec = s.spec(&["./solve.sh", "{output}"]).with_cwd(repo.path());
    let outcome = run_ok(&spec);
    assert_eq!(outcome.status, RunStatus::Completed { exit_code: 0 });
    assert!(s.output.join("result").exists());
}

#[test]
fn a_root_harness_runs_the_candidate_unprivileged_and_puts_everything_back() {
    use std::os::unix::fs::MetadataExt;
    let scratch = Scratch::new();
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    let before = fs::metadata(&scratch.input).expect("input").mode();
    let outcome = run_ok(&scratch.spec(&[
        "sh",
        "-c",
        "id -u > {output}/uid; echo x > {input}/case.txt && echo wrote > {output}/input; \
         touch {output}/made",
    ]));
    assert_eq!(outcome.status, RunStatus::Completed { exit_code: 0 });
    let uid: u32 = fs::read_to_string(scratch.output.join("uid"))
        .expect("uid written")
        .trim()
        .parse()
        .expect("a number");
    if euid == 0 {
        assert!(worksample_runner::SANDBOX_IDS.contains(&uid), "{uid}");
    } else {
        assert_eq!(uid, euid);
    }
    assert!(
        !scratch.output.join("input").exists(),
        "the candidate wrote into its input"
    );
    assert_eq!(
        fs::read_to_string(scratch.input.join("case.txt")).expect("input file"),
        "42\n"
    );
    // What the candidate made belongs to the harness again, and no mode bit stayed loosened.
    let made = fs::metadata(scratch.output.join("made")).expect("made");
    assert_eq!(made.uid(), euid);
    assert_eq!(
        fs::metadata(&scratch.input).expect("input").mode() & 0o777,
        before & 0o777 & !0o222
    );
}

//! A harness asked to stop while a candidate runs (SIGTERM: a cancelled CI job; SIGINT: Ctrl-C)
//! kills every process of the run before it goes, and says so with an error, not an outcome.
//! A test binary of its own: the request is process-wide, and would stop any other test's run.

use std::fs;
use std::time::{Duration, Instant};

use worksample_runner::{Limits, RunSpec, RunnerError, run};

#[test]
fn a_stop_signal_kills_the_run_and_is_an_error() {
    let root = tempfile::tempdir().expect("temp dir");
    let input = root.path().join("in");
    fs::create_dir(&input).expect("input");
    fs::write(input.join("case.txt"), "42\n").expect("input file");
    let output = root.path().join("out");
    let spec = RunSpec::new(
        [
            "sh",
            "-c",
            "(setsid sleep 600 & echo $! > {output}/daemon); sleep 600 & echo $! > {output}/bg; sleep 600",
        ],
        &input,
        &output,
    )
    .with_limits(Limits {
        wall: Duration::from_secs(120),
        ..Limits::default()
    });
    let run = std::thread::spawn(move || run(&spec));
    // Both background pids written: the run is registered and the signals are caught.
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid = |file: &str| -> Option<i32> {
        fs::read_to_string(output.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    while pid("daemon").is_none() || pid("bg").is_none() {
        assert!(Instant::now() < deadline, "the candidate never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    // SAFETY: kill with this process's own pid and a signal number has no preconditions.
    assert_eq!(unsafe { libc::kill(libc::getpid(), libc::SIGTERM) }, 0);
    let result = run.join().expect("the run thread does not panic");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped within a few ticks, not at the time limit"
    );
    match result {
        Err(RunnerError::Interrupted { signal, name }) => {
            assert_eq!((signal, name.as_str()), (libc::SIGTERM, "SIGTERM"));
        }
        other => panic!("expected an interruption, got {other:?}"),
    }
    for file in ["daemon", "bg"] {
        let pid = pid(file).expect("pid");
        let alive = fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|name| name.trim() == "sleep");
        assert!(!alive, "{file} sleeper {pid} survived the stop");
    }
}

//! Runs the `worksample` binary with a controlled environment and captures its output.

use std::path::Path;
use std::process::{Command, Output};

/// The binary under test with a clean, predictable environment.
pub fn ws() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_worksample"));
    cmd.env_remove("WORKSAMPLE_SECRET")
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY");
    cmd
}

/// What a run printed, and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command to completion.
pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the worksample binary starts");
    Run {
        code: status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Runs `worksample ARGS…`.
pub fn ws_run(args: &[&str]) -> Run {
    run(ws().args(args))
}

/// `worksample generate series --seed N --out DIR` and asserts success.
pub fn generate(seed: u64, out: &Path) {
    let r = ws_run(&[
        "generate",
        "series",
        "--seed",
        &seed.to_string(),
        "--out",
        out.to_str().expect("utf-8 temp path"),
    ]);
    assert_eq!(r.code, 0, "generate failed: {r:?}");
}

/// Makes a FIFO at `path` (with `mkfifo`, as a user would).
pub fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

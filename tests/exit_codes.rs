//! Every documented exit code, reached the way users reach it.

use crate::support::{run, ws, ws_run};

const BIN: &str = env!("CARGO_BIN_EXE_worksample");

fn starter_cmd() -> Vec<&'static str> {
    vec!["--", BIN, "starter", "series", "{input}", "{output}"]
}

#[test]
fn help_and_version_exit_0() {
    assert_eq!(ws_run(&["--help"]).code, 0);
    let v = ws_run(&["--version"]);
    assert_eq!(v.code, 0);
    assert!(v.stdout.starts_with("worksample "), "{v:?}");
}

#[test]
fn usage_errors_exit_2_and_say_why() {
    let r = ws_run(&["frobnicate"]);
    assert_eq!(r.code, 2, "{r:?}");
    let r = ws_run(&["show", "nosuch"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("no task `nosuch`"), "{}", r.stderr);
    assert!(
        r.stderr.contains("series"),
        "lists the known tasks: {}",
        r.stderr
    );
    let r = ws_run(&["run", "series", "--fail-under", "150", "--", "true"]);
    assert_eq!(r.code, 2, "{r:?}");
    // A memory limit past what its bytes can hold was clamped without a word.
    let r = ws_run(&[
        "run",
        "deid",
        "--memory",
        "18446744073709551615",
        "--",
        "true",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--memory"), "{}", r.stderr);
    let r = ws_run(&[
        "grade",
        "series",
        "--fixtures",
        "/nonexistent",
        "--submission",
        "/",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("worksample.json"), "{}", r.stderr);
    // The fixtures graded as their own output (a slip) are refused, naming the folder.
    let fixtures = tempfile::tempdir().expect("tempdir");
    let f = fixtures.path().to_str().expect("utf-8");
    let r = ws_run(&["generate", "deid", "--out", f]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = ws_run(&["grade", "deid", "--fixtures", f, "--submission", f]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("are the same folder"), "{}", r.stderr);
    // Sizes past one machine's reach are refused before anything is planned or rendered.
    let out = tempfile::tempdir().expect("tempdir");
    let out = out.path().to_str().expect("utf-8");
    // 65,536⁴ files is 2⁶⁴, which wrapped to 0 in an unchecked product.
    let wraps: &[&str] = &[
        "--patients",
        "65536",
        "--studies",
        "65536",
        "--series",
        "65536",
        "--slices",
        "65536",
    ];
    let cases: [(&[&str], &str); 3] = [
        (&["--slices", "4294967295"], "at most 100000 in one run"),
        (wraps, "at most 100000 in one run"),
        (&["--rows", "65535"], "at most 4096 (got 65535 × 64)"),
    ];
    for (flags, says) in cases {
        let mut args = vec!["synth", "--out", out];
        args.extend(flags);
        let r = ws_run(&args);
        assert_eq!(r.code, 2, "{flags:?}: {r:?}");
        assert!(r.stderr.contains(says), "{flags:?}: {}", r.stderr);
    }
}

/// A folder the user names that cannot be one is the user's to fix: exit 2, the path named, the
/// system's reason said once.
#[test]
fn an_unusable_output_folder_exits_2_and_names_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("afile");
    std::fs::write(&file, "x").expect("write");
    let file = file.to_str().expect("utf-8");
    let below = format!("{file}/out");
    let cases: [(&str, Vec<&str>, &str); 4] = [
        (
            "--out below a file",
            vec!["generate", "series", "--out", &below],
            &below,
        ),
        ("--out a file", vec!["kit", "--out", file], file),
        (
            "--keep-output a file",
            vec!["run", "series", "--keep-output", file, "--", "true"],
            file,
        ),
        (
            "--out where nothing can be created",
            vec!["generate", "series", "--out", "/proc/worksample-out"],
            "/proc/worksample-out",
        ),
    ];
    for (name, args, path) in cases {
        let r = ws_run(&args);
        assert_eq!(r.code, 2, "{name}: {r:?}");
        assert!(
            r.stderr.contains(&format!("`{path}`")),
            "{name}: {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("fault of worksample"),
            "{name}: {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("caused by"),
            "{name}: said once: {}",
            r.stderr
        );
    }
}

/// A run's report records the limits it ran under, and says when they were looser than the
/// task's: its time and memory then do not compare with other runs.
#[test]
fn a_run_records_its_limits_and_notes_loosened_ones() {
    let report = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["run", "series", "--seed", "2", "--format", "json"];
        args.extend(extra);
        args.extend(["--", "true"]);
        let r = ws_run(&args);
        assert_eq!(r.code, 0, "{r:?}");
        serde_json::from_str(&r.stdout).expect("json report")
    };
    let looser = |r: &serde_json::Value| r["notes"].to_string().contains("looser limits");
    let plain = report(&[]);
    assert_eq!(plain["run"]["limits"]["wall_s"], 300.0, "the task's");
    assert_eq!(plain["run"]["limits"]["memory_bytes"], 2048u64 << 20);
    assert!(!looser(&plain), "{}", plain["notes"]);
    let tighter = report(&["--timeout", "60", "--memory", "512"]);
    assert_eq!(tighter["run"]["limits"]["wall_s"], 60.0);
    assert!(!looser(&tighter), "{}", tighter["notes"]);
    let loose = report(&["--timeout", "9999", "--memory", "99999"]);
    assert_eq!(loose["run"]["limits"]["wall_s"], 9999.0);
    let notes = loose["notes"].to_string();
    assert!(notes.contains("9999 s wall (the task's: 300 s)"), "{notes}");
    assert!(
        notes.contains("99999 MiB memory (the task's: 2048 MiB)"),
        "{notes}"
    );
}

/// An existing empty folder the harness may not write into is refused before anything is
/// made, as the user's to fix. Root may write anywhere, so as root the harness itself is run as
/// the unprivileged user (`setpriv`); otherwise the test's own user meets a read-only folder.
#[test]
fn an_empty_folder_without_write_permission_exits_2() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let tmp = tempfile::tempdir().expect("tempdir");
    let locked = tmp.path().join("locked");
    std::fs::create_dir(&locked).expect("mkdir");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let root = std::fs::metadata("/proc/self").expect("procfs").uid() == 0;
    let mut cmd = if root {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(BIN)
            .env("TMPDIR", tmp.path())
            .env_remove("WORKSAMPLE_SECRET");
        cmd
    } else {
        ws()
    };
    let r = run(cmd.args([
        "generate",
        "series",
        "--out",
        locked.to_str().expect("utf-8"),
    ]));
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("cannot write into the folder"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("fault of worksample"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_dir(&locked).expect("list").count(),
        0,
        "nothing written"
    );
}

#[test]
fn hidden_run_without_secret_exits_2() {
    let mut args = vec!["run", "series", "--hidden", "--candidate", "cand-1"];
    args.extend(starter_cmd());
    let r = ws_run(&args);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("WORKSAMPLE_SECRET"), "{}", r.stderr);
}

#[test]
fn graded_run_exits_0_and_below_threshold_exits_1() {
    let mut args = vec!["run", "series", "--seed", "3", "--format", "json"];
    args.extend(starter_cmd());
    let r = ws_run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json report");
    let percent = report["total"]["percent"].as_f64().expect("percent");
    assert!(
        percent > 0.0 && percent < 100.0,
        "the starter scores low but not zero: {percent}"
    );
    assert_eq!(report["run"]["status"], "completed");
    assert_eq!(report["audience"], "candidate");

    let mut args = vec![
        "run",
        "series",
        "--seed",
        "3",
        "--fail-under",
        "99",
        "--format",
        "json",
    ];
    args.extend(starter_cmd());
    let r = ws_run(&args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json report");
    assert_eq!(report["verdict"], "fail");
}

#[test]
fn a_command_that_cannot_start_is_graded_not_an_error() {
    let r = ws_run(&[
        "run",
        "series",
        "--seed",
        "3",
        "--format",
        "json",
        "--",
        "no-such-program-xyz",
        "{input}",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json report");
    assert_eq!(report["run"]["status"], "spawn_failed");
    assert_eq!(report["total"]["points"], 0.0);
}

/// A `TMPDIR` the harness cannot make folders in is the environment's to fix: exit 2, naming
/// the variable and the path, before anything runs.
#[test]
fn an_unusable_tmpdir_exits_2_and_names_it() {
    for args in [
        &["run", "series", "--seed", "1", "--", "true"][..],
        &["check", "--manifest", "/nonexistent/worksample.toml"][..],
    ] {
        let r = run(ws().env("TMPDIR", "/nonexistent/worksample-tmp").args(args));
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains("TMPDIR"), "{}", r.stderr);
        assert!(
            r.stderr.contains("`/nonexistent/worksample-tmp`"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("fault of worksample"), "{}", r.stderr);
    }
}

/// A report destination that cannot be written is refused before the command runs (it would
/// have spent its time limit, and then the report would have been lost).
#[test]
fn an_unwritable_report_is_refused_before_the_command_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("afile");
    std::fs::write(&file, "x").expect("write");
    // Links a candidate could plant where reports go: one inside a report folder, and a named
    // report file that links to a regular file (written as root, it would replace the target).
    let planted = tmp.path().join("planted");
    std::fs::create_dir(&planted).expect("mkdir");
    std::os::unix::fs::symlink(&file, planted.join("report.md")).expect("symlink");
    let linked = tmp.path().join("linked.json");
    std::os::unix::fs::symlink(&file, &linked).expect("symlink");
    // A device reached through a planted link, not one this process holds (another user's
    // terminal would be one).
    let device = tmp.path().join("device.json");
    std::os::unix::fs::symlink("/dev/zero", &device).expect("symlink");
    // Nor one it holds only as its input (the tests' stdin is /dev/null): the report would be
    // swallowed.
    let input = tmp.path().join("input.json");
    std::os::unix::fs::symlink("/dev/null", &input).expect("symlink");
    let file = file.to_str().expect("utf-8");
    let folder = tmp.path().to_str().expect("utf-8");
    let planted = planted.to_str().expect("utf-8");
    let linked = linked.to_str().expect("utf-8");
    let device = device.to_str().expect("utf-8");
    let input = input.to_str().expect("utf-8");
    let trailing = format!("{folder}/meant-as-a-folder/");
    let cases: [(&[&str], &str); 9] = [
        (
            &["--out", "/nonexistent/dir/report.txt"],
            "/nonexistent/dir/report.txt",
        ),
        (&["--format", "json,markdown", "--out", file], file),
        (&["--format", "json", "--out", folder], folder),
        (&["--format", "json,markdown"], "--out"),
        (
            &["--format", "json,markdown", "--out", planted],
            "report.md`: it is a symbolic link",
        ),
        (
            &["--format", "json", "--out", linked],
            "it is a symbolic link",
        ),
        (
            &["--format", "json", "--out", device],
            "device.json`: it is a symbolic link",
        ),
        (&["--out", &trailing], "meant-as-a-folder/` names a folder"),
        (
            &["--format", "json", "--out", input],
            "input.json`: it is a symbolic link",
        ),
    ];
    for (flags, named) in cases {
        let mut args = vec!["run", "series", "--seed", "1"];
        args.extend(flags);
        args.extend(["--", "sleep", "30"]);
        let start = std::time::Instant::now();
        let r = ws_run(&args);
        assert_eq!(r.code, 2, "{flags:?}: {r:?}");
        assert!(r.stderr.contains(named), "{flags:?}: {}", r.stderr);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{flags:?}: refused before the command ran"
        );
    }
    assert_eq!(
        std::fs::read_to_string(file).expect("read"),
        "x",
        "left as it was"
    );
}

/// The one report file an assessor names may still be a device such as `/dev/stdout` (itself
/// a link to `/proc/self/fd/1`).
#[test]
fn a_report_named_dev_stdout_is_written_there() {
    const TO_STDOUT: [&str; 10] = [
        "run",
        "deid",
        "--seed",
        "1",
        "--format",
        "json",
        "--out",
        "/dev/stdout",
        "--",
        "true",
    ];
    let r = ws_run(&TO_STDOUT);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("{\n"), "{}", r.stdout);
    assert!(r.stdout.ends_with("\nwrote /dev/stdout\n"), "{}", r.stdout);

    // Stdout redirected to a file: `/dev/stdout` then links to that file, and the report still
    // goes through the descriptor (appended, not written over what is there).
    let tmp = tempfile::tempdir().expect("tempdir");
    let captured = tmp.path().join("stdout.txt");
    std::fs::write(&captured, "before\n").expect("write");
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&captured)
        .expect("open");
    let status = ws().args(TO_STDOUT).stdout(file).status().expect("runs");
    assert!(status.success());
    let text = std::fs::read_to_string(&captured).expect("read");
    assert!(text.starts_with("before\n{\n"), "{text}");

    // A FIFO nobody reads fails at once instead of waiting forever; reached through a link
    // (which a candidate could plant), a FIFO this process does not hold is refused outright.
    let fifo = tmp.path().join("fifo");
    crate::support::mkfifo(&fifo);
    let link = tmp.path().join("report.json");
    std::os::unix::fs::symlink(&fifo, &link).expect("symlink");
    for (out, says) in [
        (&fifo, "cannot write report"),
        (&link, "report.json`: it is a symbolic link"),
    ] {
        let start = std::time::Instant::now();
        let r = ws_run(&[
            "run",
            "deid",
            "--format",
            "json",
            "--out",
            out.to_str().expect("utf-8"),
            "--",
            "true",
        ]);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(r.stderr.contains(says), "{}", r.stderr);
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }
}

/// A FIFO or a device where the harness reads a small text file (task data under
/// `--tasks-dir`, a fixtures manifest, a report for `cohort`) is refused by name, exit 2: it
/// used to hang on the FIFO or fill memory from `/dev/zero`.
#[test]
fn a_fifo_or_device_in_place_of_a_file_is_refused_by_name() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fifo = crate::support::mkfifo;
    let tasks = tmp.path().join("tasks");
    std::fs::create_dir(&tasks).expect("mkdir");
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tasks/deid"))
        .arg(&tasks)
        .status()
        .expect("cp runs");
    assert!(copied.success());
    let deid = tasks.join("deid");
    std::fs::remove_file(deid.join("rubric.toml")).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", deid.join("rubric.toml")).expect("symlink");
    std::fs::remove_file(deid.join("brief.md")).expect("rm");
    fifo(&deid.join("brief.md"));
    let fixtures = tmp.path().join("fixtures");
    std::fs::create_dir(&fixtures).expect("mkdir");
    fifo(&fixtures.join("worksample.json"));
    let report = tmp.path().join("report.json");
    fifo(&report);
    let tasks = tasks.to_str().expect("utf-8");
    let fixtures = fixtures.to_str().expect("utf-8");
    let folder = tmp.path().to_str().expect("utf-8");
    let report = report.to_str().expect("utf-8");
    let cases: [(&[&str], &str); 3] = [
        (&["--tasks-dir", tasks, "show", "deid"], "rubric.toml"),
        (
            &[
                "grade",
                "deid",
                "--fixtures",
                fixtures,
                "--submission",
                folder,
            ],
            "worksample.json",
        ),
        (&["cohort", report], "report.json"),
    ];
    for (args, named) in cases {
        let start = std::time::Instant::now();
        let r = ws_run(args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(
            r.stderr.contains(named) && r.stderr.contains("not a regular file"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{args:?}"
        );
    }
}

/// A report destination that cannot be used is described as what it is, and a name near the
/// file system's 255-byte limit is written (its temporary name is cut to fit).
#[test]
fn report_destinations_are_described_as_what_they_are() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let long = tmp.path().join(format!("{}.json", "r".repeat(250)));
    let long = long.to_str().expect("utf-8");
    let r = ws_run(&[
        "run", "deid", "--format", "json", "--out", long, "--", "true",
    ]);
    assert!(r.code == 0 || r.code == 1, "{r:?}");
    assert!(std::path::Path::new(long).is_file(), "{}", r.stderr);

    let fifo = tmp.path().join("reports");
    crate::support::mkfifo(&fifo);
    let fifo = fifo.to_str().expect("utf-8");
    let r = ws_run(&[
        "run", "deid", "--format", "json,md", "--out", fifo, "--", "true",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("is a named pipe (FIFO)"), "{}", r.stderr);

    // cohort writes one format: the folder message does not speak of several.
    let folder = tmp.path().to_str().expect("utf-8");
    let r = ws_run(&["cohort", long, "--out", folder]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("it is a folder, where a file is to be written")
            && !r.stderr.contains("several"),
        "{}",
        r.stderr
    );
}

/// In a folder with the sticky bit (as /tmp has), a report file another user owns cannot be
/// replaced by this one: refused before the run, not found out at the rename after it. Root
/// may replace anything, so the harness runs as the unprivileged user over a root-owned file;
/// the test needs root to own that file.
#[test]
#[expect(
    clippy::print_stderr,
    reason = "says why the test did nothing when not run as root"
)]
fn another_users_report_in_a_sticky_folder_is_refused_before_the_run() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if std::fs::metadata("/proc/self").expect("procfs").uid() != 0 {
        eprintln!("skipped: only root can own a file as another user for this test");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let sticky = tmp.path().join("shared");
    std::fs::create_dir(&sticky).expect("mkdir");
    std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    let theirs = sticky.join("report.json");
    std::fs::write(&theirs, "{}\n").expect("write");
    let as_nobody = |out: &std::path::Path| {
        let mut cmd = std::process::Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(BIN)
            .env("TMPDIR", &sticky)
            .env_remove("WORKSAMPLE_SECRET")
            .args(["run", "deid", "--format", "json", "--out"])
            .arg(out)
            .args(["--", "true"]);
        run(&mut cmd)
    };
    let r = as_nobody(&theirs);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("another user owns it, in a folder with the sticky bit"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stdout.contains("points"),
        "refused before the run: {}",
        r.stdout
    );
    assert_eq!(std::fs::read_to_string(&theirs).expect("read"), "{}\n");
    // A new name in the same folder is the user's own.
    let mine = sticky.join("mine.json");
    let r = as_nobody(&mine);
    assert!(r.code == 0 || r.code == 1, "{r:?}");
    assert!(mine.is_file());
}

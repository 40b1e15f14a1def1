//! What a new user's first runs and usual slips print, as tried by a new user would: a report
//! written to a file still says its total and where it went on stdout, a threshold says which
//! task fell below it, and a slip (a folder for a file, a misspelt placeholder, `60%`) gets an
//! error with the next step, or is read as meant; a report folder never holds another
//! candidate's report or a stale one beside the new.

use std::path::Path;

use crate::support::{Run, run, ws, ws_run};

const BIN: &str = env!("CARGO_BIN_EXE_worksample");

fn utf8(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// `run … --out` prints the total and what it wrote, and with `--fail-under` where it stands.
#[test]
fn a_report_written_to_files_is_announced_on_stdout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("reports");
    let r = ws_run(&[
        "run",
        "series",
        "--seed",
        "2",
        "--format",
        "json,markdown",
        "--fail-under",
        "99%",
        "--out",
        utf8(&dir),
        "--",
        BIN,
        "starter",
        "series",
        "{input}",
        "{output}",
    ]);
    assert_eq!(r.code, 1, "below 99 %: {r:?}");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("report.json")).expect("report.json"),
    )
    .expect("json");
    let first = format!(
        "series: {:.2}% ({:.2}/{} points), below --fail-under 99%",
        report["total"]["percent"].as_f64().expect("percent"),
        report["total"]["points"].as_f64().expect("points"),
        report["total"]["max_points"].as_f64().expect("max points")
    );
    assert_eq!(
        r.stdout,
        format!(
            "{first}\nwrote report.json, report.md in {}\n",
            dir.display()
        )
    );
}

/// An assessor's mistyped `--out` never replaces another candidate's report, and a folder
/// graded again in other formats keeps no report of the earlier run beside the new one.
#[test]
fn a_report_folder_holds_one_candidates_one_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("reports");
    let grade = |candidate: &str, formats: &str| {
        run(ws()
            .env("WORKSAMPLE_SECRET", "an assessor's secret of some length")
            .args([
                "run",
                "deid",
                "--hidden",
                "--candidate",
                candidate,
                "--format",
                formats,
                "--out",
                utf8(&dir),
                "--",
                BIN,
                "starter",
                "deid",
                "{input}",
                "{output}",
            ]))
    };
    let whose = || {
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("report.json")).expect("report.json"),
        )
        .expect("json");
        report["candidate"].as_str().map(str::to_owned)
    };
    // A practice report there first is nobody's evidence: the candidate's replaces it, and its
    // other formats go with it.
    let practice = ws_run(&[
        "run",
        "deid",
        "--format",
        "json,junit",
        "--out",
        utf8(&dir),
        "--",
        "true",
    ]);
    assert_eq!(practice.code, 0, "{practice:?}");
    let first = grade("cand-a", "json,markdown,terminal");
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(whose().as_deref(), Some("cand-a"));
    assert!(!dir.join("junit.xml").exists(), "{}", first.stdout);

    let other = grade("cand-b", "json,html");
    assert_eq!(other.code, 2, "{other:?}");
    assert!(
        other
            .stderr
            .contains("holds candidate `cand-a`'s report on `deid`")
            && other
                .stderr
                .contains("this is candidate `cand-b`'s report on `deid`")
            && other.stderr.contains("choose another --out"),
        "{}",
        other.stderr
    );
    assert_eq!(whose().as_deref(), Some("cand-a"), "left as it was");
    assert!(dir.join("report.md").is_file() && !dir.join("report.html").exists());

    let again = grade("cand-a", "json,html");
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        again.stdout.contains(
            "removed report.txt, report.md left there by an earlier run (they disagree with this report)"
        ),
        "{}",
        again.stdout
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read reports")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["report.html", "report.json"]);

    // A report file the assessor locked down stays locked down when it is replaced.
    use std::os::unix::fs::PermissionsExt as _;
    let json = dir.join("report.json");
    std::fs::set_permissions(&json, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let locked = grade("cand-a", "json,html");
    assert_eq!(locked.code, 0, "{locked:?}");
    let mode = std::fs::metadata(&json).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // A mode a candidate could have planted (set-id, world-writable) is not passed on: the new
    // report must not be theirs to edit.
    std::fs::set_permissions(&json, std::fs::Permissions::from_mode(0o6777)).expect("chmod");
    let planted = grade("cand-a", "json,html");
    assert_eq!(planted.code, 0, "{planted:?}");
    let mode = std::fs::metadata(&json).expect("stat").permissions().mode() & 0o7777;
    assert_eq!(mode, 0o775);

    // Files named like reports that are not this candidate's earlier report (a candidate's own
    // report.json, another tool's report.txt) are never removed.
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir(&foreign).expect("mkdir");
    std::fs::write(foreign.join("report.json"), "{\"schema\": \"not ours\"}").expect("write");
    std::fs::write(foreign.join("report.txt"), "notes").expect("write");
    let r = run(ws().args([
        "run",
        "deid",
        "--format",
        "markdown,html",
        "--out",
        utf8(&foreign),
        "--",
        "true",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("removed"), "{}", r.stdout);
    assert_eq!(
        std::fs::read_to_string(foreign.join("report.txt")).expect("kept"),
        "notes"
    );
    assert!(foreign.join("report.json").is_file());
}

/// `grade --out` inside the submission or the fixtures would replace a deliverable of the same
/// name (shift's report.json) or change the fixtures' digest: refused before grading.
#[test]
fn grade_reports_never_go_among_the_graded_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixtures = tmp.path().join("fixtures");
    let submission = tmp.path().join("out");
    std::fs::create_dir(&submission).expect("mkdir");
    let r = ws_run(&["generate", "deid", "--out", utf8(&fixtures)]);
    assert_eq!(r.code, 0, "{r:?}");
    // Also by way of a folder not made yet and `..`, which create_dir_all walks back out of.
    let around = |inside: &Path| {
        tmp.path()
            .join("not-yet/..")
            .join(inside.file_name().expect("named"))
            .join("reports")
    };
    let cases = [
        (submission.join("reports"), "--submission"),
        (fixtures.join("reports"), "--fixtures"),
        (around(&submission), "--submission"),
    ];
    for (out, flag) in &cases {
        let r = ws_run(&[
            "grade",
            "deid",
            "--fixtures",
            utf8(&fixtures),
            "--submission",
            utf8(&submission),
            "--format",
            "json,markdown",
            "--out",
            utf8(out),
        ]);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(
            r.stderr.contains(&format!("is inside the {flag} folder")),
            "{}",
            r.stderr
        );
        assert!(!out.exists(), "nothing written");
    }
}

/// A stdout that cannot be written (a full disk, `> /dev/full`) is the environment's problem,
/// exit 2, not a fault of the harness.
#[test]
fn a_full_stdout_is_an_environment_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let r = run(ws().arg("list").stdout(full));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("failed to write to stdout"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("fault of worksample"), "{}", r.stderr);
}

/// `check --fail-under` names the tasks below it, not only the exit status.
#[test]
fn check_names_the_tasks_below_the_threshold() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).expect("mkdir");
    std::fs::write(
        repo.join("worksample.toml"),
        "[[task]]\nid = \"series\"\ncommand = [\"true\", \"{output}\"]\n",
    )
    .expect("write");
    let r = run(ws()
        .current_dir(&repo)
        .args(["check", "--out", "reports", "--fail-under", "30"]));
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .ends_with("below --fail-under 30%: series (0.00%); exit 1\n"),
        "{}",
        r.stdout
    );
}

/// Slips refused with the next step (exit 2, before anything runs), or read as meant.
#[test]
fn slips_get_the_next_step() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let reports = tmp.path().join("cand-1");
    std::fs::create_dir(&reports).expect("mkdir");
    std::fs::write(reports.join("report.json"), "{}").expect("write");
    let kit = tmp.path().join("kit");
    let none = tmp.path().join("none.toml");
    let cases: [(Vec<&str>, &str); 5] = [
        (
            vec!["cohort", utf8(&reports)],
            "is a folder, not a report; did you mean",
        ),
        (
            vec![
                "run", "series", "--", "python3", "solve.py", "{input}", "{ouput}",
            ],
            "the command after `--` holds `{ouput}`, which is not a placeholder",
        ),
        (
            vec!["check", "--manifest", utf8(tmp.path())],
            "is a folder; did you mean `--manifest",
        ),
        (
            vec!["check", "--manifest", utf8(&none)],
            "run `check` from the repository's root, or pass `--manifest PATH`",
        ),
        (
            vec!["kit", "--out", utf8(&kit), "--profile", "easy"],
            "task `deid` has no profile `easy` (from --profile)",
        ),
    ];
    for (args, says) in cases {
        let r = ws_run(&args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("fault of worksample"), "{}", r.stderr);
    }
    assert!(!kit.exists(), "a refused kit writes nothing");
}

/// `--format markdown` is `cohort`'s `md`, as it is `run`'s; a command without `{output}` is
/// run with a warning (the harness's overhead is timed with `-- true`).
#[test]
fn spellings_users_reach_for_are_read_as_meant() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = tmp.path().join("report.json");
    let r: Run = ws_run(&[
        "run",
        "series",
        "--format",
        "json",
        "--out",
        utf8(&report),
        "--",
        "true",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("warning: the command after `--` never mentions `{output}`"),
        "{}",
        r.stderr
    );
    let r = ws_run(&["cohort", "--format", "markdown", utf8(&report)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("| "), "a Markdown table: {}", r.stdout);
}

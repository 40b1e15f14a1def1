//! `worksample check` in a candidate's repository: nothing the repository commits may redirect
//! the harness's reads or writes, every entry and destination is checked before any task runs,
//! and the candidate's text cannot forge CI workflow commands.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Run, run, ws};

/// A repository holding `toml` as its `worksample.toml`.
fn repo(root: &Path, toml: &str) -> std::path::PathBuf {
    repo_in(&root.join("repo"), toml)
}

/// A repository at `repo` (created) holding `toml` as its `worksample.toml`.
fn repo_in(repo: &Path, toml: &str) -> std::path::PathBuf {
    let repo = repo.to_path_buf();
    std::fs::create_dir_all(&repo).expect("mkdir");
    std::fs::write(repo.join("worksample.toml"), toml).expect("write");
    repo
}

/// `worksample check --out OUT` from inside `repo`.
fn check(repo: &Path, out: &str) -> Run {
    run(ws().current_dir(repo).args(["check", "--out", out]))
}

const ONE_TASK: &str = "[[task]]\nid = \"series\"\ncommand = [\"true\", \"{output}\"]\n";

fn assert_refused_before_running(r: &Run, names: &str) {
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains(names), "names `{names}`: {}", r.stderr);
    assert!(
        !r.stderr.contains("checking `"),
        "no task ran: {}",
        r.stderr
    );
    assert!(!r.stderr.contains("fault of worksample"), "{}", r.stderr);
}

/// A report file committed as a link out of the repository is refused, not written through.
#[test]
fn a_report_file_linked_out_of_the_repository_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = repo(tmp.path(), ONE_TASK);
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "IMPORTANT").expect("write");
    std::fs::create_dir(repo.join("worksample-reports")).expect("mkdir");
    std::os::unix::fs::symlink(&victim, repo.join("worksample-reports/junit.xml"))
        .expect("symlink");
    let r = check(&repo, "worksample-reports");
    assert_refused_before_running(&r, "worksample-reports/junit.xml");
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "IMPORTANT");
}

/// A report folder, or a folder on the way to it, committed as a link is refused: nothing is
/// written where it points.
#[test]
fn a_report_folder_linked_out_of_the_repository_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = repo(tmp.path(), ONE_TASK);
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    std::os::unix::fs::symlink(&elsewhere, repo.join("worksample-reports")).expect("symlink");
    for out in ["worksample-reports", "worksample-reports/deeper"] {
        let r = check(&repo, out);
        assert_refused_before_running(&r, "worksample-reports`");
        assert_eq!(
            std::fs::read_dir(&elsewhere).expect("list").count(),
            0,
            "{out}: nothing written through the link"
        );
    }
}

/// A `worksample.toml` that is a link (to a secret, say) or not a regular file is refused by
/// name, and nothing of what it points to is printed.
#[test]
fn a_manifest_that_is_a_link_or_not_a_file_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let secret = tmp.path().join("secret.env");
    std::fs::write(&secret, "WORKSAMPLE_SECRET=hunter2-do-not-print\n").expect("write");
    let repo = tmp.path().join("repo");
    std::fs::create_dir(&repo).expect("mkdir");
    std::os::unix::fs::symlink(&secret, repo.join("worksample.toml")).expect("symlink");
    let r = check(&repo, "worksample-reports");
    assert_refused_before_running(&r, "`worksample.toml` is a symbolic link");
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    assert!(!repo.join("worksample-reports").exists());

    std::fs::remove_file(repo.join("worksample.toml")).expect("rm");
    std::fs::create_dir(repo.join("worksample.toml")).expect("mkdir");
    let r = check(&repo, "worksample-reports");
    assert_refused_before_running(&r, "`worksample.toml` is not a regular file");
}

/// Every entry is checked before the first runs; the error names the file and the entry.
#[test]
fn every_entry_is_checked_before_any_task_runs() {
    let first =
        "[[task]]\nid = \"series\"\ncommand = [\"sh\", \"-c\", \"sleep 30\", \"{output}\"]\n";
    let cases = [
        (
            "[[task]]\nid = \"seriess\"\ncommand = [\"true\", \"{output}\"]\n",
            "worksample.toml: task 2 (`seriess`): no task `seriess`",
        ),
        (
            "[[task]]\nid = \"deid\"\nprofile = \"Hard\"\ncommand = [\"true\", \"{output}\"]\n",
            "worksample.toml: task 2 (`deid`): no profile `Hard`; profiles: ",
        ),
        (
            "[[task]]\nid = \"deid\"\ntimeout_s = 999999\ncommand = [\"true\", \"{output}\"]\n",
            "worksample.toml: task 2 (`deid`): limits may only be tightened",
        ),
    ];
    for (second, said) in cases {
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = repo(tmp.path(), &format!("{first}\n{second}"));
        let start = Instant::now();
        let r = check(&repo, "worksample-reports");
        assert_refused_before_running(&r, said);
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "task 1 did not run"
        );
    }
}

/// An --out the harness cannot write is refused before any task runs, naming it.
#[test]
fn an_unwritable_report_folder_is_refused_before_any_task_runs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = repo(
        tmp.path(),
        "[[task]]\nid = \"series\"\ncommand = [\"sh\", \"-c\", \"sleep 30\", \"{output}\"]\n",
    );
    std::fs::write(repo.join("a-file"), "x").expect("write");
    let start = Instant::now();
    let r = check(&repo, "a-file/reports");
    assert_refused_before_running(&r, "a-file");
    let r = check(&repo, "/proc/worksample-reports");
    assert_refused_before_running(&r, "/proc/worksample-reports");
    assert!(start.elapsed() < Duration::from_secs(20), "no task ran");
}

/// Line breaks in a command would start lines GitHub reads as workflow commands
/// (`::stop-commands::` mutes the harness's own annotations); each is printed on one line.
#[test]
fn the_candidate_s_command_cannot_forge_workflow_commands() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = repo(
        tmp.path(),
        "[[task]]\nid = \"series\"\ncommand = [\"true\", \"x\\n::notice title=w::100%\\n::stop-commands::s\\u001b[2J\", \"{output}\"]\nsetup = [\"true\", \"\\n::error::forged\"]\n",
    );
    let r = check(&repo, "worksample-reports");
    assert!(r.code == 0 || r.code == 1, "{r:?}");
    for line in r.stderr.lines() {
        assert!(!line.starts_with("::"), "forged command: {line:?}");
        assert!(!line.contains('\u{1b}'), "escape sequence: {line:?}");
    }
    // A setup program that cannot start is named in the failure printed on stderr: one line.
    let spawn = repo_in(
        &tmp.path().join("spawn"),
        "[[task]]\nid = \"series\"\ncommand = [\"true\", \"{output}\"]\nsetup = [\"x\\n::error::forged\"]\n",
    );
    let failed = check(&spawn, "reports");
    assert!(
        failed.stderr.contains("setup for `series` failed"),
        "{}",
        failed.stderr
    );
    for line in failed.stderr.lines() {
        assert!(!line.starts_with("::"), "forged command: {line:?}");
    }
    assert!(
        r.stderr.contains("::stop-commands::"),
        "still shown: {}",
        r.stderr
    );
}

/// A failed setup is a note in the report quoting the last lines of its stderr and saying what
/// the sandboxed setup may not do, and it is printed on stderr too. A setup that cannot start
/// says so, with no empty stderr quote.
#[test]
fn a_failed_setup_is_a_note_with_its_last_stderr_lines() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = repo(
        tmp.path(),
        "[[task]]\nid = \"series\"\ncommand = [\"true\", \"{output}\"]\n\
         setup = [\"sh\", \"-c\", \"echo one >&2; echo two >&2; echo three >&2; echo four >&2; exit 1\"]\n",
    );
    let r = check(&repo, "reports");
    assert!(r.code == 0 || r.code == 1, "graded: {r:?}");
    let json = std::fs::read_to_string(repo.join("reports/report.json")).expect("report.json");
    let reports: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let note = reports[0]["notes"][0].as_str().expect("a note first");
    assert!(note.contains("setup command"), "{note}");
    assert!(note.contains("stderr ends: two / three / four"), "{note}");
    assert!(!note.contains("one /"), "only the last three lines: {note}");
    assert!(note.contains("a private HOME"), "{note}");
    assert!(
        r.stderr
            .contains("setup for `series` failed: the setup command"),
        "{}",
        r.stderr
    );

    let repo = repo_in(
        &tmp.path().join("missing"),
        "[[task]]\nid = \"series\"\ncommand = [\"true\", \"{output}\"]\nsetup = [\"nosuchprog\"]\n",
    );
    let r = check(&repo, "reports");
    assert!(r.code == 0 || r.code == 1, "graded: {r:?}");
    let json = std::fs::read_to_string(repo.join("reports/report.json")).expect("report.json");
    let reports: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let note = reports[0]["notes"][0].as_str().expect("a note first");
    assert!(
        note.starts_with("the setup command `nosuchprog` could not start: "),
        "{note}"
    );
    assert!(!note.contains("stderr ends"), "{note}");
}

/// On hidden fixtures the assessor picks the profile: the repository's `profile` entry is
/// ignored (each task's default, or `--profile`), and the report says what was asked and what
/// was graded. A profile `--profile` names that a task lacks is refused before anything runs.
#[test]
fn hidden_fixtures_use_the_assessor_s_profile_not_the_repository_s() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = repo(
        tmp.path(),
        "[[task]]\nid = \"series\"\nprofile = \"hard\"\ncommand = [\"true\", \"{output}\"]\n",
    );
    let hidden = |extra: &[&str]| {
        run(ws()
            .current_dir(&repo)
            .env("WORKSAMPLE_SECRET", "an assessor's secret of some length")
            .args(["check", "--out", "reports", "--candidate", "cand-7"])
            .args(extra))
    };
    let graded = |r: &Run| -> serde_json::Value {
        assert_eq!(r.code, 0, "{r:?}");
        let text = std::fs::read_to_string(repo.join("reports/report.json")).expect("report");
        let reports: serde_json::Value = serde_json::from_str(&text).expect("json");
        reports[0].clone()
    };

    let report = graded(&hidden(&[]));
    assert_eq!(report["profile"], "standard", "the task's default");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("asks for profile `hard`; graded on `standard`"),
        "{notes}"
    );

    let report = graded(&hidden(&["--profile", "hard"]));
    assert_eq!(report["profile"], "hard");
    assert!(!report["notes"].to_string().contains("asks for profile"));

    let r = hidden(&["--profile", "easy"]);
    assert_refused_before_running(&r, "no profile `easy` (from --profile)");

    // Practice keeps the repository's choice (in a folder of its own: `reports` holds the
    // candidate's, which a practice check does not replace).
    let r = check(&repo, "reports");
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("and this is a practice check"),
        "{}",
        r.stderr
    );
    std::fs::remove_dir_all(repo.join("reports")).expect("rm");
    let r = check(&repo, "reports");
    let report = graded(&r);
    assert_eq!(report["profile"], "hard");
}

/// On hidden fixtures `check` reports to the assessor (findings that name the answer key
/// included, in report.json and the annotations); `--audience candidate` drops those for a job
/// whose logs candidates can read.
#[test]
fn a_hidden_check_for_candidates_drops_the_assessor_only_findings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = env!("CARGO_BIN_EXE_worksample");
    let repo = repo(
        tmp.path(),
        &format!(
            "[[task]]\nid = \"shift\"\ncommand = [\"{bin}\", \"starter\", \"shift\", \"{{input}}\", \"{{output}}\"]\n"
        ),
    );
    let hidden = |extra: &[&str]| {
        let r = run(ws()
            .current_dir(&repo)
            .env("WORKSAMPLE_SECRET", "an assessor's secret of some length")
            .args(["check", "--out", "reports", "--candidate", "cand-7"])
            .args(extra));
        assert_eq!(r.code, 0, "{r:?}");
        let text = std::fs::read_to_string(repo.join("reports/report.json")).expect("report");
        let reports: serde_json::Value = serde_json::from_str(&text).expect("json");
        (r, reports[0].clone())
    };
    let assessor_only = |report: &serde_json::Value| -> Vec<String> {
        report["criteria"]
            .as_array()
            .expect("criteria")
            .iter()
            .flat_map(|c| c["findings"].as_array().cloned().unwrap_or_default())
            .filter(|f| f["visibility"] == "hidden")
            .map(|f| f["message"].as_str().expect("message").to_owned())
            .collect()
    };
    let (_, report) = hidden(&[]);
    assert_eq!(report["audience"], "assessor");
    let held = assessor_only(&report);
    assert!(
        !held.is_empty(),
        "the shift starter's grade names planted causes"
    );
    let (r, report) = hidden(&["--audience", "candidate"]);
    assert_eq!(report["audience"], "candidate");
    assert!(assessor_only(&report).is_empty(), "{report}");
    for message in &held {
        assert!(
            !r.stdout.contains(message.as_str()),
            "{message} in {}",
            r.stdout
        );
    }
}

/// The job summary is appended after what earlier steps wrote; an append that fails part way (a
/// full disk, here the file-size limit) is cut back to where it began, so the earlier steps'
/// summaries stay whole and no broken-off table follows them.
#[test]
fn a_failed_summary_append_leaves_the_earlier_summaries_whole() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = repo(tmp.path(), ONE_TASK);
    let summary = tmp.path().join("summary.md");
    // 600 KiB of an earlier step's summary: the reports stay under the limit, the append does not.
    let earlier = "| an earlier step | its row |\n".repeat(600 * 1024 / 28);
    std::fs::write(&summary, &earlier).expect("write");

    let appended = run(ws()
        .current_dir(&repo)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["check", "--out", "reports"]));
    assert!(appended.code != 2, "{appended:?}");
    let text = std::fs::read_to_string(&summary).expect("read");
    assert!(text.starts_with(&earlier) && text[earlier.len()..].contains("series"));

    std::fs::write(&summary, &earlier).expect("write");
    let limit_kib = earlier.len() / 1024 + 1;
    let cut = run(std::process::Command::new("bash")
        .current_dir(&repo)
        .env("NO_COLOR", "1")
        .env_remove("WORKSAMPLE_SECRET")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args([
            "-c",
            // Ignored, SIGXFSZ turns the write past the limit into an EFBIG error, as ENOSPC is.
            &format!("ulimit -f {limit_kib}; trap '' XFSZ; exec \"$0\" \"$@\""),
            env!("CARGO_BIN_EXE_worksample"),
            "check",
            "--out",
            "reports",
        ]));
    assert_eq!(cut.code, 2, "{cut:?}");
    assert!(
        cut.stderr.contains("failed to append the job summary")
            && cut.stderr.contains("the part written was removed"),
        "{}",
        cut.stderr
    );
    assert_eq!(std::fs::read_to_string(&summary).expect("read"), earlier);
}

/// `check` never replaces another candidate's reports (an assessor checking a cohort into one
/// folder would keep only the last), and `run` never replaces `check`'s.
#[test]
fn check_never_replaces_another_candidate_s_reports() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = repo(tmp.path(), ONE_TASK);
    let secret = "an assessor's secret of some length";
    let hidden = |candidate: &str| {
        run(ws()
            .current_dir(&repo)
            .env("WORKSAMPLE_SECRET", secret)
            .args(["check", "--out", "../shared", "--candidate", candidate]))
    };
    let report = tmp.path().join("shared/report.json");
    let whose = || -> serde_json::Value {
        let text = std::fs::read_to_string(&report).expect("report");
        serde_json::from_str::<serde_json::Value>(&text).expect("json")[0]["candidate"].clone()
    };

    // Practice reports are nobody's evidence: the candidate's hidden check replaces them.
    let practice = run(ws()
        .current_dir(&repo)
        .args(["check", "--out", "../shared"]));
    assert_eq!(practice.code, 0, "{practice:?}");
    let a = hidden("cand-a");
    assert_eq!(a.code, 0, "{a:?}");
    let b = hidden("cand-b");
    assert_refused_before_running(
        &b,
        "holds `worksample check`'s candidate `cand-a`'s reports on `series`, and this is \
         candidate `cand-b`'s check",
    );
    assert_eq!(whose(), "cand-a", "left as it was");
    let again = hidden("cand-a");
    assert_eq!(
        again.code, 0,
        "the same candidate's reports are replaced: {again:?}"
    );

    let r = run(ws().env("WORKSAMPLE_SECRET", secret).args([
        "run",
        "series",
        "--hidden",
        "--candidate",
        "cand-c",
        "--out",
        tmp.path().join("shared").to_str().expect("utf-8"),
        "--format",
        "json,markdown",
        "--",
        "true",
        "{output}",
    ]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("holds `worksample check`'s candidate `cand-a`'s reports"),
        "{}",
        r.stderr
    );
    assert_eq!(whose(), "cand-a");
}

/// A job summary that is a FIFO is refused before any task runs: opening it would wait for a
/// reader for ever.
#[test]
fn a_summary_that_is_a_fifo_is_refused_at_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = repo(tmp.path(), ONE_TASK);
    let fifo = tmp.path().join("summary");
    crate::support::mkfifo(&fifo);
    let start = Instant::now();
    let r = run(ws()
        .current_dir(&repo)
        .env("GITHUB_STEP_SUMMARY", &fifo)
        .args(["check", "--out", "reports"]));
    assert_refused_before_running(&r, "cannot append the job summary");
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    assert!(start.elapsed() < Duration::from_secs(20));

    // A pipe the harness already writes to is taken: `/dev/stdout` while stdout is piped.
    let r = run(ws()
        .current_dir(&repo)
        .env("GITHUB_STEP_SUMMARY", "/dev/stdout")
        .args(["check", "--out", "reports"]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("series"), "{}", r.stdout);
    assert!(
        r.stdout.contains("| "),
        "the Markdown summary: {}",
        r.stdout
    );
}

/// A command that crashed leads the annotations, with its exit code and last line on stderr;
/// the criteria its unusable output left ungraded are one annotation, so the criterion holding
/// the findings is still among them; JUnit carries the run as an error testcase; and the
/// report's first note says how the command ended.
#[test]
fn a_crashed_command_leads_the_annotations_and_the_notes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = repo(
        tmp.path(),
        "[[task]]\nid = \"series\"\ncommand = [\"sh\", \"-c\", \"echo Traceback >&2; \
         echo 'ModuleNotFoundError: No module named pydicom' >&2; exit 3\", \"{output}\"]\n",
    );
    let r = check(&repo, "reports");
    assert!(r.code == 0 || r.code == 1, "graded: {r:?}");
    let annotations: Vec<&str> = r.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert!(
        annotations[0].starts_with("::error title=series%3A the command failed::the command exited with code 3; its last line on stderr: `ModuleNotFoundError: No module named pydicom`"),
        "{annotations:#?}"
    );
    assert_eq!(
        annotations
            .iter()
            .filter(|a| a.contains("not graded"))
            .count(),
        2,
        "the first criterion with the findings, then the rest as one: {annotations:#?}"
    );
    assert!(
        annotations.iter().any(|a| a.contains(" criteria%3A -")
            && a.contains("its findings are under the first criterion")),
        "{annotations:#?}"
    );
    let junit = std::fs::read_to_string(repo.join("reports/junit.xml")).expect("junit.xml");
    assert!(
        junit.contains("<testcase classname=\"series\" name=\"run\"")
            && junit.contains("completed: exited with code 3\" type=\"nonzero_exit\""),
        "{junit}"
    );
    let json = std::fs::read_to_string(repo.join("reports/report.json")).expect("report.json");
    let reports: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let note = reports[0]["notes"][0].as_str().expect("a note first");
    assert!(
        note.starts_with(
            "the command exited with code 3; its last line on stderr: `ModuleNotFoundError"
        ),
        "{note}"
    );
}

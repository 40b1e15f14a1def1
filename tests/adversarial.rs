//! Hostile submissions (fixtures/adversarial/*.sh), each run through `worksample run` as a
//! candidate's command: every one must end in its expected outcome, within its limit plus a few
//! seconds, with exit 0 and a complete report — a candidate's failure is graded, never a crash.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{run, ws};

const SECRET: &str = "adversarial-secret-value-0123456789";

struct Case {
    name: &'static str,
    /// The task the submission is for, and how many criteria its report lists.
    task: (&'static str, usize),
    status: &'static str,
    /// Extra flags for `worksample run`.
    flags: &'static [&'static str],
    /// What else must hold, given the report and the kept output folder.
    check: fn(&serde_json::Value, &Path),
}

fn notes(r: &serde_json::Value) -> String {
    r["notes"].to_string()
}

fn no_check(_: &serde_json::Value, _: &Path) {}

fn unread_output(r: &serde_json::Value, _: &Path) {
    assert_eq!(r["total"]["points"], 0.0);
    assert!(notes(r).contains("volumes.json"), "{}", notes(r));
}

const SERIES: (&str, usize) = ("series", 7);
const DEID: (&str, usize) = ("deid", 23);

const CASES: &[Case] = &[
    Case {
        task: SERIES,
        name: "infinite-loop",
        status: "timed_out",
        flags: &["--timeout", "2"],
        check: no_check,
    },
    Case {
        task: SERIES,
        name: "grandchild",
        status: "completed",
        flags: &[],
        check: |_, out| {
            let pid = std::fs::read_to_string(out.join("daemon.pid")).expect("pid written");
            let alive = std::fs::read_to_string(format!("/proc/{}/comm", pid.trim()))
                .is_ok_and(|c| c.trim() == "sleep");
            assert!(!alive, "the daemon {pid} outlived the run");
        },
    },
    Case {
        task: SERIES,
        name: "fork-bomb",
        status: "process_limit",
        flags: &[],
        check: no_check,
    },
    Case {
        task: SERIES,
        name: "stdout-flood",
        status: "output_limit",
        flags: &[],
        check: |r, _| {
            let tail = r["run"]["stdout_tail"].as_str().expect("tail").len();
            assert!(tail <= 64 * 1024, "captured tail is bounded: {tail}");
            assert!(r["run"]["stdout_bytes"].as_u64().expect("bytes") >= 16 << 20);
        },
    },
    Case {
        task: SERIES,
        name: "memory-hog",
        status: "memory_limit",
        flags: &["--memory", "256"],
        check: no_check,
    },
    Case {
        task: SERIES,
        name: "symlink-dev-zero",
        status: "completed",
        flags: &[],
        check: |r, out| {
            unread_output(r, out);
            assert!(notes(r).contains("symbolic link"), "{}", notes(r));
        },
    },
    Case {
        task: SERIES,
        name: "symlink-outside",
        status: "completed",
        flags: &[],
        check: unread_output,
    },
    Case {
        task: SERIES,
        name: "path-traversal",
        status: "completed",
        flags: &[],
        check: |r, _| assert!(r["total"]["percent"].as_f64().expect("percent") < 5.0),
    },
    Case {
        task: SERIES,
        name: "huge-json",
        status: "completed",
        flags: &[],
        check: |r, out| {
            unread_output(r, out);
            assert!(notes(r).contains("cap hit"), "{}", notes(r));
        },
    },
    Case {
        task: SERIES,
        name: "deep-json",
        status: "completed",
        flags: &[],
        check: |r, out| {
            unread_output(r, out);
            // Refused for its size in values before the parser's recursion limit is reached.
            let said = notes(r);
            assert!(
                said.contains("recursion limit") || said.contains("grader's cap"),
                "{said}"
            );
        },
    },
    Case {
        task: SERIES,
        name: "nan-and-huge-numbers",
        status: "completed",
        flags: &[],
        check: unread_output,
    },
    Case {
        task: SERIES,
        name: "non-utf8-names",
        status: "completed",
        flags: &[],
        check: no_check,
    },
    Case {
        task: SERIES,
        name: "many-files",
        status: "completed",
        flags: &[],
        check: no_check,
    },
    Case {
        task: SERIES,
        name: "deletes-input",
        status: "completed",
        flags: &[],
        check: |r, out| {
            // As an unprivileged user it cannot (a root harness demotes the candidate); as the
            // harness's own user it can. Either way grading uses the harness's copy.
            let left: usize = std::fs::read_to_string(out.join("left.txt"))
                .expect("written")
                .trim()
                .parse()
                .expect("a count");
            // `/proc/self` belongs to the effective uid of the process looking at it.
            let root = std::os::unix::fs::MetadataExt::uid(
                &std::fs::metadata("/proc/self").expect("procfs"),
            ) == 0;
            if root {
                assert!(left > 0, "the input was deleted");
            }
            // What it managed to delete is said, and regenerated for grading.
            assert_eq!(
                notes(r).contains("was changed after generation"),
                left == 0,
                "{}",
                notes(r)
            );
            // Graded against the harness's own copy: every file is still known to the grader.
            let coverage = &r["criteria"][0];
            assert_eq!(coverage["id"], "coverage");
            assert!(
                coverage["summary"]
                    .as_str()
                    .expect("summary")
                    .contains("0 of "),
                "{coverage}"
            );
        },
    },
    Case {
        task: SERIES,
        name: "writes-outside",
        status: "completed",
        flags: &[],
        check: |r, out| {
            // The input is read-only: neither the manifest nor a new file got in.
            for f in ["manifest-written.txt", "input-written.txt"] {
                let said = std::fs::read_to_string(out.join(f)).expect("written");
                assert_eq!(said.trim(), "no", "{f}");
            }
            // No trusted copy of the fixtures sits beside the input while the command runs.
            let read = std::fs::read_to_string(out.join("trusted-read.txt")).expect("written");
            assert_eq!(read.trim(), "no", "trusted copy readable");
            // What it wrote beside its output, in HOME and in TMPDIR went with the run's
            // private folder.
            let places = std::fs::read_to_string(out.join("where.txt")).expect("written");
            for place in places.lines() {
                assert!(!Path::new(place).exists(), "{place} outlived the run");
            }
            // Graded normally against the harness's own fixtures.
            assert_eq!(r["criteria"][0]["id"], "coverage");
            assert!(r["total"]["points"].is_number());
        },
    },
    Case {
        task: DEID,
        name: "hostile-dicom",
        status: "completed",
        flags: &[],
        check: |r, _| {
            let hygiene = r["criteria"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["id"] == "hygiene"))
                .expect("hygiene is graded");
            assert!(
                hygiene["points"].as_f64() < hygiene["max_points"].as_f64(),
                "{hygiene}"
            );
            let text = hygiene.to_string();
            for file in ["zero.dcm", "truncated.dcm", "huge-length.dcm", "deep.dcm"] {
                assert!(text.contains(file), "{file} is not named: {text}");
            }
        },
    },
    Case {
        task: SERIES,
        name: "reads-environment",
        status: "completed",
        flags: &[],
        check: |_, out| {
            for f in ["env.txt", "environ.bin"] {
                let bytes = std::fs::read(out.join(f)).unwrap_or_default();
                let hit = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
                assert!(!hit, "the secret reached the candidate in {f}");
                assert!(
                    !String::from_utf8_lossy(&bytes).contains("WORKSAMPLE_"),
                    "{f}"
                );
            }
            assert!(out.join("env.txt").is_file());
        },
    },
];

/// Adds `run TASK --seed 1 --format json --keep-output OUT FLAGS… -- sh SCRIPT {input} {output}`.
fn run_script(cmd: &mut Command, task: &str, flags: &[&str], out: &Path, script: &Path) {
    cmd.args([
        "run",
        task,
        "--seed",
        "1",
        "--format",
        "json",
        "--keep-output",
    ])
    .arg(out)
    .args(flags)
    .args(["--", "sh"])
    .arg(script)
    .args(["{input}", "{output}"]);
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/adversarial")
        .join(format!("{name}.sh"))
}

#[test]
fn every_hostile_submission_gets_its_outcome_and_a_complete_report() {
    let mut seen: Vec<String> = std::fs::read_dir(fixture("x").parent().expect("dir"))
        .expect("fixtures/adversarial")
        .map(|e| {
            e.expect("entry")
                .path()
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    seen.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.name.to_owned()).collect();
    listed.sort();
    assert_eq!(
        seen, listed,
        "every fixture has a row in the table, and every row a fixture"
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    for case in CASES {
        let out = tmp.path().join(case.name);
        let script = fixture(case.name);
        let mut cmd = ws();
        cmd.env("WORKSAMPLE_SECRET", SECRET);
        run_script(&mut cmd, case.task.0, case.flags, &out, &script);
        let started = Instant::now();
        let r = run(&mut cmd);
        let took = started.elapsed();
        assert_eq!(r.code, 0, "{}: {}", case.name, r.stderr);
        let report: serde_json::Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{}: no JSON report ({e}): {}", case.name, r.stderr));
        assert_eq!(
            report["run"]["status"], case.status,
            "{}: {}",
            case.name, report["run"]
        );
        assert_eq!(
            report["criteria"].as_array().map(Vec::len),
            Some(case.task.1),
            "{}",
            case.name
        );
        // The task's own limit is 300 s; the cases that hit a limit do so in seconds.
        assert!(
            took < Duration::from_secs(60),
            "{} took {took:?}",
            case.name
        );
        (case.check)(&report, &out);
    }
}

/// A harness that is not root cannot demote its candidate, so a command running as the
/// harness's own user can delete its input; grading must then use fixtures generated afresh and
/// say so. The table's `deletes-input` row covers this when the tests are not root; as root,
/// this test drops the harness itself to the unprivileged user with `setpriv`.
#[test]
fn a_non_root_harness_grades_a_deleted_input_against_fresh_fixtures() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if std::fs::metadata("/proc/self").expect("procfs").uid() != 0 {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let out = tmp.path().join("out");
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_worksample"))
        .env("TMPDIR", tmp.path())
        .env("HOME", tmp.path())
        .env_remove("WORKSAMPLE_SECRET");
    run_script(&mut cmd, "series", &[], &out, &fixture("deletes-input"));
    let r = run(&mut cmd);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("a JSON report");
    let left = std::fs::read_to_string(out.join("left.txt")).expect("written");
    assert_eq!(
        left.trim(),
        "0",
        "as the harness's own user it deletes its input"
    );
    assert!(
        notes(&report).contains("was changed after generation"),
        "{}",
        notes(&report)
    );
    let coverage = &report["criteria"][0];
    assert!(
        coverage["summary"]
            .as_str()
            .expect("summary")
            .contains("0 of "),
        "graded against every fixture file: {coverage}"
    );
}

//! Fixtures manifests: `grade` trusts only the manifest, and checks even that.

use std::path::Path;

use crate::support::{generate, run, ws, ws_run};

fn grade(fixtures: &Path, submission: &Path) -> crate::support::Run {
    ws_run(&[
        "grade",
        "series",
        "--fixtures",
        fixtures.to_str().expect("utf-8"),
        "--submission",
        submission.to_str().expect("utf-8"),
        "--format",
        "json",
    ])
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("worksample.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("manifest")).expect("json");
    edit(&mut m);
    std::fs::write(&path, m.to_string()).expect("write manifest");
}

#[test]
fn an_empty_submission_is_graded_zero_with_exit_0() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fx, sub) = (tmp.path().join("in"), tmp.path().join("out"));
    generate(5, &fx);
    std::fs::create_dir(&sub).expect("mkdir");
    let r = grade(&fx, &sub);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(report["total"]["points"], 0.0);
    assert_eq!(report["run"]["status"], "not_run");
    assert!(
        !report["notes"].as_array().expect("notes").is_empty(),
        "says what is missing"
    );
}

/// A fixtures folder changed after generation is graded against a fresh copy, and the note
/// names what changed: the first paths edited, added and removed.
#[test]
fn changed_fixtures_are_named_in_the_note() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fx, sub) = (tmp.path().join("in"), tmp.path().join("out"));
    generate(5, &fx);
    std::fs::create_dir(&sub).expect("mkdir");
    let mut dicom: Vec<String> = walk(&fx)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "worksample.json"))
        .map(|p| p.strip_prefix(&fx).expect("inside").display().to_string())
        .collect();
    dicom.sort();
    let (edited, removed) = (&dicom[0], &dicom[1]);
    let bytes = std::fs::read(fx.join(edited)).expect("read");
    std::fs::write(fx.join(edited), &bytes[..bytes.len() / 2]).expect("truncate");
    std::fs::remove_file(fx.join(removed)).expect("remove");
    std::fs::write(fx.join("extra.dcm"), b"not a fixture").expect("add");
    let r = grade(&fx, &sub);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let notes = report["notes"].to_string();
    for said in [
        format!("edited `{edited}`"),
        "added `extra.dcm`".to_owned(),
        format!("removed `{removed}`"),
    ] {
        assert!(notes.contains(&said), "{said}: {notes}");
    }
}

/// A link left in a fixtures folder is named in the note, not called "an entry".
#[test]
fn a_link_in_changed_fixtures_is_named_in_the_note() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fx, sub) = (tmp.path().join("in"), tmp.path().join("out"));
    generate(5, &fx);
    std::fs::create_dir(&sub).expect("mkdir");
    std::os::unix::fs::symlink("/etc/hostname", fx.join("planted.dcm")).expect("symlink");
    let r = grade(&fx, &sub);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let notes = report["notes"].to_string();
    assert!(notes.contains("`planted.dcm`"), "{notes}");
}

#[test]
fn tampered_manifests_exit_2_naming_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sub = tmp.path().join("out");
    std::fs::create_dir(&sub).expect("mkdir");
    type Edit = fn(&mut serde_json::Value);
    let cases: [(&str, Edit, &str); 6] = [
        (
            "seed",
            |m| m["seed"]["value"] = 6.into(),
            "does not describe the fixtures",
        ),
        ("version", |m| m["task_version"] = 999.into(), "version 999"),
        ("task", |m| m["task"] = "deid".into(), "not `series`"),
        (
            "unknown field",
            |m| m["answers"] = serde_json::json!({}),
            "unknown field",
        ),
        ("file count", |m| m["files"] = 5.into(), "records 5 files"),
        ("byte count", |m| m["bytes"] = 3.into(), "of 3 bytes"),
    ];
    for (name, edit, expected) in cases {
        let fx = tmp.path().join(name);
        generate(5, &fx);
        edit_manifest(&fx, edit);
        let r = grade(&fx, &sub);
        assert_eq!(r.code, 2, "{name}: {r:?}");
        assert!(r.stderr.contains("worksample.json"), "{name}: {}", r.stderr);
        assert!(r.stderr.contains(expected), "{name}: {}", r.stderr);
    }
    let fx = tmp.path().join("garbage");
    generate(5, &fx);
    std::fs::write(fx.join("worksample.json"), "{ not json").expect("write");
    assert_eq!(grade(&fx, &sub).code, 2);
}

#[test]
fn hidden_seeds_need_the_right_secret_and_never_reach_disk() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fx, sub) = (tmp.path().join("in"), tmp.path().join("out"));
    std::fs::create_dir(&sub).expect("mkdir");
    let secret = "s3cret-s3cret-s3cret-s3cret";
    let r = run(ws().env("WORKSAMPLE_SECRET", secret).args([
        "generate",
        "series",
        "--hidden",
        "--candidate",
        "cand-7",
        "--out",
        fx.to_str().expect("utf-8"),
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains(secret));

    let args = [
        "grade",
        "series",
        "--fixtures",
        fx.to_str().expect("utf-8"),
        "--submission",
        sub.to_str().expect("utf-8"),
        "--format",
        "json",
    ];
    let r = ws_run(&args);
    assert_eq!(r.code, 2, "no secret: {r:?}");
    let r = run(ws()
        .env("WORKSAMPLE_SECRET", "another-secret-entirely")
        .args(args));
    assert_eq!(r.code, 2, "wrong secret: {r:?}");
    assert!(r.stderr.contains("commitment"), "{}", r.stderr);
    let r = run(ws().env("WORKSAMPLE_SECRET", secret).args(args));
    assert_eq!(r.code, 0, "{r:?}");
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(report["seed"]["kind"], "hidden");
    assert_eq!(report["candidate"], "cand-7");
    assert_eq!(report["audience"], "assessor");

    // Neither the secret nor anything but the commitment is written under the fixtures.
    let manifest = std::fs::read_to_string(fx.join("worksample.json")).expect("manifest");
    let m: serde_json::Value = serde_json::from_str(&manifest).expect("json");
    assert!(m["seed"].get("value").is_none(), "{manifest}");
    for entry in walk(&fx) {
        let bytes = std::fs::read(&entry).expect("read");
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "secret found in {}",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

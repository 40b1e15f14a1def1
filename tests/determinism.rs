//! Generation and grading are pure functions of the seed: one thread or two give byte-identical
//! fixtures and identical reports, and nothing but the commitment of a hidden seed is written.

use std::path::Path;

use crate::support::{run, ws};

fn generate(out: &Path, threads: &str, seed: &str) -> serde_json::Value {
    let r = run(ws().env("RAYON_NUM_THREADS", threads).args([
        "generate",
        "series",
        "--profile",
        "hard",
        "--seed",
        seed,
        "--out",
        out.to_str().expect("utf-8"),
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    serde_json::from_str(&std::fs::read_to_string(out.join("worksample.json")).expect("manifest"))
        .expect("json")
}

fn grade(fixtures: &Path, submission: &Path, threads: &str) -> String {
    let r = run(ws().env("RAYON_NUM_THREADS", threads).args([
        "grade",
        "series",
        "--fixtures",
        fixtures.to_str().expect("utf-8"),
        "--submission",
        submission.to_str().expect("utf-8"),
        "--format",
        "json",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    r.stdout
}

#[test]
fn one_thread_or_two_give_the_same_fixtures_and_reports() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    let m1 = generate(&one, "1", "11");
    let m2 = generate(&two, "2", "11");
    assert_eq!(m1, m2, "manifests (and so the fixtures digest) agree");
    assert!(m1["files"].as_u64().expect("files") >= 1000);
    let other = generate(&tmp.path().join("other"), "2", "12");
    assert_ne!(
        m1["fixtures_digest"], other["fixtures_digest"],
        "another seed, other fixtures"
    );

    // A real submission to grade: the built-in starter's output on these fixtures.
    let sub = tmp.path().join("sub");
    let r = run(ws().args(["starter", "series"]).arg(&one).arg(&sub));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(grade(&one, &sub, "1"), grade(&two, &sub, "2"));
}

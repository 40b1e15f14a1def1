//! The candidate kit holds briefs, practice fixtures, starters and CI files — and never an answer
//! key, a reference solution or a hidden seed, whatever the environment of the assessor who made it.

use std::path::{Path, PathBuf};

use crate::support::{run, ws};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Lines of the reference solutions (test code that must never ship) that the starters do not
/// share with them: boilerplate such as walking a folder is in both and proves nothing.
fn reference_lines() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let starters: String = files(&root.join("tasks/series/kit"))
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("starter"))
        .collect();
    let mut sources = vec![root.join("tests/python/series_reference.py")];
    sources.extend(files(&root.join("crates/worksample-series/tests/common")));
    let mut lines = Vec::new();
    for s in sources {
        let text = std::fs::read_to_string(&s).expect("reference source");
        lines.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| l.len() >= 40 && !l.starts_with("//") && !l.starts_with('#'))
                .filter(|l| !starters.contains(l))
                .map(str::to_owned),
        );
    }
    assert!(
        lines.len() > 20,
        "found the reference solutions to compare with"
    );
    lines
}

#[test]
fn a_kit_has_what_a_candidate_needs_and_nothing_an_assessor_keeps() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let kit = tmp.path().join("kit");
    let secret = "assessor-secret-that-must-not-leak";
    let r = run(ws().env("WORKSAMPLE_SECRET", secret).args([
        "kit",
        "--out",
        kit.to_str().expect("utf-8"),
        "--seed",
        "5",
    ]));
    assert_eq!(r.code, 0, "{r:?}");

    for needed in [
        "README.md",
        "worksample.toml",
        "requirements.txt",
        ".github/workflows/worksample.yml",
        ".gitlab-ci.yml",
        "build-solutions.sh",
        "series/brief.md",
        "series/output.schema.json",
        "series/python/solve.py",
        "series/rust/Cargo.toml",
        "series/rust/src/main.rs",
        "series/practice/worksample.json",
    ] {
        assert!(kit.join(needed).is_file(), "{needed} is in the kit");
    }
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(kit.join("series/practice/worksample.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(
        manifest["seed"],
        serde_json::json!({"kind": "public", "value": 5})
    );

    let reference = reference_lines();
    let all = files(&kit);
    assert!(all.len() > 300, "practice fixtures included: {}", all.len());
    for f in &all {
        let name = f.to_string_lossy().to_lowercase();
        assert!(!name.contains("answer") && !name.contains("key"), "{name}");
        let bytes = std::fs::read(f).expect("read");
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is in {}",
            f.display()
        );
        if let Ok(text) = std::str::from_utf8(&bytes) {
            for line in &reference {
                assert!(
                    !text.contains(line.as_str()),
                    "{} holds reference code: {line}",
                    f.display()
                );
            }
        }
    }
}

#[test]
fn the_kit_refuses_a_non_empty_folder_and_unknown_tasks() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("mine.txt"), "keep me").expect("write");
    let r = run(ws().args(["kit", "--out", tmp.path().to_str().expect("utf-8")]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("not empty"), "{}", r.stderr);
    let r = run(ws().args([
        "kit",
        "--out",
        tmp.path().join("k").to_str().expect("utf-8"),
        "nosuch",
    ]));
    assert_eq!(r.code, 2, "{r:?}");
    // A task named twice is refused before anything is written.
    let twice = tmp.path().join("twice");
    let r = run(ws().args([
        "kit",
        "--out",
        twice.to_str().expect("utf-8"),
        "series",
        "series",
    ]));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("`series` is named twice"), "{}", r.stderr);
    assert!(!twice.exists(), "nothing written");
}

/// `kit --profile` makes the practice fixtures of that profile and writes it into each entry of
/// worksample.toml, so the candidate practises on what they will be graded on.
#[test]
fn a_kit_can_be_made_for_the_profile_graded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let kit = tmp.path().join("kit");
    let r = run(ws().args([
        "kit",
        "--out",
        kit.to_str().expect("utf-8"),
        "--profile",
        "hard",
        "series",
    ]));
    assert_eq!(r.code, 0, "{r:?}");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(kit.join("series/practice/worksample.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["profile"], "hard");
    let toml = std::fs::read_to_string(kit.join("worksample.toml")).expect("toml");
    assert!(
        toml.contains("id = \"series\"\nprofile = \"hard\"\n"),
        "{toml}"
    );
    let readme = std::fs::read_to_string(kit.join("README.md")).expect("README");
    assert!(
        readme.contains("worksample run TASK --profile hard --seed 7")
            && readme.contains("worksample generate TASK --profile hard --seed 7"),
        "{readme}"
    );
}

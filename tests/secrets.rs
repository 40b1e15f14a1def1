//! No secret on disk: a hidden-seed run with `WORKSAMPLE_SECRET` set, whose candidate lists and
//! copies every file it can reach (the harness's temp folder included), must leave neither the
//! secret, nor the hidden seed it derives (decimal, hex or raw bytes), nor a dump of the answer
//! key in the report folder, the kept output, or the temp folders the harness used.

use std::path::{Path, PathBuf};

use worksample_series::SeriesTask;
use worksample_task::{CandidateId, Secret, SeedSource, Task, TaskData, TaskId};

use crate::support::{run, ws};

const SECRET: &str = "secrets-test-secret-4f9a1c7e2b";
const CANDIDATE: &str = "alice";

/// Every regular file under `dir`, symbolic links not followed (a candidate may plant them).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => files_under(&path, out),
            Ok(m) if m.is_file() => out.push(path),
            Ok(_) | Err(_) => {}
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Each needle, with the files it was found in.
fn scan(roots: &[&Path], needles: &[(String, Vec<u8>)]) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    for root in roots {
        files_under(root, &mut files);
    }
    let mut hits = Vec::new();
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        for (name, needle) in needles {
            if contains(&bytes, needle) {
                hits.push((name.clone(), file.clone()));
            }
        }
    }
    hits
}

#[test]
fn a_hidden_run_writes_no_secret_seed_or_key_anywhere() {
    let test = tempfile::tempdir().expect("tempdir");
    let tmp = test.path().join("tmp");
    let report = test.path().join("report");
    let kept = test.path().join("kept");
    std::fs::create_dir(&tmp).expect("tmp folder");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/secrets/lists-files.sh");
    let r = run(ws()
        .env("WORKSAMPLE_SECRET", SECRET)
        .env("TMPDIR", &tmp)
        .args(["run", "series", "--hidden", "--candidate", CANDIDATE])
        .args([
            "--format", "json", "--format", "markdown", "--format", "html",
        ])
        .arg("--out")
        .arg(&report)
        .arg("--keep-output")
        .arg(&kept)
        .args(["--", "sh"])
        .arg(&script)
        .args(["{input}", "{output}"])
        .arg(&tmp));
    assert_eq!(r.code, 0, "the run completes: {}", r.stderr);

    // The seed the harness derived, recomputed from the same inputs.
    let data = TaskData::from_embedded("series", &SeriesTask.embedded()).expect("task data");
    let resolved = SeedSource::Hidden {
        candidate: CandidateId::new(CANDIDATE).expect("candidate id"),
        secret: Secret::from_env_value(Some(SECRET)).expect("long enough"),
    }
    .resolve(
        &TaskId::new("series").expect("task id"),
        data.spec.version,
        &data.spec.default_profile,
    );
    let seed = resolved.seed.0;
    let worksample_task::PublicSeed::Hidden { commitment, .. } = resolved.public else {
        panic!("a hidden seed source resolves to a hidden public seed");
    };

    let text = |s: String| s.into_bytes();
    let mut needles: Vec<(String, Vec<u8>)> = vec![
        ("the secret".into(), text(SECRET.into())),
        ("the seed in decimal".into(), text(seed.to_string())),
        ("the seed in hex".into(), text(format!("{seed:x}"))),
        (
            "the seed in padded hex".into(),
            text(format!("{seed:016x}")),
        ),
        (
            "the seed in upper-case hex".into(),
            text(format!("{seed:X}")),
        ),
        (
            "the seed as big-endian bytes".into(),
            seed.to_be_bytes().to_vec(),
        ),
        (
            "the seed as little-endian bytes".into(),
            seed.to_le_bytes().to_vec(),
        ),
    ];
    // A dump of the answer key (Debug or serde) names its types and fields.
    for telltale in [
        "InstanceTruth",
        "FileTruth",
        "VolumeTruth",
        "GeometryTruth",
        "TrapTruth",
        "duplicate_reason",
    ] {
        needles.push((format!("the key's `{telltale}`"), text(telltale.into())));
    }
    let hits = scan(&[&report, &kept, &tmp], &needles);
    assert!(hits.is_empty(), "found on disk: {hits:#?}");

    // The scan reads what it should: the report carries the commitment, and the candidate's
    // listing and copies were kept.
    let reported = scan(&[&report], &[("commitment".into(), text(commitment))]);
    assert!(
        !reported.is_empty(),
        "the report names the seed's commitment"
    );
    for f in ["env.txt", "listing.txt", "copied/everything.bin"] {
        assert!(kept.join(f).is_file(), "the candidate wrote {f}");
    }
}

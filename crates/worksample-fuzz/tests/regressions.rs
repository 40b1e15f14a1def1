//! Inputs the fuzzers found that broke an invariant, kept in `fixtures/fuzz/regressions/` and
//! replayed through the entry point they broke.

use std::io::Read;
use std::path::Path;

use worksample_task::submission::{Caps, read_json};

fn regression(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/fuzz/regressions")
        .join(name);
    let file = std::fs::File::open(&path).expect("the regression input is checked in");
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .expect("it decompresses");
    bytes
}

/// A 3 MiB `volumes.json` of a million nested one-element arrays: well under the 32 MiB byte
/// cap, yet parsing it took 440 MiB of heap. It must now be refused before parsing, by the
/// value cap, naming it.
#[test]
fn series_json_value_amplification_is_refused_before_parsing() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("volumes.json"),
        regression("series-json-value-amplification.json.gz"),
    )
    .expect("write");
    let err = read_json::<serde_json::Value>(dir.path(), "volumes.json", &Caps::default())
        .expect_err("refused");
    assert!(
        err.to_string().contains("over the grader's cap of"),
        "{err}"
    );
}

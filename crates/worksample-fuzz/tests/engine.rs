//! The fuzzer binary end to end: a clean run saves its corpus and exits 0; an input that breaks
//! the memory cap is caught by the supervisor, saved with its reason, and fails the run.

#![expect(
    clippy::disallowed_methods,
    reason = "these tests spawn the fuzzer's own binary"
)]

use std::process::Command;

fn fuzz(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_worksample-fuzz"))
        .args(args)
        .output()
        .expect("the fuzzer starts");
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_clean_run_reports_its_figures_and_keeps_its_corpus() {
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path().join("checkfile");
    let (code, stdout) = fuzz(&["checkfile", "2", "--dir", work.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("crashes 0, hangs 0, faults 0"), "{stdout}");
    assert!(!stdout.contains(" 0 executions"), "{stdout}");
    let kept = std::fs::read_dir(work.join("corpus"))
        .expect("corpus")
        .count();
    assert!(kept > 0, "new behaviours are saved");
}

#[test]
fn an_input_over_the_memory_cap_is_saved_with_its_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path().join("checkfile");
    let (code, stdout) = fuzz(&[
        "checkfile",
        "2",
        "--dir",
        work.to_str().expect("utf-8"),
        "--memory-mb",
        "0",
    ]);
    assert_ne!(code, 0, "{stdout}");
    let notes: Vec<String> = std::fs::read_dir(work.join("crashes"))
        .expect("crashes folder")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("memory-") && n.ends_with(".txt"))
        .collect();
    assert!(!notes.is_empty(), "a memory crash is saved");
    let note = std::fs::read_to_string(work.join("crashes").join(&notes[0])).expect("note");
    assert!(note.contains("memory allocation of"), "{note}");
    let input = work.join("crashes").join(notes[0].replace(".txt", ".bin"));
    assert!(input.is_file(), "the input is saved beside its note");
}

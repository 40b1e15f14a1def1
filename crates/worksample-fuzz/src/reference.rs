//! The tasks' Rust reference solutions, compiled in from their crates' test support so the
//! `deid-maps` and `shift-json` targets are seeded with what a correct candidate writes for the
//! fixture they grade against, not with hand-written guesses. They run once, at setup, on
//! fixtures the fuzzer generated itself.

/// The `deid` reference de-identifier (`deidentify`, `Flaws`).
#[path = "../../worksample-deid/tests/support/reference.rs"]
pub mod deid;

/// The `shift` test support; only `reference` (the reference report and predictions) is used.
#[expect(
    dead_code,
    reason = "the shift test support also holds grading helpers only its own tests call"
)]
#[path = "../../worksample-shift/tests/common/mod.rs"]
pub mod shift;

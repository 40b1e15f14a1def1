//! End-to-end tests of the `worksample` binary: one test target, one module per area.

#![expect(
    clippy::disallowed_methods,
    reason = "end-to-end tests spawn the binary under test and set its environment"
)]

/// Running the binary and reading what it printed.
mod support;

/// Hostile submissions from fixtures/adversarial/: each gets its outcome and a complete report.
mod adversarial;
/// `check` in a candidate's repository: links refused, entries checked first, no injection.
mod check;
/// `demo` and `--tasks-dir`: the main job and an assessor's edited task data.
mod demo;
/// Same seed, same bytes and same report, whatever the thread count.
mod determinism;
/// Exit codes 0–3, usage errors, and `--help`.
mod exit_codes;
/// `--format html` and `cohort`: the assessor's page and the cohort comparison.
mod html;
/// `kit`: what a candidate receives, and what it must never contain.
mod kit;
/// `generate` / `grade` manifests: tampering, versions, hidden seeds.
mod manifest;
/// What a new user's first runs and usual slips print: results on stdout, next steps in errors.
mod new_user;
/// A hidden run leaves no secret, hidden seed or answer key on disk.
mod secrets;

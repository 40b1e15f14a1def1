//! Every environment variable worksample reads, declared once. Only the settings step reads
//! them; libraries get values passed in.

#![expect(
    clippy::disallowed_methods,
    reason = "this module is the one place that reads the environment"
)]

/// The assessor's secret for hidden seeds. Never passed to candidate code.
pub(crate) const SECRET: &str = "WORKSAMPLE_SECRET";
/// Disables colour when set to anything non-empty (https://no-color.org).
pub(crate) const NO_COLOR: &str = "NO_COLOR";

/// Where GitHub Actions collects the job summary (Markdown, appended).
pub(crate) const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";

/// Where temporary folders go (read by the standard library's `temp_dir`).
pub(crate) const TMPDIR: &str = "TMPDIR";

/// The folder temporary folders are made in: `$TMPDIR`, or the system's default.
pub(crate) fn temp_dir() -> std::path::PathBuf {
    std::env::temp_dir()
}

/// The value of a variable, if set and valid UTF-8.
pub(crate) fn get(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Whether colour is allowed by the environment.
pub(crate) fn color_allowed() -> bool {
    get(NO_COLOR).is_none_or(|v| v.is_empty())
}

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

/// The value of a variable, if set and valid UTF-8.
pub(crate) fn get(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Whether colour is allowed by the environment.
pub(crate) fn color_allowed() -> bool {
    get(NO_COLOR).is_none_or(|v| v.is_empty())
}

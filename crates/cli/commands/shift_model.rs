//! `worksample shift-model`: runs the `shift` task's deployed model P0, or P0 under a pipeline
//! configuration, on every DICOM file of a folder and writes the predictions as JSON. Candidates
//! use it to see what P0 does and to check a corrected configuration before submitting it.

use std::path::PathBuf;

use anyhow::Context as _;
use worksample_shift::{Config, ConfigError, run_folder};

use crate::exit::{CliError, Outcome};

/// Run the shift task's model P0 (or a corrected configuration of it) on a folder.
#[derive(clap::Args, Debug)]
pub(crate) struct ShiftModelArgs {
    /// Pipeline configuration (JSON, tasks/shift brief §P0); without it, P0 as deployed.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Write the JSON here instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Folder of DICOM files (searched recursively; other files are skipped).
    dir: PathBuf,
}

pub(crate) fn run(a: &ShiftModelArgs) -> Result<Outcome, CliError> {
    let config = match &a.config {
        None => Config::p0(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("failed to read `{}`", path.display()))
                .map_err(CliError::usage)?;
            Config::from_json(&text).map_err(|e| {
                let blame = match e {
                    ConfigError::Schema(_) => CliError::internal,
                    _ => CliError::usage,
                };
                blame(anyhow::Error::new(e).context(format!("`{}`", path.display())))
            })?
        }
    };
    let results = run_folder(&config, &a.dir).map_err(CliError::usage)?;
    let doc = serde_json::json!({
        "schema": "worksample.shift-model/v1",
        "config": config,
        "predictions": results,
    });
    let mut text = serde_json::to_string_pretty(&doc)
        .context("failed to encode the predictions")
        .map_err(CliError::internal)?;
    text.push('\n');
    match &a.out {
        None => crate::output::print_stdout(&text)?,
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("failed to write `{}`", path.display()))
                .map_err(CliError::usage)?;
            crate::output::print_stdout(&format!(
                "wrote {} prediction(s) to {}\n",
                results.len(),
                path.display()
            ))?;
        }
    }
    Ok(Outcome::Ok)
}

//! Running the model over a folder: every DICOM file under it (recursively, in sorted path
//! order), one prediction or one error each. This is what `worksample shift-model` prints and
//! what a candidate's own pipeline is checked against.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::config::Config;
use crate::model::{Prediction, predict};
use crate::slice::Slice;

/// The outcome for one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileResult {
    /// Path relative to the folder, `/`-separated.
    pub file: String,
    /// SOP Instance UID, when the file could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sop_instance_uid: Option<String>,
    /// The prediction, when the file could be read.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Prediction>,
    /// Why the file could not be scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why a folder could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("failed to list `{}`: {source}", path.display())]
pub struct FolderError {
    /// The folder or entry.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// Regular files under `dir`, recursively, sorted by relative path; files whose name starts
/// with `.` and `worksample.json` are skipped. Symbolic links are not followed.
pub fn list_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, FolderError> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| FolderError {
            path: d.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| FolderError {
                path: d.clone(),
                source,
            })?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().map_err(|source| FolderError {
                path: path.clone(),
                source,
            })?;
            if name.starts_with('.') || name == "worksample.json" {
                continue;
            }
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Runs `config` on every DICOM file under `dir`; non-DICOM files (CSV, JSON) are skipped.
pub fn run_folder(config: &Config, dir: &Path) -> Result<Vec<FileResult>, FolderError> {
    let files: Vec<(String, PathBuf)> = list_files(dir)?
        .into_iter()
        .filter(|(_, p)| worksample_dicom::read::is_dicom(p))
        .collect();
    Ok(files
        .par_iter()
        .map(|(rel, path)| match Slice::read(path) {
            Ok(slice) => FileResult {
                file: rel.clone(),
                sop_instance_uid: Some(slice.sop_instance_uid.clone()),
                prediction: Some(predict(config, &slice)),
                error: None,
            },
            Err(e) => FileResult {
                file: rel.clone(),
                sop_instance_uid: None,
                prediction: None,
                error: Some(e.to_string()),
            },
        })
        .collect())
}

//! The naive starter solution shipped in the binary: group by Series Instance UID, sort by
//! InstanceNumber, exclude only files that do not decode, take geometry from the first file.
//!
//! It is the baseline the research calls "naive" (research/series.md §4.5: expected around
//! 40–55): it runs, writes a valid `volumes.json`, and falls into most traps. The same logic in
//! Python is tasks/series/kit/python/solve.py (shipped in the candidate kit).

use std::collections::BTreeMap;
use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use worksample_dicom::read::{ReadLimits, read_header};
use worksample_task::fixture_files;

use crate::output::{
    Excluded, ExclusionReason, Geometry, InstanceRef, OUTPUT_FILE, Output, SCHEMA_VERSION, Volume,
};

/// Why the starter could not run.
#[derive(Debug, thiserror::Error)]
pub enum StarterError {
    /// Listing the input or writing the output failed.
    #[error("{action} `{}`", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Every regular file under `input` (links not followed), as sorted POSIX paths relative to it,
/// without the harness manifest.
pub fn list_files(input: &Path) -> Result<Vec<String>, StarterError> {
    let files = fixture_files(input).map_err(|e| StarterError::Io {
        action: "failed to list",
        path: e.path,
        source: e.source,
    })?;
    Ok(files.into_iter().map(|(rel, _)| rel).collect())
}

/// The text of an attribute, trimmed of DICOM padding; `None` when absent or empty.
pub fn text(ds: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let v = ds.get(tag)?.to_str().ok()?;
    let v = v.trim_matches(|c: char| c == '\0' || c == ' ').to_owned();
    (!v.is_empty()).then_some(v)
}

/// The numbers of a DS/IS/FD attribute; `None` when absent, empty or not numeric.
pub fn numbers(ds: &InMemDicomObject, tag: dicom_core::Tag) -> Option<Vec<f64>> {
    let v = ds.get(tag)?.to_multi_float64().ok()?;
    (!v.is_empty() && v.iter().all(|x| x.is_finite())).then_some(v)
}

/// Runs the naive solution on `input`, writing `output/volumes.json`.
pub fn run(input: &Path, output: &Path) -> Result<(), StarterError> {
    let limits = ReadLimits::default();
    let mut groups: BTreeMap<String, Vec<(i64, String, InMemDicomObject)>> = BTreeMap::new();
    let mut excluded = Vec::new();
    for rel in list_files(input)? {
        match read_header(&input.join(&rel), &limits) {
            Ok(file) => {
                let ds = file.dataset;
                let uid = text(&ds, tags::SERIES_INSTANCE_UID).unwrap_or_default();
                let number = numbers(&ds, tags::INSTANCE_NUMBER)
                    .and_then(|v| v.first().copied())
                    .map_or(i64::MAX, |n| n as i64);
                groups.entry(uid).or_default().push((number, rel, ds));
            }
            Err(e) => excluded.push(Excluded {
                file: rel,
                reason: ExclusionReason::Unreadable,
                duplicate_of: None,
                detail: Some(e.to_string()),
            }),
        }
    }
    let mut volumes = Vec::new();
    for (i, (uid, mut files)) in groups.into_iter().enumerate() {
        files.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let first = &files[0].2;
        let fixed = |tag, n: usize, default: &[f64]| -> Vec<f64> {
            numbers(first, tag)
                .filter(|v| v.len() == n)
                .unwrap_or_else(|| default.to_vec())
        };
        let iop = fixed(
            tags::IMAGE_ORIENTATION_PATIENT,
            6,
            &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        );
        let ps = fixed(tags::PIXEL_SPACING, 2, &[1.0, 1.0]);
        let ipp = fixed(tags::IMAGE_POSITION_PATIENT, 3, &[0.0, 0.0, 0.0]);
        let int = |tag| {
            numbers(first, tag)
                .and_then(|v| v.first().copied())
                .map_or(1, |v| v.max(1.0) as u32)
        };
        let spacing = numbers(first, tags::SPACING_BETWEEN_SLICES)
            .or_else(|| numbers(first, tags::SLICE_THICKNESS))
            .and_then(|v| v.first().copied())
            .filter(|_| files.len() > 1);
        volumes.push(Volume {
            id: format!("series_{}", i + 1),
            series_instance_uid: (!uid.is_empty()).then_some(uid),
            split_by: None,
            instances: files
                .iter()
                .map(|f| InstanceRef::file(f.1.clone()))
                .collect(),
            geometry: Geometry {
                image_orientation_patient: [iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]],
                rows: int(tags::ROWS),
                columns: int(tags::COLUMNS),
                pixel_spacing_mm: [ps[0], ps[1]],
                slice_spacing_mm: spacing,
                first_position_mm: [ipp[0], ipp[1], ipp[2]],
                regular: true,
            },
            anomalies: Vec::new(),
        });
    }
    let out = Output {
        schema_version: SCHEMA_VERSION.to_owned(),
        volumes,
        excluded,
    };
    write_output(output, &out)
}

/// Writes `out` as `output/volumes.json`, creating the folder.
pub fn write_output(output: &Path, out: &Output) -> Result<(), StarterError> {
    std::fs::create_dir_all(output).map_err(|source| StarterError::Io {
        action: "failed to create",
        path: output.to_path_buf(),
        source,
    })?;
    let path = output.join(OUTPUT_FILE);
    let json = serde_json::to_vec_pretty(out).expect("plain structs always serialise");
    std::fs::write(&path, json).map_err(|source| StarterError::Io {
        action: "failed to write",
        path,
        source,
    })
}

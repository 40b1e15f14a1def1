//! The naive starter of the worksample `series` task, in Rust (dicom-rs).
//!
//! Usage: solve INPUT OUTPUT
//!
//! Groups files by SeriesInstanceUID, sorts each group by InstanceNumber, excludes only files that
//! do not open, and copies geometry from the first file of each group. It runs and writes a valid
//! volumes.json, and falls into most of the task's traps: improve it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use serde_json::{Value, json};

fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            list_files(root, &path, out)?;
        } else if kind.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            if rel != "worksample.json" {
                out.push(rel);
            }
        }
    }
    Ok(())
}

fn text(obj: &InMemDicomObject, tag: dicom_object::Tag) -> Option<String> {
    obj.element(tag).ok()?.to_str().ok().map(|s| s.trim().to_owned())
}

fn numbers(obj: &InMemDicomObject, tag: dicom_object::Tag, n: usize, default: &[f64]) -> Vec<f64> {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_multi_float64().ok())
        .filter(|v| v.len() == n)
        .unwrap_or_else(|| default.to_vec())
}

/// A file without the Part 10 header (no preamble, no file meta): read as a bare data set in
/// implicit, then explicit VR little endian, and kept when its SOP Class UID looks like one
/// (as the Python starter's `force=True` read does).
fn read_bare(path: &Path) -> Option<InMemDicomObject> {
    use dicom_transfer_syntax_registry::entries::{EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN};
    let bytes = std::fs::read(path).ok()?;
    [IMPLICIT_VR_LITTLE_ENDIAN.erased(), EXPLICIT_VR_LITTLE_ENDIAN.erased()]
        .iter()
        .filter_map(|ts| InMemDicomObject::read_dataset_with_ts(bytes.as_slice(), ts).ok())
        .find(|obj| {
            text(obj, tags::SOP_CLASS_UID)
                .is_some_and(|u| !u.is_empty() && u.chars().all(|c| c.is_ascii_digit() || c == '.'))
        })
}

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: solve INPUT OUTPUT");
        std::process::exit(2);
    };
    let mut files = Vec::new();
    if let Err(e) = list_files(input, input, &mut files) {
        eprintln!("cannot list {}: {e}", input.display());
        std::process::exit(1);
    }
    files.sort();

    let mut groups: BTreeMap<String, Vec<(i64, String, InMemDicomObject)>> = BTreeMap::new();
    let mut excluded = Vec::new();
    for rel in files {
        let opened = OpenFileOptions::new()
            .read_until(tags::PIXEL_DATA)
            .open_file(input.join(&rel));
        let obj = match opened {
            Ok(file) => Some(file.into_inner()),
            Err(_) => read_bare(&input.join(&rel)),
        };
        match obj {
            Some(obj) => {
                let uid = text(&obj, tags::SERIES_INSTANCE_UID).unwrap_or_default();
                let number = text(&obj, tags::INSTANCE_NUMBER)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(i64::MAX);
                groups.entry(uid).or_default().push((number, rel, obj));
            }
            None => excluded.push(json!({"file": rel, "reason": "unreadable"})),
        }
    }

    let mut volumes = Vec::new();
    for (i, (uid, mut members)) in groups.into_iter().enumerate() {
        members.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let first = &members[0].2;
        let spacing = [tags::SPACING_BETWEEN_SLICES, tags::SLICE_THICKNESS]
            .into_iter()
            .find_map(|t| text(first, t).and_then(|s| s.parse::<f64>().ok()));
        let rows = text(first, tags::ROWS).and_then(|s| s.parse::<u32>().ok()).unwrap_or(1).max(1);
        let columns = text(first, tags::COLUMNS).and_then(|s| s.parse::<u32>().ok()).unwrap_or(1).max(1);
        volumes.push(json!({
            "id": format!("series_{}", i + 1),
            "series_instance_uid": if uid.is_empty() { Value::Null } else { Value::from(uid) },
            "instances": members.iter().map(|m| json!({"file": m.1})).collect::<Vec<_>>(),
            "geometry": {
                "image_orientation_patient": numbers(first, tags::IMAGE_ORIENTATION_PATIENT, 6, &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
                "rows": rows,
                "columns": columns,
                "pixel_spacing_mm": numbers(first, tags::PIXEL_SPACING, 2, &[1.0, 1.0]),
                "slice_spacing_mm": if members.len() > 1 { spacing.map(Value::from).unwrap_or(Value::Null) } else { Value::Null },
                "first_position_mm": numbers(first, tags::IMAGE_POSITION_PATIENT, 3, &[0.0, 0.0, 0.0]),
                "regular": true,
            },
            "anomalies": [],
        }));
    }
    let doc = json!({"schema_version": "1.0", "volumes": volumes, "excluded": excluded});
    let written = std::fs::create_dir_all(output)
        .and_then(|()| std::fs::write(output.join("volumes.json"), doc.to_string()));
    if let Err(e) = written {
        eprintln!("cannot write {}: {e}", output.join("volumes.json").display());
        std::process::exit(1);
    }
}

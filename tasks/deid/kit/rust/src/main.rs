//! The naive starter of the worksample `deid` task, in Rust (dicom-rs).
//!
//! Usage: solve INPUT OUTPUT
//!
//! Copies every DICOM file to the same relative path under OUTPUT and empties Patient's Name and
//! Patient ID at the top level. That is all: identifiers inside sequences, private attributes,
//! UIDs, dates, burned-in pixels, file names, the markers and the two maps are left for you. It
//! runs and scores low: improve it (read brief.md and ps3.15-table-e1-1-2024b.csv).

use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;

fn copy_tree(root: &Path, dir: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(root, &path, out)?;
            continue;
        }
        let rel = path.strip_prefix(root)?;
        if !kind.is_file() || rel == Path::new("worksample.json") {
            continue;
        }
        let mut obj = OpenFileOptions::new()
            .open_file(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // Table E.1-1 says Z for both, at every depth; this only does the top level.
        obj.put(DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::Empty));
        obj.put(DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::Empty));
        let target = out.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        obj.write_to_file(&target)
            .map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: solve INPUT OUTPUT");
        return std::process::ExitCode::from(2);
    }
    let (input, output) = (Path::new(&args[1]), Path::new(&args[2]));
    match copy_tree(input, input, output) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("solve: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

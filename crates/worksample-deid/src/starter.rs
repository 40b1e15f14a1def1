//! The naive starter solution of the `deid` task shipped in the binary: it copies every file to
//! the same relative path and blanks Patient's Name and Patient ID at the top level, nothing
//! else — no sequences, no UIDs, no dates, no private attributes, no pixels, no markers, no maps.
//!
//! It is the baseline of tasks/deid/brief.md that `demo` shows: it runs and writes one Part 10
//! file per input, but nearly every planted identifier survives, so the score is low but not
//! zero. The same logic ships to candidates as tasks/deid/kit/python/solve.py and
//! tasks/deid/kit/rust/src/main.rs.

use std::path::{Path, PathBuf};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use worksample_task::fixture_files;

/// Why the starter could not run. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum StarterError {
    /// Listing the input or writing the output failed.
    #[error("{action} `{}`", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An input file is not a DICOM Part 10 file.
    #[error("failed to read `{}` as DICOM", path.display())]
    Read {
        /// The input file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dicom_object::ReadError>,
    },
    /// An output file could not be written.
    #[error("failed to write `{}`", path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dicom_object::WriteError>,
    },
}

/// Copies every DICOM file under `input` to the same relative path under `output` with
/// Patient's Name and Patient ID emptied at the top level.
pub fn run(input: &Path, output: &Path) -> Result<(), StarterError> {
    let files = fixture_files(input).map_err(|e| StarterError::Io {
        action: "failed to list",
        path: e.path,
        source: e.source,
    })?;
    for (rel, path) in files {
        let mut obj = OpenFileOptions::new()
            .open_file(&path)
            .map_err(|e| StarterError::Read {
                path: path.clone(),
                source: Box::new(e),
            })?;
        // Only the two most obvious attributes, at the top level only (Table E.1-1 says Z for
        // both, and much more for everything else).
        for tag in [tags::PATIENT_NAME, tags::PATIENT_ID] {
            if obj.get(tag).is_some() {
                let vr = if tag == tags::PATIENT_NAME {
                    VR::PN
                } else {
                    VR::LO
                };
                obj.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
            }
        }
        let target = output.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| StarterError::Io {
                action: "failed to create",
                path: parent.to_path_buf(),
                source: e,
            })?;
        }
        obj.write_to_file(&target)
            .map_err(|e| StarterError::Write {
                path: target.clone(),
                source: Box::new(e),
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use dicom_core::value::DataSetSequence;
    use dicom_dictionary_std::uids;
    use dicom_object::InMemDicomObject;
    use dicom_object::meta::FileMetaTableBuilder;
    use worksample_task::MANIFEST_FILE as MANIFEST;

    use super::*;

    struct Dir(PathBuf);

    impl Dir {
        fn new(label: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("deid-starter-{}-{label}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).expect("temp dir");
            Dir(path)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn put(obj: &mut InMemDicomObject, tag: dicom_core::Tag, vr: VR, value: &str) {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    }

    #[test]
    fn starter_blanks_top_level_names_and_leaks_the_rest() {
        let input = Dir::new("in");
        let output = Dir::new("out");
        let mut o = InMemDicomObject::new_empty();
        put(
            &mut o,
            tags::SOP_CLASS_UID,
            VR::UI,
            "1.2.840.10008.5.1.4.1.1.7",
        );
        put(
            &mut o,
            tags::SOP_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.10.55.1",
        );
        put(&mut o, tags::PATIENT_NAME, VR::PN, "QXVORAK^ZELDINA");
        put(&mut o, tags::PATIENT_ID, VR::LO, "PIDALPHA01");
        put(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, "19710304");
        let mut nested = InMemDicomObject::new_empty();
        put(&mut nested, tags::PATIENT_NAME, VR::PN, "QXVORAK^ZELDINA");
        o.put(DataElement::new(
            tags::REQUEST_ATTRIBUTES_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![nested]),
        ));
        let meta = FileMetaTableBuilder::new()
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
            .media_storage_sop_instance_uid("1.2.826.0.1.3680043.10.55.1")
            .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .build()
            .expect("meta");
        let rel = "QXVORAK_ZELDINA/PIDALPHA01/1.dcm";
        std::fs::create_dir_all(input.0.join("QXVORAK_ZELDINA/PIDALPHA01")).expect("dir");
        o.with_exact_meta(meta)
            .write_to_file(input.0.join(rel))
            .expect("write");
        std::fs::write(input.0.join(MANIFEST), "{}").expect("manifest");

        run(&input.0, &output.0).expect("starter runs");

        assert!(
            !output.0.join(MANIFEST).exists(),
            "the manifest is not copied"
        );
        let out = OpenFileOptions::new()
            .open_file(output.0.join(rel))
            .expect("same relative path, identifiers and all");
        let text = |tag| {
            out.element(tag)
                .expect("present")
                .to_str()
                .expect("text")
                .trim()
                .to_owned()
        };
        assert_eq!(text(tags::PATIENT_NAME), "");
        assert_eq!(text(tags::PATIENT_ID), "");
        assert_eq!(text(tags::PATIENT_BIRTH_DATE), "19710304");
        assert_eq!(text(tags::SOP_INSTANCE_UID), "1.2.826.0.1.3680043.10.55.1");
        let bytes = std::fs::read(output.0.join(rel)).expect("read");
        assert!(
            bytes.windows(7).any(|w| w == b"QXVORAK"),
            "the nested name survives"
        );
    }
}

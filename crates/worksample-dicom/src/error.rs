//! The crate's error type for building and writing DICOM.

use std::path::PathBuf;

/// Why an instance could not be encoded or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DicomError {
    /// SOP Class UID or SOP Instance UID is missing or empty; dicom-rs would otherwise write an
    /// empty Media Storage UID into the meta group without complaint.
    #[error("instance has no {attribute}: cannot build its file meta group")]
    MissingSopUid {
        /// "SOP Class UID" or "SOP Instance UID".
        attribute: &'static str,
    },
    /// Building the file meta group failed.
    #[error("failed to build the file meta group of instance `{sop_instance_uid}`")]
    Meta {
        /// The instance.
        sop_instance_uid: String,
        /// dicom-rs's reason.
        #[source]
        source: Box<dicom_object::meta::Error>,
    },
    /// Encoding the data set failed.
    #[error("failed to encode instance `{sop_instance_uid}` as {transfer_syntax}")]
    Encode {
        /// The instance.
        sop_instance_uid: String,
        /// The transfer syntax's name.
        transfer_syntax: &'static str,
        /// dicom-rs's reason.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The pixels do not fit the RLE encoder.
    #[error("failed to rle-encode the pixels of instance `{sop_instance_uid}`")]
    Rle {
        /// The instance.
        sop_instance_uid: String,
        /// The encoder's reason.
        #[source]
        source: crate::rle::RleError,
    },
    /// Creating a directory or writing a file failed.
    #[error("failed to write `{path}`")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O reason.
        #[source]
        source: std::io::Error,
    },
    /// Encoding the instance meant for `path` failed.
    #[error("failed to encode `{path}`")]
    File {
        /// The file that was to be written.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<DicomError>,
    },
    /// A synthesis spec asked for something impossible.
    #[error("invalid synthesis spec: {reason}")]
    InvalidSpec {
        /// What is wrong.
        reason: String,
    },
}

//! Deterministic synthetic DICOM for worksample.
//!
//! A seed and a spec give byte-identical files on every run and thread count: patients, studies
//! and series ([`model`]) with realistic identities ([`identity`]) and geometry ([`geometry`]),
//! built into CT, MR, DX, CR and SC datasets ([`model::build_instance`]) that a task may edit,
//! then written in five transfer syntaxes ([`write`]). The crate also reads candidate files
//! tolerantly and within caps ([`read`]), renders a semantic dump for snapshots ([`dump`]) and
//! windowed PNG thumbnails for assessors' reports ([`preview`]).
//!
//! ```no_run
//! use worksample_dicom::{model::Modality, synth::{SynthSpec, synthesize}};
//! let spec = SynthSpec::new(42, Modality::Ct);
//! let summary = synthesize(&spec, std::path::Path::new("out"), &|_, _| {})?;
//! assert_eq!(summary.files, 16);
//! # Ok::<(), worksample_dicom::DicomError>(())
//! ```

pub mod dump;
mod error;
pub mod geometry;
pub mod identity;
mod iod;
pub mod model;
pub mod pixel;
pub mod preview;
pub mod private;
pub mod read;
pub mod rle;
pub mod rng;
pub mod synth;
pub mod uid;
pub mod write;

pub use error::DicomError;
pub use iod::photometric_name;
pub use model::Instance;

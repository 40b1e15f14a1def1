//! The answer key of one `deid` fixture set: what the generator planted and where, held in
//! memory only (the harness regenerates it from the seed; it never touches disk).
//!
//! The grader reads the original files from the trusted fixture copy for everything the files
//! themselves say (attribute values, UIDs, references, pixels); the key carries only what the
//! files cannot say: which values are planted identifiers, which are decoys that must survive,
//! which files carry burned-in text, and the fingerprint by which an output file is matched back
//! to its input without trusting the candidate's maps (research/deid.md §2.2: MIDI-B matches by
//! the candidate's UID map, which a wrong map defeats).

use crate::params::ObjectKind;
use crate::paths::AttrPath;
use crate::planted::Registry;

/// The answer key.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// Every planted identifier with its class and sites.
    pub registry: Registry,
    /// The patients, in generation order; [`FileKey::patient`] indexes this.
    pub patients: Vec<PatientKey>,
    /// Every fixture file (the harness manifest excluded), sorted by path.
    pub files: Vec<FileKey>,
    /// Values that look identifying but are not, and must survive unchanged (research/deid.md
    /// §4.1, decoys: over-scrubbing costs utility).
    pub decoys: Vec<Decoy>,
}

/// One patient as planted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientKey {
    /// Patient ID (0010,0020) as written.
    pub patient_id: String,
    /// Patient's Name (0010,0010) as written, every component group.
    pub name: String,
    /// Other Patient IDs planted for this patient (in Other Patient IDs Sequence).
    pub other_ids: Vec<String>,
    /// Patient's Birth Date as written (DA).
    pub birth_date: String,
    /// Study Instance UIDs of this patient's studies, in generation order.
    pub study_uids: Vec<String>,
    /// Accession numbers, one per study, same order.
    pub accession_numbers: Vec<String>,
}

/// One fixture file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileKey {
    /// Path relative to the fixture folder, `/`-separated (may contain planted identifiers).
    pub path: String,
    /// What kind of object it is.
    pub kind: ObjectKind,
    /// Index into [`Key::patients`].
    pub patient: usize,
    /// SOP Class UID (never changes).
    pub sop_class_uid: String,
    /// Original SOP Instance UID.
    pub sop_instance_uid: String,
    /// How an output file is matched to this one.
    pub fingerprint: Fingerprint,
    /// Whether the image carries burned-in text in the band of tasks/deid/brief.md question 7
    /// (Burned In Annotation YES).
    pub burned_in: bool,
}

/// How an output file is recognised as the de-identified form of an input file, by content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fingerprint {
    /// Images: SHA-256 of the Pixel Data bytes of every row from ⌈Rows / 8⌉ on (outside the
    /// burned-in band, which a correct solution leaves byte-identical; the generator makes these
    /// unique across the set). For multi-frame images, those rows of every frame, in order.
    PixelRows {
        /// The digest.
        sha256: [u8; 32],
    },
    /// Objects without pixels (SR, KOS, presentation state, RT structure set): an attribute
    /// the profile keeps unchanged whose value the generator made unique across the set.
    Attribute {
        /// Where it is.
        path: AttrPath,
        /// Its value, as the string form of the element.
        value: String,
    },
}

/// A value that must survive de-identification unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoy {
    /// The file, relative to the fixture folder.
    pub file: String,
    /// The attribute.
    pub path: AttrPath,
    /// The value as written.
    pub value: String,
    /// Why it looks identifying but is not, for findings, e.g. `manufacturer model named like a
    /// person`.
    pub why: String,
}

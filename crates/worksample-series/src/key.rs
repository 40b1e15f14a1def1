//! The answer key: per-file truth (which canonical instance a file holds, or why it is excluded),
//! the true volumes with their order, geometry and expected flags, and the planted traps.
//!
//! The key lives in memory only (it is regenerated from the seed to grade). Canonical instances
//! follow research/series.md §4.4: two files holding the same SOP Instance UID (a byte copy), or
//! the same position with identical pixels (an "either-one" pair), map to one instance, so
//! keeping either copy is equally right.

use std::collections::BTreeMap;

use worksample_task::rubric::PngImage;

use crate::output::{AnomalyKind, ExclusionReason};

/// Index of a canonical instance in [`Key::instances`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceId(pub usize);

/// Index of a true volume in [`Key::volumes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VolumeId(pub usize);

/// What one file of the input is.
#[derive(Debug, Clone, PartialEq)]
pub enum FileTruth {
    /// A copy of a canonical image instance that belongs in a volume.
    Image(InstanceId),
    /// A file that belongs in no volume; any of `reasons` earns full credit.
    Junk {
        /// Acceptable exclusion reasons, best first.
        reasons: Vec<ExclusionReason>,
    },
}

/// One canonical image instance.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceTruth {
    /// Its volume.
    pub volume: VolumeId,
    /// 0-based rank along ascending IPP · (row × col).
    pub rank: usize,
    /// The files holding it (more than one for a planted duplicate), sorted.
    pub files: Vec<String>,
    /// For a duplicate group: the reason the extra copies should carry.
    pub duplicate_reason: Option<ExclusionReason>,
}

/// The expected geometry of a volume.
#[derive(Debug, Clone, PartialEq)]
pub struct GeometryTruth {
    /// Image Orientation (Patient).
    pub iop: [f64; 6],
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub columns: u32,
    /// Pixel Spacing, [row, column] mm.
    pub pixel_spacing: [f64; 2],
    /// Nominal (modal) spacing along the normal; `None` for one-instance volumes.
    pub slice_spacing: Option<f64>,
    /// IPP of the rank-0 instance.
    pub first_position: [f64; 3],
    /// IPP of every instance, by rank: `first_position_mm` is the IPP of the first instance in
    /// the candidate's order, whichever that is.
    pub positions: Vec<[f64; 3]>,
    /// Whether the stack is regular.
    pub regular: bool,
}

/// Where an expected flag sits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Locator {
    /// The flag carries no locator.
    None,
    /// The two instances across a gap, stored lower rank first.
    Between(InstanceId, InstanceId),
    /// A tilt angle in degrees; ±1° matches.
    Angle(f64),
}

/// An expected anomaly flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlagTruth {
    /// Which anomaly.
    pub kind: AnomalyKind,
    /// Where.
    pub locator: Locator,
}

/// One true volume.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeTruth {
    /// A readable name, e.g. `ct_axial`, used in findings.
    pub name: String,
    /// Members in true order.
    pub instances: Vec<InstanceId>,
    /// Geometry.
    pub geometry: GeometryTruth,
    /// Expected flags.
    pub flags: Vec<FlagTruth>,
}

/// What a planted trap needs to count as handled.
#[derive(Debug, Clone, PartialEq)]
pub enum TrapCheck {
    /// Every listed volume exactly grouped, exactly ordered, flagged exactly as expected.
    Volumes(Vec<VolumeId>),
    /// Every listed junk file excluded with an acceptable reason.
    Excluded(Vec<String>),
    /// The duplicate groups of these instances: one copy in its volume, the others excluded
    /// with the expected reason.
    Duplicates(Vec<InstanceId>),
    /// These files' instances are placed in their true volumes.
    Included(Vec<String>),
    /// These files, all in sub-folders: every depth of them is reached (some file at each depth
    /// is listed), and the row says which are not accounted for exactly once.
    Accounted(Vec<String>),
}

/// A planted trap.
#[derive(Debug, Clone, PartialEq)]
pub struct TrapTruth {
    /// The research id, e.g. `T2` (research/series.md §4.2).
    pub id: &'static str,
    /// What was planted, in a few words.
    pub label: String,
    /// How to tell it was handled.
    pub check: TrapCheck,
}

/// The answer key of one fixture folder.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Key {
    /// Every file of the input by POSIX path relative to it (the manifest excluded).
    pub files: BTreeMap<String, FileTruth>,
    /// Canonical image instances.
    pub instances: Vec<InstanceTruth>,
    /// True volumes.
    pub volumes: Vec<VolumeTruth>,
    /// Planted traps, in planting order.
    pub traps: Vec<TrapTruth>,
    /// Thumbnails of the first file of every instance, by path, drawn while the fixtures were
    /// generated for a grade that shows figures ([`Figures::Draw`]); empty otherwise. A file
    /// without one here is read back to draw it.
    ///
    /// [`Figures::Draw`]: worksample_task::Figures::Draw
    pub thumbnails: BTreeMap<String, PngImage>,
}

impl Key {
    /// The canonical instance a file holds, if it is an image.
    pub fn instance_of(&self, file: &str) -> Option<InstanceId> {
        match self.files.get(file)? {
            FileTruth::Image(id) => Some(*id),
            FileTruth::Junk { .. } => None,
        }
    }

    /// A short readable label of an instance for findings: its first file.
    pub fn label(&self, id: InstanceId) -> &str {
        self.instances[id.0]
            .files
            .first()
            .map_or("?", String::as_str)
    }

    /// Number of image files (copies included).
    pub fn image_files(&self) -> usize {
        self.files
            .values()
            .filter(|f| matches!(f, FileTruth::Image(_)))
            .count()
    }
}

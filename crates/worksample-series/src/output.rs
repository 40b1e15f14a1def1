//! The candidate's output, `volumes.json`, as typed serde structs that mirror
//! `tasks/series/output.schema.json` field for field (`deny_unknown_fields` everywhere), and the
//! closed vocabularies of anomalies and exclusion reasons.
//!
//! The starter and the reference solutions write these types; the grader reads them after the
//! schema check in [`crate::schema`] has passed.

use serde::{Deserialize, Serialize};

/// The output file name inside the candidate's output folder.
pub const OUTPUT_FILE: &str = "volumes.json";

/// The only schema version this task accepts.
pub const SCHEMA_VERSION: &str = "1.0";

/// The whole output file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: String,
    /// The assembled volumes.
    pub volumes: Vec<Volume>,
    /// Files that belong to no volume, with why.
    pub excluded: Vec<Excluded>,
}

/// A reference to one instance: a file relative to the input folder, and its frame for
/// multi-frame objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceRef {
    /// POSIX path relative to the input folder.
    pub file: String,
    /// 1-based frame number, for multi-frame objects only.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "json_integer::optional"
    )]
    pub frame: Option<u32>,
}

impl InstanceRef {
    /// A single-frame instance.
    pub fn file(file: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            frame: None,
        }
    }
}

/// One volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// The candidate's name for it.
    pub id: String,
    /// Series Instance UID, or null when the instances have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_instance_uid: Option<String>,
    /// Informative: keywords used to split this volume out of its series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_by: Option<Vec<String>>,
    /// Instances in ascending order along the slice normal.
    pub instances: Vec<InstanceRef>,
    /// Geometry of the stack.
    pub geometry: Geometry,
    /// What is wrong with it.
    pub anomalies: Vec<Anomaly>,
}

/// Geometry of a volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Geometry {
    /// Image Orientation (Patient): row cosines then column cosines.
    pub image_orientation_patient: [f64; 6],
    /// Rows (0028,0010).
    #[serde(deserialize_with = "json_integer::required")]
    pub rows: u32,
    /// Columns (0028,0011).
    #[serde(deserialize_with = "json_integer::required")]
    pub columns: u32,
    /// Pixel Spacing, DICOM order: [row spacing, column spacing], mm.
    pub pixel_spacing_mm: [f64; 2],
    /// Nominal distance between adjacent slices along the normal; null for one instance.
    pub slice_spacing_mm: Option<f64>,
    /// Image Position (Patient) of the first instance in output order.
    pub first_position_mm: [f64; 3],
    /// Every gap equals the nominal spacing and the stack runs along the normal.
    pub regular: bool,
}

/// The closed vocabulary of volume anomalies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// ImageType value 3 is LOCALIZER.
    Localizer,
    /// A gap that is an integer multiple (≥ 2) of the nominal spacing.
    MissingSlice,
    /// The start of a run of gaps that differ from the nominal spacing and are not multiples.
    IrregularSpacing,
    /// The stack runs oblique to the slice normal.
    GantryTilt,
    /// InstanceNumber is neither ascending nor descending along the spatial order.
    InstanceNumberNotSpatial,
    /// The instances have no Series Instance UID.
    MissingSeriesUid,
    /// Anything else; never scored.
    Other,
}

impl AnomalyKind {
    /// Every kind.
    pub const ALL: [AnomalyKind; 7] = [
        AnomalyKind::Localizer,
        AnomalyKind::MissingSlice,
        AnomalyKind::IrregularSpacing,
        AnomalyKind::GantryTilt,
        AnomalyKind::InstanceNumberNotSpatial,
        AnomalyKind::MissingSeriesUid,
        AnomalyKind::Other,
    ];

    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::Localizer => "localizer",
            AnomalyKind::MissingSlice => "missing_slice",
            AnomalyKind::IrregularSpacing => "irregular_spacing",
            AnomalyKind::GantryTilt => "gantry_tilt",
            AnomalyKind::InstanceNumberNotSpatial => "instance_number_not_spatial",
            AnomalyKind::MissingSeriesUid => "missing_series_uid",
            AnomalyKind::Other => "other",
        }
    }
}

/// One anomaly flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anomaly {
    /// Which anomaly.
    #[serde(rename = "type")]
    pub kind: AnomalyKind,
    /// For missing_slice and irregular_spacing: the instances on either side of the gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between: Option<[InstanceRef; 2]>,
    /// For gantry_tilt: the tilt in degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub angle_deg: Option<f64>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Anomaly {
    /// A flag without locator.
    pub fn plain(kind: AnomalyKind) -> Self {
        Self {
            kind,
            between: None,
            angle_deg: None,
            detail: None,
        }
    }
}

/// The closed vocabulary of exclusion reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    /// Not a DICOM file.
    NotDicom,
    /// A DICOMDIR (Media Storage Directory, PS3.10 §8).
    Dicomdir,
    /// DICOM without Pixel Data (a report, a presentation state).
    NoPixelData,
    /// Another copy of an instance already in a volume (same SOP Instance UID).
    DuplicateInstance,
    /// Another image at an occupied position of the same volume, with identical pixel data.
    DuplicatePosition,
    /// DICOM that cannot be decoded.
    Unreadable,
}

impl ExclusionReason {
    /// Every reason.
    pub const ALL: [ExclusionReason; 6] = [
        ExclusionReason::NotDicom,
        ExclusionReason::Dicomdir,
        ExclusionReason::NoPixelData,
        ExclusionReason::DuplicateInstance,
        ExclusionReason::DuplicatePosition,
        ExclusionReason::Unreadable,
    ];

    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            ExclusionReason::NotDicom => "not_dicom",
            ExclusionReason::Dicomdir => "dicomdir",
            ExclusionReason::NoPixelData => "no_pixel_data",
            ExclusionReason::DuplicateInstance => "duplicate_instance",
            ExclusionReason::DuplicatePosition => "duplicate_position",
            ExclusionReason::Unreadable => "unreadable",
        }
    }
}

/// One excluded file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Excluded {
    /// POSIX path relative to the input folder.
    pub file: String,
    /// Why.
    pub reason: ExclusionReason,
    /// For duplicates: the instance kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<InstanceRef>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Integers as JSON Schema counts them: any number without a fractional part, so `64.0` is the
/// integer 64 (JSON Schema 2020-12 Validation §6.1.1). serde's own `u32` refuses `64.0`, which
/// would let a schema-valid document fail the typed reader; the schema's `maximum` keeps every
/// accepted value inside `u32`.
mod json_integer {
    use serde::{Deserialize, Deserializer};
    use serde_json::Number;

    fn to_u32<E: serde::de::Error>(n: &Number) -> Result<u32, E> {
        let whole = n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(f))
                .map(|f| f as u64)
        });
        whole
            .and_then(|w| u32::try_from(w).ok())
            .ok_or_else(|| E::custom(format!("{n} is not an integer in 0..={}", u32::MAX)))
    }

    pub(super) fn required<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        to_u32(&Number::deserialize(d)?)
    }

    pub(super) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        Option::<Number>::deserialize(d)?
            .map(|n| to_u32::<D::Error>(&n))
            .transpose()
    }
}

//! One decoded CT slice as the deployed model sees it: the raw 16-bit pixel words (before any
//! interpretation, so that P0's "read as u16" bug can be reproduced) and the header attributes
//! its pipeline knobs consult, plus the grouping attributes selectors and strata are keyed by.
//!
//! Decoding keeps every interpretation out: signedness, rescale, padding, windows and
//! photometric interpretation are the pipeline's business ([`crate::model`]).

use std::collections::BTreeMap;
use std::path::Path;

use dicom_core::Tag;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use worksample_dicom::read::{ReadLimits, read_full};

/// The attributes strata are grouped by and selectors may name, as (keyword, tag). `AgeBand` is
/// derived from Patient's Age (0010,1010) and has no tag of its own.
pub const GROUP_KEYS: [(&str, Option<Tag>); 12] = [
    ("InstitutionName", Some(tags::INSTITUTION_NAME)),
    ("StationName", Some(tags::STATION_NAME)),
    ("Manufacturer", Some(tags::MANUFACTURER)),
    ("ManufacturerModelName", Some(tags::MANUFACTURER_MODEL_NAME)),
    ("SoftwareVersions", Some(tags::SOFTWARE_VERSIONS)),
    ("ConvolutionKernel", Some(tags::CONVOLUTION_KERNEL)),
    ("SliceThickness", Some(tags::SLICE_THICKNESS)),
    ("ProtocolName", Some(tags::PROTOCOL_NAME)),
    ("KVP", Some(tags::KVP)),
    (
        "PhotometricInterpretation",
        Some(tags::PHOTOMETRIC_INTERPRETATION),
    ),
    ("PatientSex", Some(tags::PATIENT_SEX)),
    ("AgeBand", None),
];

/// Why a file cannot be turned into a [`Slice`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SliceError {
    /// The file is not readable DICOM.
    #[error("`{path}` is not readable DICOM: {message}")]
    Read {
        /// The file.
        path: String,
        /// What the reader said.
        message: String,
    },
    /// A required attribute is missing or malformed.
    #[error("`{path}`: {message}")]
    Attribute {
        /// The file.
        path: String,
        /// Which attribute and what is wrong.
        message: String,
    },
}

/// One slice: raw pixel words and the header values the pipeline reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// SOP Instance UID (0008,0018).
    pub sop_instance_uid: String,
    /// Rows (0028,0010).
    pub rows: usize,
    /// Columns (0028,0011).
    pub columns: usize,
    /// The pixel words exactly as stored: 16-bit samples as their bit pattern, 8-bit samples
    /// widened (PS3.5 §8.1.1). Row-major, `rows × columns` of them.
    pub raw: Vec<u16>,
    /// Bits Allocated (0028,0100).
    pub bits_allocated: u16,
    /// Bits Stored (0028,0101).
    pub bits_stored: u16,
    /// Pixel Representation (0028,0103): 0 unsigned, 1 two's complement.
    pub pixel_representation: u16,
    /// Rescale Slope (0028,1053), if present.
    pub rescale_slope: Option<f64>,
    /// Rescale Intercept (0028,1052), if present.
    pub rescale_intercept: Option<f64>,
    /// Rescale Type (0028,1054), if present.
    pub rescale_type: Option<String>,
    /// Image Type (0008,0008) values.
    pub image_type: Vec<String>,
    /// The first Window Center / Window Width pair (0028,1050)/(0028,1051), if present.
    pub window: Option<(f64, f64)>,
    /// Pixel Padding Value (0028,0120) as written (US or SS by Pixel Representation, PS3.3
    /// C.7.5.1.1.2).
    pub padding_value: Option<i32>,
    /// Photometric Interpretation (0028,0004).
    pub photometric: String,
    /// Pixel Spacing (0028,0030), [row spacing, column spacing] mm.
    pub pixel_spacing: Option<[f64; 2]>,
    /// Grouping attributes by keyword ([`GROUP_KEYS`]); absent attributes are empty strings.
    pub attributes: BTreeMap<String, String>,
}

impl Slice {
    /// Reads a file (any native transfer syntax the tolerant reader accepts).
    pub fn read(path: &Path) -> Result<Slice, SliceError> {
        let file = read_full(path, &ReadLimits::default()).map_err(|e| SliceError::Read {
            path: path.display().to_string(),
            message: worksample_dicom_error(&e),
        })?;
        Slice::from_dataset(&file.dataset).map_err(|message| SliceError::Attribute {
            path: path.display().to_string(),
            message,
        })
    }

    /// Decodes a data set; the error names the attribute.
    pub fn from_dataset(ds: &InMemDicomObject) -> Result<Slice, String> {
        Slice::decode(ds, |bits_allocated, n| pixel_words(ds, bits_allocated, n))
    }

    /// Decodes the header of a data set whose pixel words are given apart (a generator that
    /// leaves Pixel Data to the writer); `words` must hold at least Rows × Columns of them.
    pub fn from_header(ds: &InMemDicomObject, mut words: Vec<u16>) -> Result<Slice, String> {
        Slice::decode(ds, |_, n| {
            if words.len() < n {
                return Err(format!(
                    "{} pixel words given, Rows × Columns needs {n}",
                    words.len()
                ));
            }
            words.truncate(n);
            Ok(words)
        })
    }

    /// Decodes the header; `pixels` gets Bits Allocated and Rows × Columns and returns the words.
    fn decode(
        ds: &InMemDicomObject,
        pixels: impl FnOnce(u16, usize) -> Result<Vec<u16>, String>,
    ) -> Result<Slice, String> {
        let rows = usize::from(us(ds, tags::ROWS, "Rows (0028,0010)")?);
        let columns = usize::from(us(ds, tags::COLUMNS, "Columns (0028,0011)")?);
        let bits_allocated = us(ds, tags::BITS_ALLOCATED, "Bits Allocated (0028,0100)")?;
        let bits_stored = us(ds, tags::BITS_STORED, "Bits Stored (0028,0101)")?;
        let pixel_representation = us(
            ds,
            tags::PIXEL_REPRESENTATION,
            "Pixel Representation (0028,0103)",
        )?;
        let raw = pixels(bits_allocated, rows * columns)?;
        let mut attributes = BTreeMap::new();
        for (keyword, tag) in GROUP_KEYS {
            let value = match tag {
                Some(tag) => text(ds, tag).unwrap_or_default(),
                None => age_band(&text(ds, tags::PATIENT_AGE).unwrap_or_default()).to_owned(),
            };
            attributes.insert(keyword.to_owned(), value);
        }
        let window = match (
            numbers(ds, tags::WINDOW_CENTER).first(),
            numbers(ds, tags::WINDOW_WIDTH).first(),
        ) {
            (Some(c), Some(w)) => Some((*c, *w)),
            _ => None,
        };
        let pixel_spacing = match numbers(ds, tags::PIXEL_SPACING).as_slice() {
            [r, c, ..] if *r > 0.0 && *c > 0.0 => Some([*r, *c]),
            _ => None,
        };
        Ok(Slice {
            sop_instance_uid: text(ds, tags::SOP_INSTANCE_UID)
                .ok_or("SOP Instance UID (0008,0018) is missing")?,
            rows,
            columns,
            raw,
            bits_allocated,
            bits_stored,
            pixel_representation,
            rescale_slope: numbers(ds, tags::RESCALE_SLOPE).first().copied(),
            rescale_intercept: numbers(ds, tags::RESCALE_INTERCEPT).first().copied(),
            rescale_type: text(ds, tags::RESCALE_TYPE),
            image_type: text(ds, tags::IMAGE_TYPE)
                .map(|t| t.split('\\').map(|v| v.trim().to_owned()).collect())
                .unwrap_or_default(),
            window,
            padding_value: padding(ds),
            photometric: text(ds, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default(),
            pixel_spacing,
            attributes,
        })
    }

    /// A grouping attribute by keyword (empty when absent or unknown).
    pub fn attribute(&self, keyword: &str) -> &str {
        self.attributes.get(keyword).map_or("", String::as_str)
    }
}

fn worksample_dicom_error(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

/// The age band of a Patient's Age string `nnnY` (PS3.5 §6.2, VR AS): `<40`, `40-59`, `60-79`,
/// `80+`; empty when absent or not in years.
pub fn age_band(age: &str) -> &'static str {
    let Some(years) = age
        .trim()
        .strip_suffix('Y')
        .and_then(|n| n.parse::<u32>().ok())
    else {
        return "";
    };
    match years {
        0..40 => "<40",
        40..60 => "40-59",
        60..80 => "60-79",
        _ => "80+",
    }
}

/// Lookups here use `get`: dicom-object's `element_opt` goes through `element`, whose miss builds
/// an `AccessError` holding a `std::backtrace::Backtrace`, and snafu fills that with
/// `force_capture`, a full stack walk whatever `RUST_BACKTRACE` says (4 % of a shift grade went
/// to walking stacks for absent optional attributes).
fn text(ds: &InMemDicomObject, tag: Tag) -> Option<String> {
    let elem = ds.get(tag)?;
    let value = elem.to_str().ok()?;
    let value = value.trim_end_matches(['\0', ' ']).trim_start().to_owned();
    (!value.is_empty()).then_some(value)
}

fn numbers(ds: &InMemDicomObject, tag: Tag) -> Vec<f64> {
    text(ds, tag)
        .map(|t| {
            t.split('\\')
                .filter_map(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .collect()
        })
        .unwrap_or_default()
}

fn us(ds: &InMemDicomObject, tag: Tag, name: &str) -> Result<u16, String> {
    let elem = ds.get(tag).ok_or_else(|| format!("{name} is missing"))?;
    elem.to_int::<u16>()
        .map_err(|e| format!("{name} is not an unsigned short: {e}"))
}

/// Pixel Padding Value: US or SS by Pixel Representation (PS3.3 C.7.5.1.1.2); implicit VR files
/// carry it untyped, so the value is read as an integer whatever the VR says.
fn padding(ds: &InMemDicomObject) -> Option<i32> {
    let elem = ds.get(tags::PIXEL_PADDING_VALUE)?;
    match elem.value() {
        Value::Primitive(PrimitiveValue::I16(v)) => v.first().map(|x| i32::from(*x)),
        Value::Primitive(PrimitiveValue::U16(v)) => v.first().map(|x| i32::from(*x)),
        Value::Primitive(PrimitiveValue::U8(b)) if b.len() >= 2 => {
            // Implicit VR: two bytes whose signedness follows Pixel Representation.
            let word = u16::from_le_bytes([b[0], b[1]]);
            let signed = us(ds, tags::PIXEL_REPRESENTATION, "").unwrap_or(0) == 1;
            Some(if signed {
                i32::from(word as i16)
            } else {
                i32::from(word)
            })
        }
        _ => elem.to_int::<i32>().ok(),
    }
}

/// The native Pixel Data (7FE0,0010) as `n` words (PS3.5 §8.1.1). Encapsulated (compressed)
/// pixel data is not decoded: the task's fixtures are all native.
fn pixel_words(ds: &InMemDicomObject, bits_allocated: u16, n: usize) -> Result<Vec<u16>, String> {
    let elem = ds
        .get(tags::PIXEL_DATA)
        .ok_or("Pixel Data (7FE0,0010) is missing")?;
    let words: Vec<u16> = match (elem.value(), bits_allocated) {
        (Value::Primitive(PrimitiveValue::U16(v)), 16) => v[..n.min(v.len())].to_vec(),
        (Value::Primitive(PrimitiveValue::U8(b)), 16) => b
            .chunks_exact(2)
            .map(|p| u16::from_le_bytes([p[0], p[1]]))
            .collect(),
        (Value::Primitive(PrimitiveValue::U8(b)), 8) => b.iter().map(|x| u16::from(*x)).collect(),
        (Value::PixelSequence(_), _) => {
            return Err(
                "Pixel Data (7FE0,0010) is encapsulated; only native pixel data is decoded".into(),
            );
        }
        (_, bits) => {
            return Err(format!(
                "Pixel Data (7FE0,0010) with Bits Allocated {bits} is not supported (8 or 16)"
            ));
        }
    };
    if words.len() < n {
        return Err(format!(
            "Pixel Data (7FE0,0010) holds {} samples, Rows × Columns needs {n}",
            words.len()
        ));
    }
    let mut words = words;
    words.truncate(n);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_bands_cover_years_only() {
        assert_eq!(age_band("039Y"), "<40");
        assert_eq!(age_band("040Y"), "40-59");
        assert_eq!(age_band("079Y"), "60-79");
        assert_eq!(age_band("102Y"), "80+");
        assert_eq!(age_band("006M"), "");
        assert_eq!(age_band(""), "");
    }
}

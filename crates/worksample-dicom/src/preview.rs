//! Previews: a windowed 8-bit greyscale thumbnail of one decoded slice, and its PNG encoding,
//! for the pictures of an assessor's report.
//!
//! The display pipeline is the standard one for monochrome images (PS3.3 §C.11, PS3.4 §N.2.1):
//! stored values → Modality LUT (Rescale Slope/Intercept, PS3.3 §C.11.1.1.2) → VOI LUT (the
//! linear window function of PS3.3 §C.11.2.1.2.1, from the file's Window Center/Width or a
//! robust default) → presentation: MONOCHROME1 is inverted so its minimum shows white
//! (PS3.3 §C.7.6.3.1.2). Pixel Padding Value (PS3.3 §C.7.5.1.1.2) is left out of the default
//! window and drawn black. Only native (uncompressed) single-sample pixel data is decoded;
//! anything else is a [`PreviewError`] naming the reason, never a panic.

use dicom_core::value::Value;
use dicom_core::{PrimitiveValue, Tag};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::Instance;
use crate::pixel::PixelValues;

/// Why a data set cannot be previewed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PreviewError {
    /// A required attribute is missing or malformed.
    #[error("attribute {name} {tag}: {problem}")]
    Attribute {
        /// Keyword, e.g. `Rows`.
        name: &'static str,
        /// The tag.
        tag: Tag,
        /// What is wrong.
        problem: String,
    },
    /// The pixel data is of a kind previews do not decode.
    #[error("cannot preview: {0}")]
    Unsupported(String),
    /// PNG encoding failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// How stored values map to brightness (PS3.3 §C.7.6.3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monochrome {
    /// The minimum value is white.
    One,
    /// The minimum value is black.
    Two,
}

/// A VOI window in modality units (PS3.3 §C.11.2.1.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Window Center.
    pub center: f64,
    /// Window Width, at least 1.
    pub width: f64,
}

/// One monochrome frame with what is needed to display it.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// Rows.
    pub rows: u16,
    /// Columns.
    pub columns: u16,
    /// Stored values, row-major, already sign-extended from Bits Stored.
    pub stored: Vec<i32>,
    /// Rescale Slope (1 when absent).
    pub slope: f64,
    /// Rescale Intercept (0 when absent).
    pub intercept: f64,
    /// Photometric Interpretation.
    pub photometric: Monochrome,
    /// The first window of the file, when it has a valid one.
    pub window: Option<Window>,
    /// Pixel Padding Value, when present.
    pub padding: Option<i32>,
}

/// An 8-bit greyscale image ready to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Grey levels, row-major, 0 black.
    pub grey: Vec<u8>,
}

fn attribute(name: &'static str, tag: Tag, problem: impl Into<String>) -> PreviewError {
    PreviewError::Attribute {
        name,
        tag,
        problem: problem.into(),
    }
}

fn int(obj: &InMemDicomObject, name: &'static str, tag: Tag) -> Result<Option<i64>, PreviewError> {
    match obj.get(tag) {
        None => Ok(None),
        Some(e) => e
            .to_int::<i64>()
            .map(Some)
            .map_err(|err| attribute(name, tag, err.to_string())),
    }
}

fn required(obj: &InMemDicomObject, name: &'static str, tag: Tag) -> Result<i64, PreviewError> {
    int(obj, name, tag)?.ok_or_else(|| attribute(name, tag, "missing"))
}

fn float(obj: &InMemDicomObject, tag: Tag) -> Option<f64> {
    obj.get(tag)
        .and_then(|e| e.to_float64().ok())
        .filter(|v| v.is_finite())
}

/// Where a slice's samples come from.
#[derive(Clone, Copy)]
enum Samples<'a> {
    /// The Pixel Data element of the data set being read.
    Element,
    /// Values held beside a data set without Pixel Data, as an [`Instance`] holds them.
    Values(&'a PixelValues),
}

impl Slice {
    /// The first frame of a data set's native monochrome pixel data.
    pub fn from_dataset(obj: &InMemDicomObject) -> Result<Slice, PreviewError> {
        Self::read(obj, Samples::Element)
    }

    /// The first frame of an instance about to be written: what [`Slice::from_dataset`] gives
    /// for the data set read back from its file when that file is written in a native
    /// (uncompressed) transfer syntax, without encoding and parsing it (a grader's figures drawn
    /// while the fixtures are regenerated). An encapsulated file reads back as
    /// [`PreviewError::Unsupported`] instead; a caller writing one must not use this.
    pub fn from_instance(inst: &Instance) -> Result<Slice, PreviewError> {
        match &inst.pixels {
            Some(pixels) => Self::read(&inst.dataset, Samples::Values(&pixels.values)),
            None => Self::from_dataset(&inst.dataset),
        }
    }

    fn read(obj: &InMemDicomObject, source: Samples<'_>) -> Result<Slice, PreviewError> {
        let rows = required(obj, "Rows", tags::ROWS)?;
        let columns = required(obj, "Columns", tags::COLUMNS)?;
        let (rows, columns) = match (u16::try_from(rows), u16::try_from(columns)) {
            (Ok(r), Ok(c)) if r > 0 && c > 0 => (r, c),
            _ => {
                return Err(attribute(
                    "Rows/Columns",
                    tags::ROWS,
                    format!("{rows} × {columns} is not a 1..=65535 matrix"),
                ));
            }
        };
        let samples = int(obj, "SamplesPerPixel", tags::SAMPLES_PER_PIXEL)?.unwrap_or(1);
        if samples != 1 {
            return Err(PreviewError::Unsupported(format!(
                "{samples} samples per pixel (only monochrome is previewed)"
            )));
        }
        let photometric = match obj.get(tags::PHOTOMETRIC_INTERPRETATION) {
            None => Monochrome::Two,
            Some(e) => match e.to_str().map(|s| s.trim().to_owned()).as_deref() {
                Ok("MONOCHROME1") => Monochrome::One,
                Ok("MONOCHROME2") => Monochrome::Two,
                Ok(other) => {
                    return Err(PreviewError::Unsupported(format!(
                        "photometric interpretation {other}"
                    )));
                }
                Err(err) => {
                    return Err(attribute(
                        "PhotometricInterpretation",
                        tags::PHOTOMETRIC_INTERPRETATION,
                        err.to_string(),
                    ));
                }
            },
        };
        let allocated = required(obj, "BitsAllocated", tags::BITS_ALLOCATED)?;
        let bits_stored = int(obj, "BitsStored", tags::BITS_STORED)?.unwrap_or(allocated);
        let signed = int(obj, "PixelRepresentation", tags::PIXEL_REPRESENTATION)?.unwrap_or(0) == 1;
        if !(allocated == 8 || allocated == 16) || !(1..=allocated).contains(&bits_stored) {
            return Err(PreviewError::Unsupported(format!(
                "Bits Allocated {allocated} with Bits Stored {bits_stored}"
            )));
        }
        let n = usize::from(rows) * usize::from(columns);
        let raw = match source {
            Samples::Element => raw_samples(obj, allocated, n)?,
            Samples::Values(values) => {
                let raw = match values {
                    PixelValues::U8(bytes) => from_bytes(bytes, allocated, n),
                    PixelValues::U16(words) => from_words(words, allocated, n),
                    PixelValues::I16(words) if allocated == 16 => from_signed(words, n),
                    PixelValues::I16(words) => return Err(not_native(words.len())),
                };
                at_least(raw, n)?
            }
        };
        // PS3.5 §8.1.1: only the low Bits Stored bits carry the value (High Bit = Bits Stored
        // − 1 in every file we read); two's complement when Pixel Representation is 1.
        let bits = bits_stored as u32;
        let mask: u32 = if bits >= 32 {
            u32::MAX
        } else {
            (1 << bits) - 1
        };
        let stored = raw
            .into_iter()
            .map(|v| {
                let v = v & mask;
                if signed && bits < 32 && v & (1 << (bits - 1)) != 0 {
                    (v | !mask) as i32
                } else {
                    v as i32
                }
            })
            .collect();
        let window = match (
            obj.get(tags::WINDOW_CENTER)
                .and_then(|e| e.to_multi_float64().ok()),
            obj.get(tags::WINDOW_WIDTH)
                .and_then(|e| e.to_multi_float64().ok()),
        ) {
            // VM 1-n: the first pair is the default (PS3.3 §C.11.2.1.2); width must be ≥ 1.
            (Some(c), Some(w)) => match (c.first(), w.first()) {
                (Some(&center), Some(&width))
                    if center.is_finite() && width.is_finite() && width >= 1.0 =>
                {
                    Some(Window { center, width })
                }
                _ => None,
            },
            _ => None,
        };
        let padding = int(obj, "PixelPaddingValue", tags::PIXEL_PADDING_VALUE)?
            .and_then(|v| i32::try_from(v).ok());
        Ok(Slice {
            rows,
            columns,
            stored,
            slope: float(obj, tags::RESCALE_SLOPE)
                .filter(|s| *s != 0.0)
                .unwrap_or(1.0),
            intercept: float(obj, tags::RESCALE_INTERCEPT).unwrap_or(0.0),
            photometric,
            window,
            padding,
        })
    }

    /// The Modality LUT: `slope × stored + intercept` (PS3.3 §C.11.1.1.2).
    pub fn modality(&self, stored: i32) -> f64 {
        self.slope * f64::from(stored) + self.intercept
    }

    fn is_padding(&self, stored: i32) -> bool {
        self.padding == Some(stored)
    }

    /// The file's window, or the 1st–99th percentile of the non-padding modality values: wide
    /// enough for the anatomy, robust to a few extreme pixels.
    pub fn display_window(&self) -> Window {
        if let Some(w) = self.window {
            return w;
        }
        let mut v: Vec<f64> = self
            .stored
            .iter()
            .filter(|s| !self.is_padding(**s))
            .map(|s| self.modality(*s))
            .collect();
        if v.is_empty() {
            return Window {
                center: 0.0,
                width: 1.0,
            };
        }
        v.sort_by(f64::total_cmp);
        let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        let (lo, hi) = (at(0.01), at(0.99));
        Window {
            center: (lo + hi) / 2.0,
            width: (hi - lo).max(1.0),
        }
    }

    /// A thumbnail at most `max_side` pixels on its longer side (never enlarged), each output
    /// pixel the mean modality value of the source pixels it covers, windowed to 8 bits.
    pub fn thumbnail(&self, max_side: u32) -> Thumbnail {
        let (cols, rows) = (u32::from(self.columns), u32::from(self.rows));
        let side = max_side.max(1);
        let scale = (f64::from(side) / f64::from(cols.max(rows))).min(1.0);
        let width = ((f64::from(cols) * scale).round() as u32).max(1);
        let height = ((f64::from(rows) * scale).round() as u32).max(1);
        let window = self.display_window();
        let mut grey = Vec::with_capacity((width * height) as usize);
        for oy in 0..height {
            let (y0, y1) = span(oy, height, rows);
            for ox in 0..width {
                let (x0, x1) = span(ox, width, cols);
                let (mut sum, mut count) = (0.0, 0u32);
                for y in y0..y1 {
                    for x in x0..x1 {
                        let s = self.stored[(y * cols + x) as usize];
                        if !self.is_padding(s) {
                            sum += self.modality(s);
                            count += 1;
                        }
                    }
                }
                grey.push(if count == 0 {
                    0
                } else {
                    let y = voi_linear(sum / f64::from(count), window);
                    match self.photometric {
                        Monochrome::Two => y,
                        Monochrome::One => 255 - y,
                    }
                });
            }
        }
        Thumbnail {
            width,
            height,
            grey,
        }
    }
}

/// Source pixels `[start, end)` that output pixel `i` of `out` covers, at least one.
fn span(i: u32, out: u32, source: u32) -> (u32, u32) {
    let start = (u64::from(i) * u64::from(source) / u64::from(out)) as u32;
    let end = (u64::from(i + 1) * u64::from(source) / u64::from(out)) as u32;
    (start.min(source - 1), end.max(start + 1).min(source))
}

/// The linear VOI function of PS3.3 §C.11.2.1.2.1 onto 0..=255.
pub fn voi_linear(x: f64, w: Window) -> u8 {
    let c = w.center;
    let width = w.width.max(1.0);
    if x <= c - 0.5 - (width - 1.0) / 2.0 {
        0
    } else if x > c - 0.5 + (width - 1.0) / 2.0 {
        255
    } else {
        (((x - (c - 0.5)) / (width - 1.0) + 0.5) * 255.0)
            .round()
            .clamp(0.0, 255.0) as u8
    }
}

/// The first frame's raw samples as unsigned integers (sign handled by the caller).
fn raw_samples(obj: &InMemDicomObject, allocated: i64, n: usize) -> Result<Vec<u32>, PreviewError> {
    let element = obj
        .get(tags::PIXEL_DATA)
        .ok_or_else(|| attribute("PixelData", tags::PIXEL_DATA, "missing"))?;
    let out: Vec<u32> = match element.value() {
        Value::PixelSequence(_) => {
            return Err(PreviewError::Unsupported(
                "encapsulated (compressed) pixel data".into(),
            ));
        }
        Value::Sequence(_) => {
            return Err(attribute(
                "PixelData",
                tags::PIXEL_DATA,
                "is a sequence, not pixel data",
            ));
        }
        Value::Primitive(PrimitiveValue::U8(bytes)) => from_bytes(bytes, allocated, n),
        Value::Primitive(PrimitiveValue::U16(words)) => from_words(words, allocated, n),
        Value::Primitive(PrimitiveValue::I16(words)) if allocated == 16 => from_signed(words, n),
        Value::Primitive(other) => return Err(not_native(other.multiplicity() as usize)),
    };
    at_least(out, n)
}

/// OB, or OW read as bytes: little-endian byte pairs (PS3.5 §8.2, native encoding).
fn from_bytes(bytes: &[u8], allocated: i64, n: usize) -> Vec<u32> {
    match allocated {
        8 => bytes.iter().take(n).map(|b| u32::from(*b)).collect(),
        _ => bytes
            .chunks_exact(2)
            .take(n)
            .map(|p| u32::from(u16::from_le_bytes([p[0], p[1]])))
            .collect(),
    }
}

/// OW as 16-bit words, already in host order whatever the transfer syntax.
fn from_words(words: &[u16], allocated: i64, n: usize) -> Vec<u32> {
    match allocated {
        16 => words.iter().take(n).map(|w| u32::from(*w)).collect(),
        _ => words
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .take(n)
            .map(u32::from)
            .collect(),
    }
}

/// Two's-complement words, as their bit patterns.
fn from_signed(words: &[i16], n: usize) -> Vec<u32> {
    words.iter().take(n).map(|w| u32::from(*w as u16)).collect()
}

fn not_native(items: usize) -> PreviewError {
    attribute(
        "PixelData",
        tags::PIXEL_DATA,
        format!("unexpected value of {items} items (not OB/OW)"),
    )
}

fn at_least(samples: Vec<u32>, n: usize) -> Result<Vec<u32>, PreviewError> {
    if samples.len() < n {
        return Err(attribute(
            "PixelData",
            tags::PIXEL_DATA,
            format!("{} samples, fewer than the {n} of one frame", samples.len()),
        ));
    }
    Ok(samples)
}

impl Thumbnail {
    /// The image as an 8-bit greyscale PNG (PNG spec §11.2.2, colour type 0).
    pub fn to_png(&self) -> Result<Vec<u8>, PreviewError> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, self.width, self.height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        // fdeflate's PNG-tuned encoder: the default (miniz, Balanced) spent more time zeroing
        // and tuning its compressor per thumbnail than the rest of series grading; small
        // thumbnails lose a few bytes at most.
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder
            .write_header()
            .map_err(|e| PreviewError::Png(e.to_string()))?;
        writer
            .write_image_data(&self.grey)
            .map_err(|e| PreviewError::Png(e.to_string()))?;
        writer
            .finish()
            .map_err(|e| PreviewError::Png(e.to_string()))?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use dicom_core::{DataElement, VR, dicom_value};

    use super::*;

    fn dataset(
        photometric: &str,
        stored: &[u16],
        extra: &[(Tag, VR, PrimitiveValue)],
    ) -> InMemDicomObject {
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(tags::ROWS, VR::US, dicom_value!(U16, [2])));
        obj.put(DataElement::new(
            tags::COLUMNS,
            VR::US,
            dicom_value!(U16, [2]),
        ));
        obj.put(DataElement::new(
            tags::BITS_ALLOCATED,
            VR::US,
            dicom_value!(U16, [16]),
        ));
        obj.put(DataElement::new(
            tags::BITS_STORED,
            VR::US,
            dicom_value!(U16, [12]),
        ));
        obj.put(DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from(photometric),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(stored.iter().copied().collect()),
        ));
        for (tag, vr, value) in extra {
            obj.put(DataElement::new(*tag, *vr, value.clone()));
        }
        obj
    }

    #[test]
    fn the_voi_function_follows_the_standard_formula() {
        let w = Window {
            center: 40.0,
            width: 400.0,
        };
        assert_eq!(voi_linear(-160.0, w), 0);
        assert_eq!(voi_linear(-1000.0, w), 0);
        assert_eq!(voi_linear(240.0, w), 255);
        assert_eq!(voi_linear(40.0, w), 128);
    }

    #[test]
    fn rescale_and_the_files_window_apply() {
        // CT: stored 0..=2000 with intercept −1024 → HU −1024, −24, 976, padding.
        let obj = dataset(
            "MONOCHROME2",
            &[0, 1000, 2000, 4095],
            &[
                (
                    tags::RESCALE_INTERCEPT,
                    VR::DS,
                    PrimitiveValue::from("-1024"),
                ),
                (tags::RESCALE_SLOPE, VR::DS, PrimitiveValue::from("1")),
                (tags::WINDOW_CENTER, VR::DS, PrimitiveValue::from("-24\\40")),
                (
                    tags::WINDOW_WIDTH,
                    VR::DS,
                    PrimitiveValue::from("2001\\400"),
                ),
                (tags::PIXEL_PADDING_VALUE, VR::US, dicom_value!(U16, [4095])),
            ],
        );
        let slice = Slice::from_dataset(&obj).expect("decodes");
        assert_eq!(slice.modality(slice.stored[1]), -24.0);
        let t = slice.thumbnail(8);
        assert_eq!((t.width, t.height), (2, 2));
        assert_eq!(t.grey, [0, 128, 255, 0], "padding is black");
    }

    #[test]
    fn monochrome1_inverts_and_the_default_window_is_robust() {
        let obj = dataset("MONOCHROME1", &[0, 100, 200, 300], &[]);
        let slice = Slice::from_dataset(&obj).expect("decodes");
        let w = slice.display_window();
        assert_eq!((w.center, w.width), (150.0, 300.0));
        let t = slice.thumbnail(2);
        assert_eq!(t.grey[0], 255, "the minimum of MONOCHROME1 is white");
        assert_eq!(t.grey[3], 0);
    }

    #[test]
    fn signed_values_are_sign_extended_from_bits_stored() {
        let obj = dataset(
            "MONOCHROME2",
            &[0x0FFF, 0x0800, 1, 0],
            &[(tags::PIXEL_REPRESENTATION, VR::US, dicom_value!(U16, [1]))],
        );
        let slice = Slice::from_dataset(&obj).expect("decodes");
        assert_eq!(slice.stored, [-1, -2048, 1, 0]);
    }

    #[test]
    fn downsampling_averages_and_keeps_the_aspect() {
        let mut obj = dataset("MONOCHROME2", &[0; 4], &[]);
        obj.put(DataElement::new(tags::ROWS, VR::US, dicom_value!(U16, [4])));
        obj.put(DataElement::new(
            tags::COLUMNS,
            VR::US,
            dicom_value!(U16, [8]),
        ));
        let values: Vec<u16> = (0..32).map(|i| if i % 8 < 4 { 0 } else { 1000 }).collect();
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(values.into()),
        ));
        let t = Slice::from_dataset(&obj).expect("decodes").thumbnail(4);
        assert_eq!((t.width, t.height), (4, 2));
        assert_eq!(t.grey, [0, 0, 255, 255, 0, 0, 255, 255]);
    }

    #[test]
    fn bad_input_is_an_error_naming_the_attribute() {
        let mut obj = dataset("MONOCHROME2", &[0, 1], &[]);
        let err = Slice::from_dataset(&obj).expect_err("short");
        assert!(err.to_string().contains("PixelData"), "{err}");
        obj.put(DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from("RGB"),
        ));
        let err = Slice::from_dataset(&obj).expect_err("colour");
        assert!(err.to_string().contains("RGB"), "{err}");
        obj.remove_element(tags::ROWS);
        let err = Slice::from_dataset(&obj).expect_err("no rows");
        assert!(err.to_string().contains("Rows"), "{err}");
    }

    #[test]
    fn png_is_a_valid_greyscale_file() {
        let t = Thumbnail {
            width: 3,
            height: 2,
            grey: vec![0, 50, 100, 150, 200, 250],
        };
        let bytes = t.to_png().expect("encodes");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size().expect("small")];
        let info = reader.next_frame(&mut buf).expect("a frame");
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(&buf[..6], &t.grey[..]);
    }

    #[test]
    fn an_instance_previews_as_its_written_file_reads_back() {
        use crate::read::{ReadLimits, read_bytes};
        use crate::write::tests::{IMAGE_KINDS, instance};
        use crate::write::{TransferSyntax, WriteOptions, to_bytes};

        // Every native syntax as a Part 10 file and without its preamble, and the bare data set
        // the reader takes for implicit VR little endian (PS3.5 §A.1).
        let mut framings: Vec<(TransferSyntax, bool, bool)> = TransferSyntax::ALL
            .into_iter()
            .filter(|ts| *ts != TransferSyntax::RleLossless)
            .flat_map(|ts| [(ts, true, true), (ts, false, true)])
            .collect();
        framings.push((TransferSyntax::ImplicitVrLittleEndian, false, false));
        for (ts, preamble, file_meta) in framings {
            for (modality, rows, columns, vendor) in IMAGE_KINDS {
                let inst = instance(modality, rows, columns, vendor);
                let opts = WriteOptions {
                    transfer_syntax: ts,
                    preamble,
                    file_meta,
                };
                let bytes = to_bytes(&inst, &opts).expect("encodes");
                let file = read_bytes(&bytes, "f.dcm".as_ref(), &ReadLimits::default(), false)
                    .expect("reads back");
                let read = Slice::from_dataset(&file.dataset).expect("previews");
                let direct = Slice::from_instance(&inst).expect("previews");
                assert_eq!(direct, read, "{modality:?} {vendor:?} {opts:?}");
                assert_eq!(direct.thumbnail(4), read.thumbnail(4));
            }
        }
    }
}

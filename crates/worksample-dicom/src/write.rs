//! Encoding instances as DICOM Part-10 files (PS3.10 §7) or bare data sets, in the five transfer
//! syntaxes we generate.
//!
//! Pixel Data is added at write time from [`Instance::pixels`]: as little-endian bytes (VR OW/OB)
//! for the little-endian syntaxes, which dicom-rs writes about 3.6× faster than `u16` values; as
//! `u16` values for explicit VR big endian, because dicom-rs does not byte-swap a byte buffer
//! (research/rust-dicom.md §1.6); and as our own RLE fragments (PS3.5 Annex G) for RLE Lossless.

use std::io::Write;
use std::path::Path;

use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::DicomError;
use crate::model::Instance;
use crate::pixel::{PixelData, PixelValues};
use crate::rle::{FrameLayout, encode_frame};
use crate::uid::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME};

/// The transfer syntaxes we write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TransferSyntax {
    /// Implicit VR Little Endian, 1.2.840.10008.1.2 (PS3.5 §A.1).
    ImplicitVrLittleEndian,
    /// Explicit VR Little Endian, 1.2.840.10008.1.2.1 (PS3.5 §A.2).
    ExplicitVrLittleEndian,
    /// Explicit VR Big Endian (retired), 1.2.840.10008.1.2.2 (PS3.5 §A.3).
    ExplicitVrBigEndian,
    /// Deflated Explicit VR Little Endian, 1.2.840.10008.1.2.1.99 (PS3.5 §A.5).
    DeflatedExplicitVrLittleEndian,
    /// RLE Lossless, 1.2.840.10008.1.2.5 (PS3.5 §A.4.2, Annex G).
    RleLossless,
}

impl TransferSyntax {
    /// Every syntax, in command-line order.
    pub const ALL: [TransferSyntax; 5] = [
        TransferSyntax::ImplicitVrLittleEndian,
        TransferSyntax::ExplicitVrLittleEndian,
        TransferSyntax::ExplicitVrBigEndian,
        TransferSyntax::DeflatedExplicitVrLittleEndian,
        TransferSyntax::RleLossless,
    ];

    /// The Transfer Syntax UID.
    pub fn uid(self) -> &'static str {
        match self {
            TransferSyntax::ImplicitVrLittleEndian => uids::IMPLICIT_VR_LITTLE_ENDIAN,
            TransferSyntax::ExplicitVrLittleEndian => uids::EXPLICIT_VR_LITTLE_ENDIAN,
            // Spelled out: the dictionary constant is #[deprecated] because the syntax is retired.
            TransferSyntax::ExplicitVrBigEndian => "1.2.840.10008.1.2.2",
            TransferSyntax::DeflatedExplicitVrLittleEndian => {
                uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
            }
            TransferSyntax::RleLossless => uids::RLE_LOSSLESS,
        }
    }

    /// The command-line name: implicit-le, explicit-le, explicit-be, deflated, rle.
    pub fn name(self) -> &'static str {
        match self {
            TransferSyntax::ImplicitVrLittleEndian => "implicit-le",
            TransferSyntax::ExplicitVrLittleEndian => "explicit-le",
            TransferSyntax::ExplicitVrBigEndian => "explicit-be",
            TransferSyntax::DeflatedExplicitVrLittleEndian => "deflated",
            TransferSyntax::RleLossless => "rle",
        }
    }

    /// Parses a command-line name.
    pub fn parse(text: &str) -> Option<TransferSyntax> {
        TransferSyntax::ALL
            .into_iter()
            .find(|ts| ts.name().eq_ignore_ascii_case(text))
    }
}

/// How to write an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Transfer syntax of the data set.
    pub transfer_syntax: TransferSyntax,
    /// Write the 128-byte preamble and "DICM" prefix (PS3.10 §7.1). Only written together with
    /// the file meta group. By default, this is enabled.
    pub preamble: bool,
    /// Write the File Meta Information group (0002,xxxx). Without it the file is a bare data set
    /// (a quirk real archives produce; readers must guess the syntax). By default, this is enabled.
    pub file_meta: bool,
}

impl WriteOptions {
    /// A conformant Part-10 file in `transfer_syntax`.
    pub fn new(transfer_syntax: TransferSyntax) -> WriteOptions {
        WriteOptions {
            transfer_syntax,
            preamble: true,
            file_meta: true,
        }
    }
}

/// Writes `inst` to `path` and returns the number of bytes written.
pub fn write_file(inst: &Instance, path: &Path, opts: &WriteOptions) -> Result<u64, DicomError> {
    let bytes = to_bytes(inst, opts).map_err(|e| DicomError::File {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    std::fs::write(path, &bytes).map_err(|source| DicomError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(bytes.len() as u64)
}

/// Encodes `inst` as the bytes of a file.
pub fn to_bytes(inst: &Instance, opts: &WriteOptions) -> Result<Vec<u8>, DicomError> {
    let sop_class = uid_of(&inst.dataset, tags::SOP_CLASS_UID, "SOP Class UID")?;
    let sop_instance = uid_of(&inst.dataset, tags::SOP_INSTANCE_UID, "SOP Instance UID")?;
    let ts = opts.transfer_syntax;
    let encode_err = |source: Box<dyn std::error::Error + Send + Sync>| DicomError::Encode {
        sop_instance_uid: sop_instance.clone(),
        transfer_syntax: ts.name(),
        source,
    };

    let dataset = match &inst.pixels {
        Some(pixels) => {
            let mut with_pixels = inst.dataset.clone();
            with_pixels.put(pixel_element(pixels, ts).map_err(|source| DicomError::Rle {
                sop_instance_uid: sop_instance.clone(),
                source,
            })?);
            std::borrow::Cow::Owned(with_pixels)
        }
        None => std::borrow::Cow::Borrowed(&inst.dataset),
    };

    let pixel_len = inst.pixels.as_ref().map_or(0, |p| {
        usize::from(p.rows)
            * usize::from(p.columns)
            * p.frames as usize
            * usize::from(p.stored.bits_allocated.div_ceil(8))
    });
    let mut out = Vec::with_capacity(pixel_len + 8192);
    if opts.file_meta {
        let meta = FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(sop_class.as_str())
            .media_storage_sop_instance_uid(sop_instance.as_str())
            .transfer_syntax(ts.uid())
            .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
            .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
            .build()
            .map_err(|source| DicomError::Meta {
                sop_instance_uid: sop_instance.clone(),
                source: Box::new(source),
            })?;
        if opts.preamble {
            out.extend_from_slice(&[0u8; 128]);
            out.extend_from_slice(b"DICM");
        }
        meta.write(&mut out).map_err(|e| encode_err(Box::new(e)))?;
    }

    let explicit_le = TransferSyntaxRegistry
        .get(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .expect("the registry always has explicit VR little endian");
    match ts {
        TransferSyntax::DeflatedExplicitVrLittleEndian => {
            // Deflate ourselves (raw RFC 1951 stream, PS3.5 §A.5) so the write path is the same
            // buffered explicit-LE encoder as the other syntaxes.
            let mut plain = Vec::new();
            dataset
                .write_dataset_with_ts(&mut plain, explicit_le)
                .map_err(|e| encode_err(Box::new(e)))?;
            let mut enc =
                flate2::write::DeflateEncoder::new(&mut out, flate2::Compression::default());
            enc.write_all(&plain).map_err(|e| encode_err(Box::new(e)))?;
            enc.finish().map_err(|e| encode_err(Box::new(e)))?;
        }
        TransferSyntax::ImplicitVrLittleEndian
        | TransferSyntax::ExplicitVrLittleEndian
        | TransferSyntax::ExplicitVrBigEndian
        | TransferSyntax::RleLossless => {
            let registered = TransferSyntaxRegistry
                .get(ts.uid())
                .expect("the registry knows every transfer syntax we write");
            dataset
                .write_dataset_with_ts(&mut out, registered)
                .map_err(|e| encode_err(Box::new(e)))?;
        }
    }
    Ok(out)
}

/// The Pixel Data element for `pixels` in `ts`.
fn pixel_element(
    pixels: &PixelData,
    ts: TransferSyntax,
) -> Result<DataElement<InMemDicomObject>, crate::rle::RleError> {
    let byte_vr = if pixels.stored.bits_allocated <= 8 {
        VR::OB
    } else {
        VR::OW
    };
    Ok(match ts {
        TransferSyntax::ImplicitVrLittleEndian
        | TransferSyntax::ExplicitVrLittleEndian
        | TransferSyntax::DeflatedExplicitVrLittleEndian => DataElement::new(
            tags::PIXEL_DATA,
            byte_vr,
            PrimitiveValue::from(pixels.le_bytes()),
        ),
        TransferSyntax::ExplicitVrBigEndian => {
            let value = match &pixels.values {
                PixelValues::U8(v) => PrimitiveValue::from(v.clone()),
                PixelValues::U16(v) => PrimitiveValue::U16(v.as_slice().into()),
                // Same 16 bits, reinterpreted: the big-endian writer swaps each u16.
                PixelValues::I16(v) => PrimitiveValue::U16(v.iter().map(|x| *x as u16).collect()),
            };
            DataElement::new(tags::PIXEL_DATA, byte_vr, value)
        }
        TransferSyntax::RleLossless => {
            let layout = FrameLayout {
                rows: pixels.rows,
                columns: pixels.columns,
                samples_per_pixel: 1,
                bytes_per_sample: pixels.stored.bits_allocated.div_ceil(8),
            };
            let le = pixels.le_bytes();
            let frame_len = layout.frame_len().max(1);
            let fragments = le
                .chunks(frame_len)
                .map(|frame| encode_frame(frame, layout))
                .collect::<Result<Vec<_>, _>>()?;
            // One fragment per frame with an empty Basic Offset Table (PS3.5 §A.4).
            DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                Value::PixelSequence(PixelFragmentSequence::new(Vec::<u32>::new(), fragments)),
            )
        }
    })
}

fn uid_of(
    obj: &InMemDicomObject,
    tag: dicom_core::Tag,
    attribute: &'static str,
) -> Result<String, DicomError> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
        .filter(|s| !s.is_empty())
        .ok_or(DicomError::MissingSopUid { attribute })
}

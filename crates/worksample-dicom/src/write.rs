//! Encoding instances as DICOM Part-10 files (PS3.10 §7) or bare data sets, in the five transfer
//! syntaxes we generate.
//!
//! Pixel Data is added at write time from [`Instance::pixels`]. In the native syntaxes (implicit
//! and explicit VR little endian, explicit VR big endian, and deflated, whose input is explicit
//! VR little endian) the data set is encoded *without* Pixel Data (walked in place through
//! dicom-rs's encoder, see [`walk`]) and the element is appended by hand, straight from the
//! rendered values: its header (PS3.5 §7.1.2 explicit VR, §7.1.3 implicit VR) and the stored
//! bytes in one pass, byte-swapped per 16-bit word for big endian (PS3.5 §A.3) and padded to
//! even length (PS3.5 §7.1). That is what dicom-rs writes for
//! the same element, byte for byte, without copying the pixels into a value, through its encoder
//! and into the file buffer. Appending is order-correct only because Pixel Data (7FE0,0010) is
//! the last top-level element of every IOD we build (data elements ascend by tag, PS3.5 §7.1);
//! a data set with anything at or after it (Data Set Trailing Padding (FFFC,FFFC), a task's own
//! Pixel Data) and RLE Lossless (encapsulated fragments, PS3.5 Annex G) take the general route:
//! Pixel Data put into a copy of the data set and all of it encoded by dicom-rs.

use std::io::Write;
use std::path::Path;

use dicom_core::header::Header;
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

mod walk;

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

/// Writes `inst` to `path` and returns the number of bytes written. Little-endian 16-bit pixels
/// go to the file straight from the rendered buffer, after the encoded rest: the same bytes as
/// [`to_bytes`] without copying the largest part of the file once more.
pub fn write_file(inst: &Instance, path: &Path, opts: &WriteOptions) -> Result<u64, DicomError> {
    let (head, tail) =
        encode(inst, opts, Route::Fastest, Tail::Borrowed).map_err(|e| DicomError::File {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
    let io_err = |source| DicomError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::create(path).map_err(io_err)?;
    file.write_all(&head).map_err(io_err)?;
    file.write_all(tail).map_err(io_err)?;
    Ok((head.len() + tail.len()) as u64)
}

/// Encodes `inst` as the bytes of a file.
pub fn to_bytes(inst: &Instance, opts: &WriteOptions) -> Result<Vec<u8>, DicomError> {
    let (bytes, _) = encode(inst, opts, Route::Fastest, Tail::Copied)?;
    Ok(bytes)
}

/// Whether [`encode`] may leave the pixel value out of the buffer it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Everything in the buffer.
    Copied,
    /// Native little-endian 16-bit pixels returned as a borrowed second part.
    Borrowed,
}

/// How [`encode`] adds Pixel Data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Appended by hand after the rest when [`appendable`] allows it.
    Fastest,
    /// Always put into the data set and encoded by dicom-rs (the reference the tests hold the
    /// appended bytes to).
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the reference route of the tests")
    )]
    Object,
}

/// The file's bytes: the returned buffer, then the borrowed part (empty unless `tail` is
/// [`Tail::Borrowed`] and the pixels are native little-endian words appended after the rest).
fn encode<'a>(
    inst: &'a Instance,
    opts: &WriteOptions,
    route: Route,
    tail: Tail,
) -> Result<(Vec<u8>, &'a [u8]), DicomError> {
    let sop_class = uid_of(&inst.dataset, tags::SOP_CLASS_UID, "SOP Class UID")?;
    let sop_instance = uid_of(&inst.dataset, tags::SOP_INSTANCE_UID, "SOP Instance UID")?;
    let ts = opts.transfer_syntax;
    let encode_err = |source: Box<dyn std::error::Error + Send + Sync>| DicomError::Encode {
        sop_instance_uid: sop_instance.clone(),
        transfer_syntax: ts.name(),
        source,
    };

    let appended = match route {
        Route::Fastest => appendable(inst, ts),
        Route::Object => None,
    };
    let dataset = match (&inst.pixels, appended) {
        (Some(pixels), None) => {
            let mut with_pixels = inst.dataset.clone();
            with_pixels.put(pixel_element(pixels, ts).map_err(|source| DicomError::Rle {
                sop_instance_uid: sop_instance.clone(),
                source,
            })?);
            std::borrow::Cow::Owned(with_pixels)
        }
        (None, _) | (Some(_), Some(_)) => std::borrow::Cow::Borrowed(&inst.dataset),
    };

    let pixel_len = inst.pixels.as_ref().map_or(0, PixelData::byte_len);
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
            let mut plain = Vec::with_capacity(pixel_len + 8192);
            write_dataset(&dataset, explicit_le, route, &mut plain).map_err(encode_err)?;
            if let Some(append) = appended {
                append.write(&mut plain, Tail::Copied);
            }
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
            write_dataset(&dataset, registered, route, &mut out).map_err(encode_err)?;
            if let Some(append) = appended {
                let rest = append.write(&mut out, tail);
                return Ok((out, rest));
            }
        }
    }
    Ok((out, &[]))
}

/// Appends `dataset` encoded in `ts`: by walking it in place ([`walk`]) on the fastest route
/// when the walk takes it, else (and always on the reference route) by dicom-rs's writer.
fn write_dataset(
    dataset: &InMemDicomObject,
    ts: &dicom_encoding::transfer_syntax::TransferSyntax,
    route: Route,
    out: &mut Vec<u8>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if route == Route::Fastest && walk::write_dataset(dataset, ts, out)? == walk::Walked::Written {
        return Ok(());
    }
    Ok(dataset.write_dataset_with_ts(out, ts)?)
}

/// Pixel Data to append after the encoded data set, as native (uncompressed) stored values.
#[derive(Debug, Clone, Copy)]
struct AppendedPixels<'a> {
    pixels: &'a PixelData,
    /// Explicit VR: the header carries VR and a reserved field (PS3.5 §7.1.2).
    explicit_vr: bool,
    /// Explicit VR Big Endian: tag, length and each 16-bit word most significant byte first.
    big_endian: bool,
    /// Value length before padding.
    len: u32,
}

/// Whether `inst`'s pixels can be appended after its encoded data set in `ts`: a native syntax,
/// nothing in the data set at or after (7FE0,0010), and a value length a 32-bit length field
/// holds once padded (PS3.5 §7.1.2).
fn appendable(inst: &Instance, ts: TransferSyntax) -> Option<AppendedPixels<'_>> {
    let pixels = inst.pixels.as_ref()?;
    let (explicit_vr, big_endian) = match ts {
        TransferSyntax::ImplicitVrLittleEndian => (false, false),
        TransferSyntax::ExplicitVrLittleEndian | TransferSyntax::DeflatedExplicitVrLittleEndian => {
            (true, false)
        }
        TransferSyntax::ExplicitVrBigEndian => (true, true),
        TransferSyntax::RleLossless => return None,
    };
    let last = (&inst.dataset).into_iter().next_back().map(|e| e.tag());
    if last.is_some_and(|tag| tag >= tags::PIXEL_DATA) {
        return None;
    }
    let len = u32::try_from(pixels.byte_len())
        .ok()
        .filter(|len| *len < u32::MAX - 1)?;
    Some(AppendedPixels {
        pixels,
        explicit_vr,
        big_endian,
        len,
    })
}

impl<'a> AppendedPixels<'a> {
    /// Appends the element: what dicom-rs writes for [`pixel_element`]'s value in the same
    /// syntax, header included, in one pass over the values. With [`Tail::Borrowed`], native
    /// little-endian words are left out of `out` and returned, to follow it.
    fn write(&self, out: &mut Vec<u8>, tail: Tail) -> &'a [u8] {
        let (group, element) = (tags::PIXEL_DATA.group(), tags::PIXEL_DATA.element());
        let u16_bytes = |v: u16| {
            if self.big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        // PS3.5 §7.1: every value has even length; the header states the padded length.
        let padded = self.len + self.len % 2;
        // Little-endian words on a little-endian machine are the buffer's own bytes: one copy,
        // without zeroing the space first and writing it word by word, or none at all.
        let native = cfg!(target_endian = "little") && !self.big_endian;
        let words: Option<&'a [u8]> = match &self.pixels.values {
            PixelValues::U8(_) => None,
            PixelValues::U16(v) => native.then(|| bytemuck::cast_slice(v.as_slice())),
            PixelValues::I16(v) => native.then(|| bytemuck::cast_slice(v.as_slice())),
        };
        let borrowed = match (tail, words) {
            (Tail::Borrowed, Some(words)) => Some(words),
            (Tail::Borrowed | Tail::Copied, _) => None,
        };
        out.reserve(
            12 + if borrowed.is_some() {
                0
            } else {
                padded as usize
            },
        );
        out.extend_from_slice(&u16_bytes(group));
        out.extend_from_slice(&u16_bytes(element));
        if self.explicit_vr {
            // OB for 8-bit samples, OW otherwise (PS3.5 §8.1.2), then two reserved zero bytes
            // and a 32-bit length (PS3.5 Table 7.1-1).
            let vr: &[u8; 2] = match self.pixels.values {
                PixelValues::U8(_) => b"OB",
                PixelValues::U16(_) | PixelValues::I16(_) => b"OW",
            };
            out.extend_from_slice(vr);
            out.extend_from_slice(&[0, 0]);
        }
        out.extend_from_slice(&if self.big_endian {
            padded.to_be_bytes()
        } else {
            padded.to_le_bytes()
        });
        if let Some(words) = borrowed {
            // Whole 16-bit words: an even length, no pad byte.
            return words;
        }
        match (&self.pixels.values, words) {
            (PixelValues::U8(v), _) => out.extend_from_slice(v.as_slice()),
            (PixelValues::U16(_) | PixelValues::I16(_), Some(words)) => {
                out.extend_from_slice(words);
            }
            (PixelValues::U16(v), None) => put_words(out, v, u16_bytes),
            // Two's complement keeps its bit pattern (PS3.5 §8.1.1).
            (PixelValues::I16(v), None) => put_words(out, v, |x| u16_bytes(x as u16)),
        }
        if padded != self.len {
            // OB/OW pad with a zero byte (PS3.5 §7.1).
            out.push(0);
        }
        &[]
    }
}

/// Appends two bytes per word: grows `out` once, then a loop the compiler vectorises.
fn put_words<T: Copy>(out: &mut Vec<u8>, words: &[T], bytes: impl Fn(T) -> [u8; 2]) {
    let start = out.len();
    out.resize(start + 2 * words.len(), 0);
    for (o, w) in out[start..].chunks_exact_mut(2).zip(words) {
        o.copy_from_slice(&bytes(*w));
    }
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
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
        .filter(|s| !s.is_empty())
        .ok_or(DicomError::MissingSopUid { attribute })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::identity::CharsetChoice;
    use crate::model::{Modality, Patient, Series, SeriesSpec, Study, Vendor, build_instance};

    /// Image kinds every writer and reader test goes through: 8-bit SC with an odd pixel count
    /// exercises the pad byte; GE CT is signed, Siemens unsigned; DX and CR are 12 bits in 16
    /// (CR is MONOCHROME1).
    pub(crate) const IMAGE_KINDS: [(Modality, u16, u16, Vendor); 7] = [
        (Modality::Ct, 9, 7, Vendor::Ge),
        (Modality::Ct, 8, 6, Vendor::Siemens),
        (Modality::Mr, 6, 5, Vendor::Philips),
        (Modality::Dx, 5, 7, Vendor::Ge),
        (Modality::Cr, 4, 4, Vendor::Siemens),
        (Modality::Sc, 3, 5, Vendor::Philips),
        (Modality::Sc, 4, 4, Vendor::Ge),
    ];

    /// One instance of `modality` with `rows` × `columns` pixels.
    pub(crate) fn instance(
        modality: Modality,
        rows: u16,
        columns: u16,
        vendor: Vendor,
    ) -> Instance {
        let patient = Patient::draw(5, 0, CharsetChoice::Latin1);
        let study = Study::draw(5, &patient, 0, modality);
        let mut spec = SeriesSpec::new(modality, rows, columns, 2);
        spec.vendor = Some(vendor);
        let series = Series::draw(5, &patient, &study, 0, 1, &spec);
        build_instance(5, &patient, &study, &series, 1)
    }

    fn options() -> Vec<WriteOptions> {
        let mut all = Vec::new();
        for ts in TransferSyntax::ALL {
            for (preamble, file_meta) in [(true, true), (false, true), (false, false)] {
                all.push(WriteOptions {
                    transfer_syntax: ts,
                    preamble,
                    file_meta,
                });
            }
        }
        all
    }

    #[test]
    fn appended_pixel_data_equals_dicom_rs_encoding_for_every_iod_and_syntax() {
        for (modality, rows, columns, vendor) in IMAGE_KINDS {
            let inst = instance(modality, rows, columns, vendor);
            for opts in options() {
                // Every IOD the engine builds ends before Pixel Data, so every native syntax
                // takes the appending route.
                assert_eq!(
                    appendable(&inst, opts.transfer_syntax).is_some(),
                    opts.transfer_syntax != TransferSyntax::RleLossless,
                    "{modality:?} {opts:?}"
                );
                let fast = to_bytes(&inst, &opts).expect("encodes");
                let (reference, _) =
                    encode(&inst, &opts, Route::Object, Tail::Copied).expect("encodes");
                assert!(fast == reference, "{modality:?} {rows}x{columns} {opts:?}");
                // The file written in two parts is the same bytes.
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("f.dcm");
                let len = write_file(&inst, &path, &opts).expect("writes");
                let written = std::fs::read(&path).expect("reads back");
                assert_eq!(len, written.len() as u64);
                assert!(written == reference, "{modality:?} written {opts:?}");
            }
        }
    }

    #[test]
    fn odd_length_pixel_data_is_padded_with_a_zero_byte() {
        let inst = instance(Modality::Sc, 3, 5, Vendor::Ge);
        let bytes = to_bytes(
            &inst,
            &WriteOptions::new(TransferSyntax::ExplicitVrLittleEndian),
        )
        .expect("encodes");
        // The last element: tag, "OB", reserved, length 16 (15 samples + pad), values, 0.
        let tail = &bytes[bytes.len() - 28..];
        assert_eq!(&tail[..12], b"\xE0\x7F\x10\x00OB\0\0\x10\0\0\0");
        let Some(PixelData {
            values: PixelValues::U8(v),
            ..
        }) = &inst.pixels
        else {
            panic!("secondary capture is 8-bit");
        };
        assert_eq!(&tail[12..27], v.as_slice());
        assert_eq!(tail[27], 0);
    }

    #[test]
    fn big_endian_swaps_each_word_and_the_header() {
        let inst = instance(Modality::Ct, 2, 2, Vendor::Ge);
        let bytes = to_bytes(
            &inst,
            &WriteOptions::new(TransferSyntax::ExplicitVrBigEndian),
        )
        .expect("encodes");
        let tail = &bytes[bytes.len() - 20..];
        assert_eq!(&tail[..12], b"\x7F\xE0\x00\x10OW\0\0\0\0\0\x08");
        let Some(PixelData {
            values: PixelValues::I16(v),
            ..
        }) = &inst.pixels
        else {
            panic!("GE CT is signed 16-bit");
        };
        let words: Vec<i16> = tail[12..]
            .chunks_exact(2)
            .map(|w| i16::from_be_bytes([w[0], w[1]]))
            .collect();
        assert_eq!(&words, v);
    }

    #[test]
    fn anything_after_pixel_data_takes_the_general_route_in_tag_order() {
        let mut inst = instance(Modality::Ct, 4, 4, Vendor::Siemens);
        // Data Set Trailing Padding (FFFC,FFFC) sorts after Pixel Data (PS3.10 §7.2).
        inst.dataset.put(DataElement::new(
            dicom_core::Tag(0xFFFC, 0xFFFC),
            VR::OB,
            PrimitiveValue::from(vec![0u8; 6]),
        ));
        for opts in options() {
            assert!(
                appendable(&inst, opts.transfer_syntax).is_none(),
                "{opts:?}"
            );
            let fast = to_bytes(&inst, &opts).expect("encodes");
            let (reference, _) =
                encode(&inst, &opts, Route::Object, Tail::Copied).expect("encodes");
            assert!(fast == reference, "{opts:?}");
        }
        let bytes = to_bytes(
            &inst,
            &WriteOptions::new(TransferSyntax::ExplicitVrLittleEndian),
        )
        .expect("encodes");
        assert_eq!(
            &bytes[bytes.len() - 18..],
            b"\xFC\xFF\xFC\xFFOB\0\0\x06\0\0\0\0\0\0\0\0\0"
        );
    }
}

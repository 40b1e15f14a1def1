//! Encoding an in-memory data set by walking it in place, through dicom-rs's own stateful
//! encoder.
//!
//! dicom-rs writes a borrowed `InMemDicomObject` by turning it into a stream of tokens, and for
//! a borrowed object each element is first cloned whole (a sequence with every item in it) and
//! its tokens collected into a queue: on the many small headers `series` writes, those clones
//! and their frees were about a sixth of generation's instructions. No published crate encodes
//! a borrowed data set without that copy, so this module walks the object itself and hands each
//! value by reference to the same `StatefulEncoder` dicom-rs's `DataSetWriter` drives. What decides
//! bytes (headers, text codecs and the switch at Specific Character Set (0008,0005), numbers,
//! DS/IS held as binary written as text) stays dicom-rs's. The walk reproduces the writer's
//! token layer under its default strategy, which writes every sequence and item with undefined
//! length and closes them with delimiters (PS3.5 §7.5.1, §7.5.2), and writes ASCII text itself
//! where the active codec is known to give it back unchanged (see `Text`): the `encoding`
//! crate's byte-at-a-time encoder was the next largest cost.
//!
//! Anything that layer treats specially is left to dicom-rs: encapsulated pixel data
//! (PS3.5 §A.4) and any value whose shape disagrees with its VR. [`write_dataset`] reports
//! [`Walked::Declined`] for those before writing a byte, and the caller encodes them the usual
//! way. The tests hold the walk to dicom-rs's writer byte for byte.

use std::io::Write;

use dicom_core::PrimitiveValue;
use dicom_core::header::{DataElementHeader, HasLength, Header, Length};
use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_encoding::encode::EncodeTo;
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_encoding::transfer_syntax::{Codec, TransferSyntax};
use dicom_object::InMemDicomObject;
use dicom_parser::stateful::encode::{Error, StatefulEncoder};

/// What [`write_dataset`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Walked {
    /// The data set is written.
    Written,
    /// Nothing was written: the data set holds something only dicom-rs's writer handles.
    Declined,
}

/// Writes `obj` as a data set in `ts` (no preamble or file meta), as
/// `InMemDicomObject::write_dataset_with_ts` does, or declines without writing.
pub(super) fn write_dataset(
    obj: &InMemDicomObject,
    ts: &TransferSyntax,
    out: &mut Vec<u8>,
) -> Result<Walked, Error> {
    // A syntax whose data set passes through an adapter (deflate) is encoded by dicom-rs's
    // adapter; we deflate ourselves, so it is never asked for here.
    if matches!(ts.codec(), Codec::Dataset(_)) || !walkable(obj) {
        return Ok(Walked::Declined);
    }
    let Some(encoder) = ts.encoder_for::<&mut Vec<u8>>() else {
        return Ok(Walked::Declined);
    };
    let mut printer = StatefulEncoder::new(out, encoder, SpecificCharacterSet::default());
    let mut text = Text {
        ascii_as_is: true,
        buffer: Vec::with_capacity(128),
    };
    walk(&mut printer, obj, &mut text)?;
    Ok(Walked::Written)
}

/// Whether every element's value has the shape its VR promises: sequences under SQ, primitive
/// values elsewhere, no encapsulated pixel data, at every depth.
fn walkable(obj: &InMemDicomObject) -> bool {
    obj.iter().all(|elem| match (elem.vr(), elem.value()) {
        (VR::SQ, Value::Sequence(seq)) => seq.items().iter().all(walkable),
        // dicom-rs reads an undefined-length OB Pixel Data header as the start of encapsulated
        // fragments, whatever its value.
        (VR::OB, Value::Primitive(_))
            if elem.tag() == Tag(0x7FE0, 0x0010) && elem.length().is_undefined() =>
        {
            false
        }
        (VR::SQ, _) | (_, Value::Sequence(_) | Value::PixelSequence(_)) => false,
        (_, Value::Primitive(_)) => true,
    })
}

/// The walk's view of the text codec dicom-rs's encoder holds, and a buffer for values.
struct Text {
    /// Whether the active character set writes ASCII text as its own bytes: the default
    /// repertoire (ISO_IR 6, PS3.5 §6.1), ISO_IR 100 and ISO_IR 192 are ASCII-compatible
    /// single-byte or UTF-8 codes. Only these are assumed; under any other set text goes to
    /// dicom-rs.
    ascii_as_is: bool,
    buffer: Vec<u8>,
}

impl Text {
    /// Follows Specific Character Set (0008,0005) as dicom-rs's encoder does after writing
    /// it: the first value names the new codec, and a name it does not know keeps the old one.
    fn switch(&mut self, value: &PrimitiveValue) {
        let first = match value {
            PrimitiveValue::Str(text) => text.as_str(),
            PrimitiveValue::Strs(texts) => texts.first().map_or("", String::as_str),
            _ => return,
        };
        if let Some(codec) = SpecificCharacterSet::from_code(first) {
            self.ascii_as_is = matches!(&*codec.name(), "ISO_IR 6" | "ISO_IR 100" | "ISO_IR 192");
        }
    }

    /// The value's bytes when they are its text as is: ASCII text, in a VR whose characters
    /// come from the default repertoire whatever the set (PS3.5 Table 6.2-1: AE, AS, CS, DA, DS,
    /// DT, IS, TM, UI) or under an ASCII-compatible active set. Joined by backslashes and
    /// padded to even length as dicom-rs pads: NUL for UI, space otherwise (PS3.5 §6.2, §9.1).
    /// `None` leaves the value to dicom-rs: other text, numbers held as binary, empty values,
    /// and Specific Character Set itself, whose writing switches dicom-rs's codec.
    fn as_is(&mut self, tag: Tag, vr: VR, value: &PrimitiveValue) -> Option<&[u8]> {
        let parts: &[String] = match value {
            PrimitiveValue::Str(text) => std::slice::from_ref(text),
            PrimitiveValue::Strs(texts) => texts,
            _ => return None,
        };
        let default_repertoire = matches!(
            vr,
            VR::AE | VR::AS | VR::CS | VR::DA | VR::DS | VR::DT | VR::IS | VR::TM | VR::UI
        );
        if tag == Tag(0x0008, 0x0005)
            || !(default_repertoire || self.ascii_as_is)
            || !parts.iter().all(|p| p.is_ascii())
        {
            return None;
        }
        self.buffer.clear();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.buffer.push(b'\\');
            }
            self.buffer.extend_from_slice(part.as_bytes());
        }
        if self.buffer.len() % 2 == 1 {
            self.buffer.push(if vr == VR::UI { 0 } else { b' ' });
        }
        Some(&self.buffer)
    }
}

fn walk<W, E>(
    printer: &mut StatefulEncoder<W, E>,
    obj: &InMemDicomObject,
    text: &mut Text,
) -> Result<(), Error>
where
    W: Write,
    E: EncodeTo<W>,
{
    for elem in obj {
        match elem.value() {
            Value::Primitive(value) => {
                if let Some(bytes) = text.as_is(elem.tag(), elem.vr(), value) {
                    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                    printer.encode_element_header(DataElementHeader::new(
                        elem.tag(),
                        elem.vr(),
                        Length(len),
                    ))?;
                    printer.write_raw_bytes(bytes)?;
                } else {
                    printer.encode_primitive_element(elem.header(), value)?;
                    if elem.tag() == Tag(0x0008, 0x0005) {
                        text.switch(value);
                    }
                }
            }
            Value::Sequence(seq) => {
                printer.encode_element_header(DataElementHeader::new(
                    elem.tag(),
                    VR::SQ,
                    Length::UNDEFINED,
                ))?;
                for item in seq.items() {
                    printer.encode_item_header(Length::UNDEFINED.0)?;
                    walk(printer, item, text)?;
                    printer.encode_item_delimiter()?;
                }
                printer.encode_sequence_delimiter()?;
            }
            // `walkable` declined these.
            Value::PixelSequence(_) => unreachable!("encapsulated pixel data is declined"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use dicom_core::value::{DataSetSequence, PixelFragmentSequence};
    use dicom_core::{DataElement, PrimitiveValue, dicom_value};
    use dicom_dictionary_std::tags;
    use dicom_encoding::TransferSyntaxIndex;
    use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

    use super::*;

    fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: PrimitiveValue) {
        obj.put(DataElement::new(tag, vr, value));
    }

    fn sequence(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
        obj.put(DataElement::new(
            tag,
            VR::SQ,
            Value::from(DataSetSequence::from(items)),
        ));
    }

    /// An item whose text the active character set must encode.
    fn person(name: &str, id: &str) -> InMemDicomObject {
        let mut item = InMemDicomObject::new_empty();
        put(&mut item, tags::PATIENT_NAME, VR::PN, name.into());
        put(&mut item, tags::PATIENT_ID, VR::LO, id.into());
        item
    }

    /// Every shape of value the token layer treats in its own way: odd and even text, multiple
    /// values, UIDs padded with NUL, DA padded with a space, DS and IS held as binary numbers,
    /// binary values of every width, empty values, private elements, nested, empty and
    /// item-less sequences, and text after Specific Character Set switches the codec.
    fn rich(charset: &[&str], name: &str) -> InMemDicomObject {
        let mut obj = InMemDicomObject::new_empty();
        if !charset.is_empty() {
            let values: Vec<String> = charset.iter().map(|s| (*s).to_owned()).collect();
            put(
                &mut obj,
                tags::SPECIFIC_CHARACTER_SET,
                VR::CS,
                PrimitiveValue::Strs(values.into()),
            );
        }
        put(
            &mut obj,
            tags::IMAGE_TYPE,
            VR::CS,
            dicom_value!(Strs, ["ORIGINAL", "PRIMARY", "AXIAL"]),
        );
        put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.456".into());
        put(&mut obj, tags::STUDY_DATE, VR::DA, "20260101".into());
        put(&mut obj, tags::STUDY_TIME, VR::TM, "101".into());
        put(
            &mut obj,
            tags::ACCESSION_NUMBER,
            VR::SH,
            PrimitiveValue::Empty,
        );
        put(
            &mut obj,
            tags::INSTITUTION_NAME,
            VR::LO,
            format!("Klinik {name}").into(),
        );
        put(&mut obj, tags::PATIENT_NAME, VR::PN, name.into());
        // A name put as ISO 2022 IR 87 bytes (odd length: padded), as deid's Japanese patient.
        let jis = b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B".to_vec();
        put(
            &mut obj,
            tags::OTHER_PATIENT_NAMES,
            VR::PN,
            PrimitiveValue::from(jis),
        );
        put(
            &mut obj,
            tags::SLICE_THICKNESS,
            VR::DS,
            PrimitiveValue::F64(vec![2.5].into()),
        );
        put(
            &mut obj,
            tags::SERIES_NUMBER,
            VR::IS,
            PrimitiveValue::I32(vec![7].into()),
        );
        put(
            &mut obj,
            tags::PIXEL_SPACING,
            VR::DS,
            dicom_value!(Strs, ["0.5", "0.5"]),
        );
        put(
            &mut obj,
            tags::ROWS,
            VR::US,
            PrimitiveValue::U16(vec![3].into()),
        );
        put(&mut obj, tags::WINDOW_CENTER, VR::DS, PrimitiveValue::Empty);
        put(
            &mut obj,
            Tag(0x0018, 0x9087),
            VR::FD,
            PrimitiveValue::F64(vec![1000.0].into()),
        );
        put(&mut obj, Tag(0x0028, 0x1052), VR::DS, "-1024".into());
        put(
            &mut obj,
            Tag(0x0019, 0x0010),
            VR::LO,
            "SIEMENS MR HEADER".into(),
        );
        put(&mut obj, Tag(0x0019, 0x100C), VR::IS, "100".into());
        put(
            &mut obj,
            Tag(0x0019, 0x1020),
            VR::OB,
            PrimitiveValue::from(vec![1u8, 2, 3]),
        );
        put(
            &mut obj,
            Tag(0x0019, 0x1021),
            VR::SL,
            PrimitiveValue::I32(vec![-5, 6].into()),
        );
        put(
            &mut obj,
            Tag(0x0019, 0x1022),
            VR::FL,
            PrimitiveValue::F32(vec![0.25].into()),
        );
        put(
            &mut obj,
            Tag(0x0019, 0x1023),
            VR::UN,
            PrimitiveValue::from(vec![9u8; 5]),
        );
        put(&mut obj, Tag(0x0019, 0x1024), VR::UT, "free text".into());
        let mut nested = person(name, "ID-1");
        sequence(
            &mut nested,
            tags::REFERENCED_SOP_SEQUENCE,
            vec![person(name, "ID-22")],
        );
        sequence(&mut nested, tags::CONCEPT_NAME_CODE_SEQUENCE, Vec::new());
        sequence(
            &mut obj,
            tags::OTHER_PATIENT_I_DS_SEQUENCE,
            vec![nested, InMemDicomObject::new_empty(), person(name, "odd")],
        );
        sequence(&mut obj, tags::REFERENCED_STUDY_SEQUENCE, Vec::new());
        put(
            &mut obj,
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(vec![1, 2, 3].into()),
        );
        obj
    }

    fn syntaxes() -> Vec<&'static TransferSyntax> {
        [
            "1.2.840.10008.1.2",
            "1.2.840.10008.1.2.1",
            "1.2.840.10008.1.2.2",
        ]
        .into_iter()
        .map(|uid| TransferSyntaxRegistry.get(uid).expect("registered"))
        .collect()
    }

    #[test]
    fn the_walk_writes_what_dicom_rs_writes() {
        let sets: [(&[&str], &str); 5] = [
            (&[], "Doe^Jane"),
            (&["ISO_IR 100"], "Müller^Jürgen"),
            (&["ISO_IR 192"], "Ωmega^Ñandú"),
            // A set the walk does not assume ASCII-compatible: its text goes to dicom-rs.
            (&["ISO_IR 144"], "Ivanov^Ivan"),
            // dicom-rs cannot encode from this set; its names are put as bytes (below).
            (&["", "ISO 2022 IR 87"], "Yamada^Tarou"),
        ];
        for (charset, name) in sets {
            let obj = rich(charset, name);
            for ts in syntaxes() {
                let mut walked = Vec::new();
                let done = write_dataset(&obj, ts, &mut walked)
                    .unwrap_or_else(|e| panic!("{charset:?}: {e}"));
                assert_eq!(done, Walked::Written, "{charset:?} {}", ts.uid());
                let mut reference = Vec::new();
                obj.write_dataset_with_ts(&mut reference, ts)
                    .expect("dicom-rs writes");
                assert!(walked == reference, "{charset:?} {}", ts.uid());
            }
        }
    }

    #[test]
    fn what_the_walk_does_not_know_is_declined_before_a_byte_is_written() {
        let explicit = TransferSyntaxRegistry
            .get("1.2.840.10008.1.2.1")
            .expect("registered");
        // Encapsulated fragments, at the top level or inside an item.
        let mut fragments = rich(&[], "Doe^Jane");
        fragments.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            Value::PixelSequence(PixelFragmentSequence::new(
                Vec::<u32>::new(),
                vec![vec![0u8; 4]],
            )),
        ));
        let mut inside = InMemDicomObject::new_empty();
        sequence(
            &mut inside,
            tags::ICON_IMAGE_SEQUENCE,
            vec![fragments.clone()],
        );
        // A sequence value under another VR.
        let mut mislabelled = InMemDicomObject::new_empty();
        mislabelled.put(DataElement::new(
            tags::REFERENCED_SOP_SEQUENCE,
            VR::UN,
            Value::from(DataSetSequence::from(vec![person("A^B", "1")])),
        ));
        for obj in [fragments, inside, mislabelled] {
            let mut out = b"kept".to_vec();
            let done = write_dataset(&obj, explicit, &mut out).expect("declines");
            assert_eq!(done, Walked::Declined);
            assert_eq!(out, b"kept");
        }
        // Deflate's data set goes through dicom-rs's adapter, which the walk does not drive.
        let deflated = TransferSyntaxRegistry
            .get("1.2.840.10008.1.2.1.99")
            .expect("registered");
        let mut out = Vec::new();
        let done = write_dataset(&rich(&[], "Doe^Jane"), deflated, &mut out).expect("declines");
        assert_eq!((done, out.len()), (Walked::Declined, 0));
    }
}

//! A semantic dump of a data set for snapshots and diffs: one line per element, sorted by tag,
//! `(gggg,eeee) VR Keyword = value`, sequences indented by item, binary values and Pixel Data
//! replaced by `<N bytes sha256 XXXX…>`, the file meta group first. Never raw bytes.

use std::fmt::Write as _;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_core::{PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::{FileMetaTable, InMemDicomObject};
use sha2::{Digest, Sha256};

/// Dumps `meta` (when given) then `obj`.
pub fn semantic_dump(obj: &InMemDicomObject, meta: Option<&FileMetaTable>) -> String {
    let mut out = String::new();
    if let Some(meta) = meta {
        out.push_str("# file meta\n");
        for elem in meta.to_element_iter() {
            if let Value::Primitive(p) = elem.value() {
                line(
                    &mut out,
                    0,
                    elem.tag(),
                    elem.vr(),
                    &primitive(elem.tag(), elem.vr(), p),
                );
            }
        }
        out.push_str("# data set\n");
    }
    dump_object(&mut out, obj, 0);
    out
}

fn dump_object(out: &mut String, obj: &InMemDicomObject, depth: usize) {
    for elem in obj {
        let (tag, vr) = (elem.tag(), elem.vr());
        match elem.value() {
            Value::Primitive(p) => line(out, depth, tag, vr, &primitive(tag, vr, p)),
            Value::Sequence(seq) => {
                let items = seq.items();
                let plural = if items.len() == 1 { "" } else { "s" };
                line(
                    out,
                    depth,
                    tag,
                    vr,
                    &format!("{} item{plural}", items.len()),
                );
                for (i, item) in items.iter().enumerate() {
                    let _ = writeln!(out, "{}  item {}", "  ".repeat(depth), i + 1);
                    dump_object(out, item, depth + 2);
                }
            }
            Value::PixelSequence(ps) => {
                let total: usize = ps.fragments().iter().map(Vec::len).sum();
                let mut hasher = Sha256::new();
                for fragment in ps.fragments() {
                    hasher.update(fragment);
                }
                let value = format!(
                    "<encapsulated: offset table {} entries, {} fragments, {total} bytes sha256 {}…>",
                    ps.offset_table().len(),
                    ps.fragments().len(),
                    &hex::encode(hasher.finalize())[..16]
                );
                line(out, depth, tag, vr, &value);
            }
        }
    }
}

fn line(out: &mut String, depth: usize, tag: Tag, vr: VR, value: &str) {
    let _ = writeln!(
        out,
        "{}({:04X},{:04X}) {} {} = {}",
        "  ".repeat(depth),
        tag.group(),
        tag.element(),
        vr.to_string(),
        keyword(tag),
        value
    );
}

fn primitive(tag: Tag, vr: VR, p: &PrimitiveValue) -> String {
    let binary = matches!(
        vr,
        VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN
    );
    if tag == tags::PIXEL_DATA || (binary && p.to_bytes().len() > 16) {
        let bytes = p.to_bytes();
        return format!(
            "<{} bytes sha256 {}…>",
            bytes.len(),
            &hex::encode(Sha256::digest(&bytes))[..16]
        );
    }
    if binary {
        return format!("[{}]", hex::encode(p.to_bytes()));
    }
    if matches!(p, PrimitiveValue::Empty) {
        return "(empty)".to_owned();
    }
    p.to_str().into_owned()
}

fn keyword(tag: Tag) -> String {
    if let Some(entry) = StandardDataDictionary.by_tag(tag) {
        return entry.alias().to_owned();
    }
    if tag.group() % 2 == 1 {
        // PS3.5 §7.8.1: (gggg,0010–00FF) reserve blocks; the rest are private data elements.
        if (0x0010..=0x00FF).contains(&tag.element()) {
            "PrivateCreator".to_owned()
        } else {
            "Private".to_owned()
        }
    } else {
        "Unknown".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::DataElement;
    use dicom_core::value::DataSetSequence;

    #[test]
    fn dump_sorts_indents_and_hashes() {
        let item = InMemDicomObject::from_element_iter([DataElement::new(
            tags::CODE_VALUE,
            VR::SH,
            PrimitiveValue::from("51185008"),
        )]);
        let obj = InMemDicomObject::from_element_iter([
            DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::from(vec![0u8; 8])),
            DataElement::new(
                tags::PATIENT_NAME,
                VR::PN,
                PrimitiveValue::from("Müller^Jürgen"),
            ),
            DataElement::new(
                tags::ANATOMIC_REGION_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![item]),
            ),
            DataElement::new(
                Tag(0x0029, 0x0010),
                VR::LO,
                PrimitiveValue::from("SIEMENS CSA HEADER"),
            ),
            DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::Empty),
        ]);
        insta::assert_snapshot!(semantic_dump(&obj, None), @r"
        (0008,2218) SQ AnatomicRegionSequence = 1 item
          item 1
            (0008,0100) SH CodeValue = 51185008
        (0010,0010) PN PatientName = Müller^Jürgen
        (0010,0020) LO PatientID = (empty)
        (0029,0010) LO PrivateCreator = SIEMENS CSA HEADER
        (7FE0,0010) OW PixelData = <8 bytes sha256 af5570f5a1810b7a…>
        ");
    }
}

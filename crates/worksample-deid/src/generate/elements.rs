//! Small element builders shared by the generator's object builders: text, numbers, sequences,
//! code items and SOP references, so each IOD builder reads as the list of its attributes.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// Puts a text element; an empty string puts a zero-length value (a Type 2 attribute with no
/// value, PS3.5 §7.4.5).
pub(super) fn text(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    let value = if value.is_empty() {
        PrimitiveValue::Empty
    } else {
        PrimitiveValue::from(value)
    };
    obj.put(DataElement::new(tag, vr, value));
}

/// Puts a multi-valued text element (values joined by `\` on the wire, PS3.5 §6.4).
pub(super) fn multi(obj: &mut InMemDicomObject, tag: Tag, vr: VR, values: &[&str]) {
    let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
    obj.put(DataElement::new(
        tag,
        vr,
        PrimitiveValue::Strs(values.into()),
    ));
}

/// Puts an unsigned short.
pub(super) fn us(obj: &mut InMemDicomObject, tag: Tag, value: u16) {
    obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(value)));
}

/// Puts a sequence.
pub(super) fn seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

/// A code sequence item (PS3.3 §8.8, Table 8.8-1a): value, scheme designator, meaning.
pub(super) fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    text(&mut item, tags::CODE_VALUE, VR::SH, value);
    text(&mut item, tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme);
    text(&mut item, tags::CODE_MEANING, VR::LO, meaning);
    item
}

/// A SOP reference item: Referenced SOP Class UID and Referenced SOP Instance UID (PS3.3
/// Table 10-11).
pub(super) fn sop_ref(class: &str, instance: &str) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    text(&mut item, tags::REFERENCED_SOP_CLASS_UID, VR::UI, class);
    text(
        &mut item,
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        instance,
    );
    item
}

/// The string value of `tag` in `obj`, trimmed of padding; empty when absent.
pub(super) fn string(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches([' ', '\0']).to_owned())
        .unwrap_or_default()
}

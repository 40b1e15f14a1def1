//! Private data elements with correct creator reservation (PS3.5 §7.8.1), and the GE, Siemens and
//! Philips private blocks our vendor quirks add.
//!
//! dicom-rs 0.10's `put_private_element` reserves a new creator at (gggg,0001), which PS3.5
//! §7.8.1 forbids (creators live in (gggg,0010)–(gggg,00FF)); we reserve the creator ourselves.

use dicom_core::header::Header;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_object::InMemDicomObject;

/// Why a private element could not be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrivateError {
    /// Private groups are odd and above 0008 (PS3.5 §7.8.1).
    #[error("group {group:04X} is not a private group")]
    NotPrivateGroup {
        /// The group asked for.
        group: u16,
    },
    /// All 240 creator slots (0010–00FF) of the group are taken by other creators.
    #[error("private group {group:04X} has no free creator slot for `{creator}`")]
    NoFreeSlot {
        /// The group.
        group: u16,
        /// The creator that did not fit.
        creator: String,
    },
}

/// Finds the block of `creator` in `group`, reserving the first free slot in (gggg,0010–00FF)
/// when the creator is not there yet. Returns the block number (0x10–0xFF).
pub fn reserve_creator(
    obj: &mut InMemDicomObject,
    group: u16,
    creator: &str,
) -> Result<u8, PrivateError> {
    if group & 1 == 0 || group <= 0x0008 {
        return Err(PrivateError::NotPrivateGroup { group });
    }
    // One pass over the data set's elements in tag order (a hundred or so) rather than a lookup
    // per candidate slot (240, which showed in the profile of fixture generation): the first
    // slot holding `creator` is the lowest, as a scan of the slots in order would find.
    let mut taken = [false; 0x100];
    for elem in obj.iter() {
        let tag = elem.tag();
        if tag > Tag(group, 0xFF) {
            break;
        }
        let Ok(block) = u8::try_from(tag.element()) else {
            continue;
        };
        if tag.group() != group || block < 0x10 {
            continue;
        }
        taken[usize::from(block)] = true;
        let existing = elem.to_str().unwrap_or_default();
        if existing.trim_end_matches([' ', '\0']) == creator {
            return Ok(block);
        }
    }
    let free = (0x10u8..=0xFF).find(|block| !taken[usize::from(*block)]);
    let block = free.ok_or_else(|| PrivateError::NoFreeSlot {
        group,
        creator: creator.to_owned(),
    })?;
    obj.put(DataElement::new(
        Tag(group, u16::from(block)),
        VR::LO,
        PrimitiveValue::from(creator),
    ));
    Ok(block)
}

/// Puts a private element `(group, creator, element)` and returns the tag it landed on,
/// (gggg, bbee) where bb is the creator's block.
pub fn put_private(
    obj: &mut InMemDicomObject,
    group: u16,
    creator: &str,
    element: u8,
    vr: VR,
    value: PrimitiveValue,
) -> Result<Tag, PrivateError> {
    let block = reserve_creator(obj, group, creator)?;
    let tag = Tag(group, (u16::from(block) << 8) | u16::from(element));
    obj.put(DataElement::new(tag, vr, value));
    Ok(tag)
}

/// Reads back a private element by creator and element byte, wherever its block landed.
pub fn get_private<'a>(
    obj: &'a InMemDicomObject,
    group: u16,
    creator: &str,
    element: u8,
) -> Option<&'a dicom_object::mem::InMemElement> {
    (0x10u8..=0xFF).find_map(|block| {
        let elem = obj.get(Tag(group, u16::from(block)))?;
        let name = elem.to_str().ok()?;
        if name.trim_end_matches([' ', '\0']) == creator {
            obj.get(Tag(group, (u16::from(block) << 8) | u16::from(element)))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creator_lands_in_0010_and_second_creator_in_0011() {
        let mut obj = InMemDicomObject::new_empty();
        let tag = put_private(
            &mut obj,
            0x0029,
            "SIEMENS CSA HEADER",
            0x08,
            VR::CS,
            "IMAGE NUM 4".into(),
        )
        .expect("private group");
        assert_eq!(tag, Tag(0x0029, 0x1008));
        let other = put_private(
            &mut obj,
            0x0029,
            "SIEMENS MEDCOM HEADER2",
            0x60,
            VR::LO,
            "x".into(),
        )
        .expect("private group");
        assert_eq!(other, Tag(0x0029, 0x1160));
        let again = put_private(
            &mut obj,
            0x0029,
            "SIEMENS CSA HEADER",
            0x09,
            VR::LO,
            "v".into(),
        )
        .expect("private group");
        assert_eq!(again, Tag(0x0029, 0x1009));
        assert!(obj.get(Tag(0x0029, 0x0001)).is_none());
        let back = get_private(&obj, 0x0029, "SIEMENS MEDCOM HEADER2", 0x60).expect("present");
        assert_eq!(back.to_str().expect("text").trim(), "x");
    }

    #[test]
    fn even_group_is_rejected() {
        let mut obj = InMemDicomObject::new_empty();
        assert_eq!(
            reserve_creator(&mut obj, 0x0010, "X"),
            Err(PrivateError::NotPrivateGroup { group: 0x0010 })
        );
    }
}

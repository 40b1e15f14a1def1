//! The safe private attributes the `deid` task retains under the Retain Safe Private Option: the
//! subset of PS3.15 Table E.3.10-1 our fixtures plant, published in tasks/deid/brief.md.
//!
//! A private attribute is named by its private creator and the low byte of its element, never by
//! a fixed tag: the creator reserves a block (gggg,0010–00FF) and its attributes live at
//! (gggg,bbxx) where bb is that block (PS3.5 §7.8.1). A creator moved to another block moves its
//! attributes with it.

use dicom_core::Tag;

/// One safe private attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SafePrivate {
    /// The private creator value, exactly.
    pub creator: &'static str,
    /// The (odd) group.
    pub group: u16,
    /// The low byte of the element (`xx` in (gggg,bbxx)).
    pub element: u8,
    /// Attribute name as Table E.3.10-1 gives it.
    pub name: &'static str,
}

/// The safe private attributes of the task, in the brief's order.
pub const SAFE_PRIVATE: [SafePrivate; 12] = [
    safe("SIEMENS MR HEADER", 0x0019, 0x0C, "B Value"),
    safe(
        "SIEMENS MR HEADER",
        0x0019,
        0x0D,
        "Diffusion Directionality",
    ),
    safe(
        "SIEMENS MR HEADER",
        0x0019,
        0x0E,
        "Diffusion Gradient Direction",
    ),
    safe("SIEMENS MR HEADER", 0x0019, 0x27, "B Matrix"),
    safe("GEMS_ACQU_01", 0x0019, 0x23, "Table Speed"),
    safe("GEMS_ACQU_01", 0x0019, 0x27, "Rotation Speed"),
    safe("GEMS_PARM_01", 0x0043, 0x27, "Scan Pitch Ratio"),
    safe("GEMS_PARM_01", 0x0043, 0x39, "B Value (first value)"),
    safe("Philips MR Imaging DD 001", 0x2005, 0x0D, "Scale Intercept"),
    safe("Philips MR Imaging DD 001", 0x2005, 0x0E, "Scale Slope"),
    safe("Philips PET Private Group", 0x7053, 0x00, "SUV Factor"),
    safe(
        "Philips PET Private Group",
        0x7053,
        0x09,
        "Activity Concentration Factor",
    ),
];

const fn safe(creator: &'static str, group: u16, element: u8, name: &'static str) -> SafePrivate {
    SafePrivate {
        creator,
        group,
        element,
        name,
    }
}

/// Whether (creator, group, low byte) names a safe attribute. Creator values are compared after
/// trimming the trailing space padding of LO values (PS3.5 §6.2).
pub fn is_safe(creator: &str, group: u16, element: u8) -> bool {
    let creator = creator.trim_end_matches([' ', '\0']);
    SAFE_PRIVATE
        .iter()
        .any(|s| s.creator == creator && s.group == group && s.element == element)
}

/// Whether a creator reserves a block that holds safe attributes (so its creator element may
/// stay when one of them is kept).
pub fn is_safe_creator(creator: &str, group: u16) -> bool {
    let creator = creator.trim_end_matches([' ', '\0']);
    SAFE_PRIVATE
        .iter()
        .any(|s| s.creator == creator && s.group == group)
}

/// Where a private element's creator lives: (gggg,bbee) with bb in 0x10..=0xFF belongs to the
/// creator at (gggg,00bb) (PS3.5 §7.8.1). `None` for creator elements themselves, for (gggg,0000–
/// 000F) and for even groups.
pub fn creator_tag(tag: Tag) -> Option<Tag> {
    let block = tag.element() >> 8;
    (tag.group() % 2 == 1 && block >= 0x10).then_some(Tag(tag.group(), block))
}

/// Whether `tag` is a private creator element (gggg,0010–00FF) of an odd group.
pub fn is_creator_element(tag: Tag) -> bool {
    tag.group() % 2 == 1 && (0x0010..=0x00FF).contains(&tag.element())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brief_table_lists_exactly_the_safe_attributes() {
        let brief = include_str!("../../../tasks/deid/brief.md");
        let rows: Vec<(String, u16, u8)> = brief
            .lines()
            .filter(|l| l.starts_with("| `"))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let creator = cells.get(1)?.trim_matches('`').to_owned();
                let group = u16::from_str_radix(cells.get(2)?, 16).ok()?;
                let element = u8::from_str_radix(cells.get(3)?.strip_prefix("xx")?, 16).ok()?;
                Some((creator, group, element))
            })
            .collect();
        let ours: Vec<(String, u16, u8)> = SAFE_PRIVATE
            .iter()
            .map(|s| (s.creator.to_owned(), s.group, s.element))
            .collect();
        assert_eq!(rows, ours);
    }

    #[test]
    fn matches_by_creator_and_low_byte_only() {
        assert!(is_safe("SIEMENS MR HEADER ", 0x0019, 0x0C));
        assert!(!is_safe("SIEMENS MR HEADER", 0x0019, 0x08));
        assert!(!is_safe("SIEMENS CSA HEADER", 0x0019, 0x0C));
        assert!(!is_safe("SIEMENS MR HEADER", 0x0029, 0x0C));
        assert!(is_safe_creator("GEMS_PARM_01", 0x0043));
        assert!(!is_safe_creator("GEMS_IDEN_01", 0x0009));
    }

    #[test]
    fn creator_of_a_relocated_block() {
        assert_eq!(creator_tag(Tag(0x0019, 0x110C)), Some(Tag(0x0019, 0x0011)));
        assert_eq!(creator_tag(Tag(0x0019, 0x100C)), Some(Tag(0x0019, 0x0010)));
        assert_eq!(creator_tag(Tag(0x0019, 0x0011)), None);
        assert_eq!(creator_tag(Tag(0x0018, 0x100C)), None);
        assert!(is_creator_element(Tag(0x0019, 0x0011)));
        assert!(!is_creator_element(Tag(0x0019, 0x1011)));
    }
}

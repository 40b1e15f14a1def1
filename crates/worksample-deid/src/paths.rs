//! Attribute paths: where an element sits in a data set, at any depth, written
//! `(0040,0275)[0]>(0010,0010)` — each sequence step is its tag and a 0-based item index, steps
//! are joined by `>` — with private elements named by creator and low byte,
//! `(0019,"SIEMENS MR HEADER",0C)`, so a path stays the same when a private block moves
//! (PS3.5 §7.8.1; MIDI-B's answer keys use the same idea).
//!
//! [`walk`] visits every element of an [`InMemDicomObject`] at every depth, pre-order, with its
//! path; [`AttrPath::find`] resolves a path back to an element. Paths are the vocabulary of
//! findings (`file 0007: PatientName leaked at (0040,0275)[0]>(0010,0010)`) and answer keys.
//!
//! This is shared vocabulary that belongs below the task crates (worksample-dicom); it lives
//! here until it moves down.

use std::fmt;
use std::str::FromStr;

use dicom_core::Tag;
use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;

use crate::safe_private::creator_tag;

/// Deepest sequence nesting [`walk`] descends into. Real objects nest a handful of levels (SR
/// content trees rarely exceed ten); a hostile file could nest thousands and exhaust the stack.
pub const MAX_DEPTH: usize = 32;

/// How an element is named inside one data set or item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ElementKey {
    /// A public element, a private creator element, or a private element whose creator is
    /// missing: named by its tag.
    Tag(Tag),
    /// A private element named by its creator and the low byte of its element.
    Private {
        /// The odd group.
        group: u16,
        /// The private creator value, trailing padding trimmed.
        creator: String,
        /// The low byte of the element number.
        element: u8,
    },
}

impl ElementKey {
    /// The key of the element at `tag` inside `obj`: private elements whose creator is present
    /// are named by it.
    pub fn of(obj: &InMemDicomObject, tag: Tag) -> Self {
        let creator = creator_tag(tag).and_then(|ct| obj.get(ct)).and_then(|e| {
            e.to_str()
                .ok()
                .map(|s| s.trim_end_matches([' ', '\0']).to_owned())
        });
        match creator {
            Some(creator) => ElementKey::Private {
                group: tag.group(),
                creator,
                element: (tag.element() & 0xFF) as u8,
            },
            None => ElementKey::Tag(tag),
        }
    }

    /// The group.
    pub fn group(&self) -> u16 {
        match self {
            ElementKey::Tag(t) => t.group(),
            ElementKey::Private { group, .. } => *group,
        }
    }

    /// Finds the element this key names in `obj`.
    pub fn find<'a>(&self, obj: &'a InMemDicomObject) -> Option<&'a InMemElement> {
        match self {
            ElementKey::Tag(tag) => obj.get(*tag),
            ElementKey::Private {
                group,
                creator,
                element,
            } => (0x10u16..=0xFF).find_map(|block| {
                let c = obj.get(Tag(*group, block))?;
                let name = c.to_str().ok()?;
                if name.trim_end_matches([' ', '\0']) == creator {
                    obj.get(Tag(*group, (block << 8) | u16::from(*element)))
                } else {
                    None
                }
            }),
        }
    }
}

impl fmt::Display for ElementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElementKey::Tag(t) => write!(f, "({:04X},{:04X})", t.group(), t.element()),
            ElementKey::Private {
                group,
                creator,
                element,
            } => {
                let escaped = creator.replace('\\', "\\\\").replace('"', "\\\"");
                write!(f, "({group:04X},\"{escaped}\",{element:02X})")
            }
        }
    }
}

/// Where an element sits: the sequence steps leading to it, then its own key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrPath {
    steps: Vec<(ElementKey, usize)>,
    leaf: ElementKey,
}

impl AttrPath {
    /// A top-level element.
    pub fn top(leaf: ElementKey) -> Self {
        Self {
            steps: Vec::new(),
            leaf,
        }
    }

    /// The path of `leaf` inside item `item` of the sequence this path names.
    #[must_use]
    pub fn child(&self, item: usize, leaf: ElementKey) -> Self {
        let mut steps = self.steps.clone();
        steps.push((self.leaf.clone(), item));
        Self { steps, leaf }
    }

    /// The sequence steps (sequence key, item index) from the top down.
    pub fn steps(&self) -> &[(ElementKey, usize)] {
        &self.steps
    }

    /// The element's own key.
    pub fn leaf(&self) -> &ElementKey {
        &self.leaf
    }

    /// Number of sequences enclosing the element (0 at top level).
    pub fn depth(&self) -> usize {
        self.steps.len()
    }

    /// Resolves the path in `obj`.
    pub fn find<'a>(&self, obj: &'a InMemDicomObject) -> Option<&'a InMemElement> {
        let mut current = obj;
        for (key, item) in &self.steps {
            match key.find(current)?.value() {
                Value::Sequence(seq) => current = seq.items().get(*item)?,
                Value::Primitive(_) | Value::PixelSequence(_) => return None,
            }
        }
        self.leaf.find(current)
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, item) in &self.steps {
            write!(f, "{key}[{item}]>")?;
        }
        write!(f, "{}", self.leaf)
    }
}

/// Why a path text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attribute path `{text}`: {reason}")]
pub struct PathError {
    /// The text.
    pub text: String,
    /// What is wrong, as a lowercase fragment.
    pub reason: String,
}

impl FromStr for AttrPath {
    type Err = PathError;

    fn from_str(text: &str) -> Result<Self, PathError> {
        let fail = |reason: &str| PathError {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let mut rest = text;
        let mut steps = Vec::new();
        loop {
            let (key, after) = parse_key(rest).map_err(|r| fail(&r))?;
            if after.is_empty() {
                return Ok(AttrPath { steps, leaf: key });
            }
            let inner = after
                .strip_prefix('[')
                .ok_or_else(|| fail("expected `[` or the end after a key"))?;
            let close = inner.find(']').ok_or_else(|| fail("unclosed item index"))?;
            let item: usize = inner[..close]
                .parse()
                .map_err(|_| fail("item index is not a number"))?;
            rest = inner[close + 1..]
                .strip_prefix('>')
                .ok_or_else(|| fail("expected `>` after an item index"))?;
            steps.push((key, item));
        }
    }
}

/// Parses one `(gggg,eeee)` or `(gggg,"creator",xx)` at the start of `text`.
fn parse_key(text: &str) -> Result<(ElementKey, &str), String> {
    let body = text.strip_prefix('(').ok_or("expected `(`")?;
    let (group, body) = body.split_once(',').ok_or("expected `,` after the group")?;
    let group = hex4(group).ok_or("group is not 4 hex digits")?;
    if let Some(quoted) = body.strip_prefix('"') {
        let mut creator = String::new();
        let mut chars = quoted.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, c)) => creator.push(c),
                    None => return Err("unterminated creator".into()),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => creator.push(c),
                None => return Err("unterminated creator".into()),
            }
        };
        let after = quoted[end + 1..]
            .strip_prefix(',')
            .ok_or("expected `,` after the creator")?;
        let (element, rest) = after.split_once(')').ok_or("expected `)`")?;
        let element = (element.len() == 2)
            .then(|| u8::from_str_radix(element, 16).ok())
            .flatten()
            .ok_or("private element is not 2 hex digits")?;
        if group % 2 == 0 {
            return Err("a creator-named element needs an odd group".into());
        }
        Ok((
            ElementKey::Private {
                group,
                creator,
                element,
            },
            rest,
        ))
    } else {
        let (element, rest) = body.split_once(')').ok_or("expected `)`")?;
        let element = hex4(element).ok_or("element is not 4 hex digits")?;
        Ok((ElementKey::Tag(Tag(group, element)), rest))
    }
}

fn hex4(text: &str) -> Option<u16> {
    (text.len() == 4 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u16::from_str_radix(text, 16).ok())
        .flatten()
}

/// What a [`walk`] covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Walked {
    /// Elements visited.
    pub elements: usize,
    /// Sequence items not entered because they lie deeper than [`MAX_DEPTH`].
    pub too_deep: usize,
}

/// Visits every element of `obj` at every depth, pre-order (a sequence before its items), in tag
/// order within each data set, with its path.
pub fn walk<'a>(
    obj: &'a InMemDicomObject,
    visit: &mut dyn FnMut(&AttrPath, &'a InMemElement),
) -> Walked {
    let mut walked = Walked::default();
    walk_in(obj, None, visit, &mut walked);
    walked
}

fn walk_in<'a>(
    obj: &'a InMemDicomObject,
    parent: Option<(&AttrPath, usize)>,
    visit: &mut dyn FnMut(&AttrPath, &'a InMemElement),
    walked: &mut Walked,
) {
    for elem in obj {
        let key = ElementKey::of(obj, elem.tag());
        let path = match parent {
            Some((seq, item)) => seq.child(item, key),
            None => AttrPath::top(key),
        };
        walked.elements += 1;
        visit(&path, elem);
        if let Value::Sequence(seq) = elem.value() {
            if path.depth() >= MAX_DEPTH {
                walked.too_deep += seq.items().len();
                continue;
            }
            for (i, item) in seq.items().iter().enumerate() {
                walk_in(item, Some((&path, i)), visit, walked);
            }
        }
    }
}

/// Every element of `obj` at every depth with its path, in [`walk`] order.
pub fn elements(obj: &InMemDicomObject) -> Vec<(AttrPath, &InMemElement)> {
    let mut out = Vec::new();
    walk(obj, &mut |path, elem| out.push((path.clone(), elem)));
    out
}

#[cfg(test)]
mod tests {
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, PrimitiveValue, VR};

    use super::*;

    fn text(tag: Tag, vr: VR, value: &str) -> InMemElement {
        DataElement::new(tag, vr, PrimitiveValue::from(value))
    }

    fn sequence(tag: Tag, items: Vec<InMemDicomObject>) -> InMemElement {
        DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
    }

    /// A data set with a name two levels down and a private block relocated to 0x11.
    fn sample() -> InMemDicomObject {
        let inner = InMemDicomObject::from_element_iter([
            text(Tag(0x0010, 0x0010), VR::PN, "QXVORAK^ZELDA"),
            text(Tag(0x0019, 0x0011), VR::LO, "SIEMENS MR HEADER"),
            text(Tag(0x0019, 0x110C), VR::IS, "800"),
            text(Tag(0x0019, 0x120C), VR::IS, "7"),
        ]);
        let middle = InMemDicomObject::from_element_iter([
            text(Tag(0x0008, 0x1155), VR::UI, "2.25.1"),
            sequence(
                Tag(0x0040, 0x0275),
                vec![InMemDicomObject::new_empty(), inner],
            ),
        ]);
        InMemDicomObject::from_element_iter([
            text(Tag(0x0008, 0x0060), VR::CS, "MR"),
            sequence(Tag(0x0008, 0x1140), vec![middle]),
        ])
    }

    #[test]
    fn walk_visits_every_depth_with_creator_named_private_paths() {
        let obj = sample();
        let listed: Vec<String> = elements(&obj)
            .iter()
            .map(|(path, elem)| {
                let value = elem.to_str().map(|s| s.into_owned()).unwrap_or_default();
                format!("{path} = {value}")
            })
            .collect();
        insta::assert_snapshot!(listed.join("\n"), @r#"
        (0008,0060) = MR
        (0008,1140) = 
        (0008,1140)[0]>(0008,1155) = 2.25.1
        (0008,1140)[0]>(0040,0275) = 
        (0008,1140)[0]>(0040,0275)[1]>(0010,0010) = QXVORAK^ZELDA
        (0008,1140)[0]>(0040,0275)[1]>(0019,0011) = SIEMENS MR HEADER
        (0008,1140)[0]>(0040,0275)[1]>(0019,"SIEMENS MR HEADER",0C) = 800
        (0008,1140)[0]>(0040,0275)[1]>(0019,120C) = 7
        "#);
    }

    #[test]
    fn paths_round_trip_and_resolve() {
        let obj = sample();
        for (path, elem) in elements(&obj) {
            let text = path.to_string();
            let back: AttrPath = text.parse().expect("own output parses");
            assert_eq!(back, path, "{text}");
            let found = back.find(&obj).expect("resolves");
            assert_eq!(found.tag(), elem.tag(), "{text}");
        }
        let b_value: AttrPath = "(0008,1140)[0]>(0040,0275)[1]>(0019,\"SIEMENS MR HEADER\",0C)"
            .parse()
            .expect("valid");
        let elem = b_value
            .find(&obj)
            .expect("found through the relocated block");
        assert_eq!(elem.tag(), Tag(0x0019, 0x110C));
        let missing: AttrPath = "(0008,1140)[3]>(0008,1155)".parse().expect("valid");
        assert!(missing.find(&obj).is_none());
        let through_primitive: AttrPath = "(0008,0060)[0]>(0008,1155)".parse().expect("valid");
        assert!(through_primitive.find(&obj).is_none());
    }

    #[test]
    fn creators_with_quotes_escape_and_parse_back() {
        let key = ElementKey::Private {
            group: 0x0009,
            creator: "ACME \"SITE\" \\ 1".into(),
            element: 0x01,
        };
        let path = AttrPath::top(key);
        let text = path.to_string();
        assert_eq!(text, r#"(0009,"ACME \"SITE\" \\ 1",01)"#);
        assert_eq!(text.parse::<AttrPath>().expect("parses"), path);
    }

    #[test]
    fn malformed_paths_name_the_problem() {
        let cases = [
            ("", "expected `(`"),
            ("(0010,0010", "expected `)`"),
            ("(001G,0010)", "group is not 4 hex digits"),
            ("(0010,0010)[x]>(0010,0020)", "item index is not a number"),
            ("(0010,0010)[0](0010,0020)", "expected `>`"),
            ("(0010,0010)>(0010,0020)", "expected `[` or the end"),
            ("(0010,\"X\",01)", "odd group"),
            ("(0019,\"X,01)", "unterminated creator"),
            ("(0019,\"X\",1)", "2 hex digits"),
        ];
        for (text, expected) in cases {
            let err = text.parse::<AttrPath>().expect_err(text);
            assert!(err.to_string().contains(expected), "{err} lacks {expected}");
        }
    }

    #[test]
    fn walk_stops_at_max_depth() {
        let mut obj =
            InMemDicomObject::from_element_iter([text(Tag(0x0010, 0x0010), VR::PN, "DEEP")]);
        for _ in 0..MAX_DEPTH + 3 {
            obj = InMemDicomObject::from_element_iter([sequence(Tag(0x0040, 0xA730), vec![obj])]);
        }
        let mut deepest = 0;
        let walked = walk(&obj, &mut |path, _| deepest = deepest.max(path.depth()));
        assert_eq!(deepest, MAX_DEPTH);
        assert_eq!(walked.too_deep, 1);
        assert_eq!(walked.elements, MAX_DEPTH + 1);
    }
}

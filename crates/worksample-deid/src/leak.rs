//! The leak scanner: exact search for every planted identifier in a candidate's output, in three
//! places (research/deid.md §4.4, criterion A1):
//! - decoded string values of every element at every depth, file meta included;
//! - the raw bytes of every output file (catches identifiers in binary or unknown-VR private
//!   elements, in trailing padding, in elements the parser could not decode);
//! - every output file's relative path.
//!
//! Text search folds case (Unicode lowercase); byte search folds ASCII case and looks for the
//! UTF-8 and, where representable, the ISO 8859-1 encoding of each identifier. Callers pass only
//! the candidate's de-identified files: the mapping files `patients.csv` and `uids.csv` hold
//! original identifiers by contract and are never scanned.

use std::collections::{BTreeMap, BTreeSet};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

use dicom_core::VR;
use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;

use crate::paths::{AttrPath, ElementKey, walk};
use crate::planted::{IdentifierClass, Planted, Registry, Site, fold};

/// Where a leak was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeakSite {
    /// In the decoded value of an attribute.
    Value(AttrPath),
    /// In the raw bytes of the file, at a byte offset.
    Bytes {
        /// Offset of the first matching byte.
        offset: usize,
    },
    /// In the bytes of a deflated data set (PS3.5 §A.5) once inflated, at an offset into them.
    Inflated {
        /// Offset of the first matching byte in the inflated data set.
        offset: usize,
    },
    /// In the file's relative path.
    Path,
    /// Burned into the pixels, in a text band the output left (under half of its text set to 0;
    /// brief question 7).
    Pixels,
}

/// One planted identifier found in the output.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Leak {
    /// The planted value (the registry key).
    pub value: String,
    /// Its class.
    pub class: IdentifierClass,
    /// The output file, relative to the submission folder.
    pub file: String,
    /// Where in it.
    pub site: LeakSite,
}

/// The identifiers the generator burned into the pixels of the input `input`, as leaks from the
/// output `output` that kept its text band.
pub fn burned_into(registry: &Registry, input: &str, output: &str) -> Vec<Leak> {
    registry
        .iter()
        .filter(|p| {
            p.sites
                .iter()
                .any(|s| matches!(s, Site::Pixels { file } if file == input))
        })
        .map(|p| Leak {
            value: p.value.clone(),
            class: p.class,
            file: output.to_owned(),
            site: LeakSite::Pixels,
        })
        .collect()
}

/// Searches the decoded string values of `obj` (and of `meta`, the file meta elements, when
/// given) at every depth.
pub fn scan_values<'a>(
    file: &str,
    meta: impl IntoIterator<Item = &'a InMemElement>,
    obj: &InMemDicomObject,
    registry: &Registry,
) -> Vec<Leak> {
    let search = registry.search();
    let mut leaks = Vec::new();
    let mut check = |path: &AttrPath, elem: &InMemElement| {
        if let Some(text) = text_of(elem) {
            for planted in search.in_text(&text) {
                leaks.push(Leak {
                    value: planted.value.clone(),
                    class: planted.class,
                    file: file.to_owned(),
                    site: LeakSite::Value(path.clone()),
                });
            }
        }
    };
    for elem in meta {
        check(&AttrPath::top(ElementKey::Tag(elem.tag())), elem);
    }
    walk(obj, &mut |path, elem| check(path, elem));
    leaks
}

/// Whether values of `vr` are character strings (PS3.5 §6.2), the ones searched as text.
pub(crate) fn is_textual(vr: VR) -> bool {
    matches!(
        vr,
        VR::AE
            | VR::AS
            | VR::CS
            | VR::DA
            | VR::DS
            | VR::DT
            | VR::IS
            | VR::LO
            | VR::LT
            | VR::PN
            | VR::SH
            | VR::ST
            | VR::TM
            | VR::UC
            | VR::UI
            | VR::UR
            | VR::UT
    )
}

/// The decoded text of a string-valued element; `None` for sequences, pixel data and binary
/// VRs (the byte scan covers those).
fn text_of(elem: &InMemElement) -> Option<String> {
    match elem.value() {
        Value::Primitive(_) if is_textual(elem.vr()) => elem.to_str().ok().map(|s| s.into_owned()),
        Value::Primitive(_) | Value::Sequence(_) | Value::PixelSequence(_) => None,
    }
}

/// Searches the raw bytes of a file. Each identifier is reported once per file, at its first
/// offset.
pub fn scan_bytes(file: &str, bytes: &[u8], registry: &Registry) -> Vec<Leak> {
    scan_into(file, bytes, registry, |offset| LeakSite::Bytes { offset })
}

/// Searches the inflated data set of a deflated file, as [`scan_bytes`] the stored bytes.
pub fn scan_inflated(file: &str, inflated: &[u8], registry: &Registry) -> Vec<Leak> {
    scan_into(file, inflated, registry, |offset| LeakSite::Inflated {
        offset,
    })
}

fn scan_into(
    file: &str,
    bytes: &[u8],
    registry: &Registry,
    site: impl Fn(usize) -> LeakSite,
) -> Vec<Leak> {
    registry
        .search()
        .in_bytes(bytes)
        .into_iter()
        .map(|(planted, offset)| Leak {
            value: planted.value.clone(),
            class: planted.class,
            file: file.to_owned(),
            site: site(offset),
        })
        .collect()
}

/// The automata the scanner runs: every identifier searched at once in one pass over a text or
/// a file, instead of one pass per identifier (a set of 1,000 files holds a few hundred
/// identifiers). `aho-corasick` is the multi-pattern search the `regex` crate is built on.
#[derive(Debug, Clone)]
pub struct Search {
    /// Every identifier, in registry order; pattern ids below map into it.
    planted: Vec<Planted>,
    /// The case-folded identifiers, searched in case-folded text.
    folded: AhoCorasick,
    /// Every byte encoding of every identifier, ASCII case-insensitively.
    bytes: AhoCorasick,
    /// For each pattern of `bytes`, its identifier.
    byte_owner: Vec<usize>,
}

impl Search {
    pub(crate) fn new(registry: &Registry) -> Self {
        let planted: Vec<Planted> = registry.iter().cloned().collect();
        let folded = AhoCorasick::new(planted.iter().map(|p| fold(&p.value)))
            .expect("identifiers are short enough for an automaton");
        let mut byte_owner = Vec::new();
        let mut needles = Vec::new();
        for (i, p) in planted.iter().enumerate() {
            for needle in encodings(&p.value) {
                byte_owner.push(i);
                needles.push(needle);
            }
        }
        let bytes = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(needles)
            .expect("identifiers are short enough for an automaton");
        Self {
            planted,
            folded,
            bytes,
            byte_owner,
        }
    }

    /// The identifiers in `text` (compared case-folded), each once, in registry order.
    fn in_text(&self, text: &str) -> Vec<&Planted> {
        let text = fold(text);
        let hits: BTreeSet<usize> = self
            .folded
            .find_overlapping_iter(&text)
            .map(|m| m.pattern().as_usize())
            .collect();
        hits.into_iter().map(|i| &self.planted[i]).collect()
    }

    /// The identifiers in `bytes`, each once with its first offset, in registry order.
    fn in_bytes(&self, bytes: &[u8]) -> Vec<(&Planted, usize)> {
        let mut first: BTreeMap<usize, usize> = BTreeMap::new();
        for m in self.bytes.find_overlapping_iter(bytes) {
            let owner = self.byte_owner[m.pattern().as_usize()];
            let offset = first.entry(owner).or_insert(m.start());
            *offset = (*offset).min(m.start());
        }
        first
            .into_iter()
            .map(|(i, offset)| (&self.planted[i], offset))
            .collect()
    }
}

/// The byte strings an identifier may appear as: UTF-8 (ISO_IR 192, and ASCII); ISO 8859-1
/// (ISO_IR 100) when every character fits in it; and JIS X 0208 under ISO 2022 IR 87 when it
/// does, as the designation escape `ESC $ B` followed by the two-byte codes (PS3.5 §6.1.2.5.3:
/// every ideographic run in a value starts with that escape, so the needle is sound and long
/// enough not to match pixel data by chance).
fn encodings(value: &str) -> Vec<Vec<u8>> {
    let mut out = vec![value.as_bytes().to_vec()];
    let latin1: Option<Vec<u8>> = value
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect();
    if let Some(latin1) = latin1.filter(|l| *l != out[0]) {
        out.push(latin1);
    }
    if !value.is_ascii() {
        let jis = SpecificCharacterSet::from_code("ISO 2022 IR 87")
            .and_then(|codec| codec.encode(value).ok())
            .filter(|bytes| bytes.starts_with(JIS_X_0208));
        if let Some(bytes) = jis {
            let core = bytes.strip_suffix(ASCII_RETURN).unwrap_or(&bytes);
            out.push(core.to_vec());
        }
    }
    out
}

/// ISO 2022 escape designating JIS X 0208 to G0 (PS3.3 §C.12.1.1.2, Table C.12-4).
const JIS_X_0208: &[u8] = b"\x1b$B";

/// ISO 2022 escape designating ASCII back to G0.
const ASCII_RETURN: &[u8] = b"\x1b(B";

/// Searches a relative output path (folders and file name).
pub fn scan_path(file: &str, registry: &Registry) -> Vec<Leak> {
    registry
        .search()
        .in_text(file)
        .into_iter()
        .map(|p| Leak {
            value: p.value.clone(),
            class: p.class,
            file: file.to_owned(),
            site: LeakSite::Path,
        })
        .collect()
}

/// The leak score of the given classes: `1 − Σ weight(leaked) / Σ weight(planted)`, counting
/// each identifier once however often it leaked; full marks when none of those classes was
/// planted.
pub fn score(leaks: &[Leak], registry: &Registry, classes: &[IdentifierClass]) -> f64 {
    let leaked: BTreeSet<&str> = leaks
        .iter()
        .filter(|l| classes.contains(&l.class))
        .map(|l| l.value.as_str())
        .collect();
    score_values(leaked, registry, classes)
}

/// The leak score of the given classes from the distinct identifiers leaked, in ascending
/// order (the order [`score`] sums them in); values of other classes or not planted count
/// nothing.
pub fn score_values<'a>(
    leaked: impl IntoIterator<Item = &'a str>,
    registry: &Registry,
    classes: &[IdentifierClass],
) -> f64 {
    let total = registry.weight(classes);
    if total == 0.0 {
        return 1.0;
    }
    let lost: f64 = leaked
        .into_iter()
        .filter_map(|v| registry.get(v))
        .filter(|p| classes.contains(&p.class))
        .map(|p| p.class.weight())
        .sum();
    1.0 - lost / total
}

#[cfg(test)]
mod tests {
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, PrimitiveValue, Tag};

    use super::*;
    use crate::planted::Site;

    fn registry() -> Registry {
        let mut r = Registry::new();
        let site = |g, e| Site::Value {
            file: "in/1.dcm".into(),
            path: AttrPath::top(ElementKey::Tag(Tag(g, e))),
        };
        let plants = [
            ("QXVORAK", IdentifierClass::Direct, "patient family name"),
            (
                "MÜLLER",
                IdentifierClass::Direct,
                "patient family name (latin-1)",
            ),
            ("MRN-7Q2K9", IdentifierClass::Direct, "patient id"),
            (
                "ST-BRIGID-HOSPITAL",
                IdentifierClass::Indirect,
                "institution",
            ),
            ("20190619", IdentifierClass::Date, "study date"),
        ];
        for (value, class, what) in plants {
            r.plant(value, class, what, site(0x0010, 0x0010))
                .expect("plantable");
        }
        r
    }

    fn text(tag: Tag, vr: VR, value: &str) -> InMemElement {
        DataElement::new(tag, vr, PrimitiveValue::from(value))
    }

    #[test]
    fn finds_identifiers_in_nested_values_and_file_meta() {
        let item = InMemDicomObject::from_element_iter([
            text(Tag(0x0040, 0xA123), VR::PN, "Qxvorak^Zelda"),
            DataElement::new(
                Tag(0x0009, 0x1001),
                VR::OB,
                PrimitiveValue::from(b"MRN-7Q2K9".to_vec()),
            ),
        ]);
        let obj = InMemDicomObject::from_element_iter([
            text(Tag(0x0008, 0x1030), VR::LO, "CT CHEST for Zelda"),
            text(Tag(0x0008, 0x0020), VR::DA, "20180102"),
            DataElement::new(
                Tag(0x0040, 0xA730),
                VR::SQ,
                DataSetSequence::from(vec![item]),
            ),
        ]);
        let meta = [text(Tag(0x0002, 0x0016), VR::AE, "ST-BRIGID-HOSPITAL")];
        let leaks = scan_values("out/a.dcm", &meta, &obj, &registry());
        let listed: Vec<String> = leaks
            .iter()
            .map(|l| match &l.site {
                LeakSite::Value(path) => format!("{} {} at {path}", l.class, l.value),
                LeakSite::Bytes { .. }
                | LeakSite::Inflated { .. }
                | LeakSite::Path
                | LeakSite::Pixels => unreachable!("value scan"),
            })
            .collect();
        // The OB private element is binary: left to the byte scan.
        assert_eq!(
            listed,
            [
                "indirect ST-BRIGID-HOSPITAL at (0002,0016)",
                "direct QXVORAK at (0040,A730)[0]>(0040,A123)",
            ]
        );
    }

    #[test]
    fn byte_scan_folds_ascii_case_and_tries_latin1() {
        let r = registry();
        let mut bytes = b"DICM\0\0mrn-7q2k9\0".to_vec();
        bytes.extend_from_slice(&[b'M', 0xDC, b'L', b'L', b'E', b'R']);
        bytes.extend_from_slice(b"20190619");
        let leaks = scan_bytes("out/a.dcm", &bytes, &r);
        let found: Vec<(&str, LeakSite)> = leaks
            .iter()
            .map(|l| (l.value.as_str(), l.site.clone()))
            .collect();
        assert_eq!(
            found,
            [
                ("20190619", LeakSite::Bytes { offset: 22 }),
                ("MRN-7Q2K9", LeakSite::Bytes { offset: 6 }),
                ("MÜLLER", LeakSite::Bytes { offset: 16 }),
            ]
        );
        assert!(scan_bytes("x", b"QXVORA", &r).is_empty());
    }

    #[test]
    fn byte_scan_finds_an_ideographic_name_in_iso_2022_ir_87() {
        let mut r = Registry::new();
        let site = Site::FileName {
            file: "in/1.dcm".into(),
        };
        r.plant(
            "山田",
            IdentifierClass::Direct,
            "family name (ideographic)",
            site,
        )
        .expect("plantable");
        // YAMADA^TAROU=山田^太郎 as written under ISO 2022 IR 87 (PS3.5 §H.3.1).
        let mut pn = b"YAMADA^TAROU=\x1b$B".to_vec();
        pn.extend_from_slice(&[0x3B, 0x33, 0x45, 0x44]);
        pn.extend_from_slice(b"\x1b(B^\x1b$B");
        pn.extend_from_slice(&[0x42, 0x40, 0x4F, 0x3A]);
        pn.extend_from_slice(b"\x1b(B");
        let leaks = scan_bytes("out/a.dcm", &pn, &r);
        assert_eq!(leaks.len(), 1);
        assert_eq!(leaks[0].site, LeakSite::Bytes { offset: 13 });
        // The same two-byte codes without the escape (e.g. inside pixel data) are not a hit.
        assert!(scan_bytes("x", &[0x3B, 0x33, 0x45, 0x44], &r).is_empty());
    }

    #[test]
    fn path_scan_and_score() {
        let r = registry();
        let leaks = scan_path("QXVORAK_ZELDA/CT for Zelda Qxvorak/1-1.dcm", &r);
        assert_eq!(leaks.len(), 1);
        assert_eq!(leaks[0].site, LeakSite::Path);
        assert!(scan_path("2.25.1/2.25.2/2.25.3.dcm", &r).is_empty());
        // One of three direct identifiers leaked (twice): 1 − 3/9.
        let twice = [leaks[0].clone(), leaks[0].clone()];
        let direct = score(&twice, &r, &[IdentifierClass::Direct]);
        assert!((direct - 2.0 / 3.0).abs() < 1e-12, "{direct}");
        assert_eq!(
            score(
                &twice,
                &r,
                &[IdentifierClass::Indirect, IdentifierClass::Date]
            ),
            1.0
        );
        assert_eq!(score(&[], &Registry::new(), &[IdentifierClass::Uid]), 1.0);
    }
}

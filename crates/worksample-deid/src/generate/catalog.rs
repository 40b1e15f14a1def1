//! The catalogue of planted identifiers and their registration: every identifier the generator
//! mints goes into the catalogue with its class, and once a file is built its data set is walked
//! at every depth and each identifier is registered at every element whose text contains it, so
//! the registry lists every site by construction (research/deid.md §4.2: a leak must be
//! attributable to the place it was planted).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use dicom_core::VR;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;

use crate::leak::is_textual;
use crate::paths::{AttrPath, walk};
use crate::planted::{IdentifierClass, PlantError, Registry, Site};

/// Planted identifiers by value, with class and description.
#[derive(Debug, Default)]
pub(super) struct Catalog {
    entries: BTreeMap<String, (IdentifierClass, String)>,
    /// Every value case-folded in one automaton (pattern i is the i-th entry), built on first
    /// use after the last `add`: one pass per text instead of one per identifier.
    search: OnceLock<AhoCorasick>,
}

impl Catalog {
    /// Adds an identifier (again: same class and description expected, e.g. the shared name).
    pub(super) fn add(&mut self, value: &str, class: IdentifierClass, what: &str) {
        if !self.entries.contains_key(value) {
            self.entries
                .insert(value.to_owned(), (class, what.to_owned()));
            self.search = OnceLock::new();
        }
    }

    /// Catalogues each object's original SOP Instance, Series Instance, Study Instance and
    /// Frame of Reference UID: quasi-identifiers (rubric `indirect_leaks`, "original dates and
    /// original UIDs"), since a retained original links the release back to the source archive,
    /// and a new UID that contains the original (`<original>.9`) still shows it in the bytes.
    /// Each is then registered wherever it appears, references included. A UID that overlaps an
    /// identifier already catalogued (a date among its digits, say) is left out, because an exact
    /// search could not tell the two apart (see `planted`); `uid_remap` still audits it.
    pub(super) fn add_original_uids<'o>(
        &mut self,
        objects: impl IntoIterator<Item = &'o InMemDicomObject>,
    ) {
        use dicom_dictionary_std::tags;
        let roles = [
            (tags::SOP_INSTANCE_UID, "original SOP Instance UID"),
            (tags::SERIES_INSTANCE_UID, "original Series Instance UID"),
            (tags::STUDY_INSTANCE_UID, "original Study Instance UID"),
            (
                tags::FRAME_OF_REFERENCE_UID,
                "original Frame of Reference UID",
            ),
        ];
        let mut folded: Vec<String> = self.entries.keys().map(|k| k.to_lowercase()).collect();
        for obj in objects {
            for (tag, what) in roles {
                let Some(uid) = obj
                    .get(tag)
                    .and_then(|e| e.to_str().ok())
                    .map(|u| u.trim_end_matches(['\0', ' ']).to_owned())
                else {
                    continue;
                };
                if self.entries.contains_key(&uid) {
                    continue;
                }
                // UIDs are digits and dots: case-folding leaves them as they are.
                let overlaps = folded
                    .iter()
                    .any(|k| k.contains(&uid) || uid.contains(k.as_str()));
                if uid.len() >= crate::planted::MIN_LEN && !overlaps {
                    folded.push(uid.clone());
                    self.add(&uid, IdentifierClass::Uid, what);
                }
            }
        }
    }

    /// The entries whose value occurs in `text`, compared case-folded, each once, in order.
    fn found_in(&self, text: &str) -> Vec<(&String, &(IdentifierClass, String))> {
        let search = self.search.get_or_init(|| {
            AhoCorasick::new(self.entries.keys().map(|k| k.to_lowercase()))
                .expect("identifiers are short enough for an automaton")
        });
        let hits: BTreeSet<usize> = search
            .find_overlapping_iter(&text.to_lowercase())
            .map(|m| m.pattern().as_usize())
            .collect();
        // Most texts hold no identifier: stop at the last hit instead of walking every entry
        // for every element (a tenth of deid generation did only that).
        let Some(&last) = hits.last() else {
            return Vec::new();
        };
        self.entries
            .iter()
            .take(last + 1)
            .enumerate()
            .filter(|(i, _)| hits.contains(i))
            .map(|(_, entry)| entry)
            .collect()
    }

    /// Every catalogued identifier in the text of `obj`'s elements at every depth, in walk order.
    /// Reads only: files are scanned in parallel, then planted in order by [`Self::plant_values`].
    pub(super) fn values_in(&self, obj: &InMemDicomObject) -> Vec<Found<'_>> {
        let mut found = Vec::new();
        walk(obj, &mut |path, elem| {
            if let Some(text) = text_of(elem) {
                for (value, (class, what)) in self.found_in(&text) {
                    found.push(Found {
                        value,
                        class: *class,
                        what,
                        path: path.clone(),
                    });
                }
            }
        });
        found
    }

    /// Registers what [`Self::values_in`] found in `file`, in order.
    pub(super) fn plant_values(
        registry: &mut Registry,
        file: &str,
        found: Vec<Found<'_>>,
    ) -> Result<(), PlantError> {
        for Found {
            value,
            class,
            what,
            path,
        } in found
        {
            let site = Site::Value {
                file: file.to_owned(),
                path,
            };
            registry.plant(value, class, what, site)?;
        }
        Ok(())
    }

    /// Registers every identifier contained in a file's relative path.
    pub(super) fn register_path(
        &self,
        registry: &mut Registry,
        file: &str,
    ) -> Result<(), PlantError> {
        for (value, (class, what)) in self.found_in(file) {
            registry.plant(
                value,
                *class,
                what,
                Site::FileName {
                    file: file.to_owned(),
                },
            )?;
        }
        Ok(())
    }

    /// Registers `value` as burned into the pixels of `file`.
    pub(super) fn register_pixels(
        &self,
        registry: &mut Registry,
        file: &str,
        value: &str,
    ) -> Result<(), PlantError> {
        match self.entries.get(value) {
            Some((class, what)) => registry.plant(
                value,
                *class,
                what,
                Site::Pixels {
                    file: file.to_owned(),
                },
            ),
            None => Ok(()),
        }
    }
}

/// A catalogued identifier found in an element's text.
pub(super) struct Found<'c> {
    value: &'c str,
    class: IdentifierClass,
    what: &'c str,
    path: AttrPath,
}

/// The text of a string-valued element as the generator wrote it. A person name written as
/// raw ISO 2022 IR 87 bytes (the Japanese name, see `people`) is decoded with that codec.
fn text_of(elem: &InMemElement) -> Option<String> {
    match elem.value() {
        Value::Primitive(PrimitiveValue::U8(bytes)) if elem.vr() == VR::PN => {
            SpecificCharacterSet::from_code("ISO 2022 IR 87").and_then(|c| c.decode(bytes).ok())
        }
        Value::Primitive(_) if is_textual(elem.vr()) => elem.to_str().ok().map(|s| s.into_owned()),
        Value::Primitive(_) | Value::Sequence(_) | Value::PixelSequence(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, PrimitiveValue, Tag};

    use super::*;

    #[test]
    fn registers_every_site_at_any_depth_and_in_paths() {
        let mut catalog = Catalog::default();
        catalog.add("QXVORAK", IdentifierClass::Direct, "patient family name");
        catalog.add("MRN7Q2K9P", IdentifierClass::Direct, "patient id");
        let inner = InMemDicomObject::from_element_iter([DataElement::new(
            Tag(0x0040, 0xA160),
            VR::UT,
            PrimitiveValue::from("Seen: Zelda Qxvorak, mrn7q2k9p"),
        )]);
        let obj = InMemDicomObject::from_element_iter([
            DataElement::new(
                Tag(0x0010, 0x0010),
                VR::PN,
                PrimitiveValue::from("QXVORAK^ZELDA"),
            ),
            DataElement::new(Tag(0x0008, 0x0060), VR::CS, PrimitiveValue::from("CT")),
            DataElement::new(
                Tag(0x0040, 0xA730),
                VR::SQ,
                DataSetSequence::from(vec![inner]),
            ),
        ]);
        let mut registry = Registry::new();
        Catalog::plant_values(&mut registry, "a/1.dcm", catalog.values_in(&obj)).expect("plants");
        catalog
            .register_path(&mut registry, "QXVORAK_ZELDA/1.dcm")
            .expect("plants");
        catalog
            .register_pixels(&mut registry, "a/1.dcm", "QXVORAK")
            .expect("plants");
        catalog
            .register_pixels(&mut registry, "a/1.dcm", "NOT-CATALOGUED")
            .expect("ignored");
        let sites: Vec<String> = registry
            .iter()
            .flat_map(|p| {
                p.sites.iter().map(move |s| match s {
                    Site::Value { file, path } => format!("{} {file} {path}", p.value),
                    Site::FileName { file } => format!("{} name {file}", p.value),
                    Site::Pixels { file } => format!("{} pixels {file}", p.value),
                })
            })
            .collect();
        assert_eq!(
            sites,
            [
                "MRN7Q2K9P a/1.dcm (0040,A730)[0]>(0040,A160)",
                "QXVORAK a/1.dcm (0010,0010)",
                "QXVORAK a/1.dcm (0040,A730)[0]>(0040,A160)",
                "QXVORAK name QXVORAK_ZELDA/1.dcm",
                "QXVORAK pixels a/1.dcm",
            ]
        );
    }
}

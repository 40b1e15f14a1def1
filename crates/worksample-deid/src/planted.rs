//! The registry of planted identifiers: every identifying value the generator puts into a
//! fixture, with its class and every place it was planted, so the leak scanner can find it by
//! exact search and attribute each hit to one identifier (research/deid.md §4.2: unique canary
//! tokens).
//!
//! The registry enforces what makes exact search sound: every identifier is at least
//! [`MIN_LEN`] bytes long, and no identifier contains another (compared case-insensitively), so a
//! hit names exactly one identifier. A person name is planted as its components (family and
//! given names), because that is how it reappears in descriptors and file names.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use crate::leak::Search;
use crate::paths::AttrPath;

/// Shortest identifier, in UTF-8 bytes: shorter strings occur by chance in pixel data and
/// numbers. Six bytes admit a two-character Japanese name component.
pub const MIN_LEN: usize = 6;

/// How much a leak of an identifier matters (research/deid.md §4.4, criterion A1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentifierClass {
    /// Identifies a person by itself: names, patient and other IDs, birth date, address,
    /// phone number, accession number, social security number.
    Direct,
    /// Identifies in combination: institution, physicians, operators, station, device serial.
    Indirect,
    /// An original (unshifted) date.
    Date,
    /// An original instance, series, study or frame of reference UID.
    Uid,
}

impl IdentifierClass {
    /// Weight of one leaked identifier of this class in the leak score: 3 for direct, 1 for
    /// the others (research/deid.md §4.4, A1).
    pub fn weight(self) -> f64 {
        match self {
            IdentifierClass::Direct => 3.0,
            IdentifierClass::Indirect | IdentifierClass::Date | IdentifierClass::Uid => 1.0,
        }
    }

    /// Lowercase name for findings.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierClass::Direct => "direct",
            IdentifierClass::Indirect => "indirect",
            IdentifierClass::Date => "date",
            IdentifierClass::Uid => "uid",
        }
    }
}

impl fmt::Display for IdentifierClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an identifier was planted. Files are paths relative to the fixture folder, `/`-separated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Site {
    /// In the value of an attribute (file meta or data set, any depth).
    Value {
        /// The file.
        file: String,
        /// The attribute.
        path: AttrPath,
    },
    /// In the file's relative path (a folder or file name).
    FileName {
        /// The file.
        file: String,
    },
    /// Burned into the pixels (graded by the text band, not by search).
    Pixels {
        /// The file.
        file: String,
    },
}

/// One planted identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    /// The identifier, exactly as planted.
    pub value: String,
    /// Its class.
    pub class: IdentifierClass,
    /// What it is, for findings, e.g. `patient family name`.
    pub what: String,
    /// Every place it was planted, sorted.
    pub sites: Vec<Site>,
}

/// Why an identifier cannot be planted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlantError {
    /// Too short to be found by exact search without false hits.
    #[error("planted identifier `{value}` is shorter than {MIN_LEN} bytes")]
    TooShort {
        /// The value.
        value: String,
    },
    /// The value is already planted as another class or another kind of identifier.
    #[error("planted identifier `{value}` is already registered as {existing}")]
    Conflict {
        /// The value.
        value: String,
        /// What it is registered as.
        existing: String,
    },
    /// One identifier contains another, so a hit could not be attributed.
    #[error("planted identifier `{value}` overlaps `{other}`: one contains the other")]
    Overlap {
        /// The value being planted.
        value: String,
        /// The registered value it overlaps.
        other: String,
    },
}

/// Every planted identifier of a fixture set, keyed by value.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    entries: BTreeMap<String, Planted>,
    /// Every value case-folded, beside the value, for the overlap check of [`Registry::plant`]
    /// (folding every key again for each new identifier was a tenth of deid generation).
    folded: Vec<(String, String)>,
    /// The search automata of the leak scanner, built on first use and dropped by `plant`.
    search: OnceLock<Search>,
}

impl PartialEq for Registry {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Eq for Registry {}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `value` (a `class` identifier described by `what`) was planted at `site`.
    /// Planting the same identifier again adds a site; anything else that would make exact
    /// search ambiguous is an error (a generator bug).
    pub fn plant(
        &mut self,
        value: &str,
        class: IdentifierClass,
        what: &str,
        site: Site,
    ) -> Result<(), PlantError> {
        self.search = OnceLock::new();
        if let Some(entry) = self.entries.get_mut(value) {
            if entry.class != class || entry.what != what {
                return Err(PlantError::Conflict {
                    value: value.to_owned(),
                    existing: format!("{} ({})", entry.what, entry.class),
                });
            }
            if let Err(at) = entry.sites.binary_search(&site) {
                entry.sites.insert(at, site);
            }
            return Ok(());
        }
        if value.len() < MIN_LEN {
            return Err(PlantError::TooShort {
                value: value.to_owned(),
            });
        }
        let folded = fold(value);
        if let Some((_, other)) = self
            .folded
            .iter()
            .find(|(k, _)| k.contains(&folded) || folded.contains(k.as_str()))
        {
            return Err(PlantError::Overlap {
                value: value.to_owned(),
                other: other.clone(),
            });
        }
        self.folded.push((folded, value.to_owned()));
        self.entries.insert(
            value.to_owned(),
            Planted {
                value: value.to_owned(),
                class,
                what: what.to_owned(),
                sites: vec![site],
            },
        );
        Ok(())
    }

    /// Every identifier, sorted by value.
    pub fn iter(&self) -> impl Iterator<Item = &Planted> {
        self.entries.values()
    }

    /// The leak scanner's automata over every identifier, built once.
    pub(crate) fn search(&self) -> &Search {
        self.search.get_or_init(|| Search::new(self))
    }

    /// The identifier with exactly this value.
    pub fn get(&self, value: &str) -> Option<&Planted> {
        self.entries.get(value)
    }

    /// Number of identifiers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is planted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total leak weight of the identifiers of the given classes.
    pub fn weight(&self, classes: &[IdentifierClass]) -> f64 {
        self.iter()
            .filter(|p| classes.contains(&p.class))
            .map(|p| p.class.weight())
            .sum()
    }
}

/// Case folding used for overlap checks and text search: Unicode lowercase.
pub(crate) fn fold(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use crate::paths::ElementKey;
    use dicom_core::Tag;

    use super::*;

    fn at(file: &str, g: u16, e: u16) -> Site {
        Site::Value {
            file: file.into(),
            path: AttrPath::top(ElementKey::Tag(Tag(g, e))),
        }
    }

    #[test]
    fn same_identifier_twice_adds_a_sorted_site() {
        let mut r = Registry::new();
        r.plant(
            "QXVORAK",
            IdentifierClass::Direct,
            "patient family name",
            at("b.dcm", 0x0010, 0x0010),
        )
        .expect("new");
        r.plant(
            "QXVORAK",
            IdentifierClass::Direct,
            "patient family name",
            at("a.dcm", 0x0010, 0x0010),
        )
        .expect("again");
        r.plant(
            "QXVORAK",
            IdentifierClass::Direct,
            "patient family name",
            at("a.dcm", 0x0010, 0x0010),
        )
        .expect("same site again");
        let p = r.get("QXVORAK").expect("registered");
        assert_eq!(
            p.sites,
            [at("a.dcm", 0x0010, 0x0010), at("b.dcm", 0x0010, 0x0010)]
        );
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn ambiguous_identifiers_are_refused() {
        let mut r = Registry::new();
        let site = || at("a.dcm", 0x0010, 0x0020);
        r.plant("MRN-7Q2K9", IdentifierClass::Direct, "patient id", site())
            .expect("new");
        let cases = [
            (
                r.clone()
                    .plant("ZELDA", IdentifierClass::Direct, "given name", site()),
                "shorter than 6 bytes",
            ),
            (
                r.clone()
                    .plant("MRN-7Q2K9", IdentifierClass::Indirect, "patient id", site()),
                "already registered as patient id (direct)",
            ),
            (
                r.clone()
                    .plant("mrn-7q2k9x", IdentifierClass::Direct, "other id", site()),
                "overlaps `MRN-7Q2K9`",
            ),
            (
                r.clone()
                    .plant("7Q2K9", IdentifierClass::Direct, "x", site()),
                "shorter",
            ),
            (
                r.clone()
                    .plant("N-7Q2K", IdentifierClass::Direct, "x", site()),
                "overlaps",
            ),
        ];
        for (result, expected) in cases {
            let err = result.expect_err(expected);
            assert!(err.to_string().contains(expected), "{err} lacks {expected}");
        }
        // A two-character Japanese component is six UTF-8 bytes: long enough.
        r.plant(
            "山田",
            IdentifierClass::Direct,
            "family name (ideographic)",
            site(),
        )
        .expect("six bytes");
    }

    #[test]
    fn weights_count_direct_three_times() {
        let mut r = Registry::new();
        let site = || at("a.dcm", 0x0008, 0x0080);
        r.plant("QXVORAK", IdentifierClass::Direct, "name", site())
            .expect("new");
        r.plant(
            "ST-BRIGID-HOSPITAL",
            IdentifierClass::Indirect,
            "institution",
            site(),
        )
        .expect("new");
        r.plant("19710304", IdentifierClass::Date, "study date", site())
            .expect("new");
        assert_eq!(r.weight(&[IdentifierClass::Direct]), 3.0);
        assert_eq!(
            r.weight(&[
                IdentifierClass::Indirect,
                IdentifierClass::Date,
                IdentifierClass::Uid
            ]),
            2.0
        );
    }
}

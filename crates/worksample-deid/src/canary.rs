//! Minting planted identifiers ("canaries", research/deid.md §4.2): deterministic, unique,
//! long enough for exact search, and unlike anything a DICOM file holds by itself, so every hit
//! of the leak scanner is a real leak and names one identifier.
//!
//! Names are invented from syllables opening with a rare letter (`QXVORAK`), IDs carry a prefix
//! and a base-32 body (`MRN7Q2K9P`). A value that would contain, or be contained in, one minted
//! before is drawn again, so the values also register cleanly in a
//! [`Registry`](crate::planted::Registry).

use std::collections::BTreeSet;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::planted::{IdentifierClass, MIN_LEN};

/// What a minted identifier stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CanaryKind {
    /// A patient's family name component.
    PatientFamilyName,
    /// A patient's given name component.
    PatientGivenName,
    /// Patient ID (0010,0020).
    PatientId,
    /// An ID in Other Patient IDs (Sequence).
    OtherPatientId,
    /// Accession Number (0008,0050).
    Accession,
    /// Study ID (0020,0010).
    StudyId,
    /// Patient's Telephone Numbers (0010,2154).
    Phone,
    /// Patient's Address (0010,1040).
    Address,
    /// Institution Name (0008,0080).
    Institution,
    /// A physician's or operator's family name.
    StaffName,
    /// Station Name (0008,1010).
    Station,
    /// Device Serial Number (0018,1000).
    DeviceSerial,
}

impl CanaryKind {
    /// How much its leak matters.
    pub fn class(self) -> IdentifierClass {
        match self {
            CanaryKind::PatientFamilyName
            | CanaryKind::PatientGivenName
            | CanaryKind::PatientId
            | CanaryKind::OtherPatientId
            | CanaryKind::Accession
            | CanaryKind::Phone
            | CanaryKind::Address => IdentifierClass::Direct,
            CanaryKind::StudyId
            | CanaryKind::Institution
            | CanaryKind::StaffName
            | CanaryKind::Station
            | CanaryKind::DeviceSerial => IdentifierClass::Indirect,
        }
    }

    /// Lowercase description for findings.
    pub fn what(self) -> &'static str {
        match self {
            CanaryKind::PatientFamilyName => "patient family name",
            CanaryKind::PatientGivenName => "patient given name",
            CanaryKind::PatientId => "patient id",
            CanaryKind::OtherPatientId => "other patient id",
            CanaryKind::Accession => "accession number",
            CanaryKind::StudyId => "study id",
            CanaryKind::Phone => "telephone number",
            CanaryKind::Address => "address",
            CanaryKind::Institution => "institution name",
            CanaryKind::StaffName => "physician or operator name",
            CanaryKind::Station => "station name",
            CanaryKind::DeviceSerial => "device serial number",
        }
    }
}

/// Why minting failed (a generator fault: the space of values is far larger than any fixture).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not mint a unique {what} in {attempts} attempts")]
pub struct MintError {
    /// What was being minted.
    pub what: &'static str,
    /// Attempts made.
    pub attempts: usize,
}

/// Most draws per identifier before giving up.
const ATTEMPTS: usize = 10_000;

/// Opening letters of invented names: rare in English and in DICOM defined terms.
const OPENERS: &[u8] = b"QXZJKV";
const CONSONANTS: &[u8] = b"BDFGKLMNPRSTVZ";
const VOWELS: &[u8] = b"AEIOU";
/// Crockford base 32 without I, L, O, U: no ambiguous characters.
const BASE32: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A deterministic source of unique identifiers.
#[derive(Debug)]
pub struct Mint {
    rng: ChaCha8Rng,
    issued: BTreeSet<String>,
}

impl Mint {
    /// A mint drawing from `rng` (e.g. `worksample_dicom::rng::stream(seed, "deid/canary")`).
    pub fn new(rng: ChaCha8Rng) -> Self {
        Self {
            rng,
            issued: BTreeSet::new(),
        }
    }

    /// A new identifier of `kind`, overlapping none minted before.
    pub fn draw(&mut self, kind: CanaryKind) -> Result<String, MintError> {
        for _ in 0..ATTEMPTS {
            let value = self.candidate(kind);
            let folded = value.to_lowercase();
            let clash = value.len() < MIN_LEN
                || self
                    .issued
                    .iter()
                    .any(|old| old.contains(&folded) || folded.contains(old.as_str()));
            if !clash {
                self.issued.insert(folded);
                return Ok(value);
            }
        }
        Err(MintError {
            what: kind.what(),
            attempts: ATTEMPTS,
        })
    }

    fn candidate(&mut self, kind: CanaryKind) -> String {
        match kind {
            CanaryKind::PatientFamilyName | CanaryKind::StaffName => self.word(7),
            CanaryKind::PatientGivenName => self.word(6),
            CanaryKind::PatientId => format!("MRN{}", self.base32(6)),
            CanaryKind::OtherPatientId => format!("OPI{}", self.base32(6)),
            CanaryKind::Accession => format!("ACC{}", self.digits(7)),
            CanaryKind::StudyId => format!("SID{}", self.base32(5)),
            CanaryKind::Phone => format!("555-0{}", self.digits(3)),
            CanaryKind::Address => format!(
                "{} {} LANE",
                100 + self.rng.random_range(0..900),
                self.word(6)
            ),
            CanaryKind::Institution => format!("{} GENERAL HOSPITAL", self.word(6)),
            CanaryKind::Station => format!("STN{}", self.base32(5)),
            CanaryKind::DeviceSerial => format!("SN{}", self.digits(8)),
        }
    }

    /// An invented word of `len` letters: a rare opener, then alternating vowels and consonants.
    fn word(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        out.push(char::from(self.pick(OPENERS)));
        for i in 1..len {
            let set = if i % 2 == 1 { VOWELS } else { CONSONANTS };
            out.push(char::from(self.pick(set)));
        }
        out
    }

    fn base32(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from(self.pick(BASE32))).collect()
    }

    fn digits(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(self.pick(b"0123456789")))
            .collect()
    }

    fn pick(&mut self, set: &[u8]) -> u8 {
        set[self.rng.random_range(0..set.len())]
    }
}

#[cfg(test)]
mod tests {
    use worksample_dicom::rng::stream;

    use super::*;
    use crate::planted::{Registry, Site};

    const KINDS: [CanaryKind; 12] = [
        CanaryKind::PatientFamilyName,
        CanaryKind::PatientGivenName,
        CanaryKind::PatientId,
        CanaryKind::OtherPatientId,
        CanaryKind::Accession,
        CanaryKind::StudyId,
        CanaryKind::Phone,
        CanaryKind::Address,
        CanaryKind::Institution,
        CanaryKind::StaffName,
        CanaryKind::Station,
        CanaryKind::DeviceSerial,
    ];

    fn mint_all(seed: u64, rounds: usize) -> Vec<(CanaryKind, String)> {
        let mut mint = Mint::new(stream(seed, "deid/canary"));
        let mut out = Vec::new();
        for _ in 0..rounds {
            for kind in KINDS {
                out.push((kind, mint.draw(kind).expect("space is large")));
            }
        }
        out
    }

    #[test]
    fn same_seed_same_values_other_seed_other_values() {
        assert_eq!(mint_all(7, 2), mint_all(7, 2));
        assert_ne!(mint_all(7, 1), mint_all(8, 1));
    }

    #[test]
    fn a_fixture_worth_of_values_registers_without_overlap() {
        // Far more than a fixture plants: 40 of each kind.
        let minted = mint_all(42, 40);
        let mut registry = Registry::new();
        for (i, (kind, value)) in minted.iter().enumerate() {
            let site = Site::FileName {
                file: format!("f{i}"),
            };
            registry
                .plant(value, kind.class(), kind.what(), site)
                .expect("minted values are unique and long enough");
        }
        assert_eq!(registry.len(), minted.len());
    }

    #[test]
    fn values_have_their_published_shapes() {
        let minted = mint_all(3, 1);
        let shapes: Vec<String> = minted
            .iter()
            .map(|(kind, value)| {
                let base32_body = matches!(
                    kind,
                    CanaryKind::PatientId
                        | CanaryKind::OtherPatientId
                        | CanaryKind::StudyId
                        | CanaryKind::Station
                );
                let shape: String = value
                    .bytes()
                    .enumerate()
                    .map(|(i, b)| match b {
                        _ if base32_body && i >= 3 => {
                            assert!(BASE32.contains(&b), "{value}");
                            '#'
                        }
                        b'0'..=b'9' => '9',
                        b'A'..=b'Z' => 'A',
                        other => char::from(other),
                    })
                    .collect();
                let prefix = if base32_body { &value[..3] } else { "" };
                format!("{kind:?}: {prefix}{}", &shape[prefix.len()..])
            })
            .collect();
        for (kind, value) in &minted {
            let invented = matches!(
                kind,
                CanaryKind::PatientFamilyName
                    | CanaryKind::PatientGivenName
                    | CanaryKind::StaffName
            );
            if invented {
                assert!(OPENERS.contains(&value.as_bytes()[0]), "{value}");
            }
        }
        insta::assert_snapshot!(shapes.join("\n"), @r"
        PatientFamilyName: AAAAAAA
        PatientGivenName: AAAAAA
        PatientId: MRN######
        OtherPatientId: OPI######
        Accession: AAA9999999
        StudyId: SID#####
        Phone: 999-9999
        Address: 999 AAAAAA AAAA
        Institution: AAAAAA AAAAAAA AAAAAAAA
        StaffName: AAAAAAA
        Station: STN#####
        DeviceSerial: AA99999999
        ");
    }
}

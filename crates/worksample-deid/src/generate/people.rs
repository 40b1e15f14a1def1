//! The people of a fixture set: patients (two sharing a name, one Latin-1 name, in `hard` one
//! Japanese name with three component groups) and staff, every identifying value minted as a
//! unique canary and entered in the [`Catalog`].

use std::collections::BTreeSet;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_object::InMemDicomObject;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use worksample_dicom::identity::{CharsetChoice, Date};

use super::GenerateError;
use super::catalog::Catalog;
use crate::canary::{CanaryKind, Mint};
use crate::planted::IdentifierClass;

/// The repertoire of a patient's text, and so the Specific Character Set of their files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Charset {
    /// Default repertoire: no (0008,0005).
    Ascii,
    /// ISO_IR 100 (PS3.3 §C.12.1.1.2).
    Latin1,
    /// `\ISO 2022 IR 87`: ASCII by default, JIS X 0208 through code extensions (PS3.5 §6.1.2.5,
    /// PS3.5 Annex H).
    Jis,
}

impl Charset {
    /// The engine's choice for the data sets it builds (the Japanese set is written by us).
    pub(super) fn engine(self) -> CharsetChoice {
        match self {
            Charset::Ascii | Charset::Jis => CharsetChoice::Ascii,
            Charset::Latin1 => CharsetChoice::Latin1,
        }
    }

    /// Writes Specific Character Set (0008,0005) into `obj` (Type 1C: present whenever a
    /// repertoire other than the default is used, PS3.3 §C.12.1.1.2).
    pub(super) fn put(self, obj: &mut InMemDicomObject) {
        match self {
            Charset::Ascii => {
                obj.remove_element(tags::SPECIFIC_CHARACTER_SET);
            }
            Charset::Latin1 => {
                super::elements::text(obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100")
            }
            Charset::Jis => super::elements::multi(
                obj,
                tags::SPECIFIC_CHARACTER_SET,
                VR::CS,
                &["", "ISO 2022 IR 87"],
            ),
        }
    }
}

/// A person name: the alphabetic group, and for the Japanese patient the ideographic and
/// phonetic groups (PS3.5 §6.2.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Person {
    pub(super) family: String,
    pub(super) given: String,
    /// Ideographic and phonetic (family, given), for the Japanese name.
    pub(super) japanese: Option<[(String, String); 2]>,
}

impl Person {
    /// `Given Family` in title case, as people write names in free text.
    pub(super) fn prose(&self) -> String {
        format!("{} {}", title(&self.given), title(&self.family))
    }

    /// The alphabetic PN value `FAMILY^GIVEN`.
    pub(super) fn alphabetic(&self) -> String {
        format!("{}^{}", self.family, self.given)
    }

    /// The full PN value, every component group.
    pub(super) fn pn(&self) -> String {
        match &self.japanese {
            None => self.alphabetic(),
            Some([(kf, kg), (pf, pg)]) => format!("{}={kf}^{kg}={pf}^{pg}", self.alphabetic()),
        }
    }

    /// Puts this name at `tag`: as text, or, for the Japanese name, as the ISO 2022 IR 87 bytes
    /// (the alphabetic group in ASCII, each ideographic or phonetic component introduced by
    /// `ESC $ B` and closed by `ESC ( B`, PS3.5 §H.3.1), which dicom-rs cannot encode from a
    /// multi-valued Specific Character Set.
    pub(super) fn put(&self, obj: &mut InMemDicomObject, tag: dicom_core::Tag) {
        match &self.japanese {
            None => super::elements::text(obj, tag, VR::PN, &self.pn()),
            Some([(kf, kg), (pf, pg)]) => {
                let codec = SpecificCharacterSet::from_code("ISO 2022 IR 87")
                    .expect("dicom-rs supports ISO 2022 IR 87");
                let mut bytes = format!("{}=", self.alphabetic()).into_bytes();
                for (i, part) in [kf, kg, pf, pg].into_iter().enumerate() {
                    if i == 1 || i == 3 {
                        bytes.push(b'^');
                    } else if i == 2 {
                        bytes.push(b'=');
                    }
                    bytes.extend(
                        codec
                            .encode(part)
                            .expect("kana and kanji are in JIS X 0208"),
                    );
                    // Back to ASCII before every delimiter and at the end of the value
                    // (PS3.5 §6.1.2.5.3).
                    if !bytes.ends_with(ASCII_RETURN) {
                        bytes.extend_from_slice(ASCII_RETURN);
                    }
                }
                if bytes.len() % 2 == 1 {
                    bytes.push(b' ');
                }
                obj.put(DataElement::new(
                    tag,
                    VR::PN,
                    PrimitiveValue::U8(bytes.into()),
                ));
            }
        }
    }
}

/// ISO 2022 escape designating ASCII to G0 (PS3.3 Table C.12-3).
const ASCII_RETURN: &[u8] = b"\x1b(B";

fn title(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// One patient as planned.
#[derive(Debug, Clone)]
pub(super) struct PatientPlan {
    pub(super) name: Person,
    pub(super) id: String,
    pub(super) other_ids: Vec<String>,
    pub(super) birth: Date,
    pub(super) address: String,
    pub(super) phone: String,
    pub(super) charset: Charset,
}

/// Japanese names (ideographic, phonetic) for the three-group trap: family then given.
const JAPANESE: [[(&str, &str); 2]; 3] = [
    [("山田", "やまだ"), ("太郎", "たろう")],
    [("鈴木", "すずき"), ("花子", "はなこ")],
    [("高橋", "たかはし"), ("一郎", "いちろう")],
];

/// Mints canaries and enters them in the catalogue.
pub(super) struct People<'a> {
    pub(super) mint: Mint,
    pub(super) catalog: &'a mut Catalog,
    pub(super) rng: ChaCha8Rng,
    dates: BTreeSet<Date>,
}

impl<'a> People<'a> {
    pub(super) fn new(mint: Mint, catalog: &'a mut Catalog, rng: ChaCha8Rng) -> Self {
        Self {
            mint,
            catalog,
            rng,
            dates: BTreeSet::new(),
        }
    }

    /// A minted value of `kind`, catalogued.
    pub(super) fn draw(&mut self, kind: CanaryKind) -> Result<String, GenerateError> {
        let value = self.mint.draw(kind)?;
        self.catalog.add(&value, kind.class(), kind.what());
        Ok(value)
    }

    /// A staff member (physician or operator): both components minted.
    pub(super) fn staff(&mut self) -> Result<Person, GenerateError> {
        Ok(Person {
            family: self.draw(CanaryKind::StaffName)?,
            given: self.draw(CanaryKind::StaffName)?,
            japanese: None,
        })
    }

    /// A date for free text, unique in the set, in 2000–2008: years no study, birth date or
    /// shifted date of these fixtures reaches (studies 2019–2025 shifted by at most ten years,
    /// births 1940–1990), so it is a planted identifier of its own.
    pub(super) fn text_date(&mut self) -> Date {
        let lo = Date {
            year: 2000,
            month: 1,
            day: 1,
        }
        .to_days();
        let hi = Date {
            year: 2008,
            month: 12,
            day: 31,
        }
        .to_days();
        loop {
            let d = Date::from_days(self.rng.random_range(lo..=hi));
            if self.dates.insert(d) {
                return d;
            }
        }
    }

    /// A free-text date in one of the four forms of tasks/deid/brief.md question 8, catalogued.
    pub(super) fn text_date_in(&mut self, form: usize) -> String {
        let d = self.text_date();
        let (y, m, day) = (d.year, d.month, d.day);
        let value = match form % 4 {
            0 => format!("{y:04}{m:02}{day:02}"),
            1 => format!("{y:04}-{m:02}-{day:02}"),
            2 => format!("{day:02}.{m:02}.{y:04}"),
            _ => format!("{m:02}/{day:02}/{y:04}"),
        };
        self.catalog
            .add(&value, IdentifierClass::Date, "date in free text");
        value
    }

    /// Patient `index` of `count`: names shared by patients 1 and 2 when `shared_name`; patient
    /// 0 gets the Latin-1 name and the last patient the Japanese one when asked.
    pub(super) fn patients(
        &mut self,
        count: u32,
        shared_name: bool,
        latin1: bool,
        japanese: bool,
    ) -> Result<Vec<PatientPlan>, GenerateError> {
        let mut out: Vec<PatientPlan> = Vec::new();
        for index in 0..count as usize {
            let shared = shared_name && index == 2;
            let charset = if latin1 && index == 0 {
                Charset::Latin1
            } else if japanese && index + 1 == count as usize && !shared {
                Charset::Jis
            } else {
                Charset::Ascii
            };
            let name = if shared {
                out[1].name.clone()
            } else {
                let mut family = self.mint.draw(CanaryKind::PatientFamilyName)?;
                let given = self.mint.draw(CanaryKind::PatientGivenName)?;
                if charset == Charset::Latin1 {
                    // One vowel becomes its Latin-1 umlaut so the name needs ISO_IR 100.
                    family = umlaut(&family);
                }
                let japanese = (charset == Charset::Jis).then(|| {
                    let [(kf, pf), (kg, pg)] = JAPANESE[self.rng.random_range(0..JAPANESE.len())];
                    [
                        (kf.to_owned(), kg.to_owned()),
                        (pf.to_owned(), pg.to_owned()),
                    ]
                });
                let person = Person {
                    family,
                    given,
                    japanese,
                };
                self.catalog.add(
                    &person.family,
                    IdentifierClass::Direct,
                    CanaryKind::PatientFamilyName.what(),
                );
                self.catalog.add(
                    &person.given,
                    IdentifierClass::Direct,
                    CanaryKind::PatientGivenName.what(),
                );
                if let Some([(kf, kg), (pf, pg)]) = &person.japanese {
                    self.catalog.add(
                        kf,
                        IdentifierClass::Direct,
                        "patient family name (ideographic)",
                    );
                    self.catalog.add(
                        kg,
                        IdentifierClass::Direct,
                        "patient given name (ideographic)",
                    );
                    self.catalog.add(
                        pf,
                        IdentifierClass::Direct,
                        "patient family name (phonetic)",
                    );
                    self.catalog
                        .add(pg, IdentifierClass::Direct, "patient given name (phonetic)");
                }
                person
            };
            let id = self.draw(CanaryKind::PatientId)?;
            let other_ids = vec![
                self.draw(CanaryKind::OtherPatientId)?,
                self.draw(CanaryKind::OtherPatientId)?,
            ];
            let birth = loop {
                let lo = Date {
                    year: 1940,
                    month: 1,
                    day: 1,
                }
                .to_days();
                let hi = Date {
                    year: 1990,
                    month: 12,
                    day: 31,
                }
                .to_days();
                let d = Date::from_days(self.rng.random_range(lo..=hi));
                if self.dates.insert(d) {
                    break d;
                }
            };
            self.catalog.add(
                &birth.to_da(),
                IdentifierClass::Direct,
                "patient birth date",
            );
            let address = self.draw(CanaryKind::Address)?;
            let phone = self.draw(CanaryKind::Phone)?;
            out.push(PatientPlan {
                name,
                id,
                other_ids,
                birth,
                address,
                phone,
                charset,
            });
        }
        Ok(out)
    }
}

fn umlaut(word: &str) -> String {
    let mut done = false;
    word.chars()
        .map(|c| match c {
            'O' if !done => {
                done = true;
                'Ö'
            }
            'U' if !done => {
                done = true;
                'Ü'
            }
            'A' if !done => {
                done = true;
                'Ä'
            }
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use dicom_core::Tag;
    use dicom_core::value::Value;
    use worksample_dicom::rng::stream;

    use super::*;
    use crate::tokens::is_date;

    fn people(catalog: &mut Catalog) -> People<'_> {
        People::new(Mint::new(stream(5, "mint")), catalog, stream(5, "people"))
    }

    #[test]
    fn two_patients_share_a_name_and_the_charsets_land_where_asked() {
        let mut catalog = Catalog::default();
        let patients = people(&mut catalog)
            .patients(4, true, true, true)
            .expect("mints");
        assert_eq!(patients[1].name, patients[2].name);
        assert_ne!(patients[1].id, patients[2].id);
        assert_eq!(patients[0].charset, Charset::Latin1);
        assert!(
            !patients[0].name.family.is_ascii(),
            "{}",
            patients[0].name.family
        );
        assert_eq!(patients[3].charset, Charset::Jis);
        assert!(
            patients[3].name.pn().matches('=').count() == 2,
            "three groups"
        );
        let births: BTreeSet<_> = patients.iter().map(|p| p.birth).collect();
        assert_eq!(births.len(), 4);
    }

    #[test]
    fn the_japanese_name_returns_to_ascii_before_every_delimiter() {
        let person = Person {
            family: "QXVORAK".into(),
            given: "ZELDA".into(),
            japanese: Some([
                ("山田".into(), "太郎".into()),
                ("やまだ".into(), "たろう".into()),
            ]),
        };
        let mut obj = InMemDicomObject::new_empty();
        person.put(&mut obj, Tag(0x0010, 0x0010));
        let elem = obj.get(Tag(0x0010, 0x0010)).expect("put");
        let Value::Primitive(PrimitiveValue::U8(bytes)) = elem.value() else {
            panic!("raw bytes expected")
        };
        assert!(bytes.starts_with(b"QXVORAK^ZELDA=\x1b$B"));
        // Walk the ISO 2022 state: delimiters only ever appear in ASCII, and the value ends
        // in ASCII (JIS X 0208 codes may contain the bytes of `^` and `=`).
        let (mut jis, mut delimiters, mut i) = (false, 0, 0);
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\x1b$B") {
                (jis, i) = (true, i + 3);
            } else if bytes[i..].starts_with(ASCII_RETURN) {
                (jis, i) = (false, i + 3);
            } else if jis {
                i += 2;
            } else {
                delimiters += usize::from(bytes[i] == b'^' || bytes[i] == b'=');
                i += 1;
            }
        }
        assert!(!jis, "the value ends in ASCII");
        assert_eq!(delimiters, 5, "three groups of two components");
        let decoded = SpecificCharacterSet::from_code("ISO 2022 IR 87")
            .expect("codec")
            .decode(bytes)
            .expect("decodes");
        assert_eq!(decoded.trim_end(), "QXVORAK^ZELDA=山田^太郎=やまだ^たろう");
    }

    #[test]
    fn free_text_dates_take_the_four_published_forms_and_never_repeat() {
        let mut catalog = Catalog::default();
        let mut p = people(&mut catalog);
        let dates: Vec<String> = (0..8).map(|i| p.text_date_in(i)).collect();
        assert!(dates.iter().all(|d| is_date(d)), "{dates:?}");
        let unique: BTreeSet<&String> = dates.iter().collect();
        assert_eq!(unique.len(), dates.len());
        assert_eq!(dates[0].len(), 8);
        assert!(dates[1].contains('-') && dates[2].contains('.') && dates[3].contains('/'));
    }
}

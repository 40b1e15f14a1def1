//! Realistic identity and workflow values drawn from a seeded stream: person names (ASCII,
//! Latin-1 or UTF-8, with the Specific Character Set that matches), patient IDs, accession
//! numbers, dates, ages, sex and institutions.

use rand::Rng;
use rand::seq::IndexedRandom;

/// Which repertoire the text of an instance uses, and so its Specific Character Set (0008,0005).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CharsetChoice {
    /// Default repertoire (ISO-IR 6): no (0008,0005) is written.
    Ascii,
    /// ISO_IR 100 (Latin alphabet No. 1), single-valued (PS3.3 C.12.1.1.2).
    Latin1,
    /// ISO_IR 192 (UTF-8), single-valued (PS3.3 C.12.1.1.2).
    Utf8,
}

impl CharsetChoice {
    /// The value of Specific Character Set (0008,0005), or `None` for the default repertoire.
    pub fn specific_character_set(self) -> Option<&'static str> {
        match self {
            CharsetChoice::Ascii => None,
            CharsetChoice::Latin1 => Some("ISO_IR 100"),
            CharsetChoice::Utf8 => Some("ISO_IR 192"),
        }
    }

    /// Parses a command-line spelling: `ascii`, `latin1`, `utf8`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "ascii" => Some(CharsetChoice::Ascii),
            "latin1" | "iso_ir_100" => Some(CharsetChoice::Latin1),
            "utf8" | "utf-8" | "iso_ir_192" => Some(CharsetChoice::Utf8),
            _ => None,
        }
    }
}

/// A calendar date (DA, PS3.5 Table 6.2-1), proleptic Gregorian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, e.g. 2024.
    pub year: i32,
    /// Month 1–12.
    pub month: u32,
    /// Day 1–31.
    pub day: u32,
}

impl Date {
    /// DA value `YYYYMMDD`.
    pub fn to_da(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    pub fn to_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01 (civil_from_days).
    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// This date plus `days` (negative goes back).
    pub fn add_days(self, days: i64) -> Self {
        Date::from_days(self.to_days() + days)
    }
}

/// A time of day (TM), to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time {
    /// Seconds since midnight, below 86 400.
    pub seconds: u32,
}

impl Time {
    /// TM value `HHMMSS`.
    pub fn to_tm(self) -> String {
        let s = self.seconds % 86_400;
        format!("{:02}{:02}{:02}", s / 3600, s / 60 % 60, s % 60)
    }

    /// This time plus `seconds`, saturating at 23:59:59 so a series never rolls into the next day.
    pub fn plus(self, seconds: u32) -> Self {
        Time {
            seconds: (self.seconds + seconds).min(86_399),
        }
    }
}

/// Patient's Age (0010,1010) as an AS string (PS3.5 Table 6.2-1) at `on` for someone born on
/// `birth`: years from age 2, months below that, days in the first month.
pub fn age_string(birth: Date, on: Date) -> String {
    let mut years = on.year - birth.year;
    if (on.month, on.day) < (birth.month, birth.day) {
        years -= 1;
    }
    if years >= 2 {
        return format!("{:03}Y", years.min(999));
    }
    let mut months = (on.year - birth.year) * 12 + on.month as i32 - birth.month as i32;
    if on.day < birth.day {
        months -= 1;
    }
    if months >= 1 {
        return format!("{months:03}M");
    }
    format!("{:03}D", (on.to_days() - birth.to_days()).max(0))
}

/// Administrative sex (0010,0040).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// "F".
    Female,
    /// "M".
    Male,
    /// "O".
    Other,
}

impl Sex {
    /// The CS code.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Female => "F",
            Sex::Male => "M",
            Sex::Other => "O",
        }
    }
}

/// A person name (PN, PS3.5 §6.2.1): family and given components of the alphabetic group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName {
    /// Family name component.
    pub family: String,
    /// Given name component.
    pub given: String,
    /// Prefix component such as "Dr" (empty when absent).
    pub prefix: String,
}

impl PersonName {
    /// The PN value, `Family^Given` or `Family^Given^^Prefix`.
    pub fn to_pn(&self) -> String {
        if self.prefix.is_empty() {
            format!("{}^{}", self.family, self.given)
        } else {
            format!("{}^{}^^{}", self.family, self.given, self.prefix)
        }
    }

    /// Draws a name written in `charset`; `female` picks the given-name list.
    pub fn draw(rng: &mut impl Rng, charset: CharsetChoice, female: bool) -> Self {
        let (families, given_f, given_m): (&[&str], &[&str], &[&str]) = match charset {
            CharsetChoice::Ascii => (ASCII_FAMILY, ASCII_GIVEN_F, ASCII_GIVEN_M),
            CharsetChoice::Latin1 => (LATIN1_FAMILY, LATIN1_GIVEN_F, LATIN1_GIVEN_M),
            CharsetChoice::Utf8 => (UTF8_FAMILY, UTF8_GIVEN_F, UTF8_GIVEN_M),
        };
        let given = if female { given_f } else { given_m };
        PersonName {
            family: pick(rng, families).to_string(),
            given: pick(rng, given).to_string(),
            prefix: String::new(),
        }
    }

    /// A physician's name: a drawn name with the prefix "Dr".
    pub fn draw_physician(rng: &mut impl Rng, charset: CharsetChoice) -> Self {
        let female = rng.random_bool(0.5);
        PersonName {
            prefix: "Dr".to_owned(),
            ..PersonName::draw(rng, charset, female)
        }
    }
}

/// Who the patient is: every identity value the Patient module (PS3.3 C.7.1.1) carries.
#[derive(Debug, Clone, PartialEq)]
pub struct PatientIdentity {
    /// Patient's Name (0010,0010).
    pub name: PersonName,
    /// Patient ID (0010,0020), e.g. `MRN4820193`.
    pub id: String,
    /// Issuer of Patient ID (0010,0021).
    pub issuer: String,
    /// Patient's Birth Date (0010,0030).
    pub birth_date: Date,
    /// Patient's Sex (0010,0040).
    pub sex: Sex,
    /// Patient's Size (0010,1020) in metres.
    pub size_m: f64,
    /// Patient's Weight (0010,1030) in kilograms.
    pub weight_kg: f64,
    /// Repertoire of every text value in this patient's instances.
    pub charset: CharsetChoice,
}

impl PatientIdentity {
    /// Draws a patient born between 1935 and 2015 with a name written in `charset`.
    pub fn draw(rng: &mut impl Rng, charset: CharsetChoice) -> Self {
        let sex = match rng.random_range(0..100) {
            0..49 => Sex::Female,
            49..98 => Sex::Male,
            _ => Sex::Other,
        };
        let name = PersonName::draw(rng, charset, sex == Sex::Female);
        let birth_date = Date::from_days(
            rng.random_range(
                Date {
                    year: 1935,
                    month: 1,
                    day: 1,
                }
                .to_days()..Date {
                    year: 2015,
                    month: 12,
                    day: 31,
                }
                .to_days(),
            ),
        );
        let size_m = (rng.random_range(150.0..195.0_f64) / 100.0 * 100.0).round() / 100.0;
        let weight_kg = rng.random_range(48.0..110.0_f64).round();
        PatientIdentity {
            name,
            id: format!("MRN{:07}", rng.random_range(0..10_000_000u32)),
            issuer: pick(rng, ISSUERS).to_string(),
            birth_date,
            sex,
            size_m,
            weight_kg,
            charset,
        }
    }
}

/// A hospital: Institution Name (0008,0080) and its department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Institution {
    /// Institution Name (0008,0080).
    pub name: String,
    /// Institutional Department Name (0008,1040).
    pub department: String,
    /// Prefix used for station names at this site.
    pub station_prefix: String,
}

impl Institution {
    /// Draws one of a fixed list of fictional hospitals.
    pub fn draw(rng: &mut impl Rng) -> Self {
        let (name, prefix) = *pick(rng, INSTITUTIONS);
        Institution {
            name: name.to_owned(),
            department: pick(rng, &["Radiology", "Diagnostic Imaging", "Neuroradiology"])
                .to_string(),
            station_prefix: prefix.to_owned(),
        }
    }
}

/// Accession Number (0008,0050): site prefix and digits, at most 16 characters (SH).
pub fn draw_accession(rng: &mut impl Rng) -> String {
    format!("ACC{:09}", rng.random_range(0..1_000_000_000u32))
}

fn pick<'a, T>(rng: &mut impl Rng, list: &'a [T]) -> &'a T {
    list.choose(rng).expect("name lists are non-empty")
}

const ISSUERS: &[&str] = &["NORTHGATE-MRN", "STHELIER-MRN", "RIVERSIDE-EPI"];

const INSTITUTIONS: &[(&str, &str)] = &[
    ("Northgate General Hospital", "NGH"),
    ("St Helier Teaching Hospital", "SHT"),
    ("Riverside Imaging Centre", "RIC"),
    ("Lakeside Regional Medical Center", "LRM"),
];

const ASCII_FAMILY: &[&str] = &[
    "Smith",
    "Okafor",
    "Nguyen",
    "Patel",
    "Kowalski",
    "Hughes",
    "Andersen",
    "Tanaka",
    "Morales",
    "Fitzgerald",
    "Osei",
    "Lindqvist",
    "Brennan",
    "Haddad",
    "Novak",
];
const ASCII_GIVEN_F: &[&str] = &[
    "Anna", "Grace", "Mei", "Priya", "Olivia", "Ines", "Hannah", "Zara",
];
const ASCII_GIVEN_M: &[&str] = &[
    "James", "Tomas", "Kwame", "Arjun", "Lucas", "Ethan", "Omar", "Felix",
];

// Every character below is in ISO 8859-1, so ISO_IR 100 can encode it (PS3.3 C.12.1.1.2).
const LATIN1_FAMILY: &[&str] = &[
    "Müller",
    "Sørensen",
    "García",
    "Lefèvre",
    "Ångström",
    "Nuñez",
    "Jäger",
    "Østergård",
    "Björk",
    "Françoise",
    "Gonçalves",
    "Weiß",
];
const LATIN1_GIVEN_F: &[&str] = &["Zoë", "Chloé", "Åsa", "Inés", "Maëlle", "Sofía"];
const LATIN1_GIVEN_M: &[&str] = &["Jürgen", "José", "Søren", "André", "Loïc", "Bjørn"];

// UTF-8 names that need more than Latin-1: Greek, Cyrillic, Polish, Czech, CJK.
const UTF8_FAMILY: &[&str] = &[
    "Παπαδόπουλος",
    "Иванова",
    "Wójcik",
    "Dvořák",
    "Łukasiewicz",
    "王",
    "Nakamura",
    "Şahin",
];
const UTF8_GIVEN_F: &[&str] = &["Ελένη", "Мария", "Małgorzata", "Jiřina", "秀英"];
const UTF8_GIVEN_M: &[&str] = &["Γιώργος", "Дмитрий", "Łukasz", "Přemysl", "伟"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn date_days_round_trip() {
        for days in [-25_000i64, -1, 0, 1, 11_016, 19_800, 20_000] {
            assert_eq!(Date::from_days(days).to_days(), days);
        }
        assert_eq!(
            Date {
                year: 2024,
                month: 2,
                day: 29
            }
            .add_days(1)
            .to_da(),
            "20240301"
        );
    }

    #[test]
    fn ages_follow_birthdays() {
        let birth = Date {
            year: 1980,
            month: 6,
            day: 15,
        };
        assert_eq!(
            age_string(
                birth,
                Date {
                    year: 2024,
                    month: 6,
                    day: 14
                }
            ),
            "043Y"
        );
        assert_eq!(
            age_string(
                birth,
                Date {
                    year: 2024,
                    month: 6,
                    day: 15
                }
            ),
            "044Y"
        );
        assert_eq!(
            age_string(
                birth,
                Date {
                    year: 1981,
                    month: 3,
                    day: 1
                }
            ),
            "008M"
        );
        assert_eq!(
            age_string(
                birth,
                Date {
                    year: 1980,
                    month: 7,
                    day: 1
                }
            ),
            "016D"
        );
    }

    #[test]
    fn latin1_names_are_encodable_in_latin1() {
        for name in LATIN1_FAMILY
            .iter()
            .chain(LATIN1_GIVEN_F)
            .chain(LATIN1_GIVEN_M)
        {
            assert!(name.chars().all(|c| (c as u32) < 256), "{name}");
            assert!(!name.is_ascii(), "{name} should need Latin-1");
        }
        for name in ASCII_FAMILY
            .iter()
            .chain(ASCII_GIVEN_F)
            .chain(ASCII_GIVEN_M)
        {
            assert!(name.is_ascii(), "{name}");
        }
    }

    #[test]
    fn identity_draw_is_deterministic_and_charset_specific() {
        let a = PatientIdentity::draw(&mut stream(3, "p"), CharsetChoice::Utf8);
        assert_eq!(
            a,
            PatientIdentity::draw(&mut stream(3, "p"), CharsetChoice::Utf8)
        );
        let ascii = PatientIdentity::draw(&mut stream(3, "p"), CharsetChoice::Ascii);
        assert!(ascii.name.to_pn().is_ascii());
        assert!(ascii.id.len() <= 64);
    }
}

//! The de-identification markers (PS3.15 §E.1.1; PS3.3 §C.7.1.1 Patient Identification
//! Module, §C.7.6.1.1.4): writing them the way tasks/deid/brief.md (question 5) demands, and
//! checking a candidate's output against that demand (rubric criterion `markers`).

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_object::InMemDicomObject;

use crate::profile::{BASIC_PROFILE_CODE, CODING_SCHEME, Options, ProfileOption};

/// Patient Identity Removed (0012,0062), CS.
pub const PATIENT_IDENTITY_REMOVED: Tag = Tag(0x0012, 0x0062);
/// De-identification Method (0012,0063), LO.
pub const DEIDENTIFICATION_METHOD: Tag = Tag(0x0012, 0x0063);
/// De-identification Method Code Sequence (0012,0064), SQ.
pub const DEIDENTIFICATION_METHOD_CODES: Tag = Tag(0x0012, 0x0064);
/// Longitudinal Temporal Information Modified (0028,0303), CS.
pub const LONGITUDINAL_MODIFIED: Tag = Tag(0x0028, 0x0303);
/// Burned In Annotation (0028,0301), CS.
pub const BURNED_IN_ANNOTATION: Tag = Tag(0x0028, 0x0301);

const CODE_VALUE: Tag = Tag(0x0008, 0x0100);
const CODING_SCHEME_DESIGNATOR: Tag = Tag(0x0008, 0x0102);
const CODE_MEANING: Tag = Tag(0x0008, 0x0104);

/// One marker the task checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Marker {
    /// Patient Identity Removed = `YES`.
    PatientIdentityRemoved,
    /// De-identification Method present and non-empty.
    Method,
    /// The method code sequence lists exactly the applied codes (113100 and the options; 113101
    /// only where pixels were cleaned), scheme `DCM`.
    Codes,
    /// Longitudinal Temporal Information Modified = `MODIFIED`.
    LongitudinalModified,
    /// Burned In Annotation = `NO` after the pixels were cleaned.
    BurnedInAnnotation,
}

/// The outcome of one marker check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerCheck {
    /// The marker.
    pub marker: Marker,
    /// What is wrong, or `None` when it is right.
    pub problem: Option<String>,
}

/// The options an instance's markers must list: the task's options, with Clean Pixel Data only
/// when its pixels were cleaned.
pub fn expected_options(pixels_cleaned: bool) -> Options {
    let all = Options::task();
    if pixels_cleaned {
        all
    } else {
        all.without(ProfileOption::CleanPixelData)
    }
}

/// Writes the markers for `options` into `obj`: Patient Identity Removed, the method text, the
/// code sequence, Longitudinal Temporal Information Modified (`MODIFIED` under Modified Dates,
/// `UNMODIFIED` under Full Dates, else `REMOVED`), and Burned In Annotation `NO` when Clean
/// Pixel Data is among them.
pub fn write(obj: &mut InMemDicomObject, options: Options, method: &str) {
    obj.put(DataElement::new(
        PATIENT_IDENTITY_REMOVED,
        VR::CS,
        PrimitiveValue::from("YES"),
    ));
    obj.put(DataElement::new(
        DEIDENTIFICATION_METHOD,
        VR::LO,
        PrimitiveValue::from(method),
    ));
    let mut items = vec![code_item(
        BASIC_PROFILE_CODE,
        "Basic Application Confidentiality Profile",
    )];
    items.extend(options.iter().map(|o| code_item(o.code(), o.meaning())));
    obj.put(DataElement::new(
        DEIDENTIFICATION_METHOD_CODES,
        VR::SQ,
        DataSetSequence::from(items),
    ));
    let longitudinal = if options.contains(ProfileOption::RetainLongitudinalModifiedDates) {
        "MODIFIED"
    } else if options.contains(ProfileOption::RetainLongitudinalFullDates) {
        "UNMODIFIED"
    } else {
        "REMOVED"
    };
    obj.put(DataElement::new(
        LONGITUDINAL_MODIFIED,
        VR::CS,
        PrimitiveValue::from(longitudinal),
    ));
    if options.contains(ProfileOption::CleanPixelData) {
        obj.put(DataElement::new(
            BURNED_IN_ANNOTATION,
            VR::CS,
            PrimitiveValue::from("NO"),
        ));
    }
}

fn code_item(value: &str, meaning: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(CODE_VALUE, VR::SH, PrimitiveValue::from(value)),
        DataElement::new(
            CODING_SCHEME_DESIGNATOR,
            VR::SH,
            PrimitiveValue::from(CODING_SCHEME),
        ),
        DataElement::new(CODE_MEANING, VR::LO, PrimitiveValue::from(meaning)),
    ])
}

/// Checks the markers of one output instance against the brief. `pixels_cleaned` says whether
/// the instance's input had Burned In Annotation `YES` (so its pixels had to be cleaned).
pub fn check(obj: &InMemDicomObject, pixels_cleaned: bool) -> Vec<MarkerCheck> {
    let text = |tag: Tag| -> Option<String> {
        let elem = obj.get(tag)?;
        elem.to_str()
            .ok()
            .map(|s| s.trim_end_matches([' ', '\0']).to_owned())
    };
    let expect_value = |tag: Tag, wanted: &str| match text(tag) {
        Some(v) if v == wanted => None,
        Some(v) => Some(format!("is `{v}`, expected `{wanted}`")),
        None => Some(format!("is missing, expected `{wanted}`")),
    };
    let mut checks = vec![
        MarkerCheck {
            marker: Marker::PatientIdentityRemoved,
            problem: expect_value(PATIENT_IDENTITY_REMOVED, "YES"),
        },
        MarkerCheck {
            marker: Marker::Method,
            problem: match text(DEIDENTIFICATION_METHOD) {
                Some(v) if !v.is_empty() => None,
                Some(_) | None => Some("is missing or empty".into()),
            },
        },
        MarkerCheck {
            marker: Marker::Codes,
            problem: check_codes(obj, expected_options(pixels_cleaned)),
        },
        MarkerCheck {
            marker: Marker::LongitudinalModified,
            problem: expect_value(LONGITUDINAL_MODIFIED, "MODIFIED"),
        },
    ];
    if pixels_cleaned {
        checks.push(MarkerCheck {
            marker: Marker::BurnedInAnnotation,
            problem: expect_value(BURNED_IN_ANNOTATION, "NO"),
        });
    }
    checks
}

fn check_codes(obj: &InMemDicomObject, options: Options) -> Option<String> {
    let Some(elem) = obj.get(DEIDENTIFICATION_METHOD_CODES) else {
        return Some("is missing".into());
    };
    let Some(items) = elem.items() else {
        return Some("is not a sequence".into());
    };
    let mut found = Vec::new();
    for item in items {
        let field = |tag: Tag| {
            item.get(tag)
                .and_then(|e| e.to_str().ok().map(|s| s.trim().to_owned()))
        };
        match (field(CODE_VALUE), field(CODING_SCHEME_DESIGNATOR)) {
            (Some(value), Some(scheme)) if scheme == CODING_SCHEME => found.push(value),
            (Some(value), scheme) => {
                return Some(format!(
                    "code {value} has coding scheme `{}`, expected `{CODING_SCHEME}`",
                    scheme.unwrap_or_default()
                ));
            }
            (None, _) => return Some("an item has no Code Value".into()),
        }
    }
    found.sort();
    found.dedup();
    let wanted = options.codes();
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|c| !found.iter().any(|f| f == *c))
        .copied()
        .collect();
    let extra: Vec<&str> = found
        .iter()
        .map(String::as_str)
        .filter(|f| !wanted.contains(f))
        .collect();
    match (missing.is_empty(), extra.is_empty()) {
        (true, true) => None,
        (false, true) => Some(format!("lacks {}", missing.join(", "))),
        (true, false) => Some(format!("lists {} not applied here", extra.join(", "))),
        (false, false) => Some(format!(
            "lacks {} and lists {} not applied here",
            missing.join(", "),
            extra.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(obj: &InMemDicomObject, cleaned: bool) -> Vec<String> {
        check(obj, cleaned)
            .into_iter()
            .filter_map(|c| c.problem.map(|p| format!("{:?}: {p}", c.marker)))
            .collect()
    }

    #[test]
    fn written_markers_pass_their_check() {
        for cleaned in [false, true] {
            let mut obj = InMemDicomObject::new_empty();
            write(
                &mut obj,
                expected_options(cleaned),
                "PS3.15 Basic Profile + options",
            );
            assert_eq!(
                problems(&obj, cleaned),
                Vec::<String>::new(),
                "cleaned={cleaned}"
            );
        }
    }

    #[test]
    fn missing_and_wrong_markers_are_named() {
        assert_eq!(
            problems(&InMemDicomObject::new_empty(), true),
            [
                "PatientIdentityRemoved: is missing, expected `YES`",
                "Method: is missing or empty",
                "Codes: is missing",
                "LongitudinalModified: is missing, expected `MODIFIED`",
                "BurnedInAnnotation: is missing, expected `NO`",
            ]
        );
        // 113101 on an instance whose pixels needed no cleaning, and 113107 missing.
        let mut obj = InMemDicomObject::new_empty();
        let wrong = Options::task().without(ProfileOption::RetainLongitudinalModifiedDates);
        write(&mut obj, wrong, "m");
        assert_eq!(
            problems(&obj, false),
            [
                "Codes: lacks 113107 and lists 113101 not applied here",
                "LongitudinalModified: is `REMOVED`, expected `MODIFIED`",
            ]
        );
    }
}

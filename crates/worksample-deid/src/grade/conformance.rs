//! Conformance (rubric category `conformance`, research/deid.md §4.4 D1–D4): Type 1 and 2
//! attributes the fixture IODs require, the de-identification markers, character sets, and
//! Part 10 hygiene. Also the small Type table the privacy checks resolve compound actions with
//! (tasks/deid/brief.md, compound actions): only the attributes the fixtures carry whose Type
//! differs between their IODs or decides a compound action; everything else is `Unknown`, and
//! the privacy checks then accept any branch the compound action allows.
//!
//! The IOD check is built in: dciodvfy is not run, so a grading machine with or without
//! dicom3tools scores the same (a note says so).

use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use worksample_dicom::read::Framing;
use worksample_task::rubric::{CriterionGrade, Finding, Score};

use super::inventory::Inventory;
use super::matching::Matched;
use super::privacy::{allowed_actions, inside_removed};
use super::{Pair, Tally, elem_text};
use crate::key::Key;
use crate::markers::{self, Marker};
use crate::paths::walk;
use crate::profile::{Action, AttributeType};

/// SOP Class UIDs of the fixture objects (PS3.4 Annex B.5).
mod class {
    pub const PET: &str = "1.2.840.10008.5.1.4.1.1.128";
    pub const ENHANCED_MR: &str = "1.2.840.10008.5.1.4.1.1.4.1";
    pub const RT_STRUCT: &str = "1.2.840.10008.5.1.4.1.1.481.3";
    pub const GSPS: &str = "1.2.840.10008.5.1.4.1.1.11.1";
    pub const KOS: &str = "1.2.840.10008.5.1.4.1.1.88.59";
    pub const SR_PREFIX: &str = "1.2.840.10008.5.1.4.1.1.88.";
}

/// Content Creator's Name (0070,0084), Type 2 in the Presentation State module.
const CONTENT_CREATOR_NAME: Tag = Tag(0x0070, 0x0084);
/// Structure Set Date and Time (3006,0008/0009), Type 2 in the Structure Set module.
const STRUCTURE_SET_DATE: Tag = Tag(0x3006, 0x0008);
const STRUCTURE_SET_TIME: Tag = Tag(0x3006, 0x0009);

/// The attributes the built-in IOD check looks at (when the input carries them).
const IOD_TAGS: [Tag; 27] = [
    tags::PATIENT_NAME,
    tags::PATIENT_ID,
    tags::PATIENT_BIRTH_DATE,
    tags::PATIENT_SEX,
    tags::STUDY_DATE,
    tags::STUDY_TIME,
    tags::REFERRING_PHYSICIAN_NAME,
    tags::STUDY_ID,
    tags::ACCESSION_NUMBER,
    tags::STUDY_INSTANCE_UID,
    tags::SERIES_INSTANCE_UID,
    tags::SOP_INSTANCE_UID,
    tags::SOP_CLASS_UID,
    tags::MODALITY,
    tags::SERIES_NUMBER,
    tags::SERIES_DATE,
    tags::SERIES_TIME,
    tags::CONTENT_DATE,
    tags::CONTENT_TIME,
    tags::MANUFACTURER,
    tags::MANUFACTURER_MODEL_NAME,
    tags::DEVICE_SERIAL_NUMBER,
    tags::SOFTWARE_VERSIONS,
    tags::OPERATORS_NAME,
    CONTENT_CREATOR_NAME,
    STRUCTURE_SET_DATE,
    STRUCTURE_SET_TIME,
];

fn is_document(sop_class: &str) -> bool {
    sop_class.starts_with(class::SR_PREFIX)
        || sop_class == class::KOS
        || sop_class == class::GSPS
        || sop_class == class::ENHANCED_MR
}

/// The Type of a top-level attribute in the IOD of `sop_class` (PS3.3): Patient (§C.7.1.1),
/// General Study (§C.7.2.1), General Series (§C.7.3.1), PET Series (§C.8.9.1: Series Date and
/// Time Type 1), General and Enhanced General Equipment (§C.7.5.1, §C.7.5.2: Device Serial
/// Number Type 1 in Enhanced MR), SR Document General and Presentation State modules (Content
/// Date/Time Type 1), RT Series (§C.8.8.1: Operators' Name Type 2).
fn type_in_iod(sop_class: &str, tag: Tag) -> AttributeType {
    use AttributeType::{Type1, Type2, Type3, Unknown};
    let pet = sop_class == class::PET;
    let emr = sop_class == class::ENHANCED_MR;
    match tag {
        tags::PATIENT_NAME
        | tags::PATIENT_ID
        | tags::PATIENT_BIRTH_DATE
        | tags::PATIENT_SEX
        | tags::STUDY_DATE
        | tags::STUDY_TIME
        | tags::REFERRING_PHYSICIAN_NAME
        | tags::STUDY_ID
        | tags::ACCESSION_NUMBER
        | tags::SERIES_NUMBER => Type2,
        tags::STUDY_INSTANCE_UID
        | tags::SERIES_INSTANCE_UID
        | tags::SOP_INSTANCE_UID
        | tags::SOP_CLASS_UID
        | tags::MODALITY => Type1,
        tags::SERIES_DATE | tags::SERIES_TIME if pet => Type1,
        tags::SERIES_DATE | tags::SERIES_TIME => Type3,
        tags::CONTENT_DATE | tags::CONTENT_TIME if is_document(sop_class) => Type1,
        tags::CONTENT_DATE | tags::CONTENT_TIME => Type2,
        tags::MANUFACTURER_MODEL_NAME | tags::SOFTWARE_VERSIONS | tags::DEVICE_SERIAL_NUMBER
            if emr =>
        {
            Type1
        }
        tags::MANUFACTURER if emr => Type1,
        tags::MANUFACTURER => Type2,
        tags::MANUFACTURER_MODEL_NAME | tags::SOFTWARE_VERSIONS | tags::DEVICE_SERIAL_NUMBER => {
            Type3
        }
        tags::OPERATORS_NAME if sop_class == class::RT_STRUCT => Type2,
        tags::OPERATORS_NAME
        | tags::INSTITUTION_NAME
        | tags::INSTITUTION_ADDRESS
        | tags::INSTITUTIONAL_DEPARTMENT_NAME
        | tags::STATION_NAME
        | tags::PERFORMING_PHYSICIAN_NAME
        | tags::PHYSICIANS_OF_RECORD
        | tags::NAME_OF_PHYSICIANS_READING_STUDY
        | tags::REFERENCED_STUDY_SEQUENCE
        | tags::PROTOCOL_NAME => Type3,
        CONTENT_CREATOR_NAME if sop_class == class::GSPS => Type2,
        STRUCTURE_SET_DATE | STRUCTURE_SET_TIME if sop_class == class::RT_STRUCT => Type2,
        _ => Unknown,
    }
}

/// The Type of an attribute at `depth` in an instance of `sop_class`; nested attributes are
/// `Unknown` (their Type depends on the macro that includes them).
pub(crate) fn attribute_type(sop_class: &str, tag: Tag, depth: usize) -> AttributeType {
    if depth > 0 {
        AttributeType::Unknown
    } else {
        type_in_iod(sop_class, tag)
    }
}

/// Conformance measurements of one input file.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileConformance {
    pub iod: Tally,
    pub markers: Tally,
    pub charset: Tally,
}

fn marker_location(m: Marker) -> &'static str {
    match m {
        Marker::PatientIdentityRemoved => "(0012,0062)",
        Marker::Method => "(0012,0063)",
        Marker::Codes => "(0012,0064)",
        Marker::LongitudinalModified => "(0028,0303)",
        Marker::BurnedInAnnotation => "(0028,0301)",
    }
}

impl FileConformance {
    pub(crate) fn measure(pair: &Pair<'_>) -> Self {
        let input = &pair.input.dataset;
        let out = pair.output.map(|(_, f)| &f.dataset);
        let file_key = &pair.key.files[pair.index];
        let mut me = FileConformance::default();
        for tag in IOD_TAGS {
            let ty = type_in_iod(&file_key.sop_class_uid, tag);
            let Some(original) = input.get(tag) else {
                continue;
            };
            let required_value = match ty {
                AttributeType::Type1 if elem_text(original).is_some_and(|v| !v.is_empty()) => true,
                AttributeType::Type2 | AttributeType::Type1 => false,
                AttributeType::Type3 | AttributeType::Unknown => continue,
            };
            let found = out.and_then(|o| o.get(tag));
            let ok = match found {
                None => false,
                Some(f) => !required_value || elem_text(f).is_some_and(|v| !v.is_empty()),
            };
            let ty_name = if required_value { "Type 1" } else { "Type 2" };
            me.iod.check(ok, || {
                pair.finding(
                    format!("({:04X},{:04X})", tag.group(), tag.element()),
                    format!(
                        "{ty_name} attribute {} in this IOD",
                        if found.is_some() {
                            "is empty"
                        } else {
                            "is missing"
                        }
                    ),
                )
            });
        }
        let empty = InMemDicomObject::new_empty();
        for c in markers::check(out.unwrap_or(&empty), file_key.burned_in) {
            let ok = out.is_some() && c.problem.is_none();
            me.markers.check(ok, || {
                pair.finding(
                    marker_location(c.marker),
                    c.problem
                        .clone()
                        .unwrap_or_else(|| "no matching output".to_owned()),
                )
            });
        }
        let problem = match out {
            None => Some(("".to_owned(), "no matching output".to_owned())),
            Some(o) => charset_problem(input, o),
        };
        me.charset.check(problem.is_none(), || {
            let (loc, why) = problem.clone().unwrap_or_default();
            pair.finding(loc, why)
        });
        me
    }
}

/// The first character-set problem of an output: a value that did not decode under the
/// declared Specific Character Set (PS3.5 §6.1; the reader substitutes U+FFFD), or a person
/// name with an original component group left (PS3.5 §6.2: alphabetic, ideographic, phonetic).
fn charset_problem(
    input: &InMemDicomObject,
    output: &InMemDicomObject,
) -> Option<(String, String)> {
    let mut problem = None;
    walk(output, &mut |path, elem| {
        if problem.is_some() || matches!(elem.value(), Value::Sequence(_) | Value::PixelSequence(_))
        {
            return;
        }
        let textual = matches!(
            elem.vr(),
            VR::LO | VR::SH | VR::ST | VR::LT | VR::UT | VR::UC | VR::PN
        );
        if textual && elem.to_str().is_ok_and(|s| s.contains('\u{FFFD}')) {
            problem = Some((
                path.to_string(),
                "value does not decode under the declared Specific Character Set".to_owned(),
            ));
        }
    });
    if problem.is_some() {
        return problem;
    }
    walk(input, &mut |path, elem| {
        if problem.is_some()
            || elem.vr() != VR::PN
            || elem.tag().group() % 2 == 1
            || inside_removed(path)
        {
            return;
        }
        let replaced = allowed_actions(elem.tag(), AttributeType::Unknown)
            .is_some_and(|a| !a.contains(&Action::Keep));
        if !replaced {
            return;
        }
        let (Some(original), Some(new)) = (elem_text(elem), path.find(output).and_then(elem_text))
        else {
            return;
        };
        // A name copied whole is the action's failure (action_compliance, direct_leaks), not a
        // character-set one: this rule is for a name whose alphabetic group was replaced while
        // its ideographic or phonetic group stayed (PS3.5 §6.2.1.1, three component groups).
        if new.trim_end() == original.trim_end() {
            return;
        }
        let groups: Vec<&str> = new.split('=').collect();
        let left = original
            .split('=')
            .filter(|g| !g.trim_matches('^').is_empty())
            .find(|g| groups.contains(g));
        if let Some(g) = left {
            problem = Some((
                path.to_string(),
                format!("person name component group `{g}` was not replaced"),
            ));
        }
    });
    problem
}

/// Conformance measurements of the files graded so far.
#[derive(Debug, Default)]
pub(crate) struct ConformanceFold {
    iod: Tally,
    markers: Tally,
    charset: Tally,
}

impl ConformanceFold {
    /// Folds in the next file.
    pub(crate) fn fold(&mut self, file: FileConformance) {
        self.iod.absorb(&file.iod);
        self.markers.absorb(&file.markers);
        self.charset.absorb(&file.charset);
    }
}

/// The conformance criteria.
pub(crate) fn criteria(
    key: &Key,
    inventory: &Inventory,
    matched: &Matched,
    fold: &ConformanceFold,
    notes: &mut Vec<String>,
) -> Vec<CriterionGrade> {
    notes.push(
        "iod_conformance used the built-in Type 1/2 check of the fixture IODs; dciodvfy was not run"
            .to_owned(),
    );
    vec![
        fold.iod
            .clone()
            .grade("iod_conformance", "Type 1/2 attribute checks passed"),
        fold.markers
            .clone()
            .grade("markers", "marker checks passed"),
        fold.charset
            .clone()
            .grade("charset", "files with conforming character sets"),
        hygiene(key, inventory, matched),
    ]
}

fn hygiene(key: &Key, inventory: &Inventory, matched: &Matched) -> CriterionGrade {
    let mut tally = Tally::global();
    // What the candidate wrote that is broken or unexpected comes first: it is the evidence an
    // assessor needs, and findings are capped.
    for extra in &inventory.extras {
        tally.check(false, || extra.clone());
    }
    for &(o, _) in &matched.duplicates {
        tally.check(false, || {
            Finding::new("a second output of an input another file already covers")
                .in_file(inventory.outputs[o].rel.clone())
        });
    }
    for &o in &matched.unmatched_outputs {
        tally.check(false, || {
            Finding::new("matches no input file").in_file(inventory.outputs[o].rel.clone())
        });
    }
    for (i, o) in matched.output_of.iter().enumerate() {
        match o {
            Some(o) => {
                let out = &inventory.outputs[*o];
                let why = match out.framing {
                    Framing::Part10 => None,
                    Framing::NoPreamble => {
                        Some("has no 128-byte preamble and DICM prefix (PS3.10 §7.1)")
                    }
                    Framing::RawDataSet => {
                        Some("is a bare data set without file meta (PS3.10 §7.1)")
                    }
                };
                tally.check(why.is_none(), || {
                    Finding::new(why.unwrap_or_default()).in_file(out.rel.clone())
                });
            }
            None => tally.check(false, || {
                Finding::new("input has no de-identified output").in_file(key.files[i].path.clone())
            }),
        }
    }
    let released = matched.output_of.iter().filter(|o| o.is_some()).count();
    // The rubric's `every_input_released` gate compares the share of inputs with an output: a
    // file left out is withheld, not de-identified, and must not be cheaper than a hard file
    // attempted (an SR whose text leaks a name closes the leak gate).
    let coverage = if key.files.is_empty() {
        Score::FULL
    } else {
        Score::new(released as f64 / key.files.len() as f64)
    };
    let mut grade = tally
        .grade("hygiene", "expected files and extra entries clean")
        .gated_on(coverage);
    if key.files.is_empty() && grade.findings.is_empty() {
        grade.score = Score::FULL;
    }
    grade
}

#[cfg(test)]
mod tests {
    use dicom_core::{DataElement, PrimitiveValue};

    use super::*;

    #[test]
    fn types_follow_the_iod() {
        assert_eq!(
            type_in_iod(class::PET, tags::SERIES_DATE),
            AttributeType::Type1
        );
        assert_eq!(
            type_in_iod("1.2.840.10008.5.1.4.1.1.2", tags::SERIES_DATE),
            AttributeType::Type3
        );
        assert_eq!(
            type_in_iod(class::ENHANCED_MR, tags::DEVICE_SERIAL_NUMBER),
            AttributeType::Type1
        );
        assert_eq!(
            attribute_type(class::ENHANCED_MR, tags::DEVICE_SERIAL_NUMBER, 1),
            AttributeType::Unknown
        );
    }

    fn named(name: &str) -> InMemDicomObject {
        InMemDicomObject::from_element_iter([DataElement::new(
            tags::PATIENT_NAME,
            VR::PN,
            PrimitiveValue::from(name),
        )])
    }

    #[test]
    fn a_person_name_group_left_behind_is_a_charset_problem() {
        let input = named("YAMADA^TAROU=山田^太郎=やまだ^たろう");
        assert!(charset_problem(&input, &named("DEID-0001")).is_none());
        let (location, why) =
            charset_problem(&input, &named("DEID-0001=山田^太郎")).expect("a problem");
        assert_eq!(location, "(0010,0010)");
        assert!(why.contains("山田^太郎"), "{why}");
    }
}

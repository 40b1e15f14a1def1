//! Utility (rubric category `utility`, research/deid.md §4.4 C1–C6): what a researcher needs
//! must survive: pixels outside the burned-in band byte-identical, geometry and acquisition
//! attributes and decoys unchanged, safe private attributes kept, descriptors cleaned token by
//! token rather than wiped, and time intervals preserved to the second.

use std::collections::BTreeMap;

use dicom_core::Tag;
use dicom_core::header::Header;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use worksample_task::rubric::{CriterionGrade, Finding};

use super::privacy::{allowed_actions, dropped_with_ancestor, inside_removed, is_text_vr};
use super::{Pair, Tally, elem_text, text};
use crate::contract::text_band;
use crate::dates;
use crate::key::Key;
use crate::paths::{ElementKey, walk};
use crate::profile::{Action, AttributeType};
use crate::safe_private::is_safe;
use crate::tokens::{self, Vocabulary};

/// Image Pixel module attributes that must not change (PS3.3 §C.7.6.3).
const PIXEL_MODULE: [Tag; 10] = [
    tags::ROWS,
    tags::COLUMNS,
    tags::BITS_ALLOCATED,
    tags::BITS_STORED,
    tags::HIGH_BIT,
    tags::PIXEL_REPRESENTATION,
    tags::PHOTOMETRIC_INTERPRETATION,
    tags::SAMPLES_PER_PIXEL,
    tags::PLANAR_CONFIGURATION,
    tags::NUMBER_OF_FRAMES,
];

/// Geometry, acquisition and retained patient characteristics compared byte for byte
/// (research/deid.md §4.4 C3; Retain Patient Characteristics' `K` rows, PS3.15 §E.3.4).
const GEOMETRY: [Tag; 31] = [
    tags::IMAGE_POSITION_PATIENT,
    tags::IMAGE_ORIENTATION_PATIENT,
    tags::PIXEL_SPACING,
    tags::SLICE_THICKNESS,
    tags::SPACING_BETWEEN_SLICES,
    tags::RESCALE_INTERCEPT,
    tags::RESCALE_SLOPE,
    tags::RESCALE_TYPE,
    tags::WINDOW_CENTER,
    tags::WINDOW_WIDTH,
    tags::MODALITY,
    tags::MANUFACTURER,
    tags::MANUFACTURER_MODEL_NAME,
    tags::BODY_PART_EXAMINED,
    tags::KVP,
    tags::ECHO_TIME,
    tags::REPETITION_TIME,
    tags::FLIP_ANGLE,
    tags::MAGNETIC_FIELD_STRENGTH,
    tags::SERIES_NUMBER,
    tags::INSTANCE_NUMBER,
    tags::ACQUISITION_NUMBER,
    tags::IMAGE_TYPE,
    tags::PATIENT_SEX,
    tags::PATIENT_AGE,
    tags::PATIENT_SIZE,
    tags::PATIENT_WEIGHT,
    Tag(0x0010, 0x2160),
    tags::SMOKING_STATUS,
    tags::PREGNANCY_STATUS,
    tags::PATIENT_SEX_NEUTERED,
];

/// Radiopharmaceutical Information Sequence (0054,0016) and its timing attributes.
const RADIOPHARMACEUTICAL_INFO: Tag = Tag(0x0054, 0x0016);
const RADIOPHARMACEUTICAL_START_DATETIME: Tag = Tag(0x0018, 0x1078);
const RADIOPHARMACEUTICAL_START_TIME: Tag = Tag(0x0018, 0x1072);

/// Utility measurements of one input file.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileUtility {
    pub pixels: Tally,
    pub minimal: Tally,
    pub geometry: Tally,
    pub safe: Tally,
    pub descriptors: Tally,
    /// Study Date + Study Time in seconds, input and output.
    pub study_instant: (Option<i64>, Option<i64>),
    /// PET injection-to-acquisition interval in seconds, input and output.
    pub pet_interval: Option<(Option<i64>, Option<i64>)>,
    /// Where findings point.
    pub file: String,
}

/// The token vocabulary of the set: every planted identifier whole (a multi-word one, such as an
/// institution name, then never equals one token) and every patient's name components, IDs and
/// accession numbers (brief question 8, (a) to (d)).
pub(crate) fn vocabulary(key: &Key) -> Vocabulary {
    let mut v = Vocabulary::new();
    for p in key.registry.iter() {
        v.add_name(&p.value);
        v.add_id(&p.value);
    }
    for p in &key.patients {
        for part in p.name.split(['^', '=', ' ']).filter(|s| !s.is_empty()) {
            v.add_name(part);
        }
        v.add_id(&p.patient_id);
        for id in p.other_ids.iter().chain(&p.accession_numbers) {
            v.add_id(id);
        }
    }
    v
}

fn raw(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<u8>> {
    let e = obj.get(tag)?;
    let b = e.value().to_bytes().ok()?;
    let end = b
        .iter()
        .rposition(|c| *c != b' ' && *c != 0)
        .map_or(0, |p| p + 1);
    Some(b[..end].to_vec())
}

impl FileUtility {
    pub(crate) fn measure(pair: &Pair<'_>) -> Self {
        let vocabulary = pair.vocabulary;
        let input = &pair.input.dataset;
        let out = pair.output.map(|(_, f)| &f.dataset);
        let file_key = &pair.key.files[pair.index];
        let mut me = FileUtility {
            file: pair
                .output
                .map_or_else(|| pair.input_file().to_owned(), |(rel, _)| rel.to_owned()),
            ..FileUtility::default()
        };
        let has_pixels = input.get(tags::PIXEL_DATA).is_some();
        if has_pixels && !file_key.burned_in {
            let problem = match out {
                None => Some("no matching output".to_owned()),
                Some(o) => PIXEL_MODULE
                    .iter()
                    .chain([&tags::PIXEL_DATA])
                    .find(|t| raw(input, **t) != raw(o, **t))
                    .map(|t| {
                        format!(
                            "({:04X},{:04X}) differs from the input",
                            t.group(),
                            t.element()
                        )
                    }),
            };
            me.pixels.check(problem.is_none(), || {
                pair.finding("(7FE0,0010)", problem.unwrap_or_default())
            });
        }
        if has_pixels && file_key.burned_in {
            let fraction = out.map_or(0.0, |o| outside_band_unchanged(input, o));
            let credit = if fraction >= 0.999 { 1.0 } else { fraction };
            me.minimal.credit(credit, || {
                pair.finding(
                    "(7FE0,0010)",
                    format!(
                        "{:.2}% of the pixels outside the text band are unchanged",
                        fraction * 100.0
                    ),
                )
            });
        }
        for tag in GEOMETRY {
            let Some(original) = raw(input, tag) else {
                continue;
            };
            let kept = out.and_then(|o| raw(o, tag));
            me.geometry.check(kept.as_ref() == Some(&original), || {
                pair.finding(
                    format!("({:04X},{:04X})", tag.group(), tag.element()),
                    if kept.is_some() {
                        "changed; it must stay byte-identical"
                    } else {
                        "missing; it must stay byte-identical"
                    },
                )
            });
        }
        for decoy in pair.key.decoys.iter().filter(|d| d.file == file_key.path) {
            let kept = out.and_then(|o| decoy.path.find(o)).and_then(elem_text);
            me.geometry.check(
                kept.as_deref() == Some(decoy.value.trim_end_matches([' ', '\0'])),
                || {
                    pair.finding(
                        decoy.path.to_string(),
                        format!("{} must survive unchanged", decoy.why),
                    )
                },
            );
        }
        walk(input, &mut |path, elem| {
            let tag = elem.tag();
            if inside_removed(path) || dropped_with_ancestor(path, out) {
                return;
            }
            let found = out.and_then(|o| path.find(o));
            if let ElementKey::Private {
                group,
                creator,
                element,
            } = path.leaf()
            {
                if is_safe(creator, *group, *element) {
                    let same = found
                        .and_then(|f| f.value().to_bytes().ok().map(|b| b.into_owned()))
                        .zip(elem.value().to_bytes().ok())
                        .is_some_and(|(a, b)| {
                            super::privacy::trim_bytes(&a) == super::privacy::trim_bytes(&b)
                        });
                    me.safe.check(same, || {
                        pair.finding(path.to_string(), "safe private attribute lost or changed")
                    });
                }
                return;
            }
            if tag.group() % 2 == 1 || !is_text_vr(elem.vr()) {
                return;
            }
            let clean =
                allowed_actions(tag, AttributeType::Unknown).is_some_and(|a| a == [Action::Clean]);
            if !clean {
                return;
            }
            let Some(original) = elem_text(elem).filter(|s| !s.is_empty()) else {
                return;
            };
            let cleaned = found.and_then(elem_text);
            let measured = out.map(|_| tokens::score(&original, cleaned.as_deref(), vocabulary));
            let part = measured.map_or(0.0, |m| m.score());
            me.descriptors.credit(part, || {
                pair.finding(
                    path.to_string(),
                    match (&cleaned, measured) {
                        (None, _) => "descriptor deleted; clean it token by token".to_owned(),
                        (Some(c), Some(m)) if *c == original => format!(
                            "descriptor kept verbatim scores {part:.2}: its {} identifying {} must be removed",
                            m.remove_total,
                            if m.remove_total == 1 { "token" } else { "tokens" }
                        ),
                        // Counts, not the tokens: the value shown already holds them, and the
                        // counts say which half of the product was lost.
                        (Some(c), Some(m)) => format!(
                            "descriptor cleaned to `{c}` scores {part:.2}: {} of {} identifying tokens removed, {} of {} clinical tokens kept",
                            m.removed, m.remove_total, m.kept, m.keep_total
                        ),
                        (Some(c), None) => format!("descriptor cleaned to `{c}` scores {part:.2}"),
                    },
                )
            });
        });
        me.study_instant = (
            instant(input, tags::STUDY_DATE, tags::STUDY_TIME),
            out.and_then(|o| instant(o, tags::STUDY_DATE, tags::STUDY_TIME)),
        );
        if input.get(RADIOPHARMACEUTICAL_INFO).is_some() {
            me.pet_interval = Some((pet_interval(input), out.and_then(pet_interval)));
        }
        me
    }
}

/// Fraction of pixels outside the band whose bytes are unchanged.
fn outside_band_unchanged(input: &InMemDicomObject, output: &InMemDicomObject) -> f64 {
    let number = |tag: Tag| -> Option<usize> { text(input, tag)?.trim().parse().ok() };
    let (Some(rows), Some(columns), Some(bits)) = (
        number(tags::ROWS),
        number(tags::COLUMNS),
        number(tags::BITS_ALLOCATED),
    ) else {
        return 0.0;
    };
    let unit = number(tags::SAMPLES_PER_PIXEL).unwrap_or(1) * bits.div_ceil(8);
    let frames = number(tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    let bytes = |o: &InMemDicomObject| {
        o.get(tags::PIXEL_DATA)
            .and_then(|e| e.value().to_bytes().ok().map(|b| b.into_owned()))
    };
    let (Some(a), Some(b)) = (bytes(input), bytes(output)) else {
        return 0.0;
    };
    let band = usize::from(text_band(u16::try_from(rows).unwrap_or(u16::MAX)).end);
    let row_len = columns * unit;
    let frame_len = rows * row_len;
    let (mut same, mut total) = (0usize, 0usize);
    for f in 0..frames {
        let start = f * frame_len + band * row_len;
        let end = (f + 1) * frame_len;
        let Some(ra) = a.get(start..end) else {
            return 0.0;
        };
        let rb = b.get(start..end).unwrap_or(&[]);
        for (i, px) in ra.chunks(unit.max(1)).enumerate() {
            total += 1;
            if rb.get(i * unit..(i + 1) * unit) == Some(px) {
                same += 1;
            }
        }
    }
    if total == 0 {
        1.0
    } else {
        same as f64 / total as f64
    }
}

/// Seconds of a TM value `HH[MM[SS[.F…]]]` (PS3.5 Table 6.2-1), fractions dropped.
fn tm_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    let whole = text.split('.').next()?;
    if whole.is_empty()
        || whole.len() % 2 == 1
        || whole.len() > 6
        || !whole.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let field = |i: usize| -> i64 {
        whole
            .get(i..i + 2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    Some(field(0) * 3600 + field(2) * 60 + field(4))
}

/// Seconds since 1970 of a DA + TM pair.
fn instant(obj: &InMemDicomObject, date: Tag, time: Tag) -> Option<i64> {
    let d = dates::parse_da(&text(obj, date)?)?;
    Some(d.to_days() * 86_400 + tm_seconds(&text(obj, time)?)?)
}

/// Seconds since 1970 of a DT value (its offset suffix ignored: both sides carry the same one).
fn dt_instant(value: &str) -> Option<i64> {
    let d = dates::parse_dt_date(value)?;
    let rest: String = value[8..]
        .chars()
        .take_while(|c| *c != '+' && *c != '-')
        .collect();
    let secs = if rest.trim().is_empty() {
        0
    } else {
        tm_seconds(&rest)?
    };
    Some(d.to_days() * 86_400 + secs)
}

/// PET injection to acquisition, in seconds (PS3.3 §C.8.9.2 timing).
fn pet_interval(obj: &InMemDicomObject) -> Option<i64> {
    let item = match obj.get(RADIOPHARMACEUTICAL_INFO)?.value() {
        dicom_core::value::Value::Sequence(s) => s.items().first()?.clone(),
        _ => return None,
    };
    let injection = text(&item, RADIOPHARMACEUTICAL_START_DATETIME)
        .and_then(|v| dt_instant(&v))
        .or_else(|| {
            let d = dates::parse_da(&text(obj, tags::SERIES_DATE)?)?;
            Some(d.to_days() * 86_400 + tm_seconds(&text(&item, RADIOPHARMACEUTICAL_START_TIME)?)?)
        })?;
    let acquisition = text(obj, tags::ACQUISITION_DATE_TIME)
        .and_then(|v| dt_instant(&v))
        .or_else(|| instant(obj, tags::ACQUISITION_DATE, tags::ACQUISITION_TIME))
        .or_else(|| instant(obj, tags::SERIES_DATE, tags::SERIES_TIME))?;
    Some(acquisition - injection)
}

/// The study instants and PET intervals of one patient, folded.
#[derive(Debug, Default)]
struct PatientIntervals {
    /// By original Study Instance UID: the first input and first output Study Date + Time seen.
    studies: BTreeMap<String, (Option<i64>, Option<i64>)>,
    /// Injection-to-acquisition checks of the patient's PET files, in file order.
    pet: Tally,
}

/// Utility measurements of the files graded so far.
#[derive(Debug, Default)]
pub(crate) struct UtilityFold {
    pixels: Tally,
    minimal: Tally,
    geometry: Tally,
    safe: Tally,
    descriptors: Tally,
    /// Intervals by patient index.
    patients: BTreeMap<usize, PatientIntervals>,
}

impl UtilityFold {
    /// Folds in the next file, of patient `patient` and original study `study`.
    pub(crate) fn fold(&mut self, patient: usize, study: Option<String>, file: FileUtility) {
        self.pixels.absorb(&file.pixels);
        self.minimal.absorb(&file.minimal);
        self.geometry.absorb(&file.geometry);
        self.safe.absorb(&file.safe);
        self.descriptors.absorb(&file.descriptors);
        let entry = self
            .patients
            .entry(patient)
            .or_insert_with(|| PatientIntervals {
                pet: Tally::global(),
                ..PatientIntervals::default()
            });
        if let Some(study) = study {
            let (a, b) = file.study_instant;
            let instants = entry.studies.entry(study).or_insert((a, None));
            if instants.0.is_none() {
                instants.0 = a;
            }
            if instants.1.is_none() {
                instants.1 = b;
            }
        }
        if let Some((Some(a), b)) = file.pet_interval {
            entry.pet.check(b == Some(a), || {
                Finding::new(format!(
                    "radiopharmaceutical start to acquisition was {a} s and is now {}",
                    b.map_or_else(|| "unreadable".to_owned(), |b| format!("{b} s"))
                ))
                .in_file(file.file.clone())
                .at("(0054,0016)[0]>(0018,1078)")
            });
        }
    }
}

/// The utility criteria.
pub(crate) fn criteria(key: &Key, fold: &UtilityFold) -> Vec<CriterionGrade> {
    vec![
        fold.pixels
            .clone()
            .grade("pixels_untouched", "images byte-identical"),
        fold.minimal.clone().grade(
            "minimal_pixel_edit",
            "burned-in images edited only in the band",
        ),
        fold.geometry
            .clone()
            .grade("geometry_acquisition", "attributes unchanged"),
        fold.safe
            .clone()
            .grade("safe_private", "safe private attributes kept"),
        fold.descriptors
            .clone()
            .grade("descriptors", "descriptors cleaned"),
        intervals(key, fold),
    ]
}

fn intervals(key: &Key, fold: &UtilityFold) -> CriterionGrade {
    let mut tally = Tally::global();
    for (&patient, p) in &fold.patients {
        let mut ordered: Vec<(Option<i64>, Option<i64>)> = p
            .studies
            .values()
            .copied()
            .filter(|(a, _)| a.is_some())
            .collect();
        ordered.sort();
        for w in ordered.windows(2) {
            let before = w[1].0.zip(w[0].0).map(|(b, a)| b - a);
            let after = w[1].1.zip(w[0].1).map(|(b, a)| b - a);
            tally.check(before.is_some() && before == after, || {
                Finding::new(format!(
                    "patient {}: the interval between two studies was {} s and is now {}",
                    key.patients
                        .get(patient)
                        .map_or("?", |p| p.patient_id.as_str()),
                    before.unwrap_or_default(),
                    after.map_or_else(|| "unreadable".to_owned(), |a| format!("{a} s"))
                ))
            });
        }
        tally.absorb(&p.pet);
    }
    tally.grade("intervals", "intervals preserved")
}

#[cfg(test)]
mod tests {
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, PrimitiveValue, VR};

    use super::*;

    #[test]
    fn times_read_to_the_second() {
        assert_eq!(tm_seconds("101500.123"), Some(10 * 3600 + 15 * 60));
        assert_eq!(tm_seconds("10"), Some(36_000));
        assert_eq!(tm_seconds("1015005"), None);
        assert_eq!(
            dt_instant("19700102083000+0100"),
            Some(86_400 + 8 * 3600 + 30 * 60)
        );
    }

    #[test]
    fn the_pet_interval_runs_from_injection_to_acquisition() {
        let item = InMemDicomObject::from_element_iter([DataElement::new(
            RADIOPHARMACEUTICAL_START_DATETIME,
            VR::DT,
            PrimitiveValue::from("20200101093000"),
        )]);
        let obj = InMemDicomObject::from_element_iter([
            DataElement::new(
                RADIOPHARMACEUTICAL_INFO,
                VR::SQ,
                DataSetSequence::from(vec![item]),
            ),
            DataElement::new(
                tags::ACQUISITION_DATE,
                VR::DA,
                PrimitiveValue::from("20200101"),
            ),
            DataElement::new(
                tags::ACQUISITION_TIME,
                VR::TM,
                PrimitiveValue::from("103000"),
            ),
        ]);
        assert_eq!(pet_interval(&obj), Some(3600));
    }
}

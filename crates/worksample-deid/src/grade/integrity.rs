//! Referential integrity (rubric category `integrity`, research/deid.md §4.4 B1–B7): the UID
//! map the grader derives from content-matched pairs (never from `uids.csv`), class UIDs, file
//! meta, references, the series/study/patient/frame-of-reference partitions, pseudonyms, and the
//! candidate's two map files checked against what the grader derived.

use std::collections::{BTreeMap, BTreeSet};

use dicom_core::header::Header;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use worksample_task::rubric::{CriterionGrade, Finding, Score};

use super::inventory::Inventory;
use super::privacy::{allowed_actions, dropped_with_ancestor, inside_removed, parent_of};
use super::{FileReport, Pair, Tally, elem_text, text};
use crate::contract::{MAP_HEADER, PATIENT_MAP, UID_MAP, is_pseudonym};
use crate::key::Key;
use crate::paths::walk;
use crate::profile::{Action, AttributeType};
use crate::uidmap::{self, UidProblem};

/// Referenced SOP Class UID (0008,1150): never changes.
const REFERENCED_SOP_CLASS: Tag = Tag(0x0008, 0x1150);

/// Referenced SOP Instance UID (0008,1155).
const REFERENCED_SOP_INSTANCE: Tag = Tag(0x0008, 0x1155);

/// The identity of one file: SOP Instance, Series, Study, Frame of Reference UIDs, Patient ID.
pub(crate) type Ids = [Option<String>; 5];

/// The tags of [`Ids`].
const ID_TAGS: [Tag; 5] = [
    tags::SOP_INSTANCE_UID,
    tags::SERIES_INSTANCE_UID,
    tags::STUDY_INSTANCE_UID,
    tags::FRAME_OF_REFERENCE_UID,
    tags::PATIENT_ID,
];

/// What a nested reference points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefKind {
    /// An instance, by Referenced SOP Instance UID.
    Instance,
    /// A series, by Series Instance UID inside a reference item.
    Series,
    /// A study, by Study Instance UID inside a reference item (e.g. RT Referenced Study).
    Study,
}

/// One reference as found in the input, with what the output holds at its path.
#[derive(Debug, Clone)]
pub(crate) struct RefObs {
    pub kind: RefKind,
    pub original: String,
    pub found: Option<String>,
    /// The Referenced SOP Class UID beside an instance reference in the output.
    pub class_found: Option<String>,
    pub location: String,
}

/// Integrity measurements of one input file.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileIntegrity {
    /// Where findings point.
    pub file: String,
    /// (original, output) at every U attribute.
    pub uid_pairs: Vec<(String, Option<String>)>,
    /// Every UID value of the input.
    pub input_uids: Vec<String>,
    /// Class and syntax UIDs unchanged.
    pub class: Tally,
    /// File meta consistent with the data set.
    pub meta: Tally,
    /// Identity in the input.
    pub original: Ids,
    /// Identity in the output, when matched.
    pub new: Option<Ids>,
    /// Patient Name in the output.
    pub new_name: Option<String>,
    /// Nested references.
    pub refs: Vec<RefObs>,
}

impl FileIntegrity {
    pub(crate) fn measure(pair: &Pair<'_>) -> Self {
        let input = &pair.input.dataset;
        let out = pair.output.map(|(_, f)| f);
        let file_key = &pair.key.files[pair.index];
        let mut me = FileIntegrity {
            file: pair
                .output
                .map_or_else(|| pair.input_file().to_owned(), |(rel, _)| rel.to_owned()),
            original: ID_TAGS.map(|t| text(input, t)),
            new: out.map(|o| ID_TAGS.map(|t| text(&o.dataset, t))),
            new_name: out.and_then(|o| text(&o.dataset, tags::PATIENT_NAME)),
            ..FileIntegrity::default()
        };
        let mut class_ok = out.is_some();
        let mut class_problem = String::from("no matching output");
        walk(input, &mut |path, elem| {
            if elem.vr() != VR::UI {
                return;
            }
            let Some(original) = elem_text(elem) else {
                return;
            };
            me.input_uids.push(original.clone());
            let tag = elem.tag();
            if tag.group() % 2 == 1
                || inside_removed(path)
                || dropped_with_ancestor(path, out.map(|o| &o.dataset))
            {
                return;
            }
            let found = out.and_then(|o| path.find(&o.dataset)).and_then(elem_text);
            let found = found.filter(|f| !f.is_empty());
            if tag == tags::SOP_CLASS_UID || tag == REFERENCED_SOP_CLASS {
                if out.is_some() && found.as_ref().is_some_and(|f| *f != original) {
                    class_ok = false;
                    class_problem = format!("{path} changed from `{original}`");
                }
                return;
            }
            let replace = allowed_actions(tag, AttributeType::Unknown)
                .is_some_and(|a| a == [Action::ReplaceUid]);
            if !replace {
                return;
            }
            if path.depth() > 0 {
                let kind = match tag {
                    REFERENCED_SOP_INSTANCE => Some(RefKind::Instance),
                    tags::SERIES_INSTANCE_UID => Some(RefKind::Series),
                    tags::STUDY_INSTANCE_UID => Some(RefKind::Study),
                    _ => None,
                };
                if let Some(kind) = kind {
                    let class_found = out
                        .and_then(|o| parent_of(path, &o.dataset))
                        .and_then(|p| text(p, REFERENCED_SOP_CLASS));
                    me.refs.push(RefObs {
                        kind,
                        original: original.clone(),
                        found: found.clone(),
                        class_found,
                        location: path.to_string(),
                    });
                }
            }
            if out.is_some() {
                me.uid_pairs.push((original, found));
            }
        });
        if let Some(meta) = pair.input.meta.as_ref() {
            let original = meta
                .media_storage_sop_instance_uid
                .trim_end_matches([' ', '\0'])
                .to_owned();
            me.input_uids.push(original.clone());
            if let Some(o) = out {
                let new = o.meta.as_ref().map(|m| {
                    m.media_storage_sop_instance_uid
                        .trim_end_matches([' ', '\0'])
                        .to_owned()
                });
                me.uid_pairs.push((original, new.filter(|n| !n.is_empty())));
            }
        }
        if out.is_none() {
            // A lost file loses the UID only it carries; its series and study may live on.
            me.uid_pairs.push((file_key.sop_instance_uid.clone(), None));
        }
        if let Some(o) = out {
            let trim = |s: &str| s.trim_end_matches([' ', '\0']).to_owned();
            let in_meta = pair.input.meta.as_ref();
            let out_meta = o.meta.as_ref();
            match (in_meta, out_meta) {
                (Some(i), Some(m)) => {
                    if trim(&i.media_storage_sop_class_uid) != trim(&m.media_storage_sop_class_uid)
                    {
                        class_ok = false;
                        class_problem =
                            "(0002,0002) Media Storage SOP Class UID changed".to_owned();
                    }
                    if trim(&pair.input.transfer_syntax) != trim(&o.transfer_syntax) {
                        class_ok = false;
                        class_problem = format!(
                            "(0002,0010) Transfer Syntax UID is `{}`, the input's is `{}`",
                            trim(&o.transfer_syntax),
                            trim(&pair.input.transfer_syntax)
                        );
                    }
                }
                (Some(_), None) | (None, _) => {
                    if trim(&pair.input.transfer_syntax) != trim(&o.transfer_syntax) {
                        class_ok = false;
                        class_problem = "transfer syntax differs from the input's".to_owned();
                    }
                }
            }
            let sop = text(&o.dataset, tags::SOP_INSTANCE_UID);
            let class = text(&o.dataset, tags::SOP_CLASS_UID);
            let (ok, why) = match out_meta {
                None => (false, "the file has no file meta group".to_owned()),
                Some(m) => {
                    let ms_sop = trim(&m.media_storage_sop_instance_uid);
                    let ms_class = trim(&m.media_storage_sop_class_uid);
                    if Some(&ms_sop) != sop.as_ref() {
                        (
                            false,
                            format!(
                                "(0002,0003) is `{ms_sop}` but (0008,0018) is `{}`",
                                sop.unwrap_or_default()
                            ),
                        )
                    } else if Some(&ms_class) != class.as_ref() {
                        (
                            false,
                            format!("(0002,0002) is `{ms_class}`, not the SOP Class UID"),
                        )
                    } else {
                        (true, String::new())
                    }
                }
            };
            me.meta.check(ok, || pair.finding("(0002,0003)", why));
        } else {
            me.meta
                .check(false, || pair.finding("(0002,0003)", "no matching output"));
        }
        me.class
            .check(class_ok, || pair.finding("class UIDs", class_problem));
        me
    }
}

/// The integrity criteria.
pub(crate) fn criteria(
    key: &Key,
    inventory: &Inventory,
    reports: &[FileReport],
) -> Vec<CriterionGrade> {
    let pairs: Vec<(String, Option<String>)> = reports
        .iter()
        .flat_map(|r| r.integrity.uid_pairs.iter().cloned())
        .collect();
    let input_uids: BTreeSet<String> = reports
        .iter()
        .flat_map(|r| r.integrity.input_uids.iter().cloned())
        .collect();
    let audit = uidmap::audit(&pairs, &input_uids);
    let uid_map = audit.derived_map(&pairs);
    let mut uid_tally = Tally::global();
    for (original, problems) in &audit.by_original {
        for p in problems {
            let message = match p {
                UidProblem::Unchanged => "kept unchanged; it must be replaced".to_owned(),
                UidProblem::Removed => {
                    "removed or emptied somewhere (or its file is missing)".to_owned()
                }
                UidProblem::Split { news } => format!("became {} different new UIDs", news.len()),
                UidProblem::Merged { new, others } => {
                    format!(
                        "shares new UID `{new}` with {} other original(s)",
                        others.len()
                    )
                }
                UidProblem::Invalid { new } => {
                    format!("became `{new}`, not a valid UID (PS3.5 §9.1)")
                }
                UidProblem::ReusesInput { new } => {
                    format!("became `{new}`, another UID of the input")
                }
            };
            uid_tally.note(
                Finding::new(format!("UID `{original}` {message}")),
                super::PER_CRITERION_FINDINGS,
            );
        }
    }
    let bad = audit.by_original.values().filter(|p| !p.is_empty()).count();
    let uid_remap = CriterionGrade::new(
        "uid_remap",
        Score::new(audit.score()),
        format!(
            "{} of {} original UIDs replaced one-to-one by valid new UIDs",
            audit.by_original.len() - bad,
            audit.by_original.len()
        ),
    )
    .with_findings(uid_tally.into_findings());

    let class = super::sum_tallies(reports.iter().map(|r| &r.integrity.class))
        .grade("class_uids", "files with class and syntax UIDs unchanged");
    let meta = super::sum_tallies(reports.iter().map(|r| &r.integrity.meta))
        .grade("file_meta", "files with consistent file meta");
    vec![
        uid_remap,
        class,
        meta,
        references(key, reports),
        hierarchy(reports),
        pseudonyms(key, reports),
        maps(key, inventory, reports, &uid_map),
    ]
}

/// New identity by original, over matched files, for one [`Ids`] slot.
fn remap(reports: &[FileReport], slot: usize) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in reports {
        if let (Some(o), Some(new)) = (&r.integrity.original[slot], &r.integrity.new) {
            let entry = out.entry(o.clone()).or_default();
            if let Some(n) = &new[slot] {
                entry.insert(n.clone());
            }
        }
    }
    out
}

fn references(key: &Key, reports: &[FileReport]) -> CriterionGrade {
    let instances = remap(reports, 0);
    let series = remap(reports, 1);
    let studies = remap(reports, 2);
    let originals: [BTreeSet<&str>; 3] = [0, 1, 2].map(|slot| {
        reports
            .iter()
            .filter_map(|r| r.integrity.original[slot].as_deref())
            .collect()
    });
    let known = |slot: usize, uid: &str| originals[slot].contains(uid);
    let class_of: BTreeMap<&str, &str> = key
        .files
        .iter()
        .map(|f| (f.sop_instance_uid.as_str(), f.sop_class_uid.as_str()))
        .collect();
    let mut tally = Tally::global();
    for r in reports {
        for obs in &r.integrity.refs {
            let preferred = match obs.kind {
                RefKind::Instance => 0,
                RefKind::Series => 1,
                RefKind::Study => 2,
            };
            // A reference names its target's UID whatever attribute carries it: an RT Referenced
            // Study Sequence puts a Study Instance UID in Referenced SOP Instance UID (PS3.3
            // §C.8.8.5), so look in every map, the attribute's own first.
            let Some(slot) = [preferred, 0, 1, 2]
                .into_iter()
                .find(|s| known(*s, &obs.original))
            else {
                continue;
            };
            let (map, what) = match slot {
                0 => (&instances, "instance"),
                1 => (&series, "series"),
                _ => (&studies, "study"),
            };
            let targets = map.get(&obs.original);
            let expected = targets
                .filter(|t| t.len() == 1)
                .and_then(|t| t.iter().next());
            let finding = |m: String| {
                Finding::new(m)
                    .in_file(r.integrity.file.clone())
                    .at(obs.location.clone())
            };
            let (ok, why) = match (expected, &obs.found) {
                (_, None) if r.integrity.new.is_none() => (false, "no matching output".to_owned()),
                (None, _) => (
                    false,
                    format!(
                        "the referenced {what} has no single new UID in the output (missing or split)"
                    ),
                ),
                (Some(_), None) => (
                    false,
                    format!("the {what} reference was removed or emptied"),
                ),
                (Some(e), Some(f)) if f == e && *e != obs.original => {
                    let class_ok = match &obs.class_found {
                        Some(c) if slot == 0 => {
                            class_of.get(obs.original.as_str()).is_none_or(|k| k == c)
                        }
                        Some(_) | None => true,
                    };
                    (
                        class_ok,
                        format!(
                            "the referenced {what} resolves but Referenced SOP Class UID differs from the target's"
                        ),
                    )
                }
                (Some(e), Some(f)) if f == &obs.original => (
                    false,
                    format!(
                        "the {what} reference still holds the original UID; the target is now `{e}`"
                    ),
                ),
                (Some(e), Some(f)) => (
                    false,
                    format!("the {what} reference is `{f}`, but the target's new UID is `{e}`"),
                ),
            };
            tally.check(ok, || finding(why));
        }
    }
    tally.grade("references", "references resolved to their new targets")
}

fn hierarchy(reports: &[FileReport]) -> CriterionGrade {
    let all_matched = reports.iter().all(|r| r.integrity.new.is_some());
    let names = ["series", "study", "frame of reference", "patient"];
    let slots = [1usize, 2, 3, 4];
    let mut tally = Tally::global();
    for (name, slot) in names.iter().zip(slots) {
        let forward = remap(reports, slot);
        let mut backward: BTreeMap<&String, usize> = BTreeMap::new();
        for news in forward.values() {
            for n in news {
                *backward.entry(n).or_default() += 1;
            }
        }
        let splits = forward.values().filter(|n| n.len() != 1).count();
        let merges = backward.values().filter(|c| **c > 1).count();
        let ok = all_matched && splits == 0 && merges == 0;
        tally.check(ok, || {
            Finding::new(if all_matched {
                format!("{name} partition differs from the input's: {splits} {name} groups split or emptied, {merges} merged")
            } else {
                format!("{name} partition cannot be identical: some inputs have no output")
            })
        });
    }
    tally.grade("hierarchy", "partitions identical to the input's")
}

fn pseudonyms(key: &Key, reports: &[FileReport]) -> CriterionGrade {
    let mut tally = Tally::global();
    let mut pseudonym_of: BTreeMap<usize, Option<String>> = BTreeMap::new();
    for (patient, files) in super::by_patient(key, reports) {
        let label = key.patients.get(patient).map_or_else(
            || format!("patient {patient}"),
            |p| format!("patient `{}`", p.patient_id),
        );
        let news: BTreeSet<Option<&String>> = files
            .iter()
            .map(|&i| {
                reports[i]
                    .integrity
                    .new
                    .as_ref()
                    .and_then(|n| n[4].as_ref())
            })
            .collect();
        let original = key.patients.get(patient).map(|p| p.patient_id.as_str());
        let single = match news.iter().collect::<Vec<_>>().as_slice() {
            [Some(one)] if Some(one.as_str()) != original => Some((*one).clone()),
            _ => None,
        };
        tally.check(single.is_some(), || {
            Finding::new(format!(
                "{label}: not one new Patient ID across all their files ({} distinct values; a missing file or the original ID counts as none)",
                news.len()
            ))
        });
        pseudonym_of.insert(patient, single);
    }
    for (patient, p) in &pseudonym_of {
        let clash = p.as_ref().is_some_and(|p| {
            pseudonym_of
                .iter()
                .any(|(other, q)| other != patient && q.as_ref() == Some(p))
        });
        tally.check(p.is_some() && !clash, || {
            Finding::new(format!(
                "patient {patient}: pseudonym missing or shared with another patient"
            ))
        });
    }
    for r in reports {
        let i = &r.integrity;
        let file_key = &key.files[r.index];
        let original_id = key
            .patients
            .get(file_key.patient)
            .map(|p| p.patient_id.as_str());
        let (ok, why) = match (&i.new, &i.new_name) {
            (None, _) => (false, "no matching output".to_owned()),
            (Some(new), name) => {
                let id = new[4].clone().unwrap_or_default();
                let folded = id.to_lowercase();
                let leaks = key
                    .registry
                    .iter()
                    .any(|p| folded.contains(&p.value.to_lowercase()))
                    || original_id.is_some_and(|o| o == id);
                if !is_pseudonym(&id) {
                    (
                        false,
                        format!("Patient ID `{id}` is not a pseudonym (1–16 of A–Z, 0–9, -)"),
                    )
                } else if leaks {
                    (
                        false,
                        format!("Patient ID `{id}` contains an input identifier"),
                    )
                } else if name.as_deref() != Some(id.as_str()) {
                    (
                        false,
                        format!(
                            "Patient's Name `{}` differs from Patient ID `{id}`",
                            name.clone().unwrap_or_default()
                        ),
                    )
                } else {
                    (true, String::new())
                }
            }
        };
        tally.check(ok, || {
            Finding::new(why).in_file(i.file.clone()).at("(0010,0020)")
        });
    }
    tally.grade("pseudonyms", "pseudonym checks passed")
}

/// Rows of a two-column map file after its header; `Err` with why when unusable.
fn parse_map(bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    let header = lines
        .next()
        .map(|h| h.trim_start_matches('\u{feff}').trim())
        .unwrap_or_default();
    if header != MAP_HEADER {
        return Err(format!("header is `{header}`, expected `{MAP_HEADER}`"));
    }
    Ok(lines
        .filter_map(|l| {
            let (old, new) = l.trim().split_once(',')?;
            Some((
                old.trim().trim_matches('"').to_owned(),
                new.trim().trim_matches('"').to_owned(),
            ))
        })
        .collect())
}

fn maps(
    key: &Key,
    inventory: &Inventory,
    reports: &[FileReport],
    uid_map: &BTreeMap<String, String>,
) -> CriterionGrade {
    let mut tally = Tally::global();
    let mut expected_patients: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (patient, files) in super::by_patient(key, reports) {
        let Some(p) = key.patients.get(patient) else {
            continue;
        };
        let news: BTreeSet<Option<&String>> = files
            .iter()
            .map(|&i| {
                reports[i]
                    .integrity
                    .new
                    .as_ref()
                    .and_then(|n| n[4].as_ref())
            })
            .collect();
        let single = match news.iter().collect::<Vec<_>>().as_slice() {
            [Some(one)] => Some((*one).clone()),
            _ => None,
        };
        expected_patients.insert(p.patient_id.clone(), single);
    }
    let all_uids: BTreeSet<String> = reports
        .iter()
        .flat_map(|r| r.integrity.uid_pairs.iter().map(|(o, _)| o.clone()))
        .collect();
    let expected_uids: BTreeMap<String, Option<String>> = all_uids
        .into_iter()
        .map(|o| {
            let new = uid_map.get(&o).filter(|n| **n != o).cloned();
            (o, new)
        })
        .collect();
    for (name, expected) in [(PATIENT_MAP, &expected_patients), (UID_MAP, &expected_uids)] {
        let rows = match inventory.maps.get(name) {
            Some(Ok(bytes)) => parse_map(bytes).map_err(|why| Finding::new(why).in_file(name)),
            Some(Err(f)) => Err(f.clone()),
            None => Err(Finding::new("is missing").in_file(name)),
        };
        match rows {
            Ok(rows) => {
                for (old, new) in expected {
                    let agrees = new.is_some() && rows.get(old) == new.as_ref();
                    tally.check(agrees, || {
                        let what = match (rows.get(old), new) {
                            (None, _) => "has no row".to_owned(),
                            (Some(_), None) => {
                                "has a row, but the output gives no single replacement".to_owned()
                            }
                            (Some(got), Some(want)) => {
                                format!("says `{got}`, the output says `{want}`")
                            }
                        };
                        Finding::new(format!("`{old}`: the map {what}")).in_file(name)
                    });
                }
            }
            Err(finding) => {
                tally.total += expected.len();
                tally.note(finding, super::PER_CRITERION_FINDINGS);
            }
        }
    }
    tally.grade("maps", "map rows agreeing with the output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_files_need_the_header_and_tolerate_crlf_and_quotes() {
        let rows =
            parse_map(b"\xef\xbb\xbfid_old,id_new\r\nA1,\"DEID-1\"\r\nbroken\n").expect("parses");
        assert_eq!(rows.get("A1").map(String::as_str), Some("DEID-1"));
        assert_eq!(rows.len(), 1);
        assert!(parse_map(b"old,new\nA1,B1\n").is_err());
    }
}

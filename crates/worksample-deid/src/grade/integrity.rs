//! Referential integrity (rubric category `integrity`, research/deid.md §4.4 B1–B7): the UID
//! map the grader derives from content-matched pairs (never from `uids.csv`), class UIDs, file
//! meta, references, the series/study/patient/frame-of-reference partitions, pseudonyms, and the
//! candidate's two map files checked against what the grader derived.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use dicom_core::header::Header;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use worksample_task::rubric::{CriterionGrade, Finding, Score};

use super::inventory::Inventory;
use super::matching::Matched;
use super::privacy::{allowed_actions, dropped_with_ancestor, inside_removed, parent_of};
use super::{Pair, Tally, elem_text, text};
use crate::contract::{MAP_HEADER, PATIENT_MAP, UID_MAP, is_pseudonym};
use crate::key::Key;
use crate::paths::walk;
use crate::profile::{Action, AttributeType};
use worksample_dicom::uid::is_valid;

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

/// Strings the cross-file checks compare (UIDs, Patient IDs and Names, attribute paths), each
/// stored once and named by a 4-byte id, so a file's identity costs a few ids.
#[derive(Debug, Default)]
struct Interner {
    ids: HashMap<Arc<str>, u32>,
    values: Vec<Arc<str>>,
}

impl Interner {
    /// The id of `value`, added when new.
    fn id(&mut self, value: &str) -> u32 {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = u32::try_from(self.values.len())
            .expect("distinct strings are bounded by the UIDs of the trusted fixtures");
        let value: Arc<str> = Arc::from(value);
        self.values.push(Arc::clone(&value));
        self.ids.insert(value, id);
        id
    }

    /// The string of an id this interner gave out.
    fn get(&self, id: u32) -> &str {
        &self.values[id as usize]
    }
}

/// What became of one original UID across every file: the new UIDs found in its place (ids,
/// sorted, distinct) and whether it was removed or emptied somewhere.
#[derive(Debug, Default)]
struct UidSeen {
    news: Vec<u32>,
    removed: bool,
}

/// [`Ids`] as interned ids.
type IdIds = [Option<u32>; 5];

/// The identity of one input file and of its output, as ids.
#[derive(Debug)]
struct FileIds {
    original: IdIds,
    new: Option<IdIds>,
    new_name: Option<u32>,
}

/// One reference as [`RefObs`], with ids.
#[derive(Debug)]
struct RefSeen {
    /// Index of the input in [`Key::files`].
    file: u32,
    kind: RefKind,
    original: u32,
    found: Option<u32>,
    class_found: Option<u32>,
    location: u32,
}

/// Integrity measurements of the files graded so far: per-file identities and references as
/// ids, the UID remap as one small record per original UID, and the class and meta tallies.
#[derive(Debug, Default)]
pub(crate) struct IntegrityFold {
    strings: Interner,
    /// Whether each interned string is a UID of the input, by id.
    input_uid: Vec<bool>,
    /// By original UID id.
    uids: BTreeMap<u32, UidSeen>,
    class: Tally,
    meta: Tally,
    /// By key index.
    files: Vec<FileIds>,
    refs: Vec<RefSeen>,
}

impl IntegrityFold {
    /// Folds in the next file, the input of key index `index`.
    pub(crate) fn fold(&mut self, index: usize, file: FileIntegrity) {
        for uid in &file.input_uids {
            let id = self.strings.id(uid) as usize;
            if self.input_uid.len() <= id {
                self.input_uid.resize(id + 1, false);
            }
            self.input_uid[id] = true;
        }
        for (original, new) in &file.uid_pairs {
            let o = self.strings.id(original);
            let n = new.as_deref().map(|n| self.strings.id(n));
            let seen = self.uids.entry(o).or_default();
            match n {
                Some(n) => {
                    if let Err(at) = seen.news.binary_search(&n) {
                        seen.news.insert(at, n);
                    }
                }
                None => seen.removed = true,
            }
        }
        self.class.absorb(&file.class);
        self.meta.absorb(&file.meta);
        let strings = &mut self.strings;
        let mut ids =
            |v: &Ids| -> IdIds { v.each_ref().map(|s| s.as_deref().map(|s| strings.id(s))) };
        let original = ids(&file.original);
        let new = file.new.as_ref().map(&mut ids);
        let new_name = file.new_name.as_deref().map(|n| self.strings.id(n));
        debug_assert_eq!(self.files.len(), index, "files are folded in key order");
        self.files.push(FileIds {
            original,
            new,
            new_name,
        });
        let file_index = u32::try_from(index).expect("a key lists fewer than 2^32 files");
        for r in &file.refs {
            let seen = RefSeen {
                file: file_index,
                kind: r.kind,
                original: self.strings.id(&r.original),
                found: r.found.as_deref().map(|f| self.strings.id(f)),
                class_found: r.class_found.as_deref().map(|c| self.strings.id(c)),
                location: self.strings.id(&r.location),
            };
            self.refs.push(seen);
        }
    }

    fn text(&self, id: u32) -> &str {
        self.strings.get(id)
    }

    fn is_input_uid(&self, id: u32) -> bool {
        self.input_uid.get(id as usize).copied().unwrap_or(false)
    }

    /// The original UIDs in string order (the order findings list them in).
    fn originals_sorted(&self) -> Vec<u32> {
        let mut originals: Vec<u32> = self.uids.keys().copied().collect();
        originals.sort_by(|a, b| self.text(*a).cmp(self.text(*b)));
        originals
    }

    /// The new UID an original was replaced by, when unambiguous and actually new.
    fn replacement(&self, original: u32) -> Option<u32> {
        match self.uids.get(&original).map(|s| s.news.as_slice()) {
            Some([one]) if *one != original => Some(*one),
            Some(_) | None => None,
        }
    }
}

/// What is wrong with the remap of one original UID (as [`UidProblem`], with ids and counts).
enum Problem {
    Unchanged,
    Removed,
    Split(usize),
    Merged(u32, usize),
    Invalid(u32),
    ReusesInput(u32),
    Derived(u32),
}

/// The problems of one original UID, in the order [`uidmap::audit`] lists them; `sharing`
/// counts, for each new UID, the originals replaced by it.
fn problems(
    fold: &IntegrityFold,
    original: u32,
    seen: &UidSeen,
    sharing: &HashMap<u32, usize>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    if seen.news.contains(&original) {
        out.push(Problem::Unchanged);
    }
    if seen.removed {
        out.push(Problem::Removed);
    }
    if seen.news.len() > 1 {
        out.push(Problem::Split(seen.news.len()));
    }
    let mut news: Vec<u32> = seen
        .news
        .iter()
        .copied()
        .filter(|n| *n != original)
        .collect();
    news.sort_by(|a, b| fold.text(*a).cmp(fold.text(*b)));
    for new in news {
        if !is_valid(fold.text(new)) {
            out.push(Problem::Invalid(new));
        }
        if fold.is_input_uid(new) {
            out.push(Problem::ReusesInput(new));
        }
        if crate::uidmap::holds(fold.text(new), fold.text(original)) {
            out.push(Problem::Derived(new));
        }
        let others = sharing.get(&new).copied().unwrap_or(0).saturating_sub(1);
        if others > 0 {
            out.push(Problem::Merged(new, others));
        }
    }
    out
}

/// The integrity criteria.
pub(crate) fn criteria(
    key: &Key,
    inventory: &Inventory,
    matched: &Matched,
    fold: &IntegrityFold,
) -> Vec<CriterionGrade> {
    let mut sharing: HashMap<u32, usize> = HashMap::new();
    for (original, seen) in &fold.uids {
        for new in seen.news.iter().filter(|n| *n != original) {
            *sharing.entry(*new).or_default() += 1;
        }
    }
    let originals = fold.originals_sorted();
    let mut uid_tally = Tally::global();
    let mut bad = 0usize;
    for &original in &originals {
        let found = problems(fold, original, &fold.uids[&original], &sharing);
        bad += usize::from(!found.is_empty());
        for p in found {
            if uid_tally.findings.len() >= super::PER_CRITERION_FINDINGS {
                uid_tally.omitted += 1;
                continue;
            }
            let message = match p {
                Problem::Unchanged => "kept unchanged; it must be replaced".to_owned(),
                Problem::Removed => {
                    "removed or emptied somewhere (or its file is missing)".to_owned()
                }
                Problem::Split(n) => format!("became {n} different new UIDs"),
                Problem::Merged(new, others) => {
                    format!(
                        "shares new UID `{}` with {others} other original(s)",
                        fold.text(new)
                    )
                }
                Problem::Invalid(new) => {
                    format!("became `{}`, not a valid UID (PS3.5 §9.1)", fold.text(new))
                }
                Problem::ReusesInput(new) => {
                    format!("became `{}`, another UID of the input", fold.text(new))
                }
                Problem::Derived(new) => format!(
                    "became `{}`, which still holds the original: it is readable from the output",
                    fold.text(new)
                ),
            };
            uid_tally.note(
                Finding::new(format!("UID `{}` {message}", fold.text(original))),
                super::PER_CRITERION_FINDINGS,
            );
        }
    }
    let total = originals.len();
    let score = if total == 0 {
        1.0
    } else {
        (total - bad) as f64 / total as f64
    };
    let uid_remap = uid_tally.onto(CriterionGrade::new(
        "uid_remap",
        Score::new(score),
        format!(
            "{} of {} original UIDs replaced one-to-one by valid new UIDs",
            total - bad,
            total
        ),
    ));

    let class = fold
        .class
        .clone()
        .grade("class_uids", "files with class and syntax UIDs unchanged");
    let meta = fold
        .meta
        .clone()
        .grade("file_meta", "files with consistent file meta");
    let shown = |i: usize| -> &str {
        match (&fold.files[i].new, matched.output_of[i]) {
            (Some(_), Some(o)) => inventory.outputs[o].rel.as_str(),
            (Some(_), None) | (None, _) => key.files[i].path.as_str(),
        }
    };
    vec![
        uid_remap,
        class,
        meta,
        references(key, fold, &shown),
        hierarchy(fold),
        pseudonyms(key, fold, &shown),
        maps(key, inventory, fold, &originals),
    ]
}

/// Files by the patient they belong to (key index order within each).
fn by_patient(key: &Key, fold: &IntegrityFold) -> BTreeMap<usize, Vec<usize>> {
    let mut out: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..fold.files.len() {
        out.entry(key.files[i].patient).or_default().push(i);
    }
    out
}

/// New identity by original, over matched files, for one [`Ids`] slot.
fn remap(fold: &IntegrityFold, slot: usize) -> BTreeMap<u32, BTreeSet<u32>> {
    let mut out: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for f in &fold.files {
        if let (Some(o), Some(new)) = (f.original[slot], &f.new) {
            let entry = out.entry(o).or_default();
            if let Some(n) = new[slot] {
                entry.insert(n);
            }
        }
    }
    out
}

fn references<'a>(
    key: &Key,
    fold: &IntegrityFold,
    shown: &dyn Fn(usize) -> &'a str,
) -> CriterionGrade {
    let instances = remap(fold, 0);
    let series = remap(fold, 1);
    let studies = remap(fold, 2);
    let originals: [BTreeSet<u32>; 3] =
        [0, 1, 2].map(|slot| fold.files.iter().filter_map(|f| f.original[slot]).collect());
    let known = |slot: usize, uid: u32| originals[slot].contains(&uid);
    let class_of: HashMap<&str, &str> = key
        .files
        .iter()
        .map(|f| (f.sop_instance_uid.as_str(), f.sop_class_uid.as_str()))
        .collect();
    let mut tally = Tally::global();
    for obs in &fold.refs {
        let file = obs.file as usize;
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
            .find(|s| known(*s, obs.original))
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
            .and_then(|t| t.iter().next().copied());
        let original = fold.text(obs.original);
        let (ok, why) = match (expected, obs.found) {
            (_, None) if fold.files[file].new.is_none() => (false, "no matching output".to_owned()),
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
            (Some(e), Some(f)) if f == e && e != obs.original => {
                let class_ok = match obs.class_found {
                    Some(c) if slot == 0 => {
                        class_of.get(original).is_none_or(|k| *k == fold.text(c))
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
            (Some(e), Some(f)) if f == obs.original && e == obs.original => (
                false,
                format!("the {what} reference and its target both still hold the original UID"),
            ),
            (Some(e), Some(f)) if f == obs.original => (
                false,
                format!(
                    "the {what} reference still holds the original UID; the target is now `{}`",
                    fold.text(e)
                ),
            ),
            (Some(e), Some(f)) => (
                false,
                format!(
                    "the {what} reference is `{}`, but the target's new UID is `{}`",
                    fold.text(f),
                    fold.text(e)
                ),
            ),
        };
        tally.check(ok, || {
            Finding::new(why)
                .in_file(shown(file))
                .at(fold.text(obs.location))
        });
    }
    tally.grade("references", "references resolved to their new targets")
}

/// The four partitions, each compared over the instances that have an output. The score also
/// counts a lost instance against every partition (the output's partition cannot equal the
/// input's); the measure the rubric's `structure_kept` gate compares ([`grouping_kept`]) looks
/// only at the instances that were written, so a lost file costs coverage elsewhere but does
/// not close the gate on structure.
fn hierarchy(fold: &IntegrityFold) -> CriterionGrade {
    let all_matched = fold.files.iter().all(|f| f.new.is_some());
    let names = ["series", "study", "frame of reference", "patient"];
    let slots = [1usize, 2, 3, 4];
    let mut tally = Tally::global();
    let mut intact = 0usize;
    for (name, slot) in names.iter().zip(slots) {
        let forward = remap(fold, slot);
        let mut backward: BTreeMap<u32, usize> = BTreeMap::new();
        for news in forward.values() {
            for n in news {
                *backward.entry(*n).or_default() += 1;
            }
        }
        let splits = forward.values().filter(|n| n.len() != 1).count();
        let merges = backward.values().filter(|c| **c > 1).count();
        let kept = splits == 0 && merges == 0;
        // The gate is about grouping, and an attribute left out is a value too: groups whose
        // UID or ID was removed in every file fall together (merged), and a group with it in
        // some files and not in others falls apart (split), as they would in a viewer.
        if grouping_kept(fold, slot) {
            intact += 1;
        }
        tally.check(all_matched && kept, || {
            Finding::new(if kept {
                format!("{name} partition cannot be identical: some inputs have no output")
            } else {
                format!("{name} partition differs from the input's: {splits} {name} groups split or emptied, {merges} merged")
            })
        });
    }
    tally
        .grade("hierarchy", "partitions identical to the input's")
        .gated_on(Score::new(intact as f64 / names.len() as f64))
}

/// Whether the written files of each original group (by `slot`) share one value there, and no
/// two groups share a value, counting an absent value as one value like any other.
fn grouping_kept(fold: &IntegrityFold, slot: usize) -> bool {
    let mut forward: BTreeMap<u32, BTreeSet<Option<u32>>> = BTreeMap::new();
    for f in &fold.files {
        if let (Some(o), Some(new)) = (f.original[slot], &f.new) {
            forward.entry(o).or_default().insert(new[slot]);
        }
    }
    let mut backward: BTreeMap<Option<u32>, usize> = BTreeMap::new();
    for news in forward.values() {
        for n in news {
            *backward.entry(*n).or_default() += 1;
        }
    }
    forward.values().all(|n| n.len() == 1) && backward.values().all(|c| *c == 1)
}

/// The distinct new Patient IDs of a patient's files (`None` for a file without one).
fn new_patient_ids<'a>(fold: &'a IntegrityFold, files: &[usize]) -> BTreeSet<Option<&'a str>> {
    files
        .iter()
        .map(|&i| {
            fold.files[i]
                .new
                .as_ref()
                .and_then(|n| n[4])
                .map(|id| fold.text(id))
        })
        .collect()
}

fn pseudonyms<'a>(
    key: &Key,
    fold: &IntegrityFold,
    shown: &dyn Fn(usize) -> &'a str,
) -> CriterionGrade {
    let mut tally = Tally::global();
    let mut pseudonym_of: BTreeMap<usize, Option<String>> = BTreeMap::new();
    let label_of = |patient: usize| {
        key.patients.get(patient).map_or_else(
            || format!("patient {patient}"),
            |p| format!("patient `{}`", p.patient_id),
        )
    };
    for (patient, files) in by_patient(key, fold) {
        let label = label_of(patient);
        let news = new_patient_ids(fold, &files);
        let original = key.patients.get(patient).map(|p| p.patient_id.as_str());
        let values = news.iter().collect::<Vec<_>>();
        let single = match values.as_slice() {
            [Some(one)] if Some(*one) != original => Some((*one).to_owned()),
            _ => None,
        };
        tally.check(single.is_some(), || {
            Finding::new(match values.as_slice() {
                [Some(one)] if Some(*one) == original => {
                    format!("{label}: every file still carries the original Patient ID")
                }
                _ => format!(
                    "{label}: not one new Patient ID across all their files ({} distinct values; a missing file or the original ID counts as none)",
                    news.len()
                ),
            })
        });
        pseudonym_of.insert(patient, single);
    }
    for (patient, p) in &pseudonym_of {
        let shared_with = p.as_ref().and_then(|p| {
            pseudonym_of
                .iter()
                .find(|(other, q)| *other != patient && q.as_ref() == Some(p))
                .map(|(other, _)| *other)
        });
        tally.check(p.is_some() && shared_with.is_none(), || {
            Finding::new(match (p, shared_with) {
                (Some(p), Some(other)) => format!(
                    "{}: pseudonym `{p}` is {}'s too; each patient needs their own",
                    label_of(*patient),
                    label_of(other)
                ),
                _ => format!(
                    "{}: no single pseudonym, so none to keep apart from the others (see above)",
                    label_of(*patient)
                ),
            })
        });
    }
    // Folded once: the per-file check below compares every planted identifier.
    let planted: Vec<String> = key
        .registry
        .iter()
        .map(|p| p.value.to_lowercase())
        .collect();
    for (index, f) in fold.files.iter().enumerate() {
        let file_key = &key.files[index];
        let original_id = key
            .patients
            .get(file_key.patient)
            .map(|p| p.patient_id.as_str());
        let (ok, why) = match &f.new {
            None => (false, "no matching output".to_owned()),
            Some(new) => {
                let id = new[4].map(|i| fold.text(i)).unwrap_or_default();
                let name = f.new_name.map(|n| fold.text(n));
                let folded = id.to_lowercase();
                let leaks = planted.iter().any(|p| folded.contains(p.as_str()))
                    || original_id.is_some_and(|o| o == id);
                if !is_pseudonym(id) {
                    (
                        false,
                        format!("Patient ID `{id}` is not a pseudonym (1–16 of A–Z, 0–9, -)"),
                    )
                } else if leaks {
                    (
                        false,
                        format!("Patient ID `{id}` contains an input identifier"),
                    )
                } else if name != Some(id) {
                    (
                        false,
                        format!(
                            "Patient's Name `{}` differs from Patient ID `{id}`",
                            name.unwrap_or_default()
                        ),
                    )
                } else {
                    (true, String::new())
                }
            }
        };
        tally.check(ok, || {
            Finding::new(why).in_file(shown(index)).at("(0010,0020)")
        });
    }
    tally.grade("pseudonyms", "pseudonym checks passed")
}

/// Rows of a two-column map file after its header; `Err` with why when unusable.
/// Reads a map's rows, keeping only those whose original value is in `wanted`: a map may hold
/// anything up to the file cap (millions of rows), and only the rows the grader asks about may
/// cost memory. A repeated original keeps its last row.
fn parse_map(bytes: &[u8], wanted: &BTreeSet<&str>) -> Result<BTreeMap<String, String>, String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    let header = lines
        .next()
        .map(|h| h.trim_start_matches('\u{feff}').trim())
        .unwrap_or_default();
    if header != MAP_HEADER {
        return Err(format!(
            "header is `{}`, expected `{MAP_HEADER}`",
            clip(header)
        ));
    }
    Ok(lines
        .filter_map(|l| {
            let (old, new) = l.trim().split_once(',')?;
            let old = old.trim().trim_matches('"');
            wanted
                .contains(old)
                .then(|| (old.to_owned(), new.trim().trim_matches('"').to_owned()))
        })
        .collect())
}

/// A candidate's value as quoted in a finding: at most 64 characters, so one huge cell cannot
/// swell the report.
fn clip(value: &str) -> String {
    worksample_task::submission::quoted(value, 64)
}

fn maps(
    key: &Key,
    inventory: &Inventory,
    fold: &IntegrityFold,
    originals: &[u32],
) -> CriterionGrade {
    let mut tally = Tally::global();
    let mut expected_patients: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (patient, files) in by_patient(key, fold) {
        let Some(p) = key.patients.get(patient) else {
            continue;
        };
        let news = new_patient_ids(fold, &files);
        let single = match news.iter().collect::<Vec<_>>().as_slice() {
            [Some(one)] => Some((*one).to_owned()),
            _ => None,
        };
        expected_patients.insert(p.patient_id.clone(), single);
    }
    let expected_uids = originals
        .iter()
        .map(|&o| (fold.text(o), fold.replacement(o).map(|n| fold.text(n))));
    check_map(
        &mut tally,
        inventory,
        PATIENT_MAP,
        expected_patients
            .iter()
            .map(|(o, n)| (o.as_str(), n.as_deref())),
        expected_patients.len(),
    );
    check_map(
        &mut tally,
        inventory,
        UID_MAP,
        expected_uids,
        originals.len(),
    );
    tally.grade("maps", "map rows agreeing with the output")
}

/// Checks the candidate's map file `name` against the `expected` rows (`count` of them), in
/// order: each original with the single replacement the output shows, if any.
fn check_map<'a>(
    tally: &mut Tally,
    inventory: &Inventory,
    name: &str,
    expected: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    count: usize,
) {
    let expected: Vec<(&str, Option<&str>)> = expected.collect();
    let wanted: BTreeSet<&str> = expected.iter().map(|(old, _)| *old).collect();
    let rows = match inventory.maps.get(name) {
        Some(Ok(bytes)) => parse_map(bytes, &wanted).map_err(|why| Finding::new(why).in_file(name)),
        Some(Err(f)) => Err(f.clone()),
        None => Err(Finding::new("is missing").in_file(name)),
    };
    match rows {
        Ok(rows) => {
            for (old, new) in expected {
                let got = rows.get(old).map(String::as_str);
                let agrees = new.is_some() && got == new;
                tally.check(agrees, || {
                    let what = match (got, new) {
                        (None, _) => "has no row".to_owned(),
                        (Some(_), None) => {
                            "has a row, but the output gives no single replacement".to_owned()
                        }
                        (Some(got), Some(want)) => {
                            format!("says `{}`, the output says `{want}`", clip(got))
                        }
                    };
                    Finding::new(format!("`{old}`: the map {what}")).in_file(name)
                });
            }
        }
        Err(finding) => {
            tally.total += count;
            tally.note(finding, super::PER_CRITERION_FINDINGS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_files_need_the_header_and_tolerate_crlf_and_quotes() {
        let wanted = BTreeSet::from(["A1"]);
        let rows = parse_map(
            b"\xef\xbb\xbfid_old,id_new\r\nA1,\"DEID-1\"\r\nbroken\n",
            &wanted,
        )
        .expect("parses");
        assert_eq!(rows.get("A1").map(String::as_str), Some("DEID-1"));
        assert_eq!(rows.len(), 1);
        assert!(parse_map(b"old,new\nA1,B1\n", &wanted).is_err());
    }

    #[test]
    fn only_the_rows_asked_about_are_kept_however_many_the_map_has() {
        let mut map = String::from("id_old,id_new\n");
        for k in 0..200_000 {
            map.push_str(&format!("P{k},{k}\n"));
        }
        map.push_str("A1,first\nA1,last\n");
        let rows = parse_map(map.as_bytes(), &BTreeSet::from(["A1", "P7"])).expect("parses");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.get("A1").map(String::as_str), Some("last"));
        assert_eq!(rows.get("P7").map(String::as_str), Some("7"));
    }

    #[test]
    fn quoted_values_are_clipped() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(1000);
        let quoted = clip(&long);
        assert_eq!(quoted.chars().count(), 65);
        assert!(quoted.ends_with('…'));
    }
}

//! Privacy (rubric category `privacy`, research/deid.md §4.4 A1–A5): leaks of planted
//! identifiers, Table E.1-1 actions at every depth, one date offset per patient, private
//! attributes, burned-in pixels, overlays and icons.

use std::collections::{BTreeMap, BTreeSet};

use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;
use worksample_task::rubric::{CriterionGrade, Finding, Score};

use super::inventory::{Inventory, LeakGroup, LeakSpread, LeakTally, SiteKind};
use super::matching::Matched;
use super::{PER_CRITERION_FINDINGS, Pair, Tally, elem_text, text};
use crate::contract::{OFFSET_DAYS, text_band};
use crate::key::Key;
use crate::leak::{Leak, LeakSite};
use crate::paths::{AttrPath, ElementKey, walk};
use crate::profile::{
    Action, AttributeType, BasicAction, Effective, Options, Table, is_repeating_group,
};
use crate::safe_private::{is_creator_element, is_safe, is_safe_creator};
use crate::{dates, tokens};

/// Icon Image Sequence (0088,0200): X in Table E.1-1; graded with the pixels.
pub(crate) const ICON_IMAGE_SEQUENCE: Tag = Tag(0x0088, 0x0200);

/// SR Text Value (0040,A160): not in the table, but the brief (question 2) has it cleaned.
pub(crate) const TEXT_VALUE: Tag = Tag(0x0040, 0xA160);

/// Privacy measurements of one input file.
#[derive(Debug, Clone, Default)]
pub(crate) struct FilePrivacy {
    /// Where findings point.
    pub file: String,
    /// Table actions on non-UID, non-date, non-private attributes.
    pub action: Tally,
    /// Unsafe private attributes and creators removed.
    pub private: Tally,
    /// Band blanked; overlays and icons removed.
    pub burned: Tally,
    /// The output's and the input's paths when this burned-in input's text band was left in its
    /// output (under half its text pixels set to 0): the identifiers burned into it leaked.
    pub band_left: Option<(String, String)>,
    /// Offset in days of every shiftable date (None: missing or unreadable), with its path.
    pub offsets: Vec<(Option<i64>, String)>,
    /// Birth date emptied.
    pub birth: Tally,
    /// Dates removed from free text.
    pub free_text: Tally,
}

/// What became of an attribute in the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Absent,
    Empty,
    Same,
    Changed,
}

/// Whether an element's value is textual for the leak and token rules.
pub(crate) fn is_text_vr(vr: VR) -> bool {
    matches!(vr, VR::LO | VR::SH | VR::ST | VR::LT | VR::UT | VR::UC)
}

/// The task's action on a public tag, resolved by the Type when known; `None` when the table
/// does not list it. With an unknown Type a compound action yields every branch it allows.
pub(crate) fn allowed_actions(tag: Tag, ty: AttributeType) -> Option<Vec<Action>> {
    let effective = Table::standard().effective(tag, &Options::task())?;
    let branches = |b: BasicAction| -> Vec<Action> {
        match b {
            BasicAction::ZD => vec![Action::Empty, Action::Dummy],
            BasicAction::XZ => vec![Action::Remove, Action::Empty],
            BasicAction::XD => vec![Action::Remove, Action::Dummy],
            BasicAction::XZD => vec![Action::Remove, Action::Empty, Action::Dummy],
            BasicAction::XZU => vec![Action::ReplaceUid],
            BasicAction::D | BasicAction::Z | BasicAction::X | BasicAction::U => {
                vec![b.resolve(AttributeType::Type1)]
            }
        }
    };
    Some(match (effective, ty) {
        (Effective::Basic(b), AttributeType::Unknown) => branches(b),
        (Effective::Basic(BasicAction::XZU), _) => vec![Action::ReplaceUid],
        (e, ty) => vec![e.resolve(ty)],
    })
}

/// Whether any sequence enclosing `path` is removed or private (its content is graded there).
pub(crate) fn inside_removed(path: &AttrPath) -> bool {
    path.steps().iter().any(|(key, _)| match key {
        ElementKey::Private { .. } => true,
        ElementKey::Tag(t) => {
            t.group() % 2 == 1
                || *t == ICON_IMAGE_SEQUENCE
                || allowed_actions(*t, AttributeType::Unknown)
                    .is_some_and(|a| a == [Action::Remove])
        }
    })
}

/// Whether the element at `path` is missing from `out` only because an enclosing sequence the
/// profile allows to remove (X, X/Z, X/D, X/Z/D) was removed: nothing inside it is then graded.
pub(crate) fn dropped_with_ancestor(path: &AttrPath, out: Option<&InMemDicomObject>) -> bool {
    let removable = path.steps().iter().any(|(key, _)| match key {
        ElementKey::Tag(t) => {
            allowed_actions(*t, AttributeType::Unknown).is_some_and(|a| a.contains(&Action::Remove))
        }
        ElementKey::Private { .. } => false,
    });
    removable && out.is_some_and(|o| parent_of(path, o).is_none())
}

fn outcome(original: &InMemElement, found: Option<&InMemElement>) -> Outcome {
    let Some(found) = found else {
        return Outcome::Absent;
    };
    match (original.value(), found.value()) {
        (_, Value::Sequence(s)) if s.items().is_empty() => Outcome::Empty,
        (_, Value::Sequence(_)) => Outcome::Changed,
        _ => {
            let new = found.value().to_bytes().unwrap_or_default();
            let trimmed: &[u8] = trim_bytes(&new);
            if trimmed.is_empty() {
                Outcome::Empty
            } else if original
                .value()
                .to_bytes()
                .is_ok_and(|o| trim_bytes(&o) == trimmed)
            {
                Outcome::Same
            } else {
                Outcome::Changed
            }
        }
    }
}

pub(crate) fn trim_bytes(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| *b != b' ' && *b != 0)
        .map_or(0, |p| p + 1);
    &bytes[..end]
}

fn satisfies(action: Action, outcome: Outcome, ty: AttributeType) -> bool {
    match action {
        Action::Remove => outcome == Outcome::Absent,
        Action::Empty => match outcome {
            Outcome::Empty | Outcome::Changed => true,
            Outcome::Absent => matches!(ty, AttributeType::Type3 | AttributeType::Unknown),
            Outcome::Same => false,
        },
        Action::Dummy => outcome == Outcome::Changed,
        Action::ReplaceUid | Action::Keep | Action::Clean => true,
    }
}

fn describe(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Absent => "is absent",
        Outcome::Empty => "is empty",
        Outcome::Same => "still holds the original value",
        Outcome::Changed => "holds a replaced value",
    }
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Remove => "X (remove)",
        Action::Empty => "Z (empty or dummy)",
        Action::Dummy => "D (dummy)",
        Action::ReplaceUid => "U",
        Action::Keep => "K",
        Action::Clean => "C",
    }
}

impl FilePrivacy {
    pub(crate) fn measure(pair: &Pair<'_>) -> Self {
        let input = &pair.input.dataset;
        let out = pair.output.map(|(_, f)| &f.dataset);
        let file_key = &pair.key.files[pair.index];
        let mut me = FilePrivacy {
            file: pair
                .output
                .map_or_else(|| pair.input_file().to_owned(), |(rel, _)| rel.to_owned()),
            ..FilePrivacy::default()
        };
        let mut curve_groups = BTreeSet::new();
        let mut overlay_groups = BTreeSet::new();
        walk(input, &mut |path, elem| {
            let tag = elem.tag();
            if inside_removed(path) || dropped_with_ancestor(path, out) {
                return;
            }
            let found = out.and_then(|o| path.find(o));
            let loc = path.to_string();
            if tag.group() % 2 == 1 {
                me.private_check(pair, path, elem, found, out);
                return;
            }
            if path.depth() == 0 && is_repeating_group(tag.group(), 0x6000) {
                overlay_groups.insert(tag.group());
                return;
            }
            if path.depth() == 0 && is_repeating_group(tag.group(), 0x5000) {
                curve_groups.insert(tag.group());
                return;
            }
            if tag == ICON_IMAGE_SEQUENCE {
                me.burned.check(out.is_some() && found.is_none(), || {
                    pair.finding(&loc, "Icon Image Sequence is still present (X: remove)")
                });
                return;
            }
            if tag == tags::PATIENT_BIRTH_DATE {
                me.birth.check(
                    out.is_some() && found.and_then(elem_text).is_none_or(|v| v.is_empty()),
                    || pair.finding(&loc, "Patient's Birth Date is not empty (Z: it must be emptied, not shifted)"),
                );
                return;
            }
            let ty = super::conformance::attribute_type(&file_key.sop_class_uid, tag, path.depth());
            let allowed = allowed_actions(tag, ty);
            let is_date = matches!(elem.vr(), VR::DA | VR::DT);
            match allowed.as_deref() {
                None | Some([Action::Keep]) | Some([Action::Clean]) if is_date => {
                    me.date_check(elem, found, &loc);
                }
                Some([Action::Clean]) if is_text_vr(elem.vr()) => {
                    me.free_text_check(pair, elem, found, &loc);
                }
                None if tag == TEXT_VALUE => me.free_text_check(pair, elem, found, &loc),
                None
                | Some([Action::Keep])
                | Some([Action::Clean])
                | Some([Action::ReplaceUid]) => {}
                Some(actions) => {
                    let got = outcome(elem, found);
                    let ok = out.is_some() && actions.iter().any(|a| satisfies(*a, got, ty));
                    me.action.check(ok, || {
                        let wanted: Vec<&str> = actions.iter().map(|a| action_name(*a)).collect();
                        // Without an output the attribute is not "absent": there is no file
                        // (the finding's file says "no matching output").
                        let said = if out.is_some() {
                            describe(got)
                        } else {
                            "not de-identified"
                        };
                        pair.finding(
                            &loc,
                            format!("{said}; the profile asks for {}", wanted.join(" or ")),
                        )
                    });
                }
            }
        });
        if let Some(o) = out {
            me.added_private(pair, input, o);
        }
        for group in curve_groups {
            let kept = out.is_none_or(|o| o.into_iter().any(|e| e.tag().group() == group));
            me.action.check(!kept, || {
                pair.finding(
                    format!("({group:04X},xxxx)"),
                    "curve group still present (X: remove the whole group)",
                )
            });
        }
        for group in overlay_groups {
            let kept = out.is_none_or(|o| o.into_iter().any(|e| e.tag().group() == group));
            me.burned.check(!kept, || {
                pair.finding(
                    format!("({group:04X},xxxx)"),
                    "overlay group still present (remove every element of it)",
                )
            });
        }
        if file_key.burned_in {
            let (fraction, detail, measured) = match out {
                Some(o) => band_zero_fraction(input, o),
                None => (0.0, "no output".to_owned(), false),
            };
            let credit = if fraction >= 0.99 { 1.0 } else { fraction };
            // The names stay legible while most of their pixels do: a band under half blanked
            // leaks them. Pixel Data removed or cut short shows no text (it costs the band
            // check and pixels_untouched, not a leak).
            if let (Some((rel, _)), true) = (pair.output, shows_text(fraction, measured)) {
                me.band_left = Some((rel.to_owned(), pair.input_file().to_owned()));
            }
            me.burned.credit(credit, || {
                pair.finding(
                    "(7FE0,0010)",
                    format!("burned-in text band not blanked: {detail}"),
                )
            });
        }
        me
    }

    fn private_check(
        &mut self,
        pair: &Pair<'_>,
        path: &AttrPath,
        elem: &InMemElement,
        found: Option<&InMemElement>,
        out: Option<&InMemDicomObject>,
    ) {
        let tag = elem.tag();
        if tag.element() < 0x0010 {
            return;
        }
        let loc = path.to_string();
        if is_creator_element(tag) {
            let creator = elem_text(elem).unwrap_or_default();
            if is_safe_creator(&creator, tag.group()) {
                return;
            }
            // The creator may have moved to another block: look for its value in the same group
            // of the enclosing data set.
            let parent = out.and_then(|o| parent_of(path, o));
            let kept = parent.is_some_and(|p| {
                (0x10u16..=0xFF).any(|b| {
                    p.get(Tag(tag.group(), b))
                        .and_then(elem_text)
                        .is_some_and(|v| v == creator)
                })
            });
            self.private.check(!kept && out.is_some(), || {
                pair.finding(
                    &loc,
                    format!(
                        "private creator `{creator}` still present; it reserves no safe attribute"
                    ),
                )
            });
            return;
        }
        let safe = match path.leaf() {
            ElementKey::Private {
                group,
                creator,
                element,
            } => is_safe(creator, *group, *element),
            ElementKey::Tag(_) => false,
        };
        if safe {
            return;
        }
        self.private.check(out.is_some() && found.is_none(), || {
            pair.finding(
                &loc,
                "private attribute not on the safe list is still present",
            )
        });
    }

    /// The output's side of the private rule: private elements the input walk cannot see
    /// because they are not where the input had them under their creator. An element whose
    /// block's creator was removed but which stayed (an orphan), and an unsafe element or
    /// creator under a creator the input did not have there (renamed, or added), are still
    /// private data (Table E.1-1, odd groups: X; PS3.5 §7.8.1 ties an element to its block's
    /// creator). Elements the input has at the same path were graded from the input's side.
    /// Content of private sequences is graded with the sequence.
    fn added_private(&mut self, pair: &Pair<'_>, input: &InMemDicomObject, out: &InMemDicomObject) {
        walk(out, &mut |path, elem| {
            let tag = elem.tag();
            if tag.group() % 2 == 0
                || tag.element() < 0x0010
                || path.steps().iter().any(|(key, _)| key.group() % 2 == 1)
            {
                return;
            }
            let loc = path.to_string();
            let here = parent_of(path, input);
            if is_creator_element(tag) {
                let creator = elem_text(elem).unwrap_or_default();
                let in_input = here.is_some_and(|p| {
                    (0x10u16..=0xFF).any(|b| {
                        p.get(Tag(tag.group(), b))
                            .and_then(elem_text)
                            .is_some_and(|v| v == creator)
                    })
                });
                if !is_safe_creator(&creator, tag.group()) && !in_input {
                    self.private.check(false, || {
                        pair.finding(
                            &loc,
                            format!(
                                "private creator `{creator}` is not the input's here; it reserves no safe attribute"
                            ),
                        )
                    });
                }
                return;
            }
            match path.leaf() {
                ElementKey::Tag(_) => {
                    let orphan_in_input = here.is_some_and(|p| {
                        p.get(tag).is_some() && matches!(ElementKey::of(p, tag), ElementKey::Tag(_))
                    });
                    if !orphan_in_input {
                        self.private.check(false, || {
                            pair.finding(
                                &loc,
                                "private attribute left without its private creator: removing a \
                                 block's creator does not remove its attributes (PS3.5 §7.8.1)",
                            )
                        });
                    }
                }
                ElementKey::Private {
                    group,
                    creator,
                    element,
                } => {
                    if !is_safe(creator, *group, *element) && path.find(input).is_none() {
                        self.private.check(false, || {
                            pair.finding(
                                &loc,
                                "private attribute not on the safe list, under a creator the \
                                 input does not have here",
                            )
                        });
                    }
                }
            }
        });
    }

    fn date_check(&mut self, elem: &InMemElement, found: Option<&InMemElement>, loc: &str) {
        let Some(original) = elem_text(elem) else {
            return;
        };
        if dates::parse_dt_date(&original).is_none() {
            return;
        }
        let offset = found
            .and_then(elem_text)
            .and_then(|new| dates::offset_days(&original, &new));
        self.offsets.push((offset, loc.to_owned()));
    }

    fn free_text_check(
        &mut self,
        pair: &Pair<'_>,
        elem: &InMemElement,
        found: Option<&InMemElement>,
        loc: &str,
    ) {
        let none = tokens::Vocabulary::new();
        let Some(original) = elem_text(elem) else {
            return;
        };
        if !tokens::split(&original, &none)
            .iter()
            .any(|t| tokens::is_date(t))
        {
            return;
        }
        let clean = match (pair.output, found.and_then(elem_text)) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(_), Some(new)) => !tokens::split(&new, &none)
                .iter()
                .any(|t| tokens::is_date(t)),
        };
        self.free_text.check(clean, || {
            pair.finding(
                loc,
                "a date written in free text is still present (question 8: remove it)",
            )
        });
    }
}

/// The data set enclosing the element `path` names, in `obj`.
pub(crate) fn parent_of<'a>(
    path: &AttrPath,
    obj: &'a InMemDicomObject,
) -> Option<&'a InMemDicomObject> {
    let mut current = obj;
    for (key, item) in path.steps() {
        match key.find(current)?.value() {
            Value::Sequence(seq) => current = seq.items().get(*item)?,
            Value::Primitive(_) | Value::PixelSequence(_) => return None,
        }
    }
    Some(current)
}

/// A band with less than this fraction of its text pixels set to 0 still shows the names
/// burned into it: they leaked.
const TEXT_LEFT_BELOW: f64 = 0.5;

/// Whether a band measured with `fraction` of its text pixels at 0 still shows the names.
fn shows_text(fraction: f64, measured: bool) -> bool {
    measured && fraction < TEXT_LEFT_BELOW
}

/// Whether `output`, an output of the burned-in image `input`, left its text band legible: the
/// rule [`FilePrivacy::measure`] applies to a matched output, for the other outputs of the same
/// input (duplicates), which are compared with nothing else.
pub(crate) fn band_left(input: &InMemDicomObject, output: &InMemDicomObject) -> bool {
    let (fraction, _, measured) = band_zero_fraction(input, output);
    shows_text(fraction, measured)
}

/// Fraction of the text band's pixels (brief question 7) that are 0 in the output, counted
/// over the pixels that were not already 0 in the input (so a copy earns nothing for the
/// background); over the whole band when the input band was blank. With what it says and
/// whether it was measured at all (false: no pixels, or too few, to compare).
fn band_zero_fraction(input: &InMemDicomObject, output: &InMemDicomObject) -> (f64, String, bool) {
    let number = |tag: Tag| -> Option<usize> { text(input, tag)?.trim().parse().ok() };
    let (Some(rows), Some(columns), Some(bits)) = (
        number(tags::ROWS),
        number(tags::COLUMNS),
        number(tags::BITS_ALLOCATED),
    ) else {
        return (
            0.0,
            "Rows, Columns or Bits Allocated missing".to_owned(),
            false,
        );
    };
    let samples = number(tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    let frames = number(tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    let unit = (samples * bits.div_ceil(8)).max(1);
    let pixels = |o: &InMemDicomObject| {
        o.get(tags::PIXEL_DATA)
            .and_then(|e| e.value().to_bytes().ok().map(|b| b.into_owned()))
    };
    let (Some(before), Some(after)) = (pixels(input), pixels(output)) else {
        return (0.0, "Pixel Data missing".to_owned(), false);
    };
    let band = usize::from(text_band(u16::try_from(rows).unwrap_or(u16::MAX)).end);
    let frame_len = rows * columns * unit;
    // (text pixels now 0, text pixels, band pixels now 0, band pixels)
    let (mut text_zeroed, mut text_total, mut zero, mut total) = (0usize, 0usize, 0usize, 0usize);
    for f in 0..frames {
        let start = f * frame_len;
        let end = start + band * columns * unit;
        let (Some(b), Some(a)) = (before.get(start..end), after.get(start..end)) else {
            return (0.0, "Pixel Data shorter than its frames".to_owned(), false);
        };
        for (pb, pa) in b.chunks(unit).zip(a.chunks(unit)) {
            let now_zero = pa.iter().all(|x| *x == 0);
            total += 1;
            zero += usize::from(now_zero);
            if pb.iter().any(|x| *x != 0) {
                text_total += 1;
                text_zeroed += usize::from(now_zero);
            }
        }
    }
    let (part, whole) = if text_total > 0 {
        (text_zeroed, text_total)
    } else {
        (zero, total)
    };
    let fraction = if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    };
    let which = if text_total > 0 {
        "the pixels that held text"
    } else {
        "its pixels"
    };
    (
        fraction,
        format!(
            "rows 0 to {} (the top eighth) must be 0; {:.1}% of {which} there are",
            band.saturating_sub(1),
            fraction * 100.0
        ),
        true,
    )
}

/// Distinct offsets per patient whose first dates are kept for findings: one more than the
/// findings a criterion shows, so that whichever offset turns out modal, the first
/// [`PER_CRITERION_FINDINGS`] dates off it are among the kept ones (every untracked offset first
/// appears after that many tracked ones).
const TRACKED_OFFSETS: usize = PER_CRITERION_FINDINGS + 1;

/// One date as a finding may need it: its place in the patient's dates, file and path.
#[derive(Debug, Clone)]
struct DateSeen {
    order: usize,
    file: String,
    location: String,
}

/// The dates of one patient, folded: how many at each offset, and the first few of each offset
/// for findings (the modal offset is known only once every file is in).
#[derive(Debug, Default)]
pub(crate) struct PatientDates {
    /// Dates seen, in file order.
    seen: usize,
    /// Shiftable dates at each offset in days.
    histogram: BTreeMap<i64, usize>,
    /// Dates missing or unreadable in the output.
    missing: usize,
    /// The first [`PER_CRITERION_FINDINGS`] dates of each tracked offset (`None`: missing).
    first: BTreeMap<Option<i64>, Vec<DateSeen>>,
    /// Birth date checks of the patient's files.
    birth: Tally,
    /// Free-text date checks of the patient's files.
    free_text: Tally,
}

impl PatientDates {
    fn add(&mut self, offset: Option<i64>, file: &str, location: String) {
        let order = self.seen;
        self.seen += 1;
        match offset {
            Some(o) => *self.histogram.entry(o).or_default() += 1,
            None => self.missing += 1,
        }
        let tracked = self.first.contains_key(&offset)
            || offset.is_none()
            || self.first.keys().filter(|k| k.is_some()).count() < TRACKED_OFFSETS;
        if !tracked {
            return;
        }
        let kept = self.first.entry(offset).or_default();
        if kept.len() < PER_CRITERION_FINDINGS {
            kept.push(DateSeen {
                order,
                file: file.to_owned(),
                location,
            });
        }
    }

    /// The most frequent offset, ties to the smallest magnitude then the smaller value (as
    /// [`dates::modal_offset`] over every offset).
    fn modal(&self) -> Option<i64> {
        let mut best: Option<(i64, usize)> = None;
        for (&value, &count) in &self.histogram {
            best = match best {
                None => Some((value, count)),
                Some(b) if count > b.1 => Some((value, count)),
                Some(b) if count == b.1 && (value.abs(), value) < (b.0.abs(), b.0) => {
                    Some((value, count))
                }
                Some(b) => Some(b),
            };
        }
        best.map(|(m, _)| m)
    }
}

/// Privacy measurements of the files graded so far.
#[derive(Debug, Default)]
pub(crate) struct PrivacyFold {
    action: Tally,
    private: Tally,
    burned: Tally,
    /// [`FilePrivacy::band_left`] of every file, in file order: bounded by the burned-in inputs.
    pub(crate) bands_left: Vec<(String, String)>,
    /// Dates by patient index.
    dates: BTreeMap<usize, PatientDates>,
}

impl PrivacyFold {
    /// Folds in the next file, of patient `patient`.
    pub(crate) fn fold(&mut self, patient: usize, file: FilePrivacy) {
        self.action.absorb(&file.action);
        self.private.absorb(&file.private);
        self.burned.absorb(&file.burned);
        self.bands_left.extend(file.band_left);
        let dates = self.dates.entry(patient).or_default();
        for (offset, location) in file.offsets {
            dates.add(offset, &file.file, location);
        }
        dates.birth.absorb(&file.birth);
        dates.free_text.absorb(&file.free_text);
    }
}

/// The privacy criteria.
pub(crate) fn criteria(
    key: &Key,
    inventory: &Inventory,
    matched: &Matched,
    fold: &PrivacyFold,
) -> Vec<CriterionGrade> {
    let inputs = key.files.len();
    let found = matched.output_of.iter().filter(|o| o.is_some()).count();
    let coverage = if inputs == 0 {
        1.0
    } else {
        found as f64 / inputs as f64
    };
    // An output that lost files leaks less by releasing less: scale the leak scores by what was
    // released, so deleting everything earns nothing here. The direct score is scaled only once
    // more than half the set is missing, because any direct score below 1 trips the privacy
    // gate, whose reason (a leaked identifier) would be false for a few lost files.
    let direct_coverage = (2.0 * coverage).min(1.0);
    let direct = leak_grade(
        "direct_leaks",
        key,
        &inventory.leaks,
        LeakGroup::Direct,
        direct_coverage,
        (found, inputs),
    );
    let indirect = leak_grade(
        "indirect_leaks",
        key,
        &inventory.leaks,
        LeakGroup::Indirect,
        coverage,
        (found, inputs),
    );
    let action = fold
        .action
        .clone()
        .grade("action_compliance", "attribute actions as the profile asks");
    let private = fold.private.clone().grade(
        "private_tags",
        "unsafe private attributes and creators removed",
    );
    let burned = fold
        .burned
        .clone()
        .grade("burned_in", "band, overlay and icon checks passed");
    vec![
        direct,
        indirect,
        action,
        date_grade(key, fold),
        private,
        burned,
    ]
}

fn leak_grade(
    id: &str,
    key: &Key,
    leaks: &LeakTally,
    group: LeakGroup,
    coverage: f64,
    (found, inputs): (usize, usize),
) -> CriterionGrade {
    let classes = group.classes();
    let raw = leaks.score(&key.registry, group);
    let planted = key
        .registry
        .iter()
        .filter(|p| classes.contains(&p.class))
        .count();
    let mut tally = Tally::default();
    for (value, kind, spread) in leaks.spreads(group) {
        tally.note(
            leak_finding(key, value, kind, spread),
            PER_CRITERION_FINDINGS,
        );
    }
    let mut summary = format!(
        "{} of {planted} planted identifiers leaked (leak score {:.3})",
        leaks.distinct(group),
        raw
    );
    if coverage < 1.0 {
        summary.push_str(&format!(
            "; scaled by {coverage:.3} because only {found} of {inputs} inputs have an output"
        ));
    }
    tally.onto(CriterionGrade::new(id, Score::new(raw * coverage), summary))
}

/// One finding for an identifier leaked in one way: where it is when one file holds it, else
/// how many files, the first few named with the place in each.
fn leak_finding(key: &Key, value: &str, kind: SiteKind, spread: &LeakSpread) -> Finding {
    let Some(first) = spread.first.first() else {
        return Finding::new(format!("`{value}` leaked"));
    };
    let what = key
        .registry
        .get(value)
        .map_or("identifier", |p| p.what.as_str());
    let location = |l: &Leak| match &l.site {
        LeakSite::Value(path) => path.to_string(),
        LeakSite::Bytes { offset } => format!("byte {offset}"),
        LeakSite::Inflated { offset } => format!("byte {offset} of the inflated data set"),
        LeakSite::Path => "path".to_owned(),
        LeakSite::Pixels => "the text band".to_owned(),
    };
    let head = format!("{} `{value}` ({what})", first.class);
    if spread.files == 1 {
        let place = match kind {
            SiteKind::Value => "in a value",
            SiteKind::Path => "in the file's path",
            SiteKind::Bytes => "in the raw bytes",
            SiteKind::Inflated => "in the deflated data set's bytes",
            SiteKind::Pixels => {
                "burned into the pixels (the text band was left, under half of it 0)"
            }
        };
        return Finding::new(format!("{head} found {place}"))
            .in_file(first.file.clone())
            .at(location(first));
    }
    let place = match kind {
        SiteKind::Value => "in values of",
        SiteKind::Path => "in the path of",
        SiteKind::Bytes => "in the raw bytes of",
        SiteKind::Inflated => "in the deflated data set's bytes of",
        SiteKind::Pixels => "burned into the pixels (text band left) of",
    };
    let mut named: Vec<String> = spread
        .first
        .iter()
        .map(|l| match kind {
            SiteKind::Path | SiteKind::Pixels => l.file.clone(),
            SiteKind::Value | SiteKind::Bytes | SiteKind::Inflated => {
                format!("{} at {}", l.file, location(l))
            }
        })
        .collect();
    let more = spread.files.saturating_sub(named.len());
    if more > 0 {
        named.push(format!("… and {more} more"));
    }
    // A finding about many files has no one file as its place; the message names them.
    Finding::new(format!(
        "{head} {place} {} files: {}",
        spread.files,
        named.join(", ")
    ))
}

fn date_grade(key: &Key, fold: &PrivacyFold) -> CriterionGrade {
    let mut scores = Vec::new();
    let mut findings = Tally::default();
    for (&patient, dates) in &fold.dates {
        let name = key.patients.get(patient).map_or_else(
            || format!("patient {patient}"),
            |p| format!("patient `{}`", p.patient_id),
        );
        let n = dates.seen;
        let modal = dates.modal();
        let good = modal.filter(|m| OFFSET_DAYS.contains(m));
        if modal.is_some() && good.is_none() {
            findings.note(
                Finding::new(format!(
                    "{name}: the common date offset is {} days, outside −3650..=−30",
                    modal.unwrap_or_default()
                )),
                PER_CRITERION_FINDINGS,
            );
        }
        let at_modal = good.map_or(0, |m| dates.histogram.get(&m).copied().unwrap_or(0));
        // Every date off the modal offset (when it is acceptable) or missing is a finding; the
        // first ones in file order are among those kept per offset.
        let off = match good {
            Some(_) => n - dates.missing - at_modal,
            None => 0,
        };
        let mut shown: Vec<(Option<i64>, &DateSeen)> = dates
            .first
            .iter()
            .filter(|(offset, _)| match (offset, good) {
                (None, _) => true,
                (Some(o), Some(m)) => *o != m,
                (Some(_), None) => false,
            })
            .flat_map(|(offset, seen)| seen.iter().map(move |s| (*offset, s)))
            .collect();
        shown.sort_by_key(|(_, s)| s.order);
        shown.truncate(PER_CRITERION_FINDINGS);
        for (offset, seen) in &shown {
            let finding = match (offset, good) {
                (Some(o), Some(m)) => {
                    Finding::new(format!("date shifted by {o} days; {name}'s offset is {m}"))
                }
                (Some(_), None) | (None, _) => {
                    Finding::new("date missing or unreadable in the output; it must be shifted")
                }
            };
            findings.note(
                finding.in_file(seen.file.clone()).at(seen.location.clone()),
                PER_CRITERION_FINDINGS,
            );
        }
        findings.omitted += off + dates.missing - shown.len();
        let (birth, free) = (&dates.birth, &dates.free_text);
        let total = n + birth.total + free.total;
        if total == 0 {
            continue;
        }
        scores.push((at_modal as f64 + birth.credit + free.credit) / total as f64);
        findings.absorb(birth);
        findings.absorb(free);
    }
    let score = if scores.is_empty() {
        1.0
    } else {
        scores.iter().sum::<f64>() / scores.len() as f64
    };
    findings.onto(CriterionGrade::new(
        "date_offsets",
        Score::new(score),
        format!(
            "mean over {} patients of dates at one offset in −3650..=−30, birth dates emptied and free-text dates removed: {:.3}",
            scores.len(),
            score
        ),
    ))
}

#[cfg(test)]
mod tests {
    use dicom_core::{DataElement, PrimitiveValue};

    use super::*;

    /// Whatever the offsets, a patient keeps at most [`TRACKED_OFFSETS`] sampled offsets (and
    /// the missing dates) of [`PER_CRITERION_FINDINGS`] dates each, besides the histogram.
    #[test]
    fn a_patient_keeps_a_bounded_sample_of_dates_whatever_the_offsets() {
        let mut dates = PatientDates::default();
        for i in 0..10_000i64 {
            dates.add(Some(-30 - i % 500), "out/1.dcm", format!("date {i}"));
            if i % 7 == 0 {
                dates.add(None, "out/1.dcm", format!("missing {i}"));
            }
        }
        assert_eq!(dates.seen, 10_000 + 1_429);
        assert_eq!(dates.missing, 1_429);
        assert_eq!(dates.histogram.len(), 500);
        assert_eq!(dates.first.len(), TRACKED_OFFSETS + 1);
        assert!(
            dates
                .first
                .values()
                .all(|kept| kept.len() <= PER_CRITERION_FINDINGS)
        );
        // Every offset 20 times: the tie goes to the smallest magnitude.
        assert_eq!(dates.modal(), Some(-30));
        dates.add(Some(-400), "out/2.dcm", "late".to_owned());
        assert_eq!(dates.modal(), Some(-400));
    }

    #[test]
    fn compound_actions_resolve_by_type_or_allow_every_branch() {
        let serial = tags::DEVICE_SERIAL_NUMBER;
        assert_eq!(
            allowed_actions(serial, AttributeType::Type1),
            Some(vec![Action::Dummy])
        );
        assert_eq!(
            allowed_actions(serial, AttributeType::Type3),
            Some(vec![Action::Remove])
        );
        assert_eq!(
            allowed_actions(serial, AttributeType::Unknown),
            Some(vec![Action::Remove, Action::Empty, Action::Dummy])
        );
        assert_eq!(
            allowed_actions(tags::REFERENCED_IMAGE_SEQUENCE, AttributeType::Type3),
            Some(vec![Action::ReplaceUid])
        );
        assert_eq!(
            allowed_actions(tags::STUDY_DESCRIPTION, AttributeType::Unknown),
            Some(vec![Action::Clean])
        );
        assert_eq!(
            allowed_actions(tags::SERIES_NUMBER, AttributeType::Type2),
            None
        );
    }

    #[test]
    fn children_of_a_removable_sequence_are_not_graded_once_it_is_gone() {
        let inside = |seq: Tag| {
            AttrPath::top(ElementKey::Tag(seq)).child(0, ElementKey::Tag(Tag(0x0008, 0x1155)))
        };
        let empty = InMemDicomObject::new_empty();
        // Referenced Study Sequence is X/Z: removing it is allowed.
        assert!(dropped_with_ancestor(
            &inside(tags::REFERENCED_STUDY_SEQUENCE),
            Some(&empty)
        ));
        // Referenced Image Sequence must be kept (brief question 1).
        assert!(!dropped_with_ancestor(
            &inside(tags::REFERENCED_IMAGE_SEQUENCE),
            Some(&empty)
        ));
        // A missing output is graded as lost, not excused.
        assert!(!dropped_with_ancestor(
            &inside(tags::REFERENCED_STUDY_SEQUENCE),
            None
        ));
    }

    #[test]
    fn z_allows_absence_only_where_type_3_or_unknown() {
        assert!(satisfies(
            Action::Empty,
            Outcome::Absent,
            AttributeType::Type3
        ));
        assert!(!satisfies(
            Action::Empty,
            Outcome::Absent,
            AttributeType::Type2
        ));
        assert!(!satisfies(
            Action::Empty,
            Outcome::Same,
            AttributeType::Type2
        ));
        assert!(satisfies(
            Action::Empty,
            Outcome::Changed,
            AttributeType::Type2
        ));
        assert!(!satisfies(
            Action::Dummy,
            Outcome::Empty,
            AttributeType::Type1
        ));
        assert!(satisfies(
            Action::Remove,
            Outcome::Absent,
            AttributeType::Type1
        ));
    }

    #[test]
    fn the_band_fraction_counts_zero_pixels_in_the_top_eighth() {
        let image = |pixels: Vec<u8>| {
            let mut obj = InMemDicomObject::new_empty();
            for (tag, v) in [
                (tags::ROWS, 16u16),
                (tags::COLUMNS, 4),
                (tags::BITS_ALLOCATED, 8),
            ] {
                obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
            }
            obj.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PrimitiveValue::from(pixels),
            ));
            obj
        };
        // Band = rows 0..2 = 8 pixels, 4 of them text (non-zero) in the input.
        let mut input = vec![7u8; 64];
        input[..4].fill(0);
        let input = image(input);
        let (copy, _, _) = band_zero_fraction(&input, &input);
        assert_eq!(copy, 0.0, "a copy blanks no text");
        // Blank 3 of the 4 text pixels.
        let mut out = vec![7u8; 64];
        out[..7].fill(0);
        let (fraction, _, _) = band_zero_fraction(&input, &image(out));
        assert!((fraction - 0.75).abs() < 1e-12);
    }
}

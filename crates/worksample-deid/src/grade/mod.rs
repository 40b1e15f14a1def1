//! The `deid` grader: measures a candidate's de-identified output against the trusted fixture
//! copy and the answer key, one score per criterion of tasks/deid/rubric.toml.
//!
//! The run has three passes, each streamed over files with both cores (rayon): a chunk of files
//! is measured in parallel, then the chunk's per-file summaries are folded in file order into
//! running accumulators and dropped, so memory holds one chunk's summaries and what the
//! cross-file checks need (a few ids per file), never the set's data sets or findings:
//! 1. [`inventory`]: walk the submission without following links, read every output file
//!    within caps, scan it for leaks (values, raw bytes, path), fold them into a bounded
//!    [`inventory::LeakTally`] and fingerprint the file;
//! 2. [`matching`]: match outputs to inputs by content (pixel fingerprint, planted attribute,
//!    then a header fallback), never by the candidate's maps (research/deid.md §2.2: MIDI-B's
//!    reliance on submitted maps is the weakness we avoid);
//! 3. per input file, [`privacy`], [`integrity`], [`utility`] and [`conformance`] compare the
//!    input with its matched output (or with nothing, for an unmatched input, which then fails
//!    every check that needs an output), and each [`FileReport`] is folded into [`Folded`]:
//!    capped tallies, per-patient date offsets and study instants, UIDs and identities as
//!    interned ids for the cross-file checks (UID remap, references, partitions, pseudonyms).
//!
//! Folding in file order makes every finding list and float sum the same whatever the thread
//! count or scheduling.
//!
//! Every candidate failure is a finding and a low score; [`GradeError`] is reserved for a broken
//! fixture copy (the harness's fault, not the candidate's). Assessor-only [`figures`] (burned-in
//! bands before and after, leaks on the attribute tree) ride along and are never scored.

mod conformance;
mod figures;
mod integrity;
mod inventory;
#[path = "match.rs"]
mod matching;
mod privacy;
mod utility;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use worksample_dicom::read::{DicomFile, ReadError, ReadLimits, read_full};
use worksample_task::rubric::{CriterionGrade, Finding, Grade, Score, Visibility};
use worksample_task::{Figures, Progress};

use crate::key::Key;

pub use matching::pixel_fingerprint;

/// Findings kept per file for one check family, so one broken file cannot crowd out the rest.
const PER_FILE_FINDINGS: usize = 3;

/// Findings kept per criterion; the rest are counted (the rubric adds them to "… and N more").
const PER_CRITERION_FINDINGS: usize = 25;

/// Findings the report shows per criterion: `max_findings` of tasks/deid/rubric.toml.
const RUBRIC_SHOWN: usize = 20;

/// Files measured in parallel before their summaries are folded: bounds what is held at once
/// (one chunk's summaries, never the set's) while giving each core a dozen files between folds.
const CHUNK: usize = 32;

/// Why grading could not run at all: the trusted fixture copy is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GradeError {
    /// A fixture file the key lists cannot be read.
    #[error("fixture file `{file}` cannot be read")]
    Fixture {
        /// The file, relative to the fixture folder.
        file: String,
        /// The reader's reason.
        #[source]
        source: ReadError,
    },
    /// The key lists a file whose path is not a safe relative path.
    #[error(
        "the answer key lists fixture file `{file}`, which is not a relative path inside the fixtures"
    )]
    KeyPath {
        /// The path as listed.
        file: String,
    },
}

/// Grades the candidate's output folder `submission` against the trusted `fixtures` copy and
/// the answer key; `shown` says whether to draw the (hidden) figures.
pub fn grade_submission(
    key: &Key,
    fixtures: &Path,
    submission: &Path,
    progress: &dyn Progress,
    shown: Figures,
) -> Result<Grade, GradeError> {
    let mut notes = Vec::new();
    let mut inventory = inventory::take(key, submission, progress, &mut notes);
    let matched = matching::match_outputs(key, fixtures, &inventory.outputs, &mut notes);
    notes.extend(unmatched_note(key, &matched));

    let vocabulary = utility::vocabulary(key);
    let mut folded = Folded::default();
    progress.start("comparing de-identified files", key.files.len() as u64);
    // Files are measured in parallel a chunk at a time and folded in file order, so only one
    // chunk's summaries are held and every finding list and float sum comes out the same
    // whatever the thread count.
    for start in (0..key.files.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(key.files.len());
        let reports: Vec<Result<FileReport, GradeError>> = (start..end)
            .into_par_iter()
            .map(|index| {
                let input = read_fixture(fixtures, &key.files[index].path)?;
                let output = matched.output_of[index].and_then(|o| {
                    let rel = &inventory.outputs[o].rel;
                    inventory::read_output(submission, rel)
                        .ok()
                        .map(|(_, dicom)| (rel.clone(), dicom))
                });
                let pair = Pair {
                    key,
                    vocabulary: &vocabulary,
                    index,
                    input: &input,
                    output: output.as_ref().map(|(rel, dicom)| (rel.as_str(), dicom)),
                };
                let report = FileReport::measure(&pair);
                progress.advance(1);
                Ok(report)
            })
            .collect();
        for report in reports {
            folded.fold(key, report?);
        }
    }
    progress.finish();
    // A name burned into the pixels is as much a leak as one in a value: once the files are
    // compared, the identifiers burned into each input whose band was left count as leaked
    // from its output (PS3.15 §E.3.1, Clean Pixel Data: burned-in identification is removed).
    // A second output of a burned-in input shows the same names when its band was left,
    // whichever of the two the matching took for the input.
    let duplicates = duplicate_bands_left(key, fixtures, submission, &inventory, &matched)?;
    for (output, input) in folded.privacy.bands_left.iter().chain(&duplicates) {
        inventory.leaks.add_pixels(
            output,
            &crate::leak::burned_into(&key.registry, input, output),
        );
    }

    let mut criteria = Vec::new();
    criteria.extend(privacy::criteria(
        key,
        &inventory,
        &matched,
        &folded.privacy,
    ));
    criteria.extend(integrity::criteria(
        key,
        &inventory,
        &matched,
        &folded.integrity,
    ));
    criteria.extend(utility::criteria(key, &folded.utility));
    criteria.extend(conformance::criteria(
        key,
        &inventory,
        &matched,
        &folded.conformance,
        &mut notes,
    ));
    criteria.sort_by_key(|c| {
        crate::CRITERIA
            .iter()
            .position(|id| c.id.as_str() == *id)
            .unwrap_or(usize::MAX)
    });
    // Every figure is hidden: the leaks pictured are the answer to the privacy criteria.
    let figures = if shown.draws(Visibility::Hidden) {
        figures::figures(key, fixtures, submission, &inventory, &matched)
    } else {
        Vec::new()
    };
    Ok(Grade {
        criteria,
        cards: Vec::new(),
        notes,
        figures,
    })
}

/// The duplicate outputs of burned-in inputs that left the text band, as (output, input) paths
/// in output order. Only these outputs and their inputs are read again, each input once however
/// many copies of it a submission holds.
fn duplicate_bands_left(
    key: &Key,
    fixtures: &Path,
    submission: &Path,
    inventory: &inventory::Inventory,
    matched: &matching::Matched,
) -> Result<Vec<(String, String)>, GradeError> {
    let mut left = Vec::new();
    let mut inputs: std::collections::BTreeMap<usize, DicomFile> = Default::default();
    for &(o, i) in &matched.duplicates {
        let file = &key.files[i];
        if !file.burned_in {
            continue;
        }
        let rel = &inventory.outputs[o].rel;
        // An output that no longer reads was a finding of the inventory already.
        let Ok((_, output)) = inventory::read_output(submission, rel) else {
            continue;
        };
        let input = match inputs.entry(i) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(read_fixture(fixtures, &file.path)?)
            }
        };
        if privacy::band_left(&input.dataset, &output.dataset) {
            left.push((rel.clone(), file.path.clone()));
        }
    }
    Ok(left)
}

/// A note naming the inputs no output matched: every check of them fails, and the criteria's
/// findings about them say so attribute by attribute.
fn unmatched_note(key: &Key, matched: &matching::Matched) -> Option<String> {
    let unmatched: Vec<&str> = (0..key.files.len())
        .filter(|i| matched.output_of[*i].is_none())
        .map(|i| key.files[i].path.as_str())
        .collect();
    let first = unmatched.first()?;
    Some(format!(
        "no output matches {} of {} inputs (the first: `{first}`); every check of them fails",
        unmatched.len(),
        key.files.len()
    ))
}

/// Reads a trusted fixture file.
fn read_fixture(fixtures: &Path, rel: &str) -> Result<DicomFile, GradeError> {
    let safe =
        worksample_task::submission::safe_relative(rel).map_err(|_| GradeError::KeyPath {
            file: rel.to_owned(),
        })?;
    let path: PathBuf = fixtures.join(safe);
    read_full(&path, &ReadLimits::default()).map_err(|source| GradeError::Fixture {
        file: rel.to_owned(),
        source,
    })
}

/// One input file and its matched output, if any.
pub(crate) struct Pair<'a> {
    /// The answer key.
    pub key: &'a Key,
    /// The descriptor token vocabulary of the set.
    pub vocabulary: &'a crate::tokens::Vocabulary,
    /// Index of the input in [`Key::files`].
    pub index: usize,
    /// The input as read from the fixtures.
    pub input: &'a DicomFile,
    /// The matched output: its path relative to the submission, and the file.
    pub output: Option<(&'a str, &'a DicomFile)>,
}

impl Pair<'_> {
    /// The input's path relative to the fixtures.
    pub fn input_file(&self) -> &str {
        &self.key.files[self.index].path
    }

    /// Where findings about this pair point: the output file, or the input when unmatched.
    pub fn finding(&self, location: impl Into<String>, message: impl Into<String>) -> Finding {
        let file = match self.output {
            Some((rel, _)) => rel.to_owned(),
            None => format!("{} (input; no matching output)", self.input_file()),
        };
        Finding::new(message).in_file(file).at(location)
    }
}

/// Credit earned over checks, with findings for the checks that failed, capped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    /// Credit earned, each check worth up to 1.
    pub credit: f64,
    /// Checks made.
    pub total: usize,
    /// Findings kept.
    pub findings: Vec<Finding>,
    /// Per kept finding, how many other files had the same finding at the same place (the birth
    /// date left in every file is one finding naming the first file, not twenty).
    pub repeats: Vec<usize>,
    /// Findings dropped by the cap.
    pub omitted: usize,
    /// Where and in what words each finding a per-file cap dropped was: a kept finding of
    /// another file at the same place counts it as one of its repeats when the tallies fold.
    dropped: Vec<Dropped>,
    /// Whether this tally spans a whole criterion (larger finding cap) rather than one file.
    pub global: bool,
}

/// A finding a per-file cap dropped, kept only to be recognised as a repeat.
#[derive(Debug, Clone)]
struct Dropped {
    file: Option<String>,
    location: Option<String>,
    message: String,
    visibility: Visibility,
}

impl Tally {
    /// An empty tally spanning a whole criterion.
    pub fn global() -> Self {
        Tally {
            global: true,
            ..Tally::default()
        }
    }

    /// One pass/fail check; the finding is built only on failure.
    pub fn check(&mut self, ok: bool, finding: impl FnOnce() -> Finding) {
        self.credit(if ok { 1.0 } else { 0.0 }, finding);
    }

    /// One check earning `part` in 0..=1; a finding unless full credit.
    pub fn credit(&mut self, part: f64, finding: impl FnOnce() -> Finding) {
        self.total += 1;
        self.credit += part.clamp(0.0, 1.0);
        if part < 1.0 {
            let cap = if self.global {
                PER_CRITERION_FINDINGS
            } else {
                PER_FILE_FINDINGS
            };
            self.note(finding(), cap);
        }
    }

    /// Keeps a finding unless `cap` are already kept.
    pub fn note(&mut self, finding: Finding, cap: usize) {
        self.note_repeated(finding, 0, cap);
    }

    /// [`Tally::note`] of a finding that `repeats` other files share.
    fn note_repeated(&mut self, finding: Finding, repeats: usize, cap: usize) {
        if self.findings.len() < cap {
            self.findings.push(finding);
            self.repeats.push(repeats);
        } else {
            self.omitted += 1 + repeats;
            if !self.global {
                self.dropped.push(Dropped {
                    file: finding.file,
                    location: finding.location,
                    message: finding.message,
                    visibility: finding.visibility,
                });
            }
        }
    }

    /// Folds another tally in, under the per-criterion cap. A finding a kept one already states
    /// for another file, at the same place and in the same words, is counted on it instead.
    pub fn absorb(&mut self, other: &Tally) {
        self.credit += other.credit;
        self.total += other.total;
        for (i, f) in other.findings.iter().enumerate() {
            let repeats = other.repeats.get(i).copied().unwrap_or(0);
            let same = self.findings.iter().position(|k| {
                k.file != f.file
                    && k.location == f.location
                    && k.message == f.message
                    && k.visibility == f.visibility
            });
            match same {
                Some(at) => self.repeats[at] += 1 + repeats,
                None => self.note_repeated(f.clone(), repeats, PER_CRITERION_FINDINGS),
            }
        }
        // What the other file's own cap dropped is still the same failure as a kept finding of
        // another file at the same place: a repeat of it, not a finding left unsaid.
        let mut omitted = other.omitted;
        for d in &other.dropped {
            let same = self.findings.iter().position(|k| {
                k.file != d.file
                    && k.location == d.location
                    && k.message == d.message
                    && k.visibility == d.visibility
            });
            if let Some(at) = same {
                self.repeats[at] += 1;
                omitted = omitted.saturating_sub(1);
            }
        }
        self.omitted += omitted;
    }

    /// The score: credit over checks, full marks when nothing was checked.
    pub fn score(&self) -> Score {
        if self.total == 0 {
            Score::FULL
        } else {
            Score::new(self.credit / self.total as f64)
        }
    }

    /// Puts the kept findings on `grade` and tells the rubric how many the caps dropped, so the
    /// report's "… and N more" counts every failed check, not only the kept findings the
    /// rubric's own cap leaves out.
    pub fn onto(self, grade: CriterionGrade) -> CriterionGrade {
        let mut omitted = self.omitted;
        let findings = self
            .findings
            .into_iter()
            .zip(self.repeats.into_iter().chain(std::iter::repeat(0)))
            .enumerate()
            .map(|(i, (mut f, repeats))| {
                // Past what the report shows, the rubric counts this finding once in "… and N
                // more"; the other files it stands for are counted here.
                if i >= RUBRIC_SHOWN {
                    omitted += repeats;
                    return f;
                }
                match repeats {
                    0 => {}
                    1 => f.message.push_str(" (the same in 1 more file)"),
                    n => f
                        .message
                        .push_str(&format!(" (the same in {n} more files)")),
                }
                f
            })
            .collect();
        grade.with_findings(findings).with_dropped_findings(omitted)
    }

    /// A criterion grade from this tally with a summary naming what was checked.
    pub fn grade(self, id: &str, what: &str) -> CriterionGrade {
        let credit = if self.credit.fract() == 0.0 {
            format!("{:.0}", self.credit)
        } else {
            format!("{:.1}", self.credit)
        };
        let summary = format!(
            "{credit} of {} {what} ({:.1}%)",
            self.total,
            self.score().get() * 100.0
        );
        let score = self.score();
        self.onto(CriterionGrade::new(id, score, summary))
    }
}

/// Everything measured on one input file against its matched output.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileReport {
    /// Index of the input in [`Key::files`].
    pub index: usize,
    /// Privacy measurements.
    pub privacy: privacy::FilePrivacy,
    /// Integrity measurements.
    pub integrity: integrity::FileIntegrity,
    /// Utility measurements.
    pub utility: utility::FileUtility,
    /// Conformance measurements.
    pub conformance: conformance::FileConformance,
}

impl FileReport {
    fn measure(pair: &Pair<'_>) -> Self {
        FileReport {
            index: pair.index,
            privacy: privacy::FilePrivacy::measure(pair),
            integrity: integrity::FileIntegrity::measure(pair),
            utility: utility::FileUtility::measure(pair),
            conformance: conformance::FileConformance::measure(pair),
        }
    }
}

/// What the cross-file checks keep of every file measured so far, folded in file order: running
/// tallies, per-patient and per-study accumulators, and compact ids; never a file's parsed data
/// or its full findings.
#[derive(Debug, Default)]
pub(crate) struct Folded {
    /// Privacy accumulators.
    pub privacy: privacy::PrivacyFold,
    /// Integrity accumulators.
    pub integrity: integrity::IntegrityFold,
    /// Utility accumulators.
    pub utility: utility::UtilityFold,
    /// Conformance accumulators.
    pub conformance: conformance::ConformanceFold,
}

impl Folded {
    /// Folds the next file's report in; reports must come in [`Key::files`] order.
    fn fold(&mut self, key: &Key, report: FileReport) {
        let patient = key.files[report.index].patient;
        let study = report.integrity.original[2].clone();
        self.privacy.fold(patient, report.privacy);
        self.utility.fold(patient, study, report.utility);
        self.conformance.fold(report.conformance);
        self.integrity.fold(report.index, report.integrity);
    }
}

/// The trimmed string value of an element at `tag` (trailing space/NUL padding removed,
/// PS3.5 §6.2), or `None` when absent or not a string.
pub(crate) fn text(obj: &dicom_object::InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let elem = obj.get(tag)?;
    elem.to_str()
        .ok()
        .map(|s| s.trim_end_matches([' ', '\0']).to_owned())
}

/// The trimmed string value of an element.
pub(crate) fn elem_text(elem: &dicom_object::mem::InMemElement) -> Option<String> {
    elem.to_str()
        .ok()
        .map(|s| s.trim_end_matches([' ', '\0']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repeats of findings past what the report shows are counted as dropped, so that count
    /// must be the rubric's.
    #[test]
    fn the_shown_findings_are_the_rubric_s() {
        let rubric = include_str!("../../../../tasks/deid/rubric.toml");
        assert!(
            rubric
                .lines()
                .any(|l| l.trim() == format!("max_findings = {RUBRIC_SHOWN}")),
            "tasks/deid/rubric.toml max_findings"
        );
    }

    /// The failure the folding tests repeat across files.
    fn birth(file: &str) -> Finding {
        Finding::new("Patient's Birth Date is not empty")
            .in_file(file)
            .at("(0010,0030)")
    }

    /// The same failure at the same place in several files is one finding that counts them; a
    /// different place or wording stays its own finding.
    #[test]
    fn one_failure_in_many_files_is_one_finding() {
        let mut criterion = Tally::global();
        for file in ["a.dcm", "b.dcm", "c.dcm"] {
            let mut one = Tally::default();
            one.check(false, || birth(file));
            criterion.absorb(&one);
        }
        let mut other = Tally::default();
        other.check(false, || birth("d.dcm").at("(0040,A730)[0]>(0010,0030)"));
        criterion.absorb(&other);
        let grade = criterion.grade("action_compliance", "actions");
        let messages: Vec<(&str, Option<&str>)> = grade
            .findings
            .iter()
            .map(|f| (f.message.as_str(), f.file.as_deref()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    "Patient's Birth Date is not empty (the same in 2 more files)",
                    Some("a.dcm")
                ),
                ("Patient's Birth Date is not empty", Some("d.dcm")),
            ]
        );
        assert_eq!(grade.findings_dropped, 0);
    }

    /// A failure a file's own cap dropped still counts among the repeats of the same failure
    /// kept from another file, not among the findings left unsaid.
    #[test]
    fn a_repeat_past_a_file_s_cap_is_still_a_repeat() {
        let mut criterion = Tally::global();
        let mut a = Tally::default();
        a.check(false, || birth("a.dcm"));
        criterion.absorb(&a);
        let mut b = Tally::default();
        for i in 0..PER_FILE_FINDINGS {
            b.check(false, || {
                Finding::new(format!("other {i}")).in_file("b.dcm")
            });
        }
        b.check(false, || birth("b.dcm"));
        criterion.absorb(&b);
        let grade = criterion.grade("action_compliance", "actions");
        assert_eq!(
            grade.findings[0].message,
            "Patient's Birth Date is not empty (the same in 1 more file)"
        );
        assert_eq!(
            grade.findings_dropped, 0,
            "every failure is shown or counted once"
        );
        assert_eq!(grade.findings.len(), 1 + PER_FILE_FINDINGS);
    }

    /// The rubric shows 20 findings and says how many more there are: that count must be every
    /// failed check, not the kept findings beyond the rubric's cap (a tally of 247 failures
    /// once read "… and 6 more").
    #[test]
    fn a_capped_tally_reports_every_failed_check_to_the_rubric() {
        let cases = [
            // (failed checks, kept, dropped by the tally)
            (0, 0, 0),
            (7, 7, 0),
            (PER_CRITERION_FINDINGS, PER_CRITERION_FINDINGS, 0),
            (247, PER_CRITERION_FINDINGS, 247 - PER_CRITERION_FINDINGS),
        ];
        for (failed, kept, dropped) in cases {
            let mut t = Tally::global();
            for i in 0..failed {
                t.check(false, || Finding::new(format!("miss {i}")));
            }
            t.check(true, || Finding::new("never built"));
            let grade = t.grade("action_compliance", "actions");
            assert_eq!(
                (grade.findings.len(), grade.findings_dropped),
                (kept, dropped),
                "{failed} failed"
            );
            assert_eq!(grade.findings.len() + grade.findings_dropped, failed);
        }
    }

    #[test]
    fn a_tally_scores_credit_over_checks_and_caps_findings() {
        let mut t = Tally::default();
        assert_eq!(t.score(), Score::FULL, "nothing checked is full marks");
        for i in 0..5 {
            t.check(i == 0, || Finding::new(format!("miss {i}")));
        }
        t.credit(0.5, || Finding::new("half"));
        assert_eq!(t.total, 6);
        assert!((t.score().get() - 1.5 / 6.0).abs() < 1e-12);
        assert_eq!(t.findings.len(), PER_FILE_FINDINGS);
        assert_eq!(t.omitted, 5 - PER_FILE_FINDINGS);
        let mut all = Tally::global();
        all.absorb(&t);
        let grade = all.grade("c", "checks");
        assert_eq!(
            grade.findings.len(),
            PER_FILE_FINDINGS,
            "no closing finding"
        );
        assert_eq!(grade.findings_dropped, 2);
    }
}

//! The first pass over the submission: list what the candidate wrote without following links,
//! read each file within caps, scan it for planted identifiers (decoded values at every depth
//! and file meta, raw bytes, relative path: research/deid.md §4.4 A1) and record the little the
//! matcher needs. Nothing here trusts the candidate: a symlink, a folder loop, a non-UTF-8 name,
//! a huge or non-DICOM file is a finding, never a read outside the folder or a crash.

use std::collections::BTreeMap;
use std::path::Path;

use dicom_core::DataElement;
use dicom_core::header::Header;
use dicom_dictionary_std::{tags, uids};
use dicom_object::mem::InMemElement;
use rayon::prelude::*;
use walkdir::WalkDir;
use worksample_dicom::read::{DicomFile, Framing, ReadLimits, data_set_bytes, read_bytes};
use worksample_task::Progress;
use worksample_task::rubric::Finding;
use worksample_task::submission::{self, Caps};

use super::matching;
use crate::contract::{PATIENT_MAP, UID_MAP};
use crate::key::Key;
use crate::leak::{self, Leak, LeakSite};
use crate::planted::{IdentifierClass, Registry};

/// Largest output file read. Fixture files are well under 1 MiB (the `hard` profile's largest,
/// an Enhanced MR, is about 120 KB), and a de-identified file is about its input's size; a file
/// beyond this is a finding, not an allocation. Files are read and parsed a chunk at a time on
/// every core, and parsing can take several times a file's size (empty sequence items), so this
/// bounds the grader's memory on a many-core machine too.
const MAX_OUTPUT_BYTES: u64 = 64 << 20;

/// Most entries listed in the submission folder; beyond it the walk stops with a note.
const MAX_ENTRIES: usize = 100_000;

/// Deepest folder nesting walked; an entry below it is a finding, named, and not read.
const MAX_FOLDER_DEPTH: usize = 32;

/// Leaks kept per identifier per file and site kind: enough to show where, bounded in memory.
const LEAKS_PER_FILE: usize = 3;

/// What the matcher needs to know about one readable output file.
#[derive(Debug, Clone)]
pub(crate) struct OutputInfo {
    /// Path relative to the submission, `/`-separated.
    pub rel: String,
    /// The pixel fingerprint, for images.
    pub pixel_fingerprint: Option<[u8; 32]>,
    /// Values at the key's attribute-fingerprint paths, in [`matching::attribute_paths`] order.
    pub attributes: Vec<Option<String>>,
    /// The digest of the header fields for the fallback match of images whose pixels changed.
    pub header: matching::HeaderDigest,
    /// How the file was framed (PS3.10 §7.1).
    pub framing: Framing,
}

/// The submission as listed and scanned.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    /// Readable DICOM output files, sorted by path.
    pub outputs: Vec<OutputInfo>,
    /// Planted identifiers found in values, bytes and paths of every file but the two maps,
    /// folded file by file.
    pub leaks: LeakTally,
    /// Entries that are not usable outputs (junk, DICOMDIR, links, unreadable files), with why.
    pub extras: Vec<Finding>,
    /// The two map files as read, by name; a finding when missing or unreadable.
    pub maps: BTreeMap<&'static str, Result<Vec<u8>, Finding>>,
}

/// The two leak criteria's shares of the identifier classes (research/deid.md §4.4 A1): direct
/// identifiers gate the privacy category, the rest are weighed together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeakGroup {
    /// [`IdentifierClass::Direct`].
    Direct,
    /// Indirect identifiers, original dates and original UIDs.
    Indirect,
}

impl LeakGroup {
    /// The group of a class.
    fn of(class: IdentifierClass) -> Self {
        match class {
            IdentifierClass::Direct => LeakGroup::Direct,
            IdentifierClass::Indirect | IdentifierClass::Date | IdentifierClass::Uid => {
                LeakGroup::Indirect
            }
        }
    }

    /// The classes of the group.
    pub(crate) fn classes(self) -> &'static [IdentifierClass] {
        match self {
            LeakGroup::Direct => &[IdentifierClass::Direct],
            LeakGroup::Indirect => &[
                IdentifierClass::Indirect,
                IdentifierClass::Date,
                IdentifierClass::Uid,
            ],
        }
    }

    fn slot(self) -> usize {
        match self {
            LeakGroup::Direct => 0,
            LeakGroup::Indirect => 1,
        }
    }
}

/// How an identifier was found in a file, the unit leak findings are grouped by: one finding per
/// identifier and kind, naming the files, rather than one per file (a birth date in the folder
/// name of 17 files once filled every finding slot while the name and MRN beside it went
/// unnamed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SiteKind {
    /// In a decoded value.
    Value,
    /// In the file's path.
    Path,
    /// In the raw bytes, where no decoded value of the file holds it.
    Bytes,
    /// In a deflated data set's inflated bytes, where no decoded value of the file holds it.
    Inflated,
    /// Burned into the pixels, the text band not blanked.
    Pixels,
}

impl SiteKind {
    fn of(site: &LeakSite) -> Self {
        match site {
            LeakSite::Value(_) => SiteKind::Value,
            LeakSite::Path => SiteKind::Path,
            LeakSite::Bytes { .. } => SiteKind::Bytes,
            LeakSite::Inflated { .. } => SiteKind::Inflated,
            LeakSite::Pixels => SiteKind::Pixels,
        }
    }
}

/// Files to name per identifier and site kind: enough to show where, while the count says how
/// widely.
pub(crate) const FILES_NAMED: usize = 3;

/// Where one identifier leaked in one [`SiteKind`]: how many files, and the first few files
/// (by path) with the first leak of that kind in each.
#[derive(Debug, Clone, Default)]
pub(crate) struct LeakSpread {
    /// Files it leaked from in this way.
    pub files: usize,
    /// The [`FILES_NAMED`] files that sort first, each with its first leak of this kind.
    pub first: Vec<Leak>,
}

/// Leaks of one [`LeakGroup`], per identifier and site kind. Bounded by the registry (only
/// planted values are found) times the four kinds, never by the number of files.
#[derive(Debug, Default)]
struct GroupLeaks {
    spread: BTreeMap<(String, SiteKind), LeakSpread>,
}

/// One output file among those the leak figure shows.
#[derive(Debug, Clone)]
pub(crate) struct LeakyFile {
    /// Weight of the distinct identifiers leaked (direct counts 3).
    pub weight: f64,
    /// The file, relative to the submission.
    pub file: String,
    /// Its leaks (a few per identifier and site kind).
    pub leaks: Vec<Leak>,
}

/// Every leak of the submission folded file by file into what the leak criteria and figure
/// need: the distinct identifiers leaked (bounded by the registry), per group a count and the
/// first findings, and the most serious files. Nothing here grows with the number of files.
#[derive(Debug, Default)]
pub(crate) struct LeakTally {
    /// Each identifier leaked anywhere, with its class.
    distinct: BTreeMap<String, IdentifierClass>,
    /// Per [`LeakGroup::slot`].
    groups: [GroupLeaks; 2],
    /// Files with at least one leak.
    files: usize,
    /// The [`super::figures::LEAK_FILES_SHOWN`] most serious files, most serious first.
    worst: Vec<LeakyFile>,
}

impl LeakTally {
    /// Folds in the leaks of one file (every leak of `leaks` names `file`).
    pub(crate) fn add_file(&mut self, file: &str, leaks: Vec<Leak>) {
        if leaks.is_empty() {
            return;
        }
        self.files += 1;
        let mut first_here: BTreeMap<&str, &Leak> = BTreeMap::new();
        let mut kinds: BTreeMap<(&str, SiteKind), &Leak> = BTreeMap::new();
        for l in &leaks {
            first_here.entry(l.value.as_str()).or_insert(l);
            kinds
                .entry((l.value.as_str(), SiteKind::of(&l.site)))
                .or_insert(l);
        }
        for (value, l) in &first_here {
            if !self.distinct.contains_key(*value) {
                self.distinct.insert((*value).to_owned(), l.class);
            }
        }
        for (&(value, kind), l) in &kinds {
            // Bytes holding a value the decoded scan already found are that same leak again.
            let seen_decoded = kinds.contains_key(&(value, SiteKind::Value));
            match kind {
                SiteKind::Bytes | SiteKind::Inflated if seen_decoded => continue,
                SiteKind::Value
                | SiteKind::Path
                | SiteKind::Bytes
                | SiteKind::Inflated
                | SiteKind::Pixels => {}
            }
            self.spread(file, kind, l);
        }
        let classes: BTreeMap<&str, IdentifierClass> =
            first_here.iter().map(|(v, l)| (*v, l.class)).collect();
        let weight: f64 = classes.values().map(|c| c.weight()).sum();
        let worse = |w: &LeakyFile| {
            w.weight
                .total_cmp(&weight)
                .reverse()
                .then_with(|| w.file.as_str().cmp(file))
        };
        let at = self.worst.partition_point(|w| worse(w).is_lt());
        if at < super::figures::LEAK_FILES_SHOWN {
            self.worst.insert(
                at,
                LeakyFile {
                    weight,
                    file: file.to_owned(),
                    leaks,
                },
            );
            self.worst.truncate(super::figures::LEAK_FILES_SHOWN);
        }
    }

    /// Folds in the identifiers burned into the pixels of the output `file`, whose text band was
    /// left: leaked like any other and named in findings, but not among the leak figure's
    /// files, since the burned-in band figures picture them.
    pub(crate) fn add_pixels(&mut self, file: &str, leaks: &[Leak]) {
        for l in leaks {
            self.distinct.entry(l.value.clone()).or_insert(l.class);
            self.spread(file, SiteKind::Pixels, l);
        }
    }

    /// Counts `leak`, found in `file` in the way `kind`, in its identifier's spread, keeping it
    /// among the first files named when it sorts there.
    fn spread(&mut self, file: &str, kind: SiteKind, leak: &Leak) {
        let group = &mut self.groups[LeakGroup::of(leak.class).slot()];
        let spread = group.spread.entry((leak.value.clone(), kind)).or_default();
        spread.files += 1;
        let at = spread.first.partition_point(|f| f.file.as_str() < file);
        if at < FILES_NAMED {
            spread.first.insert(at, leak.clone());
            spread.first.truncate(FILES_NAMED);
        }
    }

    /// Files with at least one leak.
    pub(crate) fn files(&self) -> usize {
        self.files
    }

    /// The most serious files, most serious first, at most
    /// [`super::figures::LEAK_FILES_SHOWN`].
    pub(crate) fn worst(&self) -> &[LeakyFile] {
        &self.worst
    }

    /// Distinct identifiers of the group leaked.
    pub(crate) fn distinct(&self, group: LeakGroup) -> usize {
        self.distinct
            .values()
            .filter(|c| LeakGroup::of(**c) == group)
            .count()
    }

    /// The group's leak score ([`leak::score_values`]).
    pub(crate) fn score(&self, registry: &Registry, group: LeakGroup) -> f64 {
        let leaked = self
            .distinct
            .iter()
            .filter(|(_, c)| LeakGroup::of(**c) == group)
            .map(|(v, _)| v.as_str());
        leak::score_values(leaked, registry, group.classes())
    }

    /// Where each identifier of the group leaked, one entry per identifier and site kind, in
    /// the order findings show them: every identifier's first kind before any identifier's
    /// second, so each leaked identifier is named once before any is named twice; within a
    /// round the widest spread first.
    pub(crate) fn spreads(&self, group: LeakGroup) -> Vec<(&str, SiteKind, &LeakSpread)> {
        let spread = &self.groups[group.slot()].spread;
        let mut rounds: BTreeMap<&str, usize> = BTreeMap::new();
        let mut all: Vec<(usize, &str, SiteKind, &LeakSpread)> = spread
            .iter()
            .map(|((value, kind), s)| {
                let round = rounds.entry(value.as_str()).or_default();
                *round += 1;
                (*round, value.as_str(), *kind, s)
            })
            .collect();
        all.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| b.3.files.cmp(&a.3.files))
                .then_with(|| (a.1, a.2).cmp(&(b.1, b.2)))
        });
        all.into_iter().map(|(_, v, k, s)| (v, k, s)).collect()
    }

    /// The tally of a list of leaks, for tests.
    #[cfg(test)]
    pub(crate) fn of(leaks: &[Leak]) -> Self {
        let mut by_file: BTreeMap<&str, Vec<Leak>> = BTreeMap::new();
        for l in leaks {
            by_file.entry(l.file.as_str()).or_default().push(l.clone());
        }
        let mut tally = LeakTally::default();
        for (file, leaks) in by_file {
            tally.add_file(file, leaks);
        }
        tally
    }
}

/// One listed entry before reading.
enum Entry {
    /// A regular file to read, by relative path.
    File(String),
    /// Something that is not a usable file, with why.
    Extra(Finding),
}

/// Lists, reads and scans the submission.
pub(crate) fn take(
    key: &Key,
    submission: &Path,
    progress: &dyn Progress,
    notes: &mut Vec<String>,
) -> Inventory {
    let mut inventory = Inventory::default();
    let entries = list(submission, notes);
    let attr_paths = matching::attribute_paths(key);
    for name in [PATIENT_MAP, UID_MAP] {
        let read = submission::read_bytes(submission, name, &Caps::default())
            .map_err(|p| Finding::new(p.to_string()).in_file(name));
        inventory.maps.insert(name, read);
    }
    let files: Vec<String> = entries
        .into_iter()
        .filter_map(|e| match e {
            Entry::File(rel) if rel == PATIENT_MAP || rel == UID_MAP => None,
            Entry::File(rel) => Some(rel),
            Entry::Extra(finding) => {
                // A link or odd file is never read, but its name can still leak.
                if let Some(file) = &finding.file {
                    inventory
                        .leaks
                        .add_file(file, leak::scan_path(file, &key.registry));
                }
                inventory.extras.push(finding);
                None
            }
        })
        .collect();

    progress.start("scanning de-identified files", files.len() as u64);
    // A chunk at a time, so only one chunk's leak lists are held; each file's leaks are folded
    // into bounded accumulators as soon as its chunk is scanned.
    for chunk in files.chunks(super::CHUNK) {
        let scanned: Vec<Scanned> = chunk
            .par_iter()
            .map(|rel| {
                let s = scan(key, submission, rel, &attr_paths);
                progress.advance(1);
                s
            })
            .collect();
        for (rel, s) in chunk.iter().zip(scanned) {
            inventory.leaks.add_file(rel, s.leaks);
            match s.outcome {
                Ok(info) => inventory.outputs.push(info),
                Err(finding) => inventory.extras.push(finding),
            }
        }
    }
    progress.finish();
    inventory.outputs.sort_by(|a, b| a.rel.cmp(&b.rel));
    inventory
}

/// Walks the folder without following links.
fn list(submission: &Path, notes: &mut Vec<String>) -> Vec<Entry> {
    let mut out = Vec::new();
    let walker = WalkDir::new(submission)
        .follow_links(false)
        // One level more than is read, so what lies deeper is seen and named, not skipped
        // silently.
        .max_depth(MAX_FOLDER_DEPTH + 1)
        .sort_by_file_name();
    for entry in walker {
        if out.len() >= MAX_ENTRIES {
            notes.push(format!(
                "the submission holds more than {MAX_ENTRIES} entries; the rest were not graded (cap hit: entries)"
            ));
            break;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.push(Entry::Extra(Finding::new(format!(
                    "an entry of the submission folder cannot be listed: {e}"
                ))));
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let rel_path = entry
            .path()
            .strip_prefix(submission)
            .unwrap_or(entry.path());
        let ft = entry.file_type();
        let Some(rel) = rel_path.to_str().map(|s| s.replace('\\', "/")) else {
            out.push(Entry::Extra(
                Finding::new("a file or folder name is not valid UTF-8; it was not read")
                    .in_file(rel_path.to_string_lossy().into_owned()),
            ));
            continue;
        };
        if entry.depth() > MAX_FOLDER_DEPTH {
            out.push(Entry::Extra(
                Finding::new(format!(
                    "lies deeper than {MAX_FOLDER_DEPTH} folders; it and anything below it were \
                     not read"
                ))
                .in_file(rel),
            ));
            continue;
        }
        if ft.is_dir() {
            continue;
        }
        if ft.is_symlink() {
            out.push(Entry::Extra(
                Finding::new("is a symbolic link; outputs must be regular files").in_file(rel),
            ));
        } else if !ft.is_file() {
            out.push(Entry::Extra(
                Finding::new("is a special file, not a regular file").in_file(rel),
            ));
        } else {
            out.push(Entry::File(rel));
        }
    }
    out
}

/// One file's scan.
struct Scanned {
    leaks: Vec<Leak>,
    outcome: Result<OutputInfo, Finding>,
}

/// Reads one output file within caps.
pub(crate) fn read_output(submission: &Path, rel: &str) -> Result<(Vec<u8>, DicomFile), Finding> {
    let caps = Caps {
        max_bytes: MAX_OUTPUT_BYTES,
    };
    let bytes = submission::read_bytes(submission, rel, &caps)
        .map_err(|p| Finding::new(p.to_string()).in_file(rel))?;
    let dicom = read_bytes(&bytes, Path::new(rel), &ReadLimits::default(), false)
        .map_err(|e| Finding::new(format!("is not a readable DICOM file: {e}")).in_file(rel))?;
    Ok((bytes, dicom))
}

fn scan(key: &Key, submission: &Path, rel: &str, attr_paths: &[crate::paths::AttrPath]) -> Scanned {
    let mut leaks = leak::scan_path(rel, &key.registry);
    let is_dicomdir = rel
        .rsplit('/')
        .next()
        .is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR"));
    let (bytes, dicom) = match read_output(submission, rel) {
        Ok(read) => read,
        Err(finding) => {
            // Still search what can be read: a stray text file can leak as much as a DICOM one.
            if let Ok(bytes) = submission::read_bytes(
                submission,
                rel,
                &Caps {
                    max_bytes: MAX_OUTPUT_BYTES,
                },
            ) {
                leaks.extend(leak::scan_bytes(rel, &bytes, &key.registry));
            }
            return Scanned {
                leaks: thin(leaks),
                outcome: Err(finding),
            };
        }
    };
    leaks.extend(leak::scan_bytes(
        rel,
        scan_region(&bytes, &dicom),
        &key.registry,
    ));
    // A deflated data set (PS3.5 §A.5) stores its values compressed: its bytes are searched as
    // inflated too, or an identifier in a value the decoded-value scan skips (OB, UN) would hide.
    if dicom.transfer_syntax == uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN {
        if let Ok(body) = data_set_bytes(&bytes, Path::new(rel), &ReadLimits::default()) {
            leaks.extend(leak::scan_inflated(
                rel,
                scan_region(&body, &dicom),
                &key.registry,
            ));
        }
    }
    let meta: Vec<InMemElement> = dicom
        .meta
        .as_ref()
        .map(|m| {
            m.to_element_iter()
                .filter_map(|e| {
                    e.value()
                        .primitive()
                        .map(|p| DataElement::new(e.tag(), e.vr(), p.clone()))
                })
                .collect()
        })
        .unwrap_or_default();
    leaks.extend(leak::scan_values(rel, &meta, &dicom.dataset, &key.registry));
    let outcome = if is_dicomdir {
        Err(Finding::new(
            "is a DICOMDIR; the contract asks for none (its records would hold stale identifiers)",
        )
        .in_file(rel))
    } else {
        Ok(OutputInfo {
            rel: rel.to_owned(),
            pixel_fingerprint: matching::pixel_fingerprint(&dicom.dataset),
            attributes: attr_paths
                .iter()
                .map(|p| p.find(&dicom.dataset).and_then(super::elem_text))
                .collect(),
            header: matching::HeaderKey::of(&dicom.dataset).digest(),
            framing: dicom.framing,
        })
    };
    Scanned {
        leaks: thin(leaks),
        outcome,
    }
}

/// The bytes worth a raw search: the file without its native Pixel Data value when that value
/// ends the file (planted identifiers are never pixel bytes; searching megabytes of pixels for
/// hundreds of identifiers is what would make grading slow).
fn scan_region<'a>(bytes: &'a [u8], dicom: &DicomFile) -> &'a [u8] {
    let pixels = dicom
        .dataset
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.value().to_bytes().ok());
    match pixels {
        Some(p) if !p.is_empty() && bytes.ends_with(&p) => &bytes[..bytes.len() - p.len()],
        Some(_) | None => bytes,
    }
}

/// Keeps a few leaks per identifier and site kind.
fn thin(leaks: Vec<Leak>) -> Vec<Leak> {
    let mut seen: BTreeMap<(String, u8), usize> = BTreeMap::new();
    leaks
        .into_iter()
        .filter(|l| {
            let kind = match l.site {
                LeakSite::Value(_) => 0,
                LeakSite::Bytes { .. } | LeakSite::Inflated { .. } => 1,
                LeakSite::Path => 2,
                LeakSite::Pixels => 3,
            };
            let n = seen.entry((l.value.clone(), kind)).or_default();
            *n += 1;
            *n <= LEAKS_PER_FILE
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::figures::LEAK_FILES_SHOWN;

    fn leak(value: String, class: IdentifierClass, file: &str) -> Leak {
        Leak {
            value,
            class,
            file: file.to_owned(),
            site: LeakSite::Path,
        }
    }

    /// An entry nested past the walk's depth is named, not skipped silently; one at the last
    /// level read is listed as a file.
    #[test]
    fn entries_below_the_depth_cap_are_findings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut at_cap = dir.path().to_path_buf();
        for level in 0..MAX_FOLDER_DEPTH - 1 {
            at_cap.push(format!("d{level}"));
        }
        // `deeper` is at the last level read; `deepest` below it, and the file in it further.
        let below = at_cap.join("deeper").join("deepest");
        std::fs::create_dir_all(&below).expect("folders");
        std::fs::write(at_cap.join("last.dcm"), b"x").expect("file at the cap");
        std::fs::write(below.join("hidden.dcm"), b"x").expect("file below the cap");
        let mut notes = Vec::new();
        let entries = list(dir.path(), &mut notes);
        let files: Vec<&str> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::File(rel) => Some(rel.as_str()),
                Entry::Extra(_) => None,
            })
            .collect();
        assert_eq!(files.len(), 1);
        assert!(files[0].ends_with("/last.dcm"), "{files:?}");
        let extras: Vec<&Finding> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Extra(f) => Some(f),
                Entry::File(_) => None,
            })
            .collect();
        assert_eq!(extras.len(), 1, "{extras:?}");
        assert!(
            extras[0]
                .file
                .as_deref()
                .is_some_and(|f| f.ends_with("/deeper/deepest")),
            "{extras:?}"
        );
        assert!(extras[0].message.contains("deeper than 32 folders"));
        assert!(notes.is_empty());
    }

    /// What the tally holds must not grow with the files folded in: a set whose every file
    /// leaks keeps the same few findings and figure files as a set of a few dozen.
    #[test]
    fn the_leak_tally_stays_bounded_however_many_files_leak() {
        let mut tally = LeakTally::default();
        for f in 0..2_000 {
            let file = format!("out/{f:05}.dcm");
            let mut leaks: Vec<Leak> = (0..20)
                .map(|v| {
                    let class = if v % 2 == 0 {
                        IdentifierClass::Direct
                    } else {
                        IdentifierClass::Date
                    };
                    leak(format!("ID{v:04}XYZ"), class, &file)
                })
                .collect();
            if f == 1_500 {
                leaks.push(leak(
                    "EXTRA-DIRECT".to_owned(),
                    IdentifierClass::Direct,
                    &file,
                ));
            }
            // Found twice in one file: one (identifier, file) pair.
            leaks.push(leak("ID0000XYZ".to_owned(), IdentifierClass::Direct, &file));
            tally.add_file(&file, leaks);
        }
        assert_eq!(tally.files(), 2_000);
        assert_eq!(tally.distinct(LeakGroup::Direct), 11);
        assert_eq!(tally.distinct(LeakGroup::Indirect), 10);
        // One spread per identifier (all in paths), each naming a few files and counting all.
        let direct = tally.spreads(LeakGroup::Direct);
        assert_eq!(direct.len(), 11);
        assert!(
            direct
                .iter()
                .all(|(_, kind, s)| *kind == SiteKind::Path && s.first.len() <= FILES_NAMED)
        );
        let files: Vec<(&str, usize)> = direct.iter().map(|(v, _, s)| (*v, s.files)).collect();
        assert_eq!(
            files[0],
            ("ID0000XYZ", 2_000),
            "found twice in a file: counted once"
        );
        assert_eq!(files[10], ("EXTRA-DIRECT", 1), "the narrowest last");
        let named: Vec<&str> = direct[0].2.first.iter().map(|l| l.file.as_str()).collect();
        assert_eq!(named, ["out/00000.dcm", "out/00001.dcm", "out/00002.dcm"]);
        assert_eq!(tally.spreads(LeakGroup::Indirect).len(), 10);
        assert_eq!(tally.worst().len(), LEAK_FILES_SHOWN);
        let worst: Vec<&str> = tally.worst().iter().map(|w| w.file.as_str()).collect();
        assert_eq!(
            worst[..3],
            ["out/01500.dcm", "out/00000.dcm", "out/00001.dcm"]
        );
    }

    /// One identifier in values of one file and the path of two: two spreads, the value first;
    /// the same value in that file's raw bytes is the decoded leak again, not a third.
    #[test]
    fn leaks_group_by_identifier_and_site_kind() {
        let at = |value: &str, file: &str, site: LeakSite| Leak {
            value: value.to_owned(),
            class: IdentifierClass::Direct,
            file: file.to_owned(),
            site,
        };
        let name = crate::paths::AttrPath::top(crate::paths::ElementKey::Tag(tags::PATIENT_NAME));
        let tally = LeakTally::of(&[
            at("DOE^JO", "DOE/1.dcm", LeakSite::Path),
            at("DOE^JO", "DOE/1.dcm", LeakSite::Bytes { offset: 9 }),
            at("DOE^JO", "DOE/1.dcm", LeakSite::Value(name.clone())),
            at("DOE^JO", "DOE/2.dcm", LeakSite::Path),
            at("MRN1", "x/3.dcm", LeakSite::Bytes { offset: 4 }),
            at("MRN1", "x/4.dcm", LeakSite::Bytes { offset: 8 }),
        ]);
        let got: Vec<(&str, SiteKind, usize, Vec<&str>)> = tally
            .spreads(LeakGroup::Direct)
            .into_iter()
            .map(|(v, k, s)| {
                (
                    v,
                    k,
                    s.files,
                    s.first.iter().map(|l| l.file.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("MRN1", SiteKind::Bytes, 2, vec!["x/3.dcm", "x/4.dcm"]),
                ("DOE^JO", SiteKind::Value, 1, vec!["DOE/1.dcm"]),
                ("DOE^JO", SiteKind::Path, 2, vec!["DOE/1.dcm", "DOE/2.dcm"]),
            ]
        );
    }
}

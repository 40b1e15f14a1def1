//! The grader: reads `volumes.json` within caps, checks it against the published schema, and
//! measures the seven rubric criteria of research/series.md §4.5 plus the trap card.
//!
//! Candidate files are identified only by their path relative to the input folder; every other
//! field the candidate writes is measured, never trusted for matching. A schema failure scores
//! every criterion 0 with the validation errors as findings.
//!
//! For assessors, [`grade_with_figures`] also draws every true volume as a strip of slice
//! thumbnails in the submission's order, with misplaced, foreign and missing slices and the
//! expected anomalies marked. The figures are hidden from candidates: a correctly ordered strip
//! is the key.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rayon::prelude::*;
use serde_json::Value;
use worksample_dicom::preview::Slice;
use worksample_dicom::read::{ReadLimits, read_full};
use worksample_task::metrics::{self, Counts};
use worksample_task::rubric::{
    Card, CardRow, CriterionGrade, Figure, FigureKind, Finding, Grade, Mark, MarkKind, PngImage,
    Score, Tile,
};
use worksample_task::submission::{self, Caps};

use crate::key::{FileTruth, InstanceId, Key, Locator, TrapCheck, VolumeId};
use crate::output::{
    AnomalyKind, ExclusionReason, InstanceRef, OUTPUT_FILE, Output, SCHEMA_VERSION,
};

/// The rubric's criterion ids, in rubric order.
pub const CRITERIA: [&str; 7] = [
    "coverage",
    "triage",
    "volumes_exact",
    "bcubed",
    "ordering",
    "geometry",
    "anomalies",
];

/// The harness manifest the pipeline writes beside the fixtures; candidates skip it.
pub const MANIFEST: &str = worksample_task::MANIFEST_FILE;

/// Fewest tiles a volume figure may hold before it is cut (twice the volume's size if larger).
const MAX_TILES: usize = 256;

/// Most findings listed per volume for one criterion, so one bad volume cannot crowd out the rest.
const PER_VOLUME_FINDINGS: usize = 3;

/// Grades the submission folder: reads and validates `volumes.json`, then measures it.
pub fn grade_submission(schema: &Value, key: &Key, submission: &Path) -> Result<Grade, String> {
    grade_parsed(schema, key, submission).map(|(grade, _)| grade)
}

/// [`grade_submission`] plus one figure per true volume: slices from the key's thumbnails, drawn
/// during regeneration, and any other from the trusted `fixtures`.
pub fn grade_with_figures(
    schema: &Value,
    key: &Key,
    submission: &Path,
    fixtures: &Path,
) -> Result<Grade, String> {
    let (mut grade, out) = grade_parsed(schema, key, submission)?;
    grade.figures = volume_figures(key, out.as_ref(), fixtures);
    Ok(grade)
}

/// The grade, and the parsed output when it was usable.
fn grade_parsed(
    schema: &Value,
    key: &Key,
    submission: &Path,
) -> Result<(Grade, Option<Output>), String> {
    let doc: Value = match submission::read_json(submission, OUTPUT_FILE, &Caps::default()) {
        Ok(v) => v,
        Err(problem) => {
            return Ok((
                failed(
                    format!("no usable {OUTPUT_FILE}: {problem}"),
                    vec![Finding::new(problem.to_string()).in_file(OUTPUT_FILE)],
                ),
                None,
            ));
        }
    };
    let errors = crate::schema::validate(schema, &doc)?;
    if errors.total() > 0 {
        let findings = errors
            .listed
            .iter()
            .map(|e| {
                let at = if e.path.is_empty() {
                    "/"
                } else {
                    e.path.as_str()
                };
                Finding::new(e.message.clone()).in_file(OUTPUT_FILE).at(at)
            })
            .collect();
        let mut grade = failed(
            format!(
                "{OUTPUT_FILE} does not match output.schema.json ({}); every criterion scores 0",
                match errors.total() {
                    1 => "1 error".to_owned(),
                    n => format!("{n} errors"),
                }
            ),
            findings,
        );
        // The findings sit under the first criterion (`Grade::unusable`); so does their count.
        if let Some(first) = grade.criteria.first_mut() {
            first.findings_dropped += errors.dropped;
        }
        return Ok((grade, None));
    }
    match serde_json::from_value::<Output>(doc) {
        Ok(out) => Ok((grade_output(key, &out), Some(out))),
        // The schema and the types agree (a test checks it), so this is a harness fault.
        Err(e) => Err(format!(
            "{OUTPUT_FILE} passed the schema but not the typed reader: {e}"
        )),
    }
}

/// Every criterion 0, the findings once, and a note saying why.
fn failed(note: String, findings: Vec<Finding>) -> Grade {
    Grade::unusable(&CRITERIA, "the output", note, findings)
}

/// A candidate volume resolved against the key.
struct Predicted<'a> {
    /// The candidate's id, for findings.
    id: &'a str,
    /// Key images in the candidate's order (repeats kept: a repeat costs its share of the order).
    order: Vec<InstanceId>,
    /// The same as a set.
    set: BTreeSet<InstanceId>,
}

/// Everything measured for one key volume, reused by the trap card.
#[derive(Default, Clone, Copy)]
struct VolumeOutcome {
    exact: Option<usize>,
    matched: Option<usize>,
    ordered: bool,
    flags_exact: bool,
}

/// Most entries naming unknown files that get a finding of their own.
const MAX_UNKNOWN_FINDINGS: usize = 20;
/// Most characters of a candidate's path echoed in a finding: a path is the candidate's text and
/// may be megabytes long.
const MAX_ECHOED_PATH: usize = 200;

/// A candidate path as echoed in findings: cut to [`MAX_ECHOED_PATH`] characters.
fn shorten(path: &str) -> String {
    match path.char_indices().nth(MAX_ECHOED_PATH) {
        None => path.to_owned(),
        Some((cut, _)) => format!("{}… ({} bytes in all)", &path[..cut], path.len()),
    }
}

/// Why a path names no input file, in words the candidate can act on.
fn why_unknown(path: &str) -> &'static str {
    if path.starts_with('/') || path.starts_with('\\') || path.get(1..2) == Some(":") {
        "names an absolute path: write it relative to the input folder (e.g. `a/b.dcm`)"
    } else if path.split(['/', '\\']).any(|part| part == "..") {
        "names a path that leaves the input folder (`..`): write it relative to the input folder"
    } else if path.is_empty() || path.contains('\0') {
        "names an empty or malformed path"
    } else {
        "names a file that is not in the input"
    }
}

/// Normalises a candidate path (`./a//b` → `a/b`); `None` when it is unsafe.
fn norm(path: &str) -> Option<String> {
    let p = submission::safe_relative(path).ok()?;
    let parts: Vec<String> = p
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

/// Measures a parsed output against the key.
pub fn grade_output(key: &Key, out: &Output) -> Grade {
    let mut notes = Vec::new();
    if out.schema_version != SCHEMA_VERSION {
        notes.push(format!("schema_version is {}", out.schema_version));
    }
    // Findings name volumes by their ids: one id on several volumes makes them ambiguous, though
    // the schema allows it and nothing is scored on ids.
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    for v in &out.volumes {
        *ids.entry(v.id.as_str()).or_default() += 1;
    }
    let shared: Vec<String> = ids
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, n)| format!("`{}` ({n} volumes)", shorten(id)))
        .collect();
    if !shared.is_empty() {
        notes.push(format!(
            "volume ids used more than once: {}; findings that name these ids are ambiguous \
             (ids are not scored)",
            shared
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // Where each key file was put: volumes (candidate volume index) and exclusions.
    let mut in_volumes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut excluded: BTreeMap<String, Vec<ExclusionReason>> = BTreeMap::new();
    let mut unknown: Vec<(String, String)> = Vec::new();
    let mut predicted = Vec::with_capacity(out.volumes.len());
    for (j, v) in out.volumes.iter().enumerate() {
        let mut order = Vec::new();
        for r in &v.instances {
            match norm(&r.file) {
                Some(f) if key.files.contains_key(&f) => {
                    if let Some(id) = key.instance_of(&f) {
                        order.push(id);
                    }
                    in_volumes.entry(f).or_default().push(j);
                }
                Some(f) if f == MANIFEST => {}
                _ => unknown.push((r.file.clone(), format!("volume `{}`", v.id))),
            }
        }
        let set = order.iter().copied().collect();
        predicted.push(Predicted {
            id: &v.id,
            order,
            set,
        });
    }
    for e in &out.excluded {
        match norm(&e.file) {
            Some(f) if key.files.contains_key(&f) => excluded.entry(f).or_default().push(e.reason),
            Some(f) if f == MANIFEST => {}
            _ => unknown.push((e.file.clone(), "`excluded`".to_owned())),
        }
    }

    let coverage = coverage(key, &in_volumes, &excluded, &unknown);
    let triage = triage(key, &in_volumes, &excluded);
    let truth_sets: Vec<BTreeSet<InstanceId>> = key
        .volumes
        .iter()
        .map(|v| v.instances.iter().copied().collect())
        .collect();
    let pred_sets: Vec<BTreeSet<InstanceId>> = predicted.iter().map(|p| p.set.clone()).collect();
    let mut outcomes = vec![VolumeOutcome::default(); key.volumes.len()];
    let repeated = matched_volumes(&truth_sets, &pred_sets, &mut outcomes);
    let volumes_exact = volumes_exact(key, &truth_sets, &predicted, &mut outcomes);
    let bcubed = bcubed(key, &predicted);
    let mut ordering = ordering(key, &predicted, &mut outcomes);
    // A volume listed more than once is named first: it is why that volume scores nothing.
    let mut named: Vec<Finding> = repeated
        .iter()
        .map(|(k, js)| {
            let ids: Vec<String> = js
                .iter()
                .map(|j| format!("`{}`", predicted[*j].id))
                .collect();
            Finding::new(format!(
                "volume `{}` is listed more than once (your {}): a repeated volume matches none, so its order, geometry and flags score 0",
                key.volumes[*k].name,
                ids.join(", ")
            ))
        })
        .collect();
    named.append(&mut ordering.findings);
    ordering.findings = named;
    let geometry = geometry(key, out, &predicted, &outcomes);
    let anomalies = anomalies(key, out, &predicted, &mut outcomes);
    let card = trap_card(key, &in_volumes, &excluded, &outcomes);
    Grade {
        criteria: vec![
            coverage,
            triage,
            volumes_exact,
            bcubed,
            ordering,
            geometry,
            anomalies,
        ],
        cards: vec![card],
        notes,
        figures: Vec::new(),
    }
}

/// Matches true volumes to the candidate's at IoU > 0.5 (research/series.md §4.5). Disjoint
/// volumes match at most one true volume each way; two submitted volumes can match the same
/// true volume only when they share files, i.e. the volume is listed more than once. Such a
/// true volume is left unmatched whatever the list order, so a copy can neither earn twice nor
/// hedge between two orders; the repeats are returned for a finding.
fn matched_volumes(
    truth_sets: &[BTreeSet<InstanceId>],
    pred_sets: &[BTreeSet<InstanceId>],
    outcomes: &mut [VolumeOutcome],
) -> BTreeMap<usize, Vec<usize>> {
    let mut by_truth: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for m in metrics::match_iou(truth_sets, pred_sets) {
        by_truth.entry(m.truth).or_default().push(m.predicted);
    }
    let mut repeated = BTreeMap::new();
    for (k, js) in by_truth {
        match js.as_slice() {
            [j] => outcomes[k].matched = Some(*j),
            _ => {
                repeated.insert(k, js);
            }
        }
    }
    repeated
}

fn coverage(
    key: &Key,
    in_volumes: &BTreeMap<String, Vec<usize>>,
    excluded: &BTreeMap<String, Vec<ExclusionReason>>,
    unknown: &[(String, String)],
) -> CriterionGrade {
    // Entries the candidate invented come first, then files listed twice, then files left out:
    // findings are capped, and the few specific mistakes must not drown under a long tail of
    // missing files (a dropped volume is dozens).
    let mut findings: Vec<Finding> = unknown
        .iter()
        .take(MAX_UNKNOWN_FINDINGS)
        .map(|(file, place)| {
            Finding::new(format!("{place} {}", why_unknown(file))).in_file(shorten(file))
        })
        .collect();
    // The rest are counted, not listed: the rubric adds them to its "… and N more".
    let unknown_dropped = unknown.len().saturating_sub(MAX_UNKNOWN_FINDINGS);
    let mut missing = Vec::new();
    let mut accounted = 0;
    for file in key.files.keys() {
        let n = in_volumes.get(file).map_or(0, Vec::len) + excluded.get(file).map_or(0, Vec::len);
        match n {
            1 => accounted += 1,
            0 => missing.push(
                Finding::new("not accounted for: in no volume and not excluded").in_file(file),
            ),
            n => findings.push(
                Finding::new(format!(
                    "listed {n} times; every file must appear exactly once"
                ))
                .in_file(file),
            ),
        }
    }
    findings.extend(missing);
    // A path that is not in the input is an entry that accounts for nothing: it counts
    // against coverage like a file listed twice (research/series.md §4.5 A).
    let total = key.files.len() + unknown.len();
    CriterionGrade::new(
        "coverage",
        Score::ratio(accounted, total),
        format!(
            "{accounted} of {} files accounted for exactly once; {}",
            key.files.len(),
            match unknown.len() {
                1 => "1 entry names no input file".to_owned(),
                n => format!("{n} entries name no input file"),
            }
        ),
    )
    .with_findings(findings)
    .with_dropped_findings(unknown_dropped)
}

fn triage(
    key: &Key,
    in_volumes: &BTreeMap<String, Vec<usize>>,
    excluded: &BTreeMap<String, Vec<ExclusionReason>>,
) -> CriterionGrade {
    let mut findings = Vec::new();
    let mut credit = 0.0;
    let mut denominator = 0usize;
    let mut false_exclusions = 0usize;
    let reasons_of = |f: &str| excluded.get(f).cloned().unwrap_or_default();
    for (file, truth) in &key.files {
        if let FileTruth::Junk { reasons } = truth {
            denominator += 1;
            let given = reasons_of(file);
            let expected = reasons.first().map_or("?", |r| r.name());
            match given.first() {
                Some(r) if reasons.contains(r) => credit += 1.0,
                Some(r) => {
                    credit += 0.5;
                    findings.push(
                        Finding::new(format!("excluded as `{}`; expected `{expected}`", r.name()))
                            .in_file(file),
                    );
                }
                None if in_volumes.contains_key(file) => findings.push(
                    Finding::new(format!(
                        "placed in a volume; it should be excluded as `{expected}`"
                    ))
                    .in_file(file),
                ),
                None => findings.push(
                    Finding::new(format!("not excluded; expected `{expected}`")).in_file(file),
                ),
            }
        }
    }
    for inst in &key.instances {
        let slots = inst.files.len() - 1;
        denominator += slots;
        let mut credits: Vec<f64> = Vec::new();
        for f in &inst.files {
            for r in reasons_of(f) {
                let full = Some(r) == inst.duplicate_reason;
                credits.push(if full { 1.0 } else { 0.5 });
                if !full {
                    let detail = match inst.duplicate_reason {
                        Some(d) => format!(
                            "excluded as `{}`; expected `{}` for one copy",
                            r.name(),
                            d.name()
                        ),
                        None => format!(
                            "excluded as `{}`, but it is an image that belongs in a volume",
                            r.name()
                        ),
                    };
                    findings.push(Finding::new(detail).in_file(f));
                }
            }
        }
        credits.sort_by(|a, b| b.total_cmp(a));
        credit += credits.iter().take(slots).sum::<f64>();
        if credits.len() > slots {
            false_exclusions += credits.len() - slots;
            if slots > 0 {
                findings.push(
                    Finding::new(
                        "every copy of this instance was excluded; one copy belongs in its volume",
                    )
                    .in_file(inst.files.join(", ")),
                );
            }
        } else if credits.len() < slots {
            findings.push(
                Finding::new(format!(
                    "a duplicate copy was kept; expected {slots} of {} copies excluded as `{}`",
                    inst.files.len(),
                    inst.duplicate_reason.map_or("?", ExclusionReason::name)
                ))
                .in_file(inst.files.join(", ")),
            );
        }
    }
    let whole = denominator + false_exclusions;
    let score = if whole == 0 {
        1.0
    } else {
        credit / whole as f64
    };
    CriterionGrade::new(
        "triage",
        Score::new(score),
        format!(
            "{credit:.1} of {denominator} exclusions right; {false_exclusions} {} wrongly excluded",
            if false_exclusions == 1 {
                "image"
            } else {
                "images"
            }
        ),
    )
    .with_findings(findings)
}

fn volumes_exact(
    key: &Key,
    truth_sets: &[BTreeSet<InstanceId>],
    predicted: &[Predicted<'_>],
    outcomes: &mut [VolumeOutcome],
) -> CriterionGrade {
    let mut findings = Vec::new();
    let mut exact_p = 0;
    let mut index: BTreeMap<&BTreeSet<InstanceId>, usize> = BTreeMap::new();
    for (k, set) in truth_sets.iter().enumerate() {
        index.insert(set, k);
    }
    for (j, p) in predicted.iter().enumerate() {
        // A second copy of a volume is not a second exact volume: it counts as a wrong one. Nor
        // is a volume that lists a slice twice (both copies of a duplicate position, say): its
        // instances are the volume's, but not exactly once each (brief: "keep exactly one").
        if let Some(&k) = index.get(&p.set)
            && p.order.len() == p.set.len()
            && outcomes[k].exact.is_none()
        {
            exact_p += 1;
            outcomes[k].exact = Some(j);
        }
    }
    let exact_k = outcomes.iter().filter(|o| o.exact.is_some()).count();
    for (k, v) in key.volumes.iter().enumerate() {
        if outcomes[k].exact.is_some() {
            continue;
        }
        // A finding about a whole volume has no file as its place (that would read as if the
        // file were at fault); one member is quoted as an example to find the volume by.
        let size = match v.instances.first() {
            Some(i) => format!("{}, e.g. `{}`", instances(v.instances.len()), key.label(*i)),
            None => instances(0),
        };
        let msg = match outcomes[k].matched {
            Some(j) => {
                let p = &predicted[j];
                let missing: Vec<_> = truth_sets[k].difference(&p.set).collect();
                let extra: Vec<_> = p.set.difference(&truth_sets[k]).collect();
                let e_g = |ids: &[&InstanceId]| match ids.first() {
                    Some(i) => format!(" (e.g. `{}`)", key.label(**i)),
                    None => String::new(),
                };
                // Slices listed more than once, each counted once however often it repeats.
                let mut seen = BTreeSet::new();
                let twice: BTreeSet<&InstanceId> =
                    p.order.iter().filter(|i| !seen.insert(**i)).collect();
                if missing.is_empty() && extra.is_empty() && !twice.is_empty() {
                    let twice: Vec<&InstanceId> = twice.into_iter().collect();
                    format!(
                        "volume `{}` ({size}): your `{}` holds its instances but lists {} of \
                         them more than once{}; keep exactly one copy of each",
                        v.name,
                        p.id,
                        twice.len(),
                        e_g(&twice)
                    )
                } else {
                    format!(
                        "volume `{}` ({size}): your `{}` misses {}{} and adds {}{}",
                        v.name,
                        p.id,
                        missing.len(),
                        e_g(&missing),
                        extra.len(),
                        e_g(&extra)
                    )
                }
            }
            None => {
                // Where its instances went: merged into a larger volume, or split over several.
                let mut holders: Vec<(usize, &str)> = predicted
                    .iter()
                    .map(|p| (truth_sets[k].intersection(&p.set).count(), p.id))
                    .filter(|(n, _)| *n > 0)
                    .collect();
                holders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
                let went = match holders.as_slice() {
                    [] => "none of its instances is in any of your volumes".to_owned(),
                    [(n, id)] => {
                        let here = match (*n, *n == v.instances.len()) {
                            (1, _) => "1 is".to_owned(),
                            (n, true) => format!("all {n} are"),
                            (n, false) => format!("{n} are"),
                        };
                        if predicted.iter().any(|p| p.id == *id && p.set.len() > *n) {
                            format!(
                                "{here} in your `{id}`, which holds other volumes' instances too \
                                 (merged?)"
                            )
                        } else {
                            format!("{here} in your `{id}`, the rest in none of your volumes")
                        }
                    }
                    many => format!("split over your {}", counted(many)),
                };
                format!(
                    "volume `{}` ({size}) matches none of your volumes (none overlaps it by IoU > 0.5): {went}",
                    v.name
                )
            }
        };
        findings.push(Finding::new(msg));
    }
    // The candidate's volumes that are not any true volume's match, with where their instances
    // belong: the pieces of a split, or a mixture.
    let matched: BTreeSet<usize> = outcomes.iter().filter_map(|o| o.matched).collect();
    for (j, p) in predicted.iter().enumerate() {
        if matched.contains(&j) || p.set.is_empty() {
            continue;
        }
        let mut from: Vec<(usize, &str)> = truth_sets
            .iter()
            .zip(&key.volumes)
            .map(|(t, v)| (t.intersection(&p.set).count(), v.name.as_str()))
            .filter(|(n, _)| *n > 0)
            .collect();
        from.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let belong = if from.is_empty() {
            "none of them is an image of a volume".to_owned()
        } else {
            format!("they belong to {}", counted(&from))
        };
        findings.push(Finding::new(format!(
            "your volume `{}` ({}) matches no true volume: {belong}",
            p.id,
            instances(p.set.len())
        )));
    }
    let pr = metrics::PrecisionRecall {
        precision: ratio(exact_p, predicted.len()),
        recall: ratio(exact_k, key.volumes.len()),
    };
    CriterionGrade::new(
        "volumes_exact",
        Score::new(pr.f1()),
        format!(
            "{exact_k} of {} volumes exactly right; {exact_p} of your {} volumes exact (F1 {:.3})",
            key.volumes.len(),
            predicted.len(),
            pr.f1()
        ),
    )
    .with_findings(findings)
}

/// Volumes with how many instances each holds, largest first as given: the first four named,
/// "`vol_001` (12), `vol_002` (3), …".
fn counted(volumes: &[(usize, &str)]) -> String {
    let named: Vec<String> = volumes
        .iter()
        .take(4)
        .map(|(n, name)| format!("`{name}` ({n})"))
        .collect();
    let more = if volumes.len() > 4 { ", …" } else { "" };
    format!("{}{more}", named.join(", "))
}

fn instances(n: usize) -> String {
    if n == 1 {
        "1 instance".to_owned()
    } else {
        format!("{n} instances")
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// The cluster a key image was put in: a candidate volume, or alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cluster {
    Volume(usize),
    Alone(InstanceId),
}

fn bcubed(key: &Key, predicted: &[Predicted<'_>]) -> CriterionGrade {
    let mut placed: BTreeMap<InstanceId, usize> = BTreeMap::new();
    for (j, p) in predicted.iter().enumerate() {
        for id in &p.order {
            placed.entry(*id).or_insert(j);
        }
    }
    let items = key.volumes.iter().enumerate().flat_map(|(k, v)| {
        let placed = &placed;
        v.instances.iter().map(move |id| {
            let cluster = placed
                .get(id)
                .map_or(Cluster::Alone(*id), |j| Cluster::Volume(*j));
            (k, cluster)
        })
    });
    let pr = metrics::bcubed(items);
    CriterionGrade::new(
        "bcubed",
        Score::new(pr.f1()),
        format!(
            "BCubed precision {:.3}, recall {:.3}, F1 {:.3} over key images",
            pr.precision,
            pr.recall,
            pr.f1()
        ),
    )
}

fn ordering(
    key: &Key,
    predicted: &[Predicted<'_>],
    outcomes: &mut [VolumeOutcome],
) -> CriterionGrade {
    let mut findings = Vec::new();
    // Out-of-order slices past a volume's first few findings: counted so the report says how
    // many more there are.
    let mut dropped = 0usize;
    let mut total = 0.0;
    let mut counted = 0usize;
    let mut perfect = 0usize;
    for (k, v) in key.volumes.iter().enumerate() {
        if v.instances.len() < 2 {
            outcomes[k].ordered = true;
            continue;
        }
        counted += 1;
        let Some(j) = outcomes[k].matched else {
            findings.push(Finding::new(format!(
                "volume `{}` is not matched, so its order scores 0",
                v.name
            )));
            continue;
        };
        let p = &predicted[j];
        // Each slice is judged at its first place in the candidate's list, and a slice listed
        // again (a kept duplicate file, S5) costs only its share of the list: "true rank 31
        // after true rank 31" said nothing, and a whole volume's order scored 0.25 for one
        // triage slip. A volume that lists one instance a million times must not cost O(n²)
        // time below. `(place in the candidate's volume, 0-based true rank, instance)`.
        let mut seen = BTreeSet::new();
        let mut listed = 0usize;
        let mut repeated: Option<(usize, InstanceId)> = None;
        let mut firsts: Vec<(usize, usize, InstanceId)> = Vec::new();
        for (place, id) in p
            .order
            .iter()
            .filter(|id| key.instances[id.0].volume == VolumeId(k))
            .enumerate()
        {
            listed += 1;
            let rank = key.instances[id.0].rank;
            if seen.insert(rank) {
                firsts.push((place, rank, *id));
            } else if repeated.is_none() {
                repeated = Some((place, *id));
            }
        }
        let share = firsts.len() as f64 / listed.max(1) as f64;
        if let Some((place, id)) = repeated {
            findings.push(
                Finding::new(format!(
                    "volume `{}` (your `{}`): instance {} repeats true rank {} ({} of {} entries are repeats); each slice belongs in its volume once",
                    v.name,
                    p.id,
                    place + 1,
                    key.instances[id.0].rank + 1,
                    listed - firsts.len(),
                    listed
                ))
                .in_file(key.label(id).to_owned()),
            );
        }
        let ranks: Vec<usize> = firsts.iter().map(|(_, rank, _)| *rank).collect();
        let ascending = ranks.windows(2).all(|w| w[0] < w[1]);
        let descending = ranks.windows(2).all(|w| w[0] > w[1]);
        let s = if ascending && repeated.is_none() {
            perfect += 1;
            outcomes[k].ordered = true;
            1.0
        } else if ascending {
            share
        } else if descending {
            findings.push(Finding::new(format!(
                "volume `{}` (your `{}`): order is exactly reversed; ascend along row × column cosines",
                v.name, p.id
            )));
            0.5 * share
        } else {
            let tau = metrics::kendall_tau_a(&ranks);
            let mut shown = 0;
            for w in firsts.windows(2) {
                let [(_, before, _), (place, after, id)] = w else {
                    continue;
                };
                if before < after {
                    continue;
                }
                if shown == PER_VOLUME_FINDINGS {
                    dropped += 1;
                    continue;
                }
                shown += 1;
                findings.push(
                    Finding::new(format!(
                        "volume `{}` (your `{}`): instance {} is out of order: true rank {} after true rank {}",
                        v.name,
                        p.id,
                        place + 1,
                        after + 1,
                        before + 1
                    ))
                    .in_file(key.label(*id).to_owned()),
                );
            }
            0.25 * tau.max(0.0) * share
        };
        total += s;
    }
    let score = if counted == 0 {
        1.0
    } else {
        total / counted as f64
    };
    CriterionGrade::new(
        "ordering",
        Score::new(score),
        format!("{perfect} of {counted} multi-slice volumes in exact ascending order"),
    )
    .with_findings(findings)
    .with_dropped_findings(dropped)
}

fn geometry(
    key: &Key,
    out: &Output,
    predicted: &[Predicted<'_>],
    outcomes: &[VolumeOutcome],
) -> CriterionGrade {
    let mut findings = Vec::new();
    // Spacing and frame points per group ([plain, trap]) and `regular` answers per truth
    // ([regular, irregular]): (credit, volumes). Most volumes are plain, so a constant
    // `regular: true` or a spacing read off the first two slices would be right on nearly all of
    // them; each group weighs the same whatever its size.
    let mut frame_parts = [(0.0f64, 0usize); 2];
    let mut regular_parts = [(0.0f64, 0usize); 2];
    let mut counted = 0usize;
    for (k, v) in key.volumes.iter().enumerate() {
        if v.instances.len() < 2 {
            continue;
        }
        counted += 1;
        let trap = !v.geometry.regular
            || v.flags.iter().any(|f| {
                matches!(
                    f.kind,
                    AnomalyKind::MissingSlice
                        | AnomalyKind::IrregularSpacing
                        | AnomalyKind::GantryTilt
                )
            });
        frame_parts[usize::from(trap)].1 += 1;
        regular_parts[usize::from(!v.geometry.regular)].1 += 1;
        let Some(j) = outcomes[k].matched else {
            continue;
        };
        let g = &out.volumes[j].geometry;
        let t = &v.geometry;
        let mut s = 0.0;
        let mut wrong = Vec::new();
        // A distance: gaps taken down a reversed listing are negative, and the reversal already
        // costs half the ordering (the brief reads a negative spacing as its size).
        match (g.slice_spacing_mm, t.slice_spacing) {
            (Some(got), Some(want)) if (got.abs() - want).abs() <= (0.01f64).max(0.01 * want) => {
                s += 0.5;
            }
            (got, want) => wrong.push(format!(
                "slice_spacing_mm {} (expected {})",
                got.map_or("null".into(), |x| format!("{x}")),
                want.map_or("null".into(), |x| format!("{x:.4}"))
            )),
        }
        let close =
            |a: &[f64], b: &[f64], tol: f64| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol);
        // The brief: the IPP of the first instance in the candidate's order, so a reversed
        // volume reports its own first slice. Any key instance has a known IPP; a volume whose
        // entries resolve to none is held to the true first position.
        let p = predicted[j]
            .order
            .first()
            .and_then(|id| {
                let i = key.instances.get(id.0)?;
                key.volumes.get(i.volume.0)?.geometry.positions.get(i.rank)
            })
            .copied()
            .unwrap_or(t.first_position);
        let frame = [
            (
                close(&g.pixel_spacing_mm, &t.pixel_spacing, 1e-3),
                "pixel_spacing_mm".to_owned(),
            ),
            (
                close(&g.image_orientation_patient, &t.iop, 1e-3),
                "image_orientation_patient".to_owned(),
            ),
            (
                close(&g.first_position_mm, &p, 0.01),
                format!(
                    "first_position_mm (expected [{:.3}, {:.3}, {:.3}])",
                    p[0], p[1], p[2]
                ),
            ),
            (
                g.rows == t.rows && g.columns == t.columns,
                format!("matrix (expected {} × {})", t.rows, t.columns),
            ),
        ];
        if frame.iter().all(|(ok, _)| *ok) {
            s += 0.25;
        } else {
            wrong.extend(
                frame
                    .into_iter()
                    .filter(|(ok, _)| !ok)
                    .map(|(_, what)| what),
            );
        }
        if g.regular == t.regular {
            regular_parts[usize::from(!t.regular)].0 += 1.0;
        } else {
            wrong.push(format!("regular = {} (expected {})", g.regular, t.regular));
        }
        if !wrong.is_empty() {
            findings.push(Finding::new(format!(
                "volume `{}` (your `{}`): wrong {}",
                v.name,
                out.volumes[j].id,
                wrong.join("; ")
            )));
        }
        frame_parts[usize::from(trap)].0 += s;
    }
    // The mean over the groups that have volumes: each group's own mean, then their average.
    let balanced = |parts: [(f64, usize); 2], full: f64| {
        let means: Vec<f64> = parts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(credit, n)| credit / *n as f64)
            .collect();
        if means.is_empty() {
            full
        } else {
            means.iter().sum::<f64>() / means.len() as f64
        }
    };
    let score = balanced(frame_parts, 0.75) + 0.25 * balanced(regular_parts, 1.0);
    CriterionGrade::new(
        "geometry",
        Score::new(score),
        format!(
            "geometry of {counted} multi-slice volumes ({} with a tilt, gap or irregular spacing) scored {:.1}%",
            frame_parts[1].1,
            score * 100.0
        ),
    )
    .with_findings(findings)
}

/// Why a flag matched nothing, as its finding says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Spurious {
    /// The volume it is on expects no flag of its type.
    Kind,
    /// The volume expects flags of its type, but none at this locator (a gap, an angle).
    Locator,
    /// Every flag of its type the volume expects was already matched: a repeat.
    Duplicate,
    /// The volume it is on matched no true volume.
    Volume,
}

fn anomalies(
    key: &Key,
    out: &Output,
    predicted: &[Predicted<'_>],
    outcomes: &mut [VolumeOutcome],
) -> CriterionGrade {
    let mut findings = Vec::new();
    let mut counts = Counts::default();
    // Per type as well: the score is the F1 averaged over the types expected or flagged, so the
    // many localizer flags ImageType gives away do not outweigh the gaps and tilts that take
    // geometry to find.
    let mut by_kind: BTreeMap<AnomalyKind, Counts> = BTreeMap::new();
    let mut owner: BTreeMap<usize, usize> = BTreeMap::new();
    for (k, o) in outcomes.iter().enumerate() {
        if let Some(j) = o.matched {
            owner.insert(j, k);
        }
    }
    let resolve = |r: &InstanceRef| norm(&r.file).and_then(|f| key.instance_of(&f));
    let mut found: Vec<Vec<bool>> = key
        .volumes
        .iter()
        .map(|v| vec![false; v.flags.len()])
        .collect();
    let mut fp_on: Vec<usize> = vec![0; key.volumes.len()];
    // Spurious flags per volume, type and reason: counted, so twenty of one kind on one volume
    // are one finding and the missing flags (listed first) are not pushed out.
    let mut spurious: BTreeMap<(usize, &str, Spurious), usize> = BTreeMap::new();
    for (j, v) in out.volumes.iter().enumerate() {
        for a in &v.anomalies {
            if a.kind == AnomalyKind::Other {
                continue;
            }
            let hit = owner.get(&j).and_then(|&k| {
                let flags = &key.volumes[k].flags;
                let i = flags.iter().enumerate().position(|(i, f)| {
                    !found[k][i]
                        && f.kind == a.kind
                        && match f.locator {
                            Locator::None => true,
                            // The angle between two lines: a volume listed reversed has its
                            // stacking direction at 180° − θ from n, the same line (brief).
                            Locator::Angle(want) => a.angle_deg.is_some_and(|got| {
                                (got.abs().min(180.0 - got.abs()) - want).abs() <= 1.0
                            }),
                            // Both instances must be in the volume that carries the flag: a
                            // gap between instances it left out is not a gap it found.
                            Locator::Between(x, y) => a.between.as_ref().is_some_and(|[p, q]| {
                                let got: BTreeSet<_> =
                                    [resolve(p), resolve(q)].into_iter().collect();
                                got == [Some(x), Some(y)].into_iter().collect()
                                    && predicted[j].set.contains(&x)
                                    && predicted[j].set.contains(&y)
                            }),
                        }
                })?;
                Some((k, i))
            });
            match hit {
                Some((k, i)) => {
                    found[k][i] = true;
                    counts.tp += 1;
                    by_kind.entry(a.kind).or_default().tp += 1;
                }
                None => {
                    counts.fp += 1;
                    by_kind.entry(a.kind).or_default().fp += 1;
                    let why = match owner.get(&j) {
                        Some(&k) => {
                            fp_on[k] += 1;
                            let same: Vec<usize> = (0..key.volumes[k].flags.len())
                                .filter(|&i| key.volumes[k].flags[i].kind == a.kind)
                                .collect();
                            if same.is_empty() {
                                Spurious::Kind
                            } else if same.iter().all(|&i| found[k][i]) {
                                Spurious::Duplicate
                            } else {
                                Spurious::Locator
                            }
                        }
                        None => Spurious::Volume,
                    };
                    *spurious.entry((j, a.kind.name(), why)).or_default() += 1;
                }
            }
        }
    }
    for (k, v) in key.volumes.iter().enumerate() {
        for (i, f) in v.flags.iter().enumerate() {
            if !found[k][i] {
                counts.fn_ += 1;
                by_kind.entry(f.kind).or_default().fn_ += 1;
                let at = match f.locator {
                    Locator::None => String::new(),
                    Locator::Angle(a) => format!(" of about {a:.1}°"),
                    Locator::Between(x, y) => {
                        format!(" between `{}` and `{}`", key.label(x), key.label(y))
                    }
                };
                findings.push(Finding::new(format!(
                    "volume `{}`: missing flag `{}`{at}",
                    v.name,
                    f.kind.name()
                )));
            }
        }
        outcomes[k].flags_exact =
            outcomes[k].matched.is_some() && found[k].iter().all(|b| *b) && fp_on[k] == 0;
    }
    for ((j, kind, why), n) in spurious {
        let flags = if n == 1 {
            format!("flag `{kind}`")
        } else {
            format!("{n} flags `{kind}`")
        };
        let its = if n == 1 { "its" } else { "their" };
        let because = match why {
            Spurious::Kind => "no such anomaly is expected on this volume".to_owned(),
            Spurious::Locator => {
                format!("{its} locator matches none of this type expected on this volume")
            }
            Spurious::Duplicate => {
                "every anomaly of this type on this volume is already flagged".to_owned()
            }
            Spurious::Volume => {
                "this volume matches no true volume, so none of its flags can count".to_owned()
            }
        };
        findings.push(Finding::new(format!(
            "your volume `{}`: {flags} spurious: {because}",
            out.volumes[j].id
        )));
    }
    let pr = counts.precision_recall();
    let macro_f1 = if by_kind.is_empty() {
        1.0
    } else {
        by_kind.values().map(|c| c.f1()).sum::<f64>() / by_kind.len() as f64
    };
    CriterionGrade::new(
        "anomalies",
        Score::new(macro_f1),
        format!(
            "{} of {} expected flags found, {} spurious (precision {:.3}, recall {:.3}); F1 {:.3} averaged over the {} types expected or flagged",
            counts.tp,
            counts.tp + counts.fn_,
            counts.fp,
            pr.precision,
            pr.recall,
            macro_f1,
            by_kind.len()
        ),
    )
    .with_findings(findings)
}

fn trap_card(
    key: &Key,
    in_volumes: &BTreeMap<String, Vec<usize>>,
    excluded: &BTreeMap<String, Vec<ExclusionReason>>,
    outcomes: &[VolumeOutcome],
) -> Card {
    let once =
        |f: &str| in_volumes.get(f).map_or(0, Vec::len) + excluded.get(f).map_or(0, Vec::len) == 1;
    // Excluded once, with one of the key's reasons, and in no volume.
    let excluded_right = |f: &str| match key.files.get(f) {
        Some(FileTruth::Junk { reasons }) => {
            excluded
                .get(f)
                .is_some_and(|r| r.len() == 1 && reasons.contains(&r[0]))
                && !in_volumes.contains_key(f)
        }
        Some(FileTruth::Image(_)) | None => false,
    };
    // Listed once, inside the candidate volume matched (IoU > 0.5, not exact) to its true
    // volume: this row is about reading the file, not about grouping the rest of its volume.
    let placed = |f: &str| {
        key.instance_of(f).is_some_and(|id| {
            let matched = outcomes[key.instances[id.0].volume.0].matched;
            once(f) && matched.is_some_and(|j| in_volumes.get(f).is_some_and(|js| js.contains(&j)))
        })
    };
    let rows = key
        .traps
        .iter()
        .map(|t| {
            let (handled, detail) = match &t.check {
                TrapCheck::Volumes(vs) => {
                    let bad: Vec<String> = vs
                        .iter()
                        .filter_map(|v| {
                            let o = outcomes[v.0];
                            let name = &key.volumes[v.0].name;
                            let wrong: Vec<&str> = [
                                (o.exact.is_none(), "grouped"),
                                (!o.ordered, "ordered"),
                                (!o.flags_exact, "flagged"),
                            ]
                            .into_iter()
                            .filter_map(|(bad, what)| bad.then_some(what))
                            .collect();
                            (!wrong.is_empty())
                                .then(|| format!("`{name}` {} wrong", wrong.join(" and ")))
                        })
                        .collect();
                    verdict(bad.is_empty(), "grouped, ordered and flagged right", || {
                        bad.join(", ")
                    })
                }
                TrapCheck::Excluded(files) => {
                    let bad: Vec<&String> = files.iter().filter(|f| !excluded_right(f)).collect();
                    verdict(bad.is_empty(), "excluded with the right reason", || {
                        format!("not excluded right: {}", join(&bad))
                    })
                }
                TrapCheck::Duplicates(ids) => {
                    let ok = ids.iter().all(|id| {
                        let inst = &key.instances[id.0];
                        let kept = inst
                            .files
                            .iter()
                            .filter(|f| in_volumes.contains_key(f.as_str()))
                            .count();
                        let dropped = inst
                            .files
                            .iter()
                            .filter(|f| {
                                excluded
                                    .get(f.as_str())
                                    .is_some_and(|r| r.first().copied() == inst.duplicate_reason)
                            })
                            .count();
                        kept == 1 && dropped == inst.files.len() - 1
                    });
                    verdict(
                        ok,
                        "one copy kept, the other excluded with the right reason",
                        || "duplicate kept, or excluded with another reason".to_owned(),
                    )
                }
                TrapCheck::Included(files) => {
                    let bad: Vec<&String> = files.iter().filter(|f| !placed(f)).collect();
                    verdict(bad.is_empty(), "read and placed in its volume", || {
                        format!("not in its volume: {}", join(&bad))
                    })
                }
                TrapCheck::Accounted(files) => nesting(files, &once, |f| {
                    in_volumes.contains_key(f) || excluded.contains_key(f)
                }),
            };
            CardRow {
                name: format!("{} {}", t.id, t.label),
                handled,
                detail,
            }
        })
        .collect();
    Card {
        title: "Trap card".to_owned(),
        rows,
    }
}

/// The nesting trap's (handled, detail). It asks whether the candidate walked every depth of
/// the tree, so it fails only for a depth none of whose files is listed at all, the mark of a
/// walk that stops short: a file missing for another reason (a dropped volume, a duplicate) is
/// the coverage criterion's to count, and this row only mentions it.
fn nesting(
    files: &[String],
    once: &impl Fn(&str) -> bool,
    listed: impl Fn(&str) -> bool,
) -> (bool, String) {
    let mut by_depth: BTreeMap<usize, Vec<&String>> = BTreeMap::new();
    for f in files {
        by_depth.entry(f.matches('/').count()).or_default().push(f);
    }
    let unreached: Vec<String> = by_depth
        .iter()
        .filter(|(_, fs)| !fs.iter().any(|f| listed(f)))
        .map(|(depth, fs)| {
            let folders = if *depth == 1 { "folder" } else { "folders" };
            format!(
                "none of the {} files {depth} {folders} deep (e.g. `{}`)",
                fs.len(),
                fs[0]
            )
        })
        .collect();
    if !unreached.is_empty() {
        return (false, format!("not reached: {}", unreached.join("; ")));
    }
    if files.is_empty() {
        return (true, "no files in sub-folders".to_owned());
    }
    let depths: Vec<String> = by_depth.keys().map(usize::to_string).collect();
    let mut detail = format!(
        "files listed at every depth ({} folders)",
        depths.join(", ")
    );
    let off: Vec<&String> = files.iter().filter(|f| !once(f)).collect();
    if !off.is_empty() {
        detail.push_str(&format!(
            "; {} not accounted for exactly once, which coverage counts: {}",
            off.len(),
            join(&off)
        ));
    }
    (true, detail)
}

/// A card row's (handled, detail).
fn verdict(ok: bool, good: &str, bad: impl FnOnce() -> String) -> (bool, String) {
    if ok {
        (true, good.to_owned())
    } else {
        (false, bad())
    }
}

fn join(files: &[&String]) -> String {
    let shown: Vec<&str> = files.iter().take(3).map(|s| s.as_str()).collect();
    let more = files.len().saturating_sub(3);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Longest side of a slice thumbnail in pixels; fixtures are small (32 × 32 by default), so
/// most slices are shown at full resolution and never enlarged.
const THUMBNAIL_SIDE: u32 = 64;

/// One figure per true volume: its slices in the order of the submission volume that matched
/// it (IoU > 0.5, as in grading), then the slices it lost. Tiles are labelled with their true
/// rank. A slice the harness cannot preview is left out and counted in the caption.
fn volume_figures(key: &Key, out: Option<&Output>, fixtures: &Path) -> Vec<Figure> {
    let resolve = |file: &str| norm(file).and_then(|f| key.instance_of(&f));
    let predicted: Vec<Vec<InstanceId>> = out.map_or_else(Vec::new, |o| {
        o.volumes
            .iter()
            .map(|v| {
                v.instances
                    .iter()
                    .filter_map(|r| resolve(&r.file))
                    .collect()
            })
            .collect()
    });
    let truth_sets: Vec<BTreeSet<InstanceId>> = key
        .volumes
        .iter()
        .map(|v| v.instances.iter().copied().collect())
        .collect();
    let pred_sets: Vec<BTreeSet<InstanceId>> = predicted
        .iter()
        .map(|p| p.iter().copied().collect())
        .collect();
    // The same matching as the grade: a volume listed twice is drawn as matched by none.
    let mut outcomes = vec![VolumeOutcome::default(); key.volumes.len()];
    matched_volumes(&truth_sets, &pred_sets, &mut outcomes);
    let matched: BTreeMap<usize, usize> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(k, o)| Some((k, o.matched?)))
        .collect();
    // Every slice of a true volume is drawn: the key holds the thumbnails generation drew while
    // it had each image in memory; any other slice (a key made without them, a file that does
    // not read back) is a whole-file read and a PNG, over all cores up front. Then the strips
    // are assembled in order. A submitted volume may also show slices no true volume lists:
    // those are drawn on demand.
    let draw = |id: InstanceId| -> Option<Cow<'_, PngImage>> {
        let file = key.instances.get(id.0)?.files.first()?;
        match key.thumbnails.get(file) {
            Some(drawn) => Some(Cow::Borrowed(drawn)),
            None => read_thumbnail(&fixtures.join(file)).map(Cow::Owned),
        }
    };
    let mut cache: BTreeMap<InstanceId, Option<Cow<'_, PngImage>>> = key
        .volumes
        .iter()
        .flat_map(|v| v.instances.iter().copied())
        .collect::<BTreeSet<InstanceId>>()
        .into_par_iter()
        .map(|id| (id, draw(id)))
        .collect();
    let mut thumb = |id: InstanceId, alt: String| -> Option<PngImage> {
        let image = cache.entry(id).or_insert_with(|| draw(id)).as_deref()?;
        Some(PngImage {
            alt,
            ..image.clone()
        })
    };
    let mut figures = Vec::with_capacity(key.volumes.len());
    for (k, volume) in key.volumes.iter().enumerate() {
        let rank = |id: InstanceId| key.instances.get(id.0).map_or(0, |i| i.rank);
        // (instance, marks) in display order.
        let mut shown: Vec<(InstanceId, Vec<Mark>)> = Vec::new();
        let submitted = matched
            .get(&k)
            .and_then(|&j| Some((pred_sets.get(j)?, predicted.get(j)?, out?.volumes.get(j)?)));
        let how = match submitted {
            Some((set, order, vol)) => {
                // Each instance is drawn once, at its first place, however often it is listed:
                // a submission cannot multiply the report by repeating entries.
                let mut listed: BTreeMap<InstanceId, usize> = BTreeMap::new();
                let mut first_places: Vec<InstanceId> = Vec::new();
                for &id in order {
                    let n = listed.entry(id).or_insert(0);
                    if *n == 0 {
                        first_places.push(id);
                    }
                    *n += 1;
                }
                let mut members: Vec<InstanceId> = first_places
                    .iter()
                    .copied()
                    .filter(|id| truth_sets[k].contains(id))
                    .collect();
                members.sort_by_key(|id| rank(*id));
                let belongs: BTreeMap<InstanceId, usize> =
                    members.iter().enumerate().map(|(p, id)| (*id, p)).collect();
                let mut next_member = 0;
                for (pos, &id) in first_places.iter().enumerate() {
                    let owner = key.instances.get(id.0).map(|i| i.volume);
                    let mut marks = Vec::new();
                    if owner != Some(VolumeId(k)) {
                        let name = owner
                            .and_then(|v| key.volumes.get(v.0))
                            .map_or("?", |v| v.name.as_str());
                        marks.push(Mark {
                            kind: MarkKind::Wrong,
                            note: format!("from {name}"),
                        });
                    } else {
                        if members.get(next_member) != Some(&id) {
                            marks.push(Mark {
                                kind: MarkKind::Wrong,
                                note: format!(
                                    "placed {}, belongs {}",
                                    ordinal(pos + 1),
                                    ordinal(belongs.get(&id).map_or(0, |p| p + 1))
                                ),
                            });
                        }
                        next_member += 1;
                    }
                    if let Some(&n) = listed.get(&id).filter(|n| **n > 1) {
                        marks.push(Mark {
                            kind: MarkKind::Wrong,
                            note: format!("listed {n} times"),
                        });
                    }
                    shown.push((id, marks));
                }
                for &id in &volume.instances {
                    if !set.contains(&id) {
                        shown.push((
                            id,
                            vec![Mark {
                                kind: MarkKind::Missing,
                                note: "lost from this volume".into(),
                            }],
                        ));
                    }
                }
                format!("in the order of submitted volume `{}`", vol.id)
            }
            None => {
                // Say where each slice went: merged into a submitted volume that matches none
                // (or split off into one too small to match), or left out of every volume.
                let holder = |id: InstanceId| {
                    let j = pred_sets.iter().position(|s| s.contains(&id))?;
                    Some(out?.volumes.get(j)?.id.as_str())
                };
                for &id in &volume.instances {
                    let mark = match holder(id) {
                        Some(name) => Mark {
                            kind: MarkKind::Wrong,
                            note: format!("in submitted volume `{name}`"),
                        },
                        None => Mark {
                            kind: MarkKind::Missing,
                            note: "in no submitted volume".into(),
                        },
                    };
                    shown.push((id, vec![mark]));
                }
                "in true order: no submitted volume matches this one".to_owned()
            }
        };
        let flagged = |kind: AnomalyKind| {
            submitted.is_some_and(|(_, _, v)| v.anomalies.iter().any(|a| a.kind == kind))
        };
        for f in &volume.flags {
            let at = match f.locator {
                Locator::Between(a, _) => a,
                Locator::None | Locator::Angle(_) => match volume.instances.first() {
                    Some(first) => *first,
                    None => continue,
                },
            };
            let said = if flagged(f.kind) {
                "flagged"
            } else {
                "not flagged"
            };
            let note = match f.locator {
                Locator::Between(..) => {
                    format!("`{}` after this; {said}", f.kind.name())
                }
                Locator::Angle(deg) => format!("`{}` {deg:.1}°; {said}", f.kind.name()),
                Locator::None => format!("`{}`; {said}", f.kind.name()),
            };
            if let Some((_, marks)) = shown.iter_mut().find(|(id, _)| *id == at) {
                marks.push(Mark {
                    kind: MarkKind::Anomaly,
                    note,
                });
            }
        }
        let mut unpreviewable = 0usize;
        // Foreign slices merged into the volume are distinct instances of the input, so at most
        // every image once; the cap still bounds a figure whatever a submission lists.
        let cap = MAX_TILES.max(2 * volume.instances.len());
        let cut = shown.len().saturating_sub(cap);
        shown.truncate(cap);
        let total = shown.len();
        let tiles: Vec<Tile> = shown
            .into_iter()
            .enumerate()
            .filter_map(|(pos, (id, marks))| {
                // Ranks are 1-based, as in the ordering findings.
                let r = rank(id) + 1;
                let alt = format!(
                    "slice of true rank {r} of volume {}, shown {} of {total}",
                    volume.name,
                    pos + 1
                );
                match thumb(id, alt) {
                    Some(image) => Some(Tile {
                        label: format!("#{r}"),
                        image,
                        marks,
                    }),
                    None => {
                        unpreviewable += 1;
                        None
                    }
                }
            })
            .collect();
        let mut caption = format!(
            "Slices {how}, labelled with their true rank (#1 first along the normal); windowed per file (rescale, VOI window, MONOCHROME1 inverted). Marked: misplaced or foreign slices, slices the volume lost, and the expected anomalies."
        );
        if cut > 0 {
            caption.push_str(&format!(" {cut} more slices are not shown."));
        }
        if unpreviewable > 0 {
            caption.push_str(&format!(
                " {unpreviewable} slices could not be previewed and are left out."
            ));
        }
        figures.push(Figure::new(
            format!("volume-{k}"),
            format!("Volume {} ({} slices)", volume.name, volume.instances.len()),
            caption,
            FigureKind::Strip { tiles },
        ));
    }
    figures
}

/// "1st", "2nd", "11th", "23rd".
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A PNG thumbnail of a trusted fixture file, or `None` when it cannot be previewed (the
/// figure then says so; a preview never fails grading).
fn read_thumbnail(path: &Path) -> Option<PngImage> {
    let file = read_full(path, &ReadLimits::default()).ok()?;
    png_thumbnail(&Slice::from_dataset(&file.dataset).ok()?)
}

/// A slice's thumbnail as it appears in a figure.
pub(crate) fn png_thumbnail(slice: &Slice) -> Option<PngImage> {
    let t = slice.thumbnail(THUMBNAIL_SIDE);
    let bytes = t.to_png().ok()?;
    Some(PngImage {
        width: t.width,
        height: t.height,
        alt: String::new(),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{Params, generate};
    use crate::output::{Geometry, Volume};

    /// The nesting trap fails only for a depth whose files are all unlisted; other misses are
    /// mentioned, not blamed on the nesting.
    #[test]
    fn the_nesting_trap_fails_only_for_a_depth_never_reached() {
        let files: Vec<String> = [
            "a/1.dcm",
            "a/2.dcm",
            "a/b/3.dcm",
            "a/b/c/4.dcm",
            "d/e/f/5.dcm",
        ]
        .map(str::to_owned)
        .to_vec();
        let count = |listed: &[(&str, usize)]| {
            let listed: BTreeMap<String, usize> =
                listed.iter().map(|(f, n)| ((*f).to_owned(), *n)).collect();
            let n = move |f: &str| listed.get(f).copied().unwrap_or(0);
            nesting(&files, &|f| n(f) == 1, |f| n(f) > 0)
        };
        let all = [
            ("a/1.dcm", 1),
            ("a/2.dcm", 1),
            ("a/b/3.dcm", 1),
            ("a/b/c/4.dcm", 1),
            ("d/e/f/5.dcm", 1),
        ];
        type Listed<'a> = &'a [(&'a str, usize)];
        let cases: [(&str, Listed, bool, &str); 5] = [
            (
                "every file once",
                &all,
                true,
                "every depth (1, 2, 3 folders)",
            ),
            (
                "one file missing",
                &all[1..],
                true,
                "1 not accounted for exactly once",
            ),
            ("one deep file missing", &all[..4], true, ": d/e/f/5.dcm"),
            (
                "a depth never reached",
                &all[..3],
                false,
                "none of the 2 files 3 folders deep (e.g. `a/b/c/4.dcm`)",
            ),
            (
                "one folder deep never reached",
                &[("a/b/3.dcm", 2), ("d/e/f/5.dcm", 1)],
                false,
                "none of the 2 files 1 folder deep",
            ),
        ];
        for (name, listed, handled, said) in cases {
            let (ok, detail) = count(listed);
            assert_eq!(ok, handled, "{name}: {detail}");
            assert!(detail.contains(said), "{name}: {detail}");
        }
        assert_eq!(
            nesting(&[], &|_| true, |_| true),
            (true, "no files in sub-folders".to_owned())
        );
    }

    /// A small clean folder (only the always-planted traps) and its key.
    fn fixture() -> (tempfile::TempDir, Key) {
        let dir = tempfile::tempdir().expect("tempdir");
        let params = Params {
            min_files: 20,
            scale: 1.0,
            matrix: 16,
            plant: Vec::new(),
        };
        let key = generate(3, &params, dir.path()).expect("generates");
        (dir, key)
    }

    /// The key's volumes as a submission, every slice in true order.
    fn perfect(key: &Key) -> Output {
        let volumes = key
            .volumes
            .iter()
            .enumerate()
            .map(|(k, v)| Volume {
                id: format!("v{k}"),
                series_instance_uid: None,
                split_by: None,
                instances: v
                    .instances
                    .iter()
                    .map(|id| InstanceRef::file(key.label(*id)))
                    .collect(),
                geometry: Geometry {
                    image_orientation_patient: v.geometry.iop,
                    rows: v.geometry.rows,
                    columns: v.geometry.columns,
                    pixel_spacing_mm: v.geometry.pixel_spacing,
                    slice_spacing_mm: v.geometry.slice_spacing,
                    first_position_mm: v.geometry.first_position,
                    regular: v.geometry.regular,
                },
                anomalies: Vec::new(),
            })
            .collect();
        Output {
            schema_version: SCHEMA_VERSION.to_owned(),
            volumes,
            excluded: Vec::new(),
        }
    }

    /// Findings past the grader's own caps are counted for the rubric, never lost or left to a
    /// closing finding the rubric's cap may cut: entries naming no input file past the first
    /// 20, and out-of-order slices past a volume's first 3.
    #[test]
    fn findings_past_the_graders_caps_are_counted() {
        let (_dir, key) = fixture();
        let mut out = perfect(&key);
        let unknown = MAX_UNKNOWN_FINDINGS + 7;
        out.excluded = (0..unknown)
            .map(|i| crate::output::Excluded {
                file: format!("nowhere/{i}.dcm"),
                reason: ExclusionReason::NotDicom,
                duplicate_of: None,
                detail: None,
            })
            .collect();
        let (k, longest) = key
            .volumes
            .iter()
            .enumerate()
            .max_by_key(|(_, v)| v.instances.len())
            .expect("a volume");
        let n = longest.instances.len();
        assert!(n >= 2 * (PER_VOLUME_FINDINGS + 2), "{n} slices");
        // Swap neighbours: every other step descends.
        for pair in out.volumes[k].instances.chunks_mut(2) {
            pair.reverse();
        }
        let descents = n / 2;
        let g = grade_output(&key, &out);
        let by_id = |id: &str| {
            g.criteria
                .iter()
                .find(|c| c.id.as_str() == id)
                .expect("criterion")
        };
        let coverage = by_id("coverage");
        let named = coverage
            .findings
            .iter()
            .filter(|f| f.file.as_deref().is_some_and(|f| f.starts_with("nowhere/")))
            .count();
        assert_eq!(named, MAX_UNKNOWN_FINDINGS);
        assert_eq!(coverage.findings_dropped, 7);
        assert!(
            coverage
                .findings
                .iter()
                .all(|f| !f.message.contains("more entries")),
            "{:#?}",
            coverage.findings
        );
        let ordering = by_id("ordering");
        assert_eq!(ordering.findings.len(), PER_VOLUME_FINDINGS);
        assert_eq!(ordering.findings_dropped, descents - PER_VOLUME_FINDINGS);
    }

    fn marks(figure: &Figure, kind: MarkKind) -> usize {
        match &figure.kind {
            FigureKind::Strip { tiles } => tiles
                .iter()
                .flat_map(|t| &t.marks)
                .filter(|m| m.kind == kind)
                .count(),
            FigureKind::Png { .. }
            | FigureKind::Bars { .. }
            | FigureKind::Histogram { .. }
            | FigureKind::Tree { .. } => 0,
        }
    }

    #[test]
    fn every_volume_is_a_strip_of_png_thumbnails_marked_only_where_wrong() {
        let (dir, key) = fixture();
        let mut out = perfect(&key);
        let figures = volume_figures(&key, Some(&out), dir.path());
        assert_eq!(figures.len(), key.volumes.len());
        for (f, v) in figures.iter().zip(&key.volumes) {
            let FigureKind::Strip { tiles } = &f.kind else {
                panic!("a volume is a strip");
            };
            assert_eq!(tiles.len(), v.instances.len(), "{}", f.title);
            assert!(tiles.iter().all(|t| t.image.bytes.starts_with(b"\x89PNG")));
            assert_eq!(marks(f, MarkKind::Wrong) + marks(f, MarkKind::Missing), 0);
            assert_eq!(f.visibility, worksample_task::rubric::Visibility::Hidden);
        }

        // Swap the first two slices of the first multi-slice volume and lose its last one.
        let k = key
            .volumes
            .iter()
            .position(|v| v.instances.len() >= 3)
            .expect("a volume of three slices or more");
        let inst = &mut out.volumes[k].instances;
        inst.swap(0, 1);
        inst.pop();
        let figures = volume_figures(&key, Some(&out), dir.path());
        assert_eq!(
            marks(&figures[k], MarkKind::Wrong),
            2,
            "both swapped slices"
        );
        assert_eq!(marks(&figures[k], MarkKind::Missing), 1, "the lost slice");

        // Without a usable output every slice is shown, unmatched, in true order.
        let figures = volume_figures(&key, None, dir.path());
        let n: usize = key.volumes.iter().map(|v| v.instances.len()).sum();
        let missing: usize = figures.iter().map(|f| marks(f, MarkKind::Missing)).sum();
        assert_eq!(missing, n);

        // A volume split three ways matches no submitted volume (none holds more than half of
        // it): its slices show which submitted volume holds them, not that they are missing.
        let mut split = perfect(&key);
        let whole = split.volumes.remove(k);
        let third = whole.instances.len().div_ceil(3);
        for (i, part) in whole.instances.chunks(third).enumerate() {
            let mut v = whole.clone();
            v.id = format!("part{i}");
            v.instances = part.to_vec();
            split.volumes.push(v);
        }
        let figures = volume_figures(&key, Some(&split), dir.path());
        assert!(
            figures[k].caption.contains("no submitted volume matches"),
            "{}",
            figures[k].caption
        );
        let FigureKind::Strip { tiles } = &figures[k].kind else {
            panic!("a volume is a strip");
        };
        let notes: Vec<&str> = tiles
            .iter()
            .flat_map(|t| &t.marks)
            .map(|m| m.note.as_str())
            .filter(|n| !n.starts_with('`'))
            .collect();
        assert_eq!(notes.len(), whole.instances.len(), "{notes:?}");
        assert!(
            notes
                .iter()
                .all(|n| n.starts_with("in submitted volume `part")),
            "{notes:?}"
        );
    }

    #[test]
    fn ordinals() {
        let words: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            words,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st"
            ]
        );
    }
}

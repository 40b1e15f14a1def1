//! The whole task, end to end: generate → solve → grade. The reference solution scores ≥ 99 on
//! both profiles over 20 seeds, the naive starter lands in its band with the trap card showing
//! exactly the traps it falls into, and each mutant of the reference loses points only where it
//! should.

mod common;
#[path = "series/schema_agreement.rs"]
mod schema_agreement;

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use worksample_series::SeriesTask;
use worksample_series::generate::{Params, planned_traps};
use worksample_series::grade::{CRITERIA, grade_output, grade_submission};
use worksample_series::key::{FileTruth, Key, TrapCheck};
use worksample_series::output::{Anomaly, AnomalyKind, Excluded, ExclusionReason, Output};
use worksample_task::Task;
use worksample_task::rubric::CriterionGrade;

const SEEDS: u64 = 20;

/// The traps the naive starter (group by Series Instance UID, sort by InstanceNumber, geometry
/// from the first file, no flags) handles: those that only need every file read, and those
/// whose volume is a series of its own ([`NAIVE_HANDLES_WHEN_NUMBERED_ALONG_N`]) when the
/// scanner happened to number it along the normal.
const NAIVE_HANDLES: [&str; 2] = ["F4", "F6"];
/// Volumes that are a series of their own: the starter orders them right exactly when their
/// InstanceNumbers ascend along n, which the generator draws per series.
const NAIVE_HANDLES_WHEN_NUMBERED_ALONG_N: [&str; 6] = ["T7b", "T8", "T9", "T9b", "S7", "S8"];

/// Whether every volume of trap `id` has InstanceNumbers strictly ascending along n.
fn numbered_along_n(dir: &std::path::Path, key: &Key, id: &str) -> bool {
    use worksample_dicom::read::{ReadLimits, read_header};
    let Some(trap) = key.traps.iter().find(|t| t.id == id) else {
        return false;
    };
    let TrapCheck::Volumes(volumes) = &trap.check else {
        return false;
    };
    volumes.iter().all(|v| {
        let numbers: Vec<f64> = key.volumes[v.0]
            .instances
            .iter()
            .map(|i| {
                let file = read_header(&dir.join(key.label(*i)), &ReadLimits::default())
                    .expect("a fixture image reads");
                worksample_series::starter::numbers(
                    &file.dataset,
                    dicom_dictionary_std::tags::INSTANCE_NUMBER,
                )
                .map_or(f64::NAN, |n| n[0])
            })
            .collect();
        numbers.windows(2).all(|w| w[0] < w[1])
    })
}

/// Runs the reference (must score ≥ 99) and, when asked, the naive starter (must land in
/// 25..=65 with a trap card that misses exactly the traps it cannot handle) on one fixture.
fn check_seed(profile: &str, seed: u64, min_files: usize, naive: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let (dir, key) = common::fixture(seed, profile);
    if key.files.len() < min_files {
        problems.push(format!(
            "{profile} seed {seed}: only {} files",
            key.files.len()
        ));
    }
    let sub = tempfile::tempdir().expect("tempdir");
    common::write(sub.path(), &common::reference(dir.path()));
    let grade = common::grade(dir.path(), sub.path(), &key, profile);
    let total = common::total(&grade);
    if total < 99.0 {
        let findings: Vec<String> = grade
            .criteria
            .iter()
            .flat_map(|c| {
                c.findings
                    .iter()
                    .take(3)
                    .map(move |f| format!("  {}: {}", c.id, f.message))
            })
            .collect();
        problems.push(format!(
            "{profile} seed {seed}: reference scored {total:.2}\n{}",
            findings.join("\n")
        ));
    }
    if naive {
        let sub = tempfile::tempdir().expect("tempdir");
        SeriesTask
            .starter(dir.path(), sub.path())
            .expect("the starter runs");
        let grade = common::grade(dir.path(), sub.path(), &key, profile);
        let total = common::total(&grade);
        if !(25.0..=65.0).contains(&total) {
            problems.push(format!(
                "{profile} seed {seed}: naive scored {total:.1}, outside 25..=65"
            ));
        }
        for row in &grade.cards[0].rows {
            let id = row.name.split(' ').next().unwrap_or_default();
            // F5b, the .jpg-named DICOM, is read (handled); F5, the .dcm text, is not.
            let expected = NAIVE_HANDLES.contains(&id)
                || id == "F5b"
                || (NAIVE_HANDLES_WHEN_NUMBERED_ALONG_N.contains(&id)
                    && numbered_along_n(dir.path(), &key, id))
                // The clean CT is numbered head to feet: along n only when the patient lay feet
                // first; and the starter keeps T2's localizers and S5/S6's duplicates in it.
                || (id == "T1"
                    && numbered_along_n(dir.path(), &key, id)
                    && !key.traps.iter().any(|t| ["T2", "S5", "S6"].contains(&t.id)));
            if row.handled != expected {
                problems.push(format!(
                    "{profile} seed {seed}: naive card row `{}` handled={} ({})",
                    row.name, row.handled, row.detail
                ));
            }
        }
    }
    problems
}

#[test]
fn standard_reference_scores_at_least_99_and_naive_lands_in_its_band() {
    let problems: Vec<String> = (0..SEEDS)
        .into_par_iter()
        .flat_map(|seed| check_seed("standard", seed, 300, true))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn skipping_figures_leaves_every_score_and_finding_alone() {
    use worksample_task::Figures;
    let (dir, key) = common::fixture(3, "standard");
    let sub = tempfile::tempdir().expect("tempdir");
    common::write(sub.path(), &common::reference(dir.path()));
    let grade = |f| common::grade_with(dir.path(), sub.path(), &key, "standard", f);
    let drawn = grade(Figures::Draw);
    assert_eq!(drawn.figures.len(), key.volumes.len());
    // Every volume figure is hidden, so a candidate's report draws none.
    for shown in [Figures::Visible, Figures::Skip] {
        let skipped = grade(shown);
        assert!(skipped.figures.is_empty(), "{shown:?}");
        assert_eq!(
            serde_json::to_value(&drawn.criteria).expect("criteria serialise"),
            serde_json::to_value(&skipped.criteria).expect("criteria serialise"),
        );
        assert_eq!(drawn.cards, skipped.cards);
        assert_eq!(drawn.notes, skipped.notes);
    }
    let (_, visible) = common::fixture_with(3, "standard", Figures::Visible);
    assert!(
        visible.thumbnails.is_empty(),
        "no thumbnails for hidden figures"
    );
}

#[test]
fn figures_drawn_during_generation_equal_the_files_read_back() {
    use worksample_task::Figures;
    // Seeds whose instances include byte copies and either-one pairs (two files each).
    for (seed, profile) in [(5, "standard"), (5, "hard"), (7, "hard")] {
        let (plain, key) = common::fixture_with(seed, profile, Figures::Skip);
        let (drawn, with_thumbnails) = common::fixture_with(seed, profile, Figures::Draw);
        let digest = |d: &tempfile::TempDir| {
            worksample_task::digest_folder(d.path())
                .expect("digest")
                .digest
        };
        assert_eq!(digest(&plain), digest(&drawn), "{profile}: the same files");
        assert!(key.thumbnails.is_empty(), "{profile}");
        // Every instance is shown by its first file, and every such file was drawn in memory.
        for instance in &with_thumbnails.instances {
            let first = instance.files.first().expect("an instance has a file");
            assert!(
                with_thumbnails.thumbnails.contains_key(first),
                "{profile}: {first}"
            );
        }
        assert_eq!(
            key,
            Key {
                thumbnails: BTreeMap::new(),
                ..with_thumbnails.clone()
            },
            "{profile}: the same answers"
        );
        // The reference's volumes, and one that also takes the next volume's slices: every
        // true slice is drawn, and some appear under a volume they do not belong to.
        let mut out = common::reference(drawn.path());
        if let [first, second, ..] = &mut out.volumes[..] {
            first.instances.extend(second.instances.iter().cloned());
        }
        let sub = tempfile::tempdir().expect("tempdir");
        common::write(sub.path(), &out);
        let figures = |k: &Key| {
            let grade = common::grade(drawn.path(), sub.path(), k, profile);
            serde_json::to_value(&grade.figures).expect("figures serialise")
        };
        let (read_back, in_memory) = (figures(&key), figures(&with_thumbnails));
        assert_eq!(read_back.as_array().map(Vec::len), Some(key.volumes.len()));
        assert!(read_back == in_memory, "{profile}: the figures differ");
    }
}

#[test]
fn every_seed_of_a_profile_plants_the_same_trap_families() {
    // Hiring fairness: candidates on one profile, each on a hidden seed of their own, meet the
    // same families (tasks/series/task.toml `plant`); seeds vary only where and in what.
    let data = common::data();
    for (profile, count) in [("standard", 22), ("hard", 29)] {
        let params: Params = data
            .profile(Some(profile))
            .and_then(|p| p.parse())
            .expect("params");
        let families = |seed: u64| -> BTreeSet<&'static str> {
            planned_traps(seed, &params).into_iter().collect()
        };
        let first = families(1);
        assert_eq!(first.len(), count, "{profile}: {first:?}");
        for id in ["T1", "F1", "F5", "F5b"] {
            assert!(first.contains(id), "{profile}: {id} is always planted");
        }
        for seed in 2..=12 {
            assert_eq!(families(seed), first, "{profile} seed {seed}");
        }
        // The card shows one row per planted trap, each id once, F5 and F5b apart.
        let (_, key) = common::fixture(7, profile);
        let ids: Vec<&str> = key.traps.iter().map(|t| t.id).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique, first, "{profile}: card rows {ids:?}");
        assert_eq!(ids.len(), unique.len(), "{profile}: an id twice in {ids:?}");
    }
}

/// A reader that takes the spacing from the first two slices is caught on every seed: the
/// volume whose spacing changes starts with its wider gaps, so its first gap is not its nominal
/// spacing (the rubric's geometry anchors name that mistake).
#[test]
fn the_first_gap_is_not_always_the_nominal_spacing() {
    for profile in ["standard", "hard"] {
        for seed in [1, 5, 9] {
            let (_, key) = common::fixture(seed, profile);
            let v = key
                .volumes
                .iter()
                .find(|v| v.name == "ct_two_spacings")
                .expect("S4 on every seed");
            let [a, b, ..] = v.geometry.positions.as_slice() else {
                panic!("{profile} {seed}: two slices at least");
            };
            let first: f64 = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).powi(2))
                .sum::<f64>()
                .sqrt();
            let nominal = v.geometry.slice_spacing.expect("spacing");
            assert!(
                (first - nominal).abs() > 0.01 * nominal,
                "{profile} seed {seed}: first gap {first} against nominal {nominal}"
            );
        }
    }
}

#[test]
fn standard_plants_what_the_debrief_asks_about_at_about_the_old_size() {
    // The hiring default plants a fixed set of roughly §4.2's old expected size (about 9.5
    // families, 330 files), yet every family a debrief question or a worked example of the
    // brief presupposes, so no candidate is asked about a trap their folder never held. Each
    // row quotes the text (checked against the shipped files, so a reworded question fails
    // here) and the families it needs.
    let rubric = include_str!("../../../tasks/series/rubric.toml");
    let brief = include_str!("../../../tasks/series/brief.md");
    let needs: [(&str, &str, &[&str]); 10] = [
        (rubric, "DICOMDIR from an image", &["F2"]),
        (rubric, "Two files hold the same SOP Instance UID", &["S5"]),
        (rubric, "file with no preamble and no meta group", &["F4"]),
        (rubric, "separating the two CT passes", &["T7", "T7b"]),
        (rubric, "same SeriesNumber and description", &["T8"]),
        (rubric, "With a 20° gantry tilt", &["T10"]),
        (rubric, "volume with a missing slice", &["S3"]),
        (
            rubric,
            "missing slice from a change of spacing",
            &["S3", "S4"],
        ),
        (rubric, "Why is InstanceNumber not an order", &["S1", "T9"]),
        (brief, "2.0 mm steps at 20° give 1.879 mm", &["T10"]),
    ];
    let data = common::data();
    let params: Params = data
        .profile(Some("standard"))
        .and_then(|p| p.parse())
        .expect("params");
    let planted: BTreeSet<&str> = planned_traps(1, &params).into_iter().collect();
    for (text, quote, ids) in needs {
        assert!(
            text.contains(quote),
            "`{quote}` is no longer in the rubric or brief"
        );
        for id in ids {
            assert!(planted.contains(id), "`{quote}` needs {id}: {planted:?}");
        }
    }
    // Size: within about 1.5× §4.2's old expected 330 files; the 21-family list made 575-657.
    let files: Vec<usize> = (1..=5)
        .map(|seed| common::fixture(seed, "standard").1.files.len())
        .collect();
    let mean = files.iter().sum::<usize>() / files.len();
    assert!((300..=520).contains(&mean), "files per seed {files:?}");
}

#[test]
fn the_brief_says_which_profile_holds_the_truncated_file() {
    // Every seed plants the same families, so the brief states F7's presence per profile
    // rather than hedging with the "may" of §4.2's per-folder rates.
    let brief = include_str!("../../../tasks/series/brief.md");
    let data = common::data();
    for (profile, says) in [
        ("hard", "the `hard` profile holds one"),
        ("standard", "`standard` holds none"),
    ] {
        let params: Params = data
            .profile(Some(profile))
            .and_then(|p| p.parse())
            .expect("params");
        assert_eq!(
            planned_traps(1, &params).contains(&"F7"),
            profile == "hard",
            "{profile}"
        );
        assert!(brief.contains(says), "brief.md: `{says}`");
    }
    assert!(!brief.contains("may hold"), "brief.md still hedges");
}

#[test]
fn hard_reference_scores_at_least_99() {
    let problems: Vec<String> = (0..SEEDS)
        .into_par_iter()
        .flat_map(|seed| check_seed("hard", seed, 1000, false))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
/// The key of one fixture (so a generator change cannot silently alter answers), and what the
/// naive starter scores on it with its trap card.
fn key_and_naive_card_snapshot() {
    let (dir, key) = common::fixture(3, "standard");
    let sub = tempfile::tempdir().expect("tempdir");
    SeriesTask
        .starter(dir.path(), sub.path())
        .expect("the starter runs");
    let grade = common::grade(dir.path(), sub.path(), &key, "standard");
    let rows: Vec<String> = grade.cards[0]
        .rows
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                if r.handled { "handled" } else { "MISSED " },
                r.name
            )
        })
        .collect();
    let scores: Vec<String> = grade
        .criteria
        .iter()
        .map(|c| format!("{:<14} {:.3}  {}", c.id.as_str(), c.score.get(), c.summary))
        .collect();
    let mut truth = vec![format!("{} files", key.files.len())];
    for v in &key.volumes {
        let flags: Vec<&str> = v.flags.iter().map(|f| f.kind.name()).collect();
        let spacing = v
            .geometry
            .slice_spacing
            .map_or("-".to_owned(), |s| format!("{s:.4}"));
        truth.push(format!(
            "{:<22} {:>3} slices, spacing {spacing:>7}, regular {:<5} [{}]",
            v.name,
            v.instances.len(),
            v.geometry.regular,
            flags.join(", ")
        ));
    }
    insta::assert_snapshot!(format!(
        "{}\n\n{}\n\n{}",
        truth.join("\n"),
        scores.join("\n"),
        rows.join("\n")
    ));
}

/// A seed of `standard` planting every trap the mutants need, found from the plan alone.
fn mutant_seed() -> u64 {
    let data = common::data();
    let params: Params = data
        .profile(Some("standard"))
        .and_then(|p| p.parse())
        .expect("params");
    (0..1000)
        .find(|s| {
            let traps = planned_traps(*s, &params);
            ["T10", "S3", "F2", "F4", "T2", "S5"]
                .iter()
                .all(|t| traps.contains(t))
        })
        .expect("some seed plants all of them")
}

/// Lists the CT reversed, as a candidate ascending the wrong way would, with the first position
/// of its own first instance (the brief's rule); returns the volume's index.
fn reverse_ct(out: &mut Output, key: &Key) -> usize {
    let ct = find(out, key, "ct_axial");
    out.volumes[ct].instances.reverse();
    let v = key
        .volumes
        .iter()
        .find(|v| v.name == "ct_axial")
        .expect("T1");
    out.volumes[ct].geometry.first_position_mm = *v.geometry.positions.last().expect("slices");
    ct
}

/// The grade of criterion `id` for `out`.
fn criterion(key: &Key, out: &Output, id: &str) -> CriterionGrade {
    grade_output(key, out)
        .criteria
        .into_iter()
        .find(|c| c.id.as_str() == id)
        .unwrap_or_else(|| panic!("no criterion `{id}`"))
}

/// How many instances the key's volume `name` holds.
fn volume_size(key: &Key, name: &str) -> usize {
    key.volumes
        .iter()
        .find(|v| v.name == name)
        .map(|v| v.instances.len())
        .unwrap_or_else(|| panic!("no volume `{name}` in the key"))
}

fn find(out: &Output, key: &Key, name: &str) -> usize {
    let v = key
        .volumes
        .iter()
        .find(|v| v.name == name)
        .expect("volume planted");
    let first = key.label(v.instances[0]);
    out.volumes
        .iter()
        .position(|p| p.instances.iter().any(|r| r.file == first))
        .expect("the reference has it")
}

fn junk(key: &Key, reason: ExclusionReason) -> String {
    key.files
        .iter()
        .find(|(_, t)| matches!(t, FileTruth::Junk { reasons } if reasons[0] == reason))
        .map(|(f, _)| f.clone())
        .expect("planted")
}

type Mutation = fn(&mut Output, &Key);

const MUTANTS: &[(&str, &[&str], Mutation)] = &[
    ("a junk file listed twice", &["coverage"], |o, k| {
        let f = junk(k, ExclusionReason::NotDicom);
        let e = o
            .excluded
            .iter()
            .find(|e| e.file == f)
            .cloned()
            .expect("excluded");
        o.excluded.push(e);
    }),
    ("a file that is not in the input", &["coverage"], |o, _| {
        o.excluded.push(Excluded {
            file: "ghost/0000.dcm".into(),
            reason: ExclusionReason::NotDicom,
            duplicate_of: None,
            detail: None,
        });
    }),
    ("junk called unreadable", &["triage"], |o, k| {
        let f = junk(k, ExclusionReason::NotDicom);
        o.excluded
            .iter_mut()
            .filter(|e| e.file == f)
            .for_each(|e| e.reason = ExclusionReason::Unreadable);
    }),
    ("DICOMDIR called not_dicom", &["triage"], |o, _| {
        o.excluded
            .iter_mut()
            .filter(|e| e.reason == ExclusionReason::Dicomdir)
            .for_each(|e| e.reason = ExclusionReason::NotDicom);
    }),
    (
        "one CT slice moved into another volume",
        &["volumes_exact", "bcubed"],
        |o, k| {
            let ct = find(o, k, "ct_axial");
            let other = find(o, k, "ct_tilted");
            let moved = o.volumes[ct].instances.remove(5);
            o.volumes[other].instances.push(moved);
        },
    ),
    (
        "the last CT slice split off",
        &["volumes_exact", "bcubed"],
        |o, k| {
            let ct = find(o, k, "ct_axial");
            let mut v = o.volumes[ct].clone();
            let last = v.instances.pop().expect("slices");
            o.volumes[ct] = v.clone();
            v.id = "split".into();
            v.instances = vec![last];
            v.geometry.slice_spacing_mm = None;
            o.volumes.push(v);
        },
    ),
    // The brief: first_position_mm is the IPP of the first instance in the candidate's order.
    (
        "the CT reversed, first position still the true first",
        &["ordering", "geometry"],
        |o, k| {
            let ct = find(o, k, "ct_axial");
            o.volumes[ct].instances.reverse();
        },
    ),
    (
        "the CT reversed, first position of its own first instance",
        &["ordering"],
        |o, k| {
            reverse_ct(o, k);
        },
    ),
    // The brief: the spacing is a distance, so one reversal costs only the order's half.
    (
        "the CT reversed, its gaps taken in its own order (negative spacing)",
        &["ordering"],
        |o, k| {
            let ct = reverse_ct(o, k);
            let spacing = o.volumes[ct].geometry.slice_spacing_mm.expect("spacing");
            o.volumes[ct].geometry.slice_spacing_mm = Some(-spacing);
        },
    ),
    (
        "the CT listed twice",
        &["coverage", "volumes_exact", "ordering", "geometry"],
        |o, k| {
            let ct = find(o, k, "ct_axial");
            let mut copy = o.volumes[ct].clone();
            copy.id = "ct_again".into();
            o.volumes.push(copy);
        },
    ),
    ("two adjacent CT slices swapped", &["ordering"], |o, k| {
        let ct = find(o, k, "ct_axial");
        o.volumes[ct].instances.swap(10, 11);
    }),
    (
        "tilted spacing taken as the table step",
        &["geometry"],
        |o, k| {
            let v = find(o, k, "ct_tilted");
            let angle = o.volumes[v]
                .anomalies
                .iter()
                .find_map(|a| a.angle_deg)
                .expect("tilt flag");
            let g = &mut o.volumes[v].geometry;
            g.slice_spacing_mm = g.slice_spacing_mm.map(|s| s / angle.to_radians().cos());
        },
    ),
    (
        "a volume with a missing slice called regular",
        &["geometry"],
        |o, k| {
            let v = find(o, k, "ct_missing_slice");
            o.volumes[v].geometry.regular = true;
        },
    ),
    ("first position off by 1 mm", &["geometry"], |o, k| {
        let v = find(o, k, "ct_axial");
        o.volumes[v].geometry.first_position_mm[2] += 1.0;
    }),
    ("no flags at all", &["anomalies"], |o, _| {
        o.volumes.iter_mut().for_each(|v| v.anomalies.clear());
    }),
    (
        "missing slice located one pair off",
        &["anomalies"],
        |o, k| {
            let v = find(o, k, "ct_missing_slice");
            let files: Vec<_> = o.volumes[v].instances.clone();
            for a in &mut o.volumes[v].anomalies {
                if let Some([x, _]) = &a.between {
                    let i = files.iter().position(|f| f == x).expect("member");
                    a.between = Some([files[i + 1].clone(), files[i + 2].clone()]);
                }
            }
        },
    ),
    (
        "a spurious irregular_spacing on the CT",
        &["anomalies"],
        |o, k| {
            let v = find(o, k, "ct_axial");
            let i = o.volumes[v].instances.clone();
            o.volumes[v].anomalies.push(Anomaly {
                between: Some([i[3].clone(), i[4].clone()]),
                ..Anomaly::plain(AnomalyKind::IrregularSpacing)
            });
        },
    ),
    ("tilt angle 5° off", &["anomalies"], |o, k| {
        let v = find(o, k, "ct_tilted");
        o.volumes[v]
            .anomalies
            .iter_mut()
            .filter_map(|a| a.angle_deg.as_mut())
            .for_each(|a| *a += 5.0);
    }),
    (
        "a duplicate copy excluded as the other kind of duplicate",
        &["triage"],
        |o, _| {
            o.excluded
                .iter_mut()
                .filter(|e| e.reason == ExclusionReason::DuplicateInstance)
                .for_each(|e| e.reason = ExclusionReason::DuplicatePosition);
        },
    ),
    (
        "both copies of a duplicated file kept in the volume",
        // Its instances are the volume's, but one twice: not exactly the volume.
        &["triage", "volumes_exact", "ordering"],
        |o, k| {
            let i = o
                .excluded
                .iter()
                .position(|e| e.reason == ExclusionReason::DuplicateInstance)
                .expect("S5 planted");
            let copy = o.excluded.remove(i);
            let id = k.instance_of(&copy.file).expect("an image");
            let original = k.instances[id.0]
                .files
                .iter()
                .find(|f| **f != copy.file)
                .expect("two copies")
                .clone();
            let v = o
                .volumes
                .iter_mut()
                .find(|v| v.instances.iter().any(|r| r.file == original))
                .expect("kept");
            let at = v
                .instances
                .iter()
                .position(|r| r.file == original)
                .expect("member");
            v.instances.insert(
                at + 1,
                worksample_series::output::InstanceRef::file(copy.file),
            );
        },
    ),
    ("`other` flags on every volume", &[], |o, _| {
        o.volumes
            .iter_mut()
            .for_each(|v| v.anomalies.push(Anomaly::plain(AnomalyKind::Other)));
    }),
    (
        "the preamble-less file dropped",
        &["triage", "volumes_exact", "bcubed"],
        |o, k| {
            let raw = k
                .traps
                .iter()
                .find(|t| t.id == "F4")
                .and_then(|t| match &t.check {
                    TrapCheck::Included(f) => f.first().cloned(),
                    TrapCheck::Volumes(_)
                    | TrapCheck::Excluded(_)
                    | TrapCheck::Duplicates(_)
                    | TrapCheck::Accounted(_) => None,
                })
                .expect("F4 planted");
            for v in &mut o.volumes {
                v.instances.retain(|r| r.file != raw);
            }
            o.excluded.push(Excluded {
                file: raw,
                reason: ExclusionReason::Unreadable,
                duplicate_of: None,
                detail: None,
            });
        },
    ),
];

#[test]
fn mutants_lose_points_only_on_their_criteria() {
    let seed = mutant_seed();
    let (dir, key) = common::fixture(seed, "standard");
    let reference = common::reference(dir.path());
    let base = grade_output(&key, &reference);
    for c in &base.criteria {
        assert_eq!(
            c.score.get(),
            1.0,
            "seed {seed}: the reference is perfect on {}: {:?}",
            c.id,
            c.findings
        );
    }
    assert!(MUTANTS.len() >= 10);
    for (name, loses, mutate) in MUTANTS {
        let mut out = reference.clone();
        mutate(&mut out, &key);
        let grade = grade_output(&key, &out);
        for c in &grade.criteria {
            let should_lose = loses.contains(&c.id.as_str());
            let lost = c.score.get() < 1.0;
            assert_eq!(
                lost,
                should_lose,
                "mutant `{name}`: criterion {} scored {:.4} ({})",
                c.id,
                c.score.get(),
                c.summary
            );
        }
    }
}

/// Ids are not scored, but one id on two volumes makes findings ambiguous: a note says so.
#[test]
fn a_volume_id_used_twice_is_a_note_and_costs_nothing() {
    let (dir, key) = common::fixture(mutant_seed(), "standard");
    let mut out = common::reference(dir.path());
    let base = grade_output(&key, &out);
    let first = out.volumes[0].id.clone();
    out.volumes[1].id = first.clone();
    let grade = grade_output(&key, &out);
    assert!(
        grade
            .notes
            .iter()
            .any(|n| n.contains(&format!("`{first}` (2 volumes)"))),
        "{:?}",
        grade.notes
    );
    for (a, b) in base.criteria.iter().zip(&grade.criteria) {
        assert_eq!(a.score.get(), b.score.get(), "{}", a.id);
    }
}

/// A volume that lists a slice more than once is not exact, and the finding counts the slices
/// repeated, not the extra entries.
#[test]
fn a_slice_listed_again_is_named_once() {
    let (dir, key) = common::fixture(mutant_seed(), "standard");
    let mut out = common::reference(dir.path());
    let again = out.volumes[0].instances[0].clone();
    out.volumes[0].instances.push(again.clone());
    out.volumes[0].instances.push(again);
    let graded = criterion(&key, &out, "volumes_exact");
    assert!(graded.score.get() < 1.0, "{}", graded.summary);
    assert!(
        graded
            .findings
            .iter()
            .any(|f| f.message.contains("lists 1 of them more than once")),
        "{:?}",
        graded.findings
    );
}

#[test]
fn schema_failures_score_zero_with_the_errors_as_findings() {
    let (dir, key) = common::fixture(1, "standard");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../tasks/series/output.schema.json"))
            .expect("schema");
    let sub = tempfile::tempdir().expect("tempdir");
    let mut doc = serde_json::to_value(common::reference(dir.path())).expect("json");
    doc["volumes"][0]["colour"] = "blue".into();
    doc["excluded"][0]["reason"] = "lost".into();
    std::fs::write(sub.path().join("volumes.json"), doc.to_string()).expect("write");
    let grade = grade_submission(&schema, &key, sub.path()).expect("graded");
    assert_eq!(grade.criteria.len(), CRITERIA.len());
    // The errors are listed once, under the first criterion; the others point there.
    let (first, rest) = grade.criteria.split_first().expect("criteria");
    let locations: BTreeSet<_> = first
        .findings
        .iter()
        .filter_map(|f| f.location.as_deref())
        .collect();
    assert_eq!(
        locations,
        BTreeSet::from(["/volumes/0/colour", "/excluded/0/reason"])
    );
    for c in &grade.criteria {
        assert_eq!(c.score.get(), 0.0);
    }
    for c in rest {
        assert!(c.findings.is_empty(), "{}: {:?}", c.id.as_str(), c.findings);
        assert!(
            c.summary.contains("under the first criterion"),
            "{}",
            c.summary
        );
    }
    assert!(
        grade.notes[0].contains("does not match output.schema.json"),
        "{:?}",
        grade.notes
    );
}

/// An output breaking the schema hundreds of times lists the first errors and counts the rest,
/// in the note and for the rubric's "… and N more".
#[test]
fn schema_errors_past_the_cap_are_counted() {
    let (_dir, key) = common::fixture(1, "standard");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../tasks/series/output.schema.json"))
            .expect("schema");
    let sub = tempfile::tempdir().expect("tempdir");
    let many: Vec<serde_json::Value> = (0..200).map(|_| serde_json::json!({"file": 1})).collect();
    let doc = serde_json::json!({"schema_version": "1.0", "volumes": [], "excluded": many});
    std::fs::write(sub.path().join("volumes.json"), doc.to_string()).expect("write");
    let grade = grade_submission(&schema, &key, sub.path()).expect("graded");
    assert!(grade.notes[0].contains("(400 errors)"), "{:?}", grade.notes);
    let first = &grade.criteria[0];
    assert_eq!(
        first.findings.len() + first.findings_dropped,
        400,
        "listed and counted"
    );
}

/// A byte-order mark before volumes.json (PowerShell 5's `Out-File`, Python's `utf-8-sig`) is
/// skipped, as RFC 8259 §8.1 allows: the same output scores the same with or without one.
#[test]
fn a_byte_order_mark_before_the_output_is_skipped() {
    let (dir, key) = common::fixture(1, "standard");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../tasks/series/output.schema.json"))
            .expect("schema");
    let doc = serde_json::to_string(&common::reference(dir.path())).expect("json");
    let score = |bytes: Vec<u8>| {
        let sub = tempfile::tempdir().expect("tempdir");
        std::fs::write(sub.path().join("volumes.json"), bytes).expect("write");
        let grade = grade_submission(&schema, &key, sub.path()).expect("graded");
        assert!(grade.notes.is_empty(), "{:?}", grade.notes);
        grade
            .criteria
            .iter()
            .map(|c| c.score.get())
            .collect::<Vec<_>>()
    };
    let plain = score(doc.clone().into_bytes());
    assert!(plain.iter().all(|s| *s > 0.0), "{plain:?}");
    assert_eq!(
        score([b"\xef\xbb\xbf".as_slice(), doc.as_bytes()].concat()),
        plain
    );
}

/// Coverage lists an invented entry before the files a dropped volume leaves out: findings are
/// capped, and the one specific mistake must not fall under "and N more".
#[test]
fn coverage_names_an_invented_entry_before_the_missing_files() {
    let (dir, key) = common::fixture(1, "standard");
    let mut out = common::reference(dir.path());
    // The largest volume, so more files go missing than the findings cap shows.
    let largest = (0..out.volumes.len())
        .max_by_key(|v| out.volumes[*v].instances.len())
        .expect("volumes");
    out.volumes.remove(largest);
    out.excluded.push(Excluded {
        file: "../etc/passwd".into(),
        reason: ExclusionReason::NotDicom,
        duplicate_of: None,
        detail: None,
    });
    let grade = grade_output(&key, &out);
    let coverage = &grade.criteria[0];
    assert_eq!(coverage.id.as_str(), "coverage");
    assert!(
        coverage.findings.len() > 20,
        "a volume's worth of missing files"
    );
    assert_eq!(
        coverage.findings[0].file.as_deref(),
        Some("../etc/passwd"),
        "{:?}",
        coverage.findings[0]
    );
    assert!(
        coverage.summary.ends_with("1 entry names no input file"),
        "{}",
        coverage.summary
    );
}

/// A volume no candidate volume matches says where its instances went: merged into one of the
/// candidate's volumes, or split over several; and each candidate volume matching none says
/// which true volumes its instances belong to.
#[test]
fn unmatched_volumes_say_where_their_instances_went() {
    let (dir, key) = common::fixture(2, "standard");
    let mut out = common::reference(dir.path());
    // Three echoes merged (grouped by Series Instance UID alone).
    let echoes: Vec<usize> = ["mr_echo1", "mr_echo2", "mr_echo3"]
        .iter()
        .map(|n| find(&out, &key, n))
        .collect();
    let merged_id = out.volumes[echoes[0]].id.clone();
    let mut all = Vec::new();
    for &e in &echoes {
        all.extend(out.volumes[e].instances.clone());
    }
    out.volumes[echoes[0]].instances = all;
    // The CT split in three.
    let ct = find(&out, &key, "ct_axial");
    let ct_all = out.volumes[ct].instances.clone();
    let third = ct_all.len() / 3;
    let mut pieces = Vec::new();
    for (n, part) in ct_all.chunks(third + 1).enumerate() {
        let mut v = out.volumes[ct].clone();
        v.id = format!("ct_piece{n}");
        v.instances = part.to_vec();
        pieces.push(v);
    }
    let mut drop: Vec<usize> = vec![echoes[1], echoes[2], ct];
    drop.sort_unstable();
    for i in drop.into_iter().rev() {
        out.volumes.remove(i);
    }
    out.volumes.extend(pieces);
    let exact = criterion(&key, &out, "volumes_exact");
    let messages: Vec<&str> = exact.findings.iter().map(|f| f.message.as_str()).collect();
    let says = |text: &str| messages.iter().any(|m| m.contains(text));
    let echo2 = volume_size(&key, "mr_echo2");
    assert!(
        says(&format!(
            "all {echo2} are in your `{merged_id}`, which holds other volumes' instances too \
             (merged?)"
        )),
        "{messages:#?}"
    );
    assert!(
        says(
            "matches none of your volumes (none overlaps it by IoU > 0.5): split over your `ct_piece0` ("
        ),
        "{messages:#?}"
    );
    assert!(says("your volume `ct_piece1` ("), "{messages:#?}");

    // A volume listed only in part, in a volume of its own: not called merged.
    let mut out = common::reference(dir.path());
    let ct = find(&out, &key, "ct_axial");
    let id = out.volumes[ct].id.clone();
    out.volumes[ct].instances.truncate(2);
    let exact = criterion(&key, &out, "volumes_exact");
    assert!(
        exact.findings.iter().any(|f| f.message.ends_with(&format!(
            "2 are in your `{id}`, the rest in none of your volumes"
        ))),
        "{:#?}",
        exact.findings
    );
    assert!(
        says("matches no true volume: they belong to `ct_axial` ("),
        "{messages:#?}"
    );
}

/// Spurious flags are one finding per volume, type and reason, after the missing ones: twenty of
/// one kind once pushed the missing flag the candidate needed to see out of the findings.
#[test]
fn spurious_flags_are_counted_after_the_missing_ones() {
    // A flag repeated is called a repeat, not a wrong locator.
    let (dir, key) = common::fixture(2, "standard");
    let mut out = common::reference(dir.path());
    let (v, first) = out
        .volumes
        .iter()
        .enumerate()
        .find_map(|(v, vol)| {
            vol.anomalies
                .iter()
                .find(|a| a.kind == AnomalyKind::Localizer)
                .map(|a| (v, a.clone()))
        })
        .expect("a localizer flagged by the reference");
    out.volumes[v].anomalies.push(first);
    let anomalies = criterion(&key, &out, "anomalies");
    assert_eq!(
        anomalies
            .findings
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>(),
        [format!(
            "your volume `{}`: flag `localizer` spurious: every anomaly of this type on this \
             volume is already flagged",
            out.volumes[v].id
        )]
    );

    let (dir, key) = common::fixture(2, "standard");
    let mut out = common::reference(dir.path());
    let ct = find(&out, &key, "ct_axial");
    let i = out.volumes[ct].instances.clone();
    for w in i.windows(2).take(20) {
        out.volumes[ct].anomalies.push(Anomaly {
            between: Some([w[0].clone(), w[1].clone()]),
            ..Anomaly::plain(AnomalyKind::IrregularSpacing)
        });
    }
    let gap = find(&out, &key, "ct_missing_slice");
    out.volumes[gap]
        .anomalies
        .retain(|a| a.kind != AnomalyKind::MissingSlice);
    let anomalies = criterion(&key, &out, "anomalies");
    let messages: Vec<&str> = anomalies
        .findings
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    let [missing, spurious] = messages.as_slice() else {
        panic!("two findings: {messages:?}");
    };
    assert!(
        missing.starts_with("volume `ct_missing_slice`: missing flag `missing_slice` between"),
        "{missing}"
    );
    assert_eq!(
        *spurious,
        format!(
            "your volume `{}`: 20 flags `irregular_spacing` spurious: no such anomaly is \
             expected on this volume",
            out.volumes[ct].id
        )
    );
}

/// A slice listed twice in an otherwise ascending volume costs that volume only the repeat's
/// share of its order, and the finding names the repeat; it used to read "true rank 31 after
/// true rank 31" and score the volume ¼·τ.
#[test]
fn a_repeated_slice_costs_its_share_of_the_order() {
    let (dir, key) = common::fixture(2, "standard");
    let reference = common::reference(dir.path());
    let mut out = reference.clone();
    let v = find(&out, &key, "ct_axial");
    let n = out.volumes[v].instances.len();
    let again = out.volumes[v].instances[4].clone();
    out.volumes[v].instances.insert(5, again);
    let ordering = |o: &Output| criterion(&key, o, "ordering");
    let before = ordering(&reference);
    let after = ordering(&out);
    assert_eq!(before.score.get(), 1.0);
    let counted = key
        .volumes
        .iter()
        .filter(|v| v.instances.len() >= 2)
        .count() as f64;
    let expected = 1.0 - (1.0 - n as f64 / (n + 1) as f64) / counted;
    assert!(
        (after.score.get() - expected).abs() < 1e-12,
        "{} against {expected}",
        after.score.get()
    );
    let [finding] = after.findings.as_slice() else {
        panic!("one finding: {:?}", after.findings);
    };
    assert!(
        finding
            .message
            .ends_with(&format!("instance 6 repeats true rank 5 (1 of {} entries are repeats); each slice belongs in its volume once", n + 1)),
        "{}",
        finding.message
    );
}

#[test]
fn hostile_or_missing_output_is_graded_not_a_crash() {
    let (dir, key) = common::fixture(2, "standard");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../tasks/series/output.schema.json"))
            .expect("schema");
    let sub = tempfile::tempdir().expect("tempdir");
    let missing = grade_submission(&schema, &key, sub.path()).expect("graded");
    assert!(
        missing.notes[0].contains("is missing"),
        "{:?}",
        missing.notes
    );
    std::os::unix::fs::symlink("/dev/zero", sub.path().join("volumes.json")).expect("symlink");
    let link = grade_submission(&schema, &key, sub.path()).expect("graded");
    assert!(link.notes[0].contains("symbolic link"), "{:?}", link.notes);
    std::fs::remove_file(sub.path().join("volumes.json")).expect("rm");
    std::fs::write(
        sub.path().join("volumes.json"),
        "{\"schema_version\": \"1.0\", \"volumes\": [",
    )
    .expect("write");
    let bad = grade_submission(&schema, &key, sub.path()).expect("graded");
    assert!(bad.criteria.iter().all(|c| c.score.get() == 0.0));
    // Paths that climb out of the input are unknown files, never read.
    let out = Output {
        schema_version: "1.0".into(),
        volumes: Vec::new(),
        excluded: vec![Excluded {
            file: "../../etc/passwd".into(),
            reason: ExclusionReason::NotDicom,
            duplicate_of: None,
            detail: None,
        }],
    };
    let g = grade_output(&key, &out);
    // One instance listed 200,000 times is graded (as out of order), not an O(n²) stall.
    let ct = key
        .volumes
        .iter()
        .find(|v| v.name == "ct_axial")
        .expect("clean CT");
    let first = worksample_series::output::InstanceRef::file(key.label(ct.instances[0]));
    let mut spam = common::reference(dir.path());
    let v = find(&spam, &key, "ct_axial");
    spam.volumes[v]
        .instances
        .extend(std::iter::repeat_n(first, 200_000));
    let ordering = &grade_output(&key, &spam).criteria[4];
    assert_eq!(ordering.id.as_str(), "ordering");
    assert!(ordering.score.get() < 1.0);
    assert!(
        g.criteria[0]
            .findings
            .iter()
            .any(|f| f.file.as_deref() == Some("../../etc/passwd"))
    );
}

#[test]
fn generation_is_deterministic_and_independent_of_threads() {
    let (a, key_a) = common::fixture(5, "standard");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let (b, key_b) = pool.install(|| common::fixture(5, "standard"));
    let da = worksample_task::digest_folder(a.path()).expect("digest");
    let db = worksample_task::digest_folder(b.path()).expect("digest");
    assert_eq!(da.digest, db.digest);
    assert_eq!(key_a, key_b);
    let (c, _) = common::fixture(6, "standard");
    assert_ne!(
        worksample_task::digest_folder(c.path())
            .expect("digest")
            .digest,
        da.digest
    );
}

#[test]
fn published_schema_names_exactly_the_rust_vocabularies() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../tasks/series/output.schema.json"))
            .expect("schema");
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .expect("enum")
            .iter()
            .map(|x| x.as_str().expect("str").to_owned())
            .collect()
    };
    let anomalies = names(&schema["$defs"]["anomaly"]["properties"]["type"]["enum"]);
    let reasons = names(&schema["$defs"]["excluded"]["properties"]["reason"]["enum"]);
    assert_eq!(
        anomalies,
        AnomalyKind::ALL.map(|k| k.name().to_owned()).to_vec()
    );
    assert_eq!(
        reasons,
        ExclusionReason::ALL.map(|r| r.name().to_owned()).to_vec()
    );
    for k in AnomalyKind::ALL {
        assert_eq!(
            serde_json::to_value(k).expect("json"),
            serde_json::Value::from(k.name())
        );
    }
    for r in ExclusionReason::ALL {
        assert_eq!(
            serde_json::to_value(r).expect("json"),
            serde_json::Value::from(r.name())
        );
    }
}

/// The reference's volumes re-sorted by one header value (ties by path, so they carry no hint of
/// the answer): the shortcuts the brief rules out.
fn sorted_by(dir: &std::path::Path, out: &Output, key: &str) -> Output {
    use worksample_dicom::read::{ReadLimits, read_header};
    use worksample_series::starter::numbers;
    let mut out = out.clone();
    for v in &mut out.volumes {
        let mut keyed: Vec<(f64, String)> = v
            .instances
            .iter()
            .map(|r| {
                let ds = read_header(&dir.join(&r.file), &ReadLimits::default())
                    .expect("a fixture image reads")
                    .dataset;
                let value = match key {
                    "InstanceNumber" => {
                        numbers(&ds, dicom_dictionary_std::tags::INSTANCE_NUMBER).map(|v| v[0])
                    }
                    "SliceLocation" => {
                        numbers(&ds, dicom_dictionary_std::tags::SLICE_LOCATION).map(|v| v[0])
                    }
                    _ => numbers(&ds, dicom_dictionary_std::tags::IMAGE_POSITION_PATIENT)
                        .map(|v| v[2]),
                };
                (value.unwrap_or(0.0), r.file.clone())
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        v.instances = keyed
            .into_iter()
            .map(|(_, f)| worksample_series::output::InstanceRef::file(f))
            .collect();
    }
    out
}

/// The rubric's ordering anchors: a sort by InstanceNumber, Slice Location or z is at best
/// mixed, never the excellent (or, on average, good) order along n that the fixtures used to
/// reward (94–100 points when every volume was numbered and located along n).
#[test]
fn sorting_by_instance_number_slice_location_or_z_is_mixed_at_best() {
    let runs: Vec<(&str, u64)> = (1..=6)
        .map(|s| ("standard", s))
        .chain((1..=2).map(|s| ("hard", s)))
        .collect();
    let scores: Vec<(String, f64)> = runs
        .par_iter()
        .flat_map(|(profile, seed)| {
            let (dir, key) = common::fixture(*seed, profile);
            let reference = common::reference(dir.path());
            ["InstanceNumber", "SliceLocation", "z"]
                .iter()
                .map(|by| {
                    let grade = grade_output(&key, &sorted_by(dir.path(), &reference, by));
                    let ordering = grade
                        .criteria
                        .iter()
                        .find(|c| c.id.as_str() == "ordering")
                        .expect("ordering")
                        .score
                        .get();
                    (format!("{by} {profile} {seed}"), ordering)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for by in ["InstanceNumber", "SliceLocation", "z"] {
        let mine: Vec<&(String, f64)> = scores.iter().filter(|(n, _)| n.starts_with(by)).collect();
        let mean = mine.iter().map(|(_, s)| s).sum::<f64>() / mine.len() as f64;
        assert!(
            mean < 0.75,
            "sorting by {by}: mean ordering {mean:.3} ({mine:?})"
        );
        for (name, s) in &mine {
            assert!(*s < 0.95, "{name}: ordering {s:.3} is excellent");
        }
    }
}

/// Spacing Between Slices is not in the CT Image module: no CT file carries it, so copying it
/// from a header cannot answer the spacing (nor, under tilt, can Slice Thickness).
#[test]
fn header_spacing_is_not_the_nominal_spacing() {
    use worksample_dicom::read::{ReadLimits, read_header};
    use worksample_series::starter::numbers;
    let seed = mutant_seed();
    let (dir, key) = common::fixture(seed, "standard");
    let reference = common::reference(dir.path());
    for tag in [
        dicom_dictionary_std::tags::SPACING_BETWEEN_SLICES,
        dicom_dictionary_std::tags::SLICE_THICKNESS,
    ] {
        let mut out = reference.clone();
        for v in &mut out.volumes {
            if v.instances.len() > 1 {
                let ds = read_header(
                    &dir.path().join(&v.instances[0].file),
                    &ReadLimits::default(),
                )
                .expect("reads")
                .dataset;
                v.geometry.slice_spacing_mm = numbers(&ds, tag).map(|n| n[0]);
            }
        }
        let grade = grade_output(&key, &out);
        let geometry = grade
            .criteria
            .iter()
            .find(|c| c.id.as_str() == "geometry")
            .expect("geometry");
        assert!(
            geometry.score.get() < 1.0,
            "{tag}: geometry {}",
            geometry.score.get()
        );
        assert!(
            geometry
                .findings
                .iter()
                .any(|f| f.message.contains("ct_tilted")),
            "{tag}: the tilted CT's spacing is not in its header: {:?}",
            geometry.findings
        );
    }
}

/// A volume listed twice is graded the same whichever copy comes first, and is named.
#[test]
fn a_repeated_volume_is_a_finding_whatever_the_list_order() {
    let seed = mutant_seed();
    let (dir, key) = common::fixture(seed, "standard");
    let reference = common::reference(dir.path());
    let ct = find(&reference, &key, "ct_axial");
    let with_copy = |reversed_first: bool| {
        let mut out = reference.clone();
        let mut copy = out.volumes[ct].clone();
        copy.id = "ct_again".into();
        if reversed_first {
            out.volumes[ct].instances.reverse();
        } else {
            copy.instances.reverse();
        }
        out.volumes.push(copy);
        grade_output(&key, &out)
    };
    let (a, b) = (with_copy(true), with_copy(false));
    assert_eq!(common::points(&a), common::points(&b));
    let ordering = a
        .criteria
        .iter()
        .find(|c| c.id.as_str() == "ordering")
        .expect("ordering");
    assert!(
        ordering.findings[0]
            .message
            .contains("listed more than once"),
        "{:?}",
        ordering.findings
    );
}

/// Hostile listings: an absolute path is explained, a huge path is cut, and thousands of
/// repeats of a few entries draw each slice once, with ranks counted from 1 as in findings.
#[test]
fn hostile_paths_and_repeats_stay_small_and_explained() {
    use worksample_task::Figures;
    let seed = mutant_seed();
    let (dir, key) = common::fixture(seed, "standard");
    let mut out = common::reference(dir.path());
    let ct = find(&out, &key, "ct_axial");
    let first = out.volumes[ct].instances[0].clone();
    let second = out.volumes[ct].instances[1].clone();
    for _ in 0..5000 {
        out.volumes[ct].instances.push(second.clone());
        out.volumes[ct].instances.push(first.clone());
    }
    let absolute = dir.path().join(&first.file).display().to_string();
    out.volumes[ct]
        .instances
        .push(worksample_series::output::InstanceRef::file(absolute));
    out.excluded.push(Excluded {
        file: "x".repeat(100_000),
        reason: ExclusionReason::NotDicom,
        duplicate_of: None,
        detail: None,
    });
    let sub = tempfile::tempdir().expect("tempdir");
    common::write(sub.path(), &out);
    let grade = common::grade_with(dir.path(), sub.path(), &key, "standard", Figures::Draw);
    let coverage = grade
        .criteria
        .iter()
        .find(|c| c.id.as_str() == "coverage")
        .expect("coverage");
    let text = serde_json::to_string(&coverage.findings).expect("serialise");
    assert!(text.contains("absolute path"), "{text}");
    assert!(
        text.len() < 10_000,
        "{} bytes of coverage findings",
        text.len()
    );
    let figure = serde_json::to_value(
        grade
            .figures
            .iter()
            .find(|f| f.title.contains("ct_axial"))
            .expect("a CT figure"),
    )
    .expect("serialise");
    let tiles = figure
        .pointer("/kind/tiles")
        .or_else(|| figure.pointer("/tiles"));
    let tiles = tiles.and_then(|t| t.as_array()).expect("tiles");
    let size = volume_size(&key, "ct_axial");
    assert!(
        tiles.len() <= size,
        "{} tiles for {size} slices",
        tiles.len()
    );
    let labels: Vec<&str> = tiles.iter().filter_map(|t| t["label"].as_str()).collect();
    assert!(
        labels.contains(&"#1") && !labels.contains(&"#0"),
        "{labels:?}"
    );
}

/// A gap flag counts only when both its instances are in the volume that carries it.
#[test]
fn a_gap_flag_naming_instances_outside_its_volume_is_a_false_positive() {
    let seed = mutant_seed();
    let (dir, key) = common::fixture(seed, "standard");
    let reference = common::reference(dir.path());
    let v = find(&reference, &key, "ct_missing_slice");
    let drop_pair = |keep_flag: bool| {
        let mut o = reference.clone();
        let pair: Vec<String> = o.volumes[v]
            .anomalies
            .iter()
            .find_map(|a| a.between.clone())
            .expect("S3 flag")
            .iter()
            .map(|r| r.file.clone())
            .collect();
        o.volumes[v].instances.retain(|r| !pair.contains(&r.file));
        if !keep_flag {
            o.volumes[v].anomalies.retain(|a| a.between.is_none());
        }
        let c = criterion(&key, &o, "anomalies");
        (c.score.get(), c.summary)
    };
    let ((kept, kept_summary), (dropped, dropped_summary)) = (drop_pair(true), drop_pair(false));
    // The flag is not credited, and it is counted against its type: with that type's recall at
    // 0 its F1 is 0 either way, so the score cannot fall further, but the count shows it.
    assert!(kept <= dropped, "kept {kept:.4} vs dropped {dropped:.4}");
    assert!(
        kept_summary.contains(", 1 spurious") && dropped_summary.contains(", 0 spurious"),
        "{kept_summary} / {dropped_summary}"
    );
}

/// Localizer flags come from ImageType alone and are the most numerous: flagging only them is
/// the brief's "mixed" work, not most of the criterion, because F1 is averaged over the types.
#[test]
fn localizer_flags_alone_earn_a_share_per_type_not_per_flag() {
    let seed = mutant_seed();
    let (dir, key) = common::fixture(seed, "standard");
    let mut lazy = common::reference(dir.path());
    for v in &mut lazy.volumes {
        v.anomalies.retain(|a| a.kind == AnomalyKind::Localizer);
    }
    let c = criterion(&key, &lazy, "anomalies");
    let types = key
        .volumes
        .iter()
        .flat_map(|v| v.flags.iter().map(|f| f.kind))
        .collect::<BTreeSet<_>>()
        .len();
    assert!(types >= 3, "the standard profile plants {types} flag types");
    assert!(
        (c.score.get() - 1.0 / types as f64).abs() < 1e-9,
        "{}: {}",
        c.score.get(),
        c.summary
    );
}

/// `regular: true` everywhere is right on every plain volume and wrong on each irregular one:
/// scored by balanced accuracy, it earns half of `regular`'s quarter, not nearly all of it.
#[test]
fn regular_everywhere_earns_half_of_its_share() {
    let seed = mutant_seed();
    let (dir, key) = common::fixture(seed, "standard");
    let mut lazy = common::reference(dir.path());
    for v in &mut lazy.volumes {
        v.geometry.regular = true;
    }
    let irregular = key
        .volumes
        .iter()
        .filter(|v| v.instances.len() >= 2 && !v.geometry.regular)
        .count();
    assert!(
        irregular >= 1,
        "the standard profile plants an irregular volume"
    );
    let c = criterion(&key, &lazy, "geometry");
    assert!(
        (c.score.get() - (1.0 - 0.25 * 0.5)).abs() < 1e-9,
        "{}: {}",
        c.score.get(),
        c.summary
    );
}

//! Test support: fixtures from the real task data, the Rust reference solution (written from
//! brief.md, independently of the generator's key code), and scoring against rubric.toml.

use std::collections::BTreeMap;
use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use worksample_dicom::read::{ReadLimits, is_dicom, read_full};
use worksample_series::SeriesTask;
use worksample_series::key::Key;
use worksample_series::output::{
    Anomaly, AnomalyKind, Excluded, ExclusionReason, Geometry, InstanceRef, Output, Volume,
};
use worksample_series::starter::{list_files, numbers, text};
use worksample_task::rubric::Grade;
use worksample_task::{
    Figures, FolderSink, GenerateContext, GradeContext, NoProgress, Seed, Task, TaskData,
};

/// The task data as compiled in.
pub fn data() -> TaskData {
    TaskData::from_embedded("series", &SeriesTask.embedded()).expect("the shipped task data loads")
}

/// Generates `profile` fixtures for `seed` into a new temporary folder.
pub fn fixture(seed: u64, profile: &str) -> (tempfile::TempDir, Key) {
    fixture_with(seed, profile, Figures::Skip)
}

/// [`fixture`], with the key made for a grade whose figures are shown or not.
pub fn fixture_with(seed: u64, profile: &str, figures: Figures) -> (tempfile::TempDir, Key) {
    let data = data();
    let profile = data.profile(Some(profile)).expect("profile exists");
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = GenerateContext {
        seed: Seed(seed),
        profile: &profile,
        data: &data,
        progress: &NoProgress,
        figures,
    };
    let key = SeriesTask
        .generate(&ctx, &FolderSink::new(dir.path()))
        .expect("generation succeeds");
    (dir, key)
}

/// Grades the submission folder with the task's own grader, figures drawn.
pub fn grade(fixtures: &Path, submission: &Path, key: &Key, profile: &str) -> Grade {
    grade_with(fixtures, submission, key, profile, Figures::Draw)
}

/// [`grade`], with figures drawn or skipped.
pub fn grade_with(
    fixtures: &Path,
    submission: &Path,
    key: &Key,
    profile: &str,
    figures: Figures,
) -> Grade {
    let data = data();
    let profile = data.profile(Some(profile)).expect("profile exists");
    let ctx = GradeContext {
        profile: &profile,
        data: &data,
        fixtures,
        submission,
        progress: &NoProgress,
        figures,
    };
    SeriesTask
        .grade(&ctx, key)
        .expect("grading never fails on candidate output")
}

/// Points per criterion under rubric.toml.
pub fn points(grade: &Grade) -> BTreeMap<String, f64> {
    let data = data();
    grade
        .criteria
        .iter()
        .map(|c| {
            let w = data
                .rubric
                .criterion(c.id.as_str())
                .expect("criterion in rubric")
                .weight;
            (c.id.as_str().to_owned(), w * c.score.get())
        })
        .collect()
}

/// The total out of 100.
pub fn total(grade: &Grade) -> f64 {
    points(grade).values().sum()
}

/// Writes `out` as the submission's volumes.json.
pub fn write(dir: &Path, out: &Output) {
    worksample_series::starter::write_output(dir, out).expect("write volumes.json");
}

struct Img {
    file: String,
    series: Option<String>,
    group: String,
    iop: [f64; 6],
    ipp: [f64; 3],
    rows: u32,
    columns: u32,
    spacing: [f64; 2],
    number: Option<i64>,
    acquisition: Option<i64>,
    localizer: bool,
    pixels: Vec<u8>,
}

fn fixed<const N: usize>(ds: &InMemDicomObject, tag: dicom_core::Tag) -> Option<[f64; N]> {
    numbers(ds, tag)?.try_into().ok()
}

fn int(ds: &InMemDicomObject, tag: dicom_core::Tag) -> Option<i64> {
    numbers(ds, tag)?.first().map(|v| *v as i64)
}

fn normal(iop: &[f64; 6]) -> [f64; 3] {
    let n = [
        iop[1] * iop[5] - iop[2] * iop[4],
        iop[2] * iop[3] - iop[0] * iop[5],
        iop[0] * iop[4] - iop[1] * iop[3],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    [n[0] / len, n[1] / len, n[2] / len]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// The Rust reference solution: brief.md, implemented directly.
pub fn reference(input: &Path) -> Output {
    let limits = ReadLimits::default();
    let mut excluded = Vec::new();
    let mut images: Vec<Img> = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let ex = |file: &str, reason, of: Option<&str>| Excluded {
        file: file.to_owned(),
        reason,
        duplicate_of: of.map(InstanceRef::file),
        detail: None,
    };
    for rel in list_files(input).expect("list input") {
        let path = input.join(&rel);
        let file = match read_full(&path, &limits) {
            Ok(f) => f,
            Err(_) => {
                let reason = if is_dicom(&path) {
                    ExclusionReason::Unreadable
                } else {
                    ExclusionReason::NotDicom
                };
                excluded.push(ex(&rel, reason, None));
                continue;
            }
        };
        let ds = &file.dataset;
        let meta_class = file.meta.as_ref().map(|m| {
            m.media_storage_sop_class_uid()
                .trim_end_matches(['\0', ' '])
                .to_owned()
        });
        if meta_class.as_deref() == Some("1.2.840.10008.1.3.10")
            || ds.get(tags::DIRECTORY_RECORD_SEQUENCE).is_some()
        {
            excluded.push(ex(&rel, ExclusionReason::Dicomdir, None));
            continue;
        }
        let Some(pixels) = ds
            .get(tags::PIXEL_DATA)
            .and_then(|e| e.to_bytes().ok())
            .map(|b| b.into_owned())
        else {
            excluded.push(ex(&rel, ExclusionReason::NoPixelData, None));
            continue;
        };
        let sop = text(ds, tags::SOP_INSTANCE_UID).expect("images have a SOP Instance UID");
        if let Some(first) = seen.get(&sop) {
            excluded.push(ex(&rel, ExclusionReason::DuplicateInstance, Some(first)));
            continue;
        }
        seen.insert(sop, rel.clone());
        let image_type = text(ds, tags::IMAGE_TYPE).unwrap_or_default();
        let series = text(ds, tags::SERIES_INSTANCE_UID);
        let group = [
            text(ds, tags::PATIENT_ID),
            text(ds, tags::STUDY_INSTANCE_UID),
            series.clone(),
            text(ds, tags::FRAME_OF_REFERENCE_UID),
            text(ds, tags::ROWS),
            text(ds, tags::COLUMNS),
            numbers(ds, tags::PIXEL_SPACING).map(|v| format!("{v:?}")),
            Some(image_type.clone()),
            text(ds, tags::ECHO_NUMBERS),
            numbers(ds, tags::ECHO_TIME).map(|v| format!("{v:?}")),
            numbers(ds, tags::DIFFUSION_B_VALUE).map(|v| format!("{v:?}")),
            numbers(ds, tags::DIFFUSION_GRADIENT_ORIENTATION).map(|v| format!("{v:?}")),
            text(ds, tags::TEMPORAL_POSITION_IDENTIFIER),
        ]
        .map(|v| v.unwrap_or_else(|| "-".into()))
        .join("|");
        images.push(Img {
            file: rel,
            series,
            group,
            iop: fixed(ds, tags::IMAGE_ORIENTATION_PATIENT).expect("IOP"),
            ipp: fixed(ds, tags::IMAGE_POSITION_PATIENT).expect("IPP"),
            rows: int(ds, tags::ROWS).expect("rows") as u32,
            columns: int(ds, tags::COLUMNS).expect("columns") as u32,
            spacing: fixed(ds, tags::PIXEL_SPACING).expect("pixel spacing"),
            number: int(ds, tags::INSTANCE_NUMBER),
            acquisition: int(ds, tags::ACQUISITION_NUMBER),
            localizer: image_type.split('\\').nth(2) == Some("LOCALIZER"),
            pixels,
        });
    }

    // Group by the brief's attributes, then by orientation within 1e-4.
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    for i in 0..images.len() {
        let home = clusters.iter_mut().find(|c| {
            let f = &images[c[0]];
            f.group == images[i].group
                && f.iop
                    .iter()
                    .zip(&images[i].iop)
                    .all(|(a, b)| (a - b).abs() <= 1e-4)
        });
        match home {
            Some(c) => c.push(i),
            None => clusters.push(vec![i]),
        }
    }

    let mut volumes = Vec::new();
    for cluster in clusters {
        let n = normal(&images[cluster[0]].iop);
        let d = |i: usize| dot(images[i].ipp, n);
        let mut kept: Vec<usize> = Vec::new();
        for i in cluster {
            match kept
                .iter()
                .find(|&&k| (d(k) - d(i)).abs() <= 0.01 && images[k].pixels == images[i].pixels)
            {
                Some(&k) => excluded.push(ex(
                    &images[i].file,
                    ExclusionReason::DuplicatePosition,
                    Some(&images[k].file),
                )),
                None => kept.push(i),
            }
        }
        let mut ds: Vec<f64> = kept.iter().map(|&i| d(i)).collect();
        ds.sort_by(f64::total_cmp);
        let repeats = ds.windows(2).any(|w| w[1] - w[0] <= 0.01);
        let mut parts: BTreeMap<Option<i64>, Vec<usize>> = BTreeMap::new();
        for i in kept {
            let k = if repeats { images[i].acquisition } else { None };
            parts.entry(k).or_default().push(i);
        }
        for mut part in parts.into_values() {
            part.sort_by(|a, b| d(*a).total_cmp(&d(*b)));
            volumes.push(volume(&images, &part, n, volumes.len()));
        }
    }
    Output {
        schema_version: "1.0".into(),
        volumes,
        excluded,
    }
}

fn volume(images: &[Img], part: &[usize], n: [f64; 3], index: usize) -> Volume {
    let first = &images[part[0]];
    let r = |i: usize| InstanceRef::file(images[part[i]].file.clone());
    let mut anomalies = Vec::new();
    if first.localizer {
        anomalies.push(Anomaly::plain(AnomalyKind::Localizer));
    }
    if first.series.is_none() {
        anomalies.push(Anomaly::plain(AnomalyKind::MissingSeriesUid));
    }
    let d: Vec<f64> = part.iter().map(|&i| dot(images[i].ipp, n)).collect();
    let gaps: Vec<f64> = d.windows(2).map(|w| w[1] - w[0]).collect();
    let mut spacing = None;
    let mut regular = true;
    if !gaps.is_empty() {
        let mut counts: BTreeMap<i64, (usize, f64)> = BTreeMap::new();
        for g in &gaps {
            counts
                .entry((g * 100.0).round() as i64)
                .or_insert((0, *g))
                .0 += 1;
        }
        let mut best = (0, 0.0);
        for &(c, g) in counts.values() {
            if c > best.0 {
                best = (c, g);
            }
        }
        let nominal = best.1;
        spacing = Some(nominal);
        let same = |a: f64, b: f64| (a - b).abs() <= 0.01 * nominal;
        let mut prev: Option<f64> = None;
        for (i, &g) in gaps.iter().enumerate() {
            if same(g, nominal) {
                prev = None;
                continue;
            }
            regular = false;
            let m = (g / nominal).round();
            let between = Some([r(i), r(i + 1)]);
            if m >= 2.0 && same(g, m * nominal) {
                anomalies.push(Anomaly {
                    between,
                    ..Anomaly::plain(AnomalyKind::MissingSlice)
                });
                prev = None;
            } else {
                if !prev.is_some_and(|p| same(p, g)) {
                    anomalies.push(Anomaly {
                        between,
                        ..Anomaly::plain(AnomalyKind::IrregularSpacing)
                    });
                }
                prev = Some(g);
            }
        }
        let (a, b) = (first.ipp, images[part[part.len() - 1]].ipp);
        let step = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let cos = (dot(step, n).abs() / dot(step, step).sqrt()).min(1.0);
        let angle = cos.acos().to_degrees();
        if angle > 1.0 {
            regular = false;
            anomalies.push(Anomaly {
                angle_deg: Some(angle),
                ..Anomaly::plain(AnomalyKind::GantryTilt)
            });
        }
        let numbers: Option<Vec<i64>> = part.iter().map(|&i| images[i].number).collect();
        if let Some(ns) = numbers {
            let up = ns.windows(2).all(|w| w[0] < w[1]);
            let down = ns.windows(2).all(|w| w[0] > w[1]);
            if !up && !down {
                anomalies.push(Anomaly::plain(AnomalyKind::InstanceNumberNotSpatial));
            }
        }
    }
    Volume {
        id: format!("vol_{index:03}"),
        series_instance_uid: first.series.clone(),
        split_by: None,
        instances: (0..part.len()).map(r).collect(),
        geometry: Geometry {
            image_orientation_patient: first.iop,
            rows: first.rows,
            columns: first.columns,
            pixel_spacing_mm: first.spacing,
            slice_spacing_mm: spacing,
            first_position_mm: first.ipp,
            regular,
        },
        anomalies,
    }
}

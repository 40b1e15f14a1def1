//! The fixture generator: plans a folder of one or two patients' studies with the trap families
//! of research/series.md §4.2 that the profile lists, renders and writes it in parallel, and
//! returns the answer key.
//!
//! Every seed of a profile plants the same families, so candidates graded on different hidden
//! seeds meet problems of equal kind and number; the seed varies only which series carry them,
//! where, and their names and values. (§4.2 drew each family at a per-fixture rate, which let
//! one candidate's folder hold twice the families of another's.)
//!
//! Everything is a pure function of (seed, params): every random choice comes from
//! `worksample_dicom::rng::stream` keyed by a label, UIDs from `uid::derive`, and rendering is
//! parallel over a plan fixed beforehand, so the bytes do not depend on the thread count.
//! Pixels come from the engine's phantom sampled at each slice's patient position, with a noise
//! stream per slice: they never encode the slice index.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Deserialize;
use worksample_dicom::geometry::{Orientation, SliceLocationMode, Vec3, VolumeGeometry};
use worksample_dicom::identity::CharsetChoice;
use worksample_dicom::model::{
    Modality, Patient, Plane, Series, SeriesSpec, Study, build_instance,
};
use worksample_dicom::preview::Slice;
use worksample_dicom::write::{TransferSyntax, WriteOptions, to_bytes};
use worksample_dicom::{Instance, rng, uid};
use worksample_task::rubric::PngImage;
use worksample_task::rubric::Visibility;
use worksample_task::{Figures, FolderSink, Sink, SinkError};

use crate::grade::png_thumbnail;
use crate::key::{
    FileTruth, FlagTruth, GeometryTruth, InstanceId, InstanceTruth, Key, Locator, TrapCheck,
    TrapTruth, VolumeId, VolumeTruth,
};
use crate::output::{AnomalyKind, ExclusionReason};

/// Every trap id a profile may list in `plant` (research/series.md §4.2; `T9b` is an oblique
/// volume, our addition). T1, F1 and F5 (its two rows, F5 and F5b) are always planted.
pub const TRAP_IDS: [&str; 25] = [
    "T2", "T3", "T4", "T5", "T6", "T7", "T7b", "T8", "T9", "T9b", "T10", "T12", "S1", "S2", "S3",
    "S4", "S5", "S6", "S7", "S8", "F2", "F3", "F4", "F6", "F7",
];

/// The trap ids planted in every fixture whatever the profile lists (§4.2: rate 1.0 in both).
pub const ALWAYS: [&str; 4] = ["T1", "F1", "F5", "F5b"];

/// Profile parameters (`[profiles.*.params]` in task.toml).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The folder holds at least this many files; the clean CT grows, then clean MR volumes are
    /// added, until it does.
    pub min_files: u32,
    /// Multiplies the slice counts of the trap volumes.
    pub scale: f64,
    /// Rows and columns of every slice (scouts have half as many rows again). Grading does not
    /// depend on it; it sets the size and generation time of the folder.
    pub matrix: u16,
    /// The trap families planted in every fixture of the profile, by id; an id not listed is
    /// never planted. A list rather than §4.2's rates, so every seed meets the same families.
    pub plant: Vec<String>,
}

impl Params {
    /// Checks what serde cannot: known trap ids listed once, a sane scale.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = BTreeSet::new();
        for id in &self.plant {
            if ALWAYS.contains(&id.as_str()) {
                return Err(format!(
                    "plant: `{id}` is always planted; leave it out of the list"
                ));
            }
            if !TRAP_IDS.contains(&id.as_str()) {
                return Err(format!(
                    "plant: unknown trap `{id}`; known: {}",
                    TRAP_IDS.join(", ")
                ));
            }
            if !seen.insert(id.as_str()) {
                return Err(format!("plant: `{id}` is listed twice"));
            }
        }
        if !(0.5..=4.0).contains(&self.scale) {
            return Err(format!("scale = {} must lie in 0.5..=4", self.scale));
        }
        if !(16..=512).contains(&self.matrix) {
            return Err(format!("matrix = {} must lie in 16..=512", self.matrix));
        }
        if self.min_files > 20_000 {
            return Err(format!("min_files = {} is over 20000", self.min_files));
        }
        Ok(())
    }
}

/// Why generation failed (a harness fault: fixtures are ours).
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// Encoding a dataset failed.
    #[error("failed to encode `{file}`")]
    Encode {
        /// The file being written.
        file: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Storing a file failed.
    #[error(transparent)]
    Write(#[from] SinkError),
}

/// The matrix of a series: square slices, or the taller scout of a CT localizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Slice,
    Scout,
}

/// What an image's InstanceNumber (0020,0013) holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Number {
    Value(i64),
    Empty,
}

/// What Gantry/Detector Tilt (0018,1120) holds for a CT image.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TiltTag {
    Keep,
    Value(f64),
}

/// What Slice Location (0020,1041) a series carries. PS3.3 C.7.6.2.1.2 defines it only as the
/// "relative position of the image plane" along an axis of the scanner's choosing, so vendors
/// differ: some write IPP · n, some the patient coordinate of the nearest axis, CT scanners often
/// the table position, and it is Type 3 (absent is valid).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Location {
    /// Whatever the engine wrote: IPP · n, or the series' planted mode (S8's wrong sign or
    /// constant, T9's absent).
    Engine,
    /// The LPS coordinate of the axis closest to n, less a landmark offset: runs against n when
    /// n points to −x, −y or −z (a sagittal, a feet-first axial).
    Axis { offset: f64 },
    /// CT table position less a landmark offset: grows as the table moves into the gantry, which
    /// is towards the feet of a head-first patient and the head of a feet-first one, so it runs
    /// against n of an axial stack either way.
    Table { offset: f64 },
    /// Not written (Slice Location is Type 3 in the Image Plane module, PS3.3 C.7.6.2).
    Absent,
}

/// How the scanner that wrote a series numbered, positioned and located its images; drawn once
/// per Series Instance UID so every volume of a series (echoes, phases, passes) shares them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Conventions {
    /// InstanceNumber (0020,0013) runs against n (descending IPP · n). Instances are numbered in
    /// acquisition order, which may run either way along the normal (PS3.3 C.7.6.1.1: the number
    /// only identifies the image).
    against: bool,
    /// Patient Position (0018,5100) is FFS and the axial IOP is the feet-first one,
    /// (−1,0,0)/(0,1,0), whose normal is −z (PS3.3 C.7.3.1.1.2, C.7.6.2.1.1): ascending IPP · n
    /// is then descending z. Only set where the plan applied it (see [`Planner::orient`]).
    feet_first: bool,
    /// The draw behind `feet_first`, used when the plan asks for it.
    feet_first_drawn: bool,
    location: Location,
}

impl Conventions {
    /// An image outside any planned volume: the engine's values.
    const ENGINE: Conventions = Conventions {
        against: false,
        feet_first: false,
        feet_first_drawn: false,
        location: Location::Engine,
    };
}

/// Share of axial series written feet first (normal −z). A trap rate, not a clinical prevalence
/// (feet-first scans are a minority): half the axial stacks make a sort by z exactly reversed.
const FEET_FIRST_RATE: f64 = 0.5;
/// Share of series numbered against n. CT is mostly numbered head to feet (against n of a
/// head-first axial); MR prescriptions run either way.
const AGAINST_RATE_CT: f64 = 0.7;
const AGAINST_RATE_MR: f64 = 0.6;

/// Overrides applied to an engine-built image.
#[derive(Debug, Clone)]
struct Attrs {
    number: Number,
    image_type: Option<&'static [&'static str]>,
    acquisition_number: Option<i64>,
    echo: Option<(i64, f64)>,
    diffusion: Option<(f64, Option<Vec3>)>,
    /// TemporalPositionIdentifier and NumberOfTemporalPositions (PS3.3 C.8.3.1, Type 3).
    temporal: Option<(i64, i64)>,
    remove_series_uid: bool,
    iop_jitter: Option<[f64; 6]>,
    padded_ipp: bool,
    tilt: TiltTag,
}

impl Attrs {
    fn numbered(n: i64) -> Self {
        Attrs {
            number: Number::Value(n),
            image_type: None,
            acquisition_number: None,
            echo: None,
            diffusion: None,
            temporal: None,
            remove_series_uid: false,
            iop_jitter: None,
            padded_ipp: false,
            tilt: TiltTag::Keep,
        }
    }
}

/// One planned image file.
#[derive(Debug, Clone)]
struct ImagePlan {
    patient: usize,
    study: usize,
    /// The series drawn for it, with geometry narrowed to this one slice.
    series: Series,
    sop_uid: String,
    attrs: Attrs,
    ts: TransferSyntax,
    raw: bool,
    position: Vec3,
    iop: [f64; 6],
    /// `Some(original)` for an S6 duplicate position: same pixels, new UID, excluded.
    dup_of: Option<usize>,
    /// F7: written with its Pixel Data cut in half; belongs in no volume.
    truncated: bool,
    path: String,
    /// The conventions of its series (Slice Location, Patient Position).
    conv: Conventions,
}

/// A file that is not an image of a volume.
#[derive(Debug, Clone)]
enum Extra {
    /// A byte copy of an image file (S5).
    Copy(usize),
    /// A text file.
    Text(&'static str),
    /// A few bytes of JPEG.
    Jpeg,
    /// An empty file.
    Empty,
    /// A stale DICOMDIR listing these images (and one file that is gone).
    Dicomdir(Vec<usize>),
    /// A Basic Text SR of this patient and study.
    Report { patient: usize, study: usize },
}

#[derive(Debug, Clone)]
struct VolPlan {
    name: String,
    /// Images in ascending order along the normal.
    images: Vec<usize>,
    localizer: bool,
    missing_uid: bool,
}

#[derive(Debug, Clone)]
enum PlanCheck {
    Volumes(Vec<usize>),
    Extras(Vec<usize>),
    Duplicates(Vec<usize>),
    Included(Vec<usize>),
    Truncated(Vec<usize>),
    Nested,
}

#[derive(Debug, Clone)]
struct TrapPlan {
    id: &'static str,
    label: String,
    check: PlanCheck,
}

struct Planner<'a> {
    seed: u64,
    params: &'a Params,
    rng: ChaCha8Rng,
    patients: Vec<Patient>,
    studies: Vec<(usize, Study)>,
    series_drawn: u64,
    slices: u64,
    images: Vec<ImagePlan>,
    extras: Vec<(Extra, String)>,
    volumes: Vec<VolPlan>,
    traps: Vec<TrapPlan>,
    clean_ct: usize,
    /// A stream of its own for [`Conventions`], so drawing them never shifts which traps are
    /// planted or where.
    conv_rng: ChaCha8Rng,
    conventions: BTreeMap<String, Conventions>,
}

/// Generates the fixtures into the folder `out` and returns the key.
pub fn generate(seed: u64, params: &Params, out: &Path) -> Result<Key, GenerateError> {
    generate_into(seed, params, &FolderSink::new(out), Figures::Skip)
}

/// Generates the fixtures into `out` and returns the key, with the thumbnail of every instance's
/// first file when `figures` says a grade will show them.
pub fn generate_into(
    seed: u64,
    params: &Params,
    out: &dyn Sink,
    figures: Figures,
) -> Result<Key, GenerateError> {
    let mut plan = Planner::new(seed, params);
    plan.plan();
    plan.assign_paths();
    let mut key = plan.key();
    // Figures show an instance by its first file, which may be a copy or the other file of an
    // either-one pair: each has its own thumbnail, drawn from its own bytes.
    // The volume figures are hidden ones.
    let shown: BTreeSet<&str> = if figures.draws(Visibility::Hidden) {
        key.instances
            .iter()
            .filter_map(|i| i.files.first())
            .map(String::as_str)
            .collect()
    } else {
        BTreeSet::new()
    };
    let thumbnails = plan.write(out, &shown)?;
    key.thumbnails = thumbnails;
    Ok(key)
}

fn round4(p: Vec3) -> Vec3 {
    let r = |v: f64| {
        let x = (v * 1e4).round() / 1e4;
        if x == 0.0 { 0.0 } else { x }
    };
    [r(p[0]), r(p[1]), r(p[2])]
}

/// A decimal string (PS3.5 Table 6.2-1) with up to 8 decimals, enough for jitter of 1e-8.
fn ds_exact(v: f64) -> String {
    let mut s = format!("{v:.8}");
    while s.ends_with('0') {
        s.pop();
    }
    if s.ends_with('.') {
        s.pop();
    }
    if s == "-0" { "0".to_owned() } else { s }
}

fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn normal(iop: &[f64; 6]) -> Vec3 {
    let (r, c) = ([iop[0], iop[1], iop[2]], [iop[3], iop[4], iop[5]]);
    [
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    ]
}

/// A sagittal orientation turned by `about_z` degrees about z, then by `about_y` about y.
fn double_oblique(about_z: f64, about_y: f64) -> Orientation {
    let (sz, cz) = about_z.to_radians().sin_cos();
    let (sy, cy) = about_y.to_radians().sin_cos();
    let turn = |v: Vec3| {
        let v = [cz * v[0] - sz * v[1], sz * v[0] + cz * v[1], v[2]];
        [cy * v[0] + sy * v[2], v[1], -sy * v[0] + cy * v[2]]
    };
    Orientation {
        row: turn(Orientation::SAGITTAL.row),
        col: turn(Orientation::SAGITTAL.col),
    }
}

const LOCALIZER: &[&str] = &["ORIGINAL", "PRIMARY", "LOCALIZER"];

impl<'a> Planner<'a> {
    fn new(seed: u64, params: &'a Params) -> Self {
        Planner {
            seed,
            params,
            rng: rng::stream(seed, "series/plan"),
            patients: Vec::new(),
            studies: Vec::new(),
            series_drawn: 0,
            slices: 0,
            images: Vec::new(),
            extras: Vec::new(),
            volumes: Vec::new(),
            traps: Vec::new(),
            clean_ct: 0,
            conv_rng: rng::stream(seed, "series/conventions"),
            conventions: BTreeMap::new(),
        }
    }

    fn planted(&mut self, id: &str) -> bool {
        // Keep the roll the per-fixture rates drew, though it decides nothing now, so one
        // family's presence never shifts another's roll.
        let _roll: f64 = self.rng.random();
        self.params.plant.iter().any(|p| p == id)
    }

    fn count(&mut self, base: u32) -> u32 {
        ((f64::from(base) * self.params.scale).round() as u32).max(4)
    }

    fn patient(&mut self) -> usize {
        let index = self.patients.len() as u64;
        self.patients
            .push(Patient::draw(self.seed, index, CharsetChoice::Ascii));
        self.patients.len() - 1
    }

    fn study(&mut self, patient: usize, modality: Modality) -> usize {
        let index = self.studies.len() as u64;
        let study = Study::draw(self.seed, &self.patients[patient], index, modality);
        self.studies.push((patient, study));
        self.studies.len() - 1
    }

    fn series(
        &mut self,
        study: usize,
        modality: Modality,
        plane: Plane,
        shape: Shape,
        images: u32,
        number: u32,
    ) -> Series {
        let m = self.params.matrix;
        let rows = match shape {
            Shape::Slice => m,
            Shape::Scout => m + m / 2,
        };
        let mut spec = SeriesSpec::new(modality, rows, m, images);
        spec.plane = plane;
        spec.private_tags = false;
        let (patient, st) = &self.studies[study];
        let s = Series::draw(
            self.seed,
            &self.patients[*patient],
            st,
            self.series_drawn,
            number,
            &spec,
        );
        self.series_drawn += 1;
        s
    }

    fn ts(&mut self) -> TransferSyntax {
        if self.rng.random_bool(0.3) {
            TransferSyntax::ImplicitVrLittleEndian
        } else {
            TransferSyntax::ExplicitVrLittleEndian
        }
    }

    /// Plans one image of `series` at `position`.
    fn image(
        &mut self,
        study: usize,
        series: &Series,
        position: Vec3,
        attrs: Attrs,
        ts: TransferSyntax,
    ) -> usize {
        let position = round4(position);
        let mut s = series.clone();
        // A unique index gives every slice its own noise stream; the geometry is narrowed to
        // this one slice so the phantom is sampled where the slice really is.
        s.index = 1_000_000 + self.slices;
        s.geometry.first_position = position;
        s.geometry.count = 1;
        s.geometry.gantry_tilt_deg = 0.0;
        let sop_uid = uid::derive(self.seed, "series-task/sop", self.slices);
        self.slices += 1;
        let iop = series.geometry.orientation.iop();
        self.images.push(ImagePlan {
            patient: self.studies[study].0,
            study,
            series: s,
            sop_uid,
            attrs,
            ts,
            raw: false,
            position,
            iop,
            dup_of: None,
            truncated: false,
            path: String::new(),
            conv: Conventions::ENGINE,
        });
        self.images.len() - 1
    }

    /// Plans a volume from positions already in ascending order along the normal.
    fn volume(
        &mut self,
        name: &str,
        study: usize,
        series: &Series,
        positions: &[Vec3],
        attrs: impl Fn(usize) -> Attrs,
    ) -> usize {
        let ts = self.ts();
        let mut conv = self.conventions(series);
        if series.slice_location != SliceLocationMode::Consistent {
            // A planted Slice Location (S8, T9) stays as planted.
            conv.location = Location::Engine;
        }
        let mut attrs: Vec<Attrs> = (0..positions.len()).map(attrs).collect();
        if conv.against {
            let numbers: Vec<Number> = attrs.iter().rev().map(|a| a.number).collect();
            for (a, n) in attrs.iter_mut().zip(numbers) {
                a.number = n;
            }
        }
        let images = positions
            .iter()
            .zip(attrs)
            .map(|(p, a)| {
                let i = self.image(study, series, *p, a, ts);
                self.images[i].conv = conv;
                i
            })
            .collect();
        self.volumes.push(VolPlan {
            name: name.to_owned(),
            images,
            localizer: false,
            missing_uid: false,
        });
        self.volumes.len() - 1
    }

    /// The conventions of `series`, drawn the first time its UID is seen.
    fn conventions(&mut self, series: &Series) -> Conventions {
        if let Some(c) = self.conventions.get(&series.uid) {
            return *c;
        }
        let ct = series.modality == Modality::Ct;
        let r = &mut self.conv_rng;
        let against = r.random_bool(if ct { AGAINST_RATE_CT } else { AGAINST_RATE_MR });
        let feet_first_drawn = r.random_bool(FEET_FIRST_RATE);
        let offset = f64::from(r.random_range(-400..=400i32)) / 4.0;
        let roll: f64 = r.random();
        // Shares of the Slice Location conventions (see [`Location`]): CT (IPP · n, axis, table,
        // absent) 25/25/35/15 %, MR (IPP · n, axis, absent) 35/45/20 %. With feet-first stacks,
        // sagittals and the table position, about half of all stacks carry a Slice Location
        // that is absent or runs against n.
        let location = match (ct, roll) {
            (true, x) if x < 0.25 => Location::Engine,
            (true, x) if x < 0.50 => Location::Axis { offset },
            (true, x) if x < 0.85 => Location::Table { offset },
            (false, x) if x < 0.35 => Location::Engine,
            (false, x) if x < 0.80 => Location::Axis { offset },
            (true | false, _) => Location::Absent,
        };
        let c = Conventions {
            against,
            feet_first: false,
            feet_first_drawn,
            location,
        };
        self.conventions.insert(series.uid.clone(), c);
        c
    }

    /// Turns an axial `series` feet first when its conventions drew it: IOP (−1,0,0)/(0,1,0),
    /// normal −z, Patient Position FFS (PS3.3 C.7.3.1.1.2). Called before its positions are taken.
    fn orient(&mut self, series: &mut Series) {
        let mut c = self.conventions(series);
        if !c.feet_first_drawn {
            return;
        }
        let g = series.geometry;
        let feet_first = Orientation {
            row: [-1.0, 0.0, 0.0],
            col: [0.0, 1.0, 0.0],
        };
        let mut flipped = VolumeGeometry::centred(
            g.rows,
            g.columns,
            g.pixel_spacing,
            g.slice_spacing,
            feet_first,
            g.count,
            [0.0, 0.0, 0.0],
        );
        flipped.slice_thickness = g.slice_thickness;
        series.geometry = flipped;
        c.feet_first = true;
        self.conventions.insert(series.uid.clone(), c);
    }

    fn positions(series: &Series) -> Vec<Vec3> {
        (0..series.geometry.count)
            .map(|k| series.geometry.position(k))
            .collect()
    }

    fn trap(&mut self, id: &'static str, label: impl Into<String>, check: PlanCheck) {
        self.traps.push(TrapPlan {
            id,
            label: label.into(),
            check,
        });
    }

    fn plan(&mut self) {
        let p0 = self.patient();
        let ct_study = self.study(p0, Modality::Ct);
        let mr_study = self.study(p0, Modality::Mr);
        let mut mr_number = 2u32;
        let next_mr = |n: &mut u32| {
            *n += 1;
            *n
        };
        let plant: BTreeMap<&str, bool> =
            TRAP_IDS.iter().map(|id| (*id, self.planted(id))).collect();
        let on = |id: &str| plant.get(id).copied().unwrap_or(false);

        // Everything but the clean CT first, so the CT can fill the folder up to min_files.

        if on("T3") {
            // Every seed's series has three echoes (fairness: a seed varies values, not counts).
            // The roll is still drawn, so a seed whose version-6 roll gave three draws the same
            // values after it; any other seed's later values move with the extra volume.
            let _ = self.rng.random_range(2..=3u32);
            let echoes = 3u32;
            let n = self.count(24);
            let number = next_mr(&mut mr_number);
            let mut s = self.series(
                mr_study,
                Modality::Mr,
                Plane::Axial,
                Shape::Slice,
                n,
                number,
            );
            self.orient(&mut s);
            let pos = Self::positions(&s);
            let mut vols = Vec::new();
            for e in 0..echoes {
                let te = 12.0 + 30.0 * f64::from(e);
                let e_i = i64::from(e);
                let echoes_i = i64::from(echoes);
                let v = self.volume(&format!("mr_echo{}", e + 1), mr_study, &s, &pos, |k| {
                    Attrs {
                        echo: Some((e_i + 1, te)),
                        ..Attrs::numbered(k as i64 * echoes_i + e_i + 1)
                    }
                });
                vols.push(v);
            }
            self.trap(
                "T3",
                format!("{echoes} echoes in one series"),
                PlanCheck::Volumes(vols),
            );
        }
        if on("T4") {
            let n = self.count(16);
            let number = next_mr(&mut mr_number);
            let mut s = self.series(
                mr_study,
                Modality::Mr,
                Plane::Axial,
                Shape::Slice,
                n,
                number,
            );
            self.orient(&mut s);
            let pos = Self::positions(&s);
            let dirs: [(f64, Option<Vec3>, &str); 4] = [
                (0.0, None, "dwi_b0"),
                (1000.0, Some([1.0, 0.0, 0.0]), "dwi_b1000_x"),
                (1000.0, Some([0.0, 1.0, 0.0]), "dwi_b1000_y"),
                (1000.0, Some([0.0, 0.0, 1.0]), "dwi_b1000_z"),
            ];
            let mut vols = Vec::new();
            let per = pos.len() as i64;
            for (v, (b, g, name)) in dirs.into_iter().enumerate() {
                let vol = self.volume(name, mr_study, &s, &pos, |k| Attrs {
                    diffusion: Some((b, g)),
                    ..Attrs::numbered(v as i64 * per + k as i64 + 1)
                });
                vols.push(vol);
            }
            self.trap(
                "T4",
                "b = 0 and three b = 1000 directions in one series",
                PlanCheck::Volumes(vols),
            );
        }
        if on("T5") {
            // Four phases on every seed; the roll is drawn as before (see T3).
            let _ = self.rng.random_range(3..=5u32);
            let phases = 4u32;
            let n = self.count(16);
            let number = next_mr(&mut mr_number);
            let mut s = self.series(
                mr_study,
                Modality::Mr,
                Plane::Axial,
                Shape::Slice,
                n,
                number,
            );
            self.orient(&mut s);
            let pos = Self::positions(&s);
            let per = pos.len() as i64;
            let mut vols = Vec::new();
            for p in 0..phases {
                let p_i = i64::from(p);
                let vol = self.volume(&format!("dyn_t{}", p + 1), mr_study, &s, &pos, |k| Attrs {
                    temporal: Some((p_i + 1, i64::from(phases))),
                    ..Attrs::numbered(p_i * per + k as i64 + 1)
                });
                vols.push(vol);
            }
            self.trap(
                "T5",
                format!("{phases} temporal positions in one series"),
                PlanCheck::Volumes(vols),
            );
        }
        if on("T6") {
            let number = next_mr(&mut mr_number);
            let mut uid_of_first: Option<String> = None;
            let mut vols = Vec::new();
            for (i, (plane, name)) in [
                (Plane::Axial, "mr_loc_ax"),
                (Plane::Sagittal, "mr_loc_sag"),
                (Plane::Coronal, "mr_loc_cor"),
            ]
            .into_iter()
            .enumerate()
            {
                let mut s = self.series(mr_study, Modality::Mr, plane, Shape::Slice, 3, number);
                match &uid_of_first {
                    Some(u) => s.uid = u.clone(),
                    None => uid_of_first = Some(s.uid.clone()),
                }
                let pos = Self::positions(&s);
                let v = self.volume(name, mr_study, &s, &pos, |k| Attrs {
                    image_type: Some(LOCALIZER),
                    ..Attrs::numbered(i as i64 * 3 + k as i64 + 1)
                });
                self.volumes[v].localizer = true;
                vols.push(v);
            }
            self.trap(
                "T6",
                "three-plane MR localizer in one series",
                PlanCheck::Volumes(vols),
            );
        }
        if on("T7") {
            let n = self.count(40);
            let mut s = self.series(ct_study, Modality::Ct, Plane::Axial, Shape::Slice, n, 5);
            self.orient(&mut s);
            let pos = Self::positions(&s);
            let a = self.volume("ct_pass1", ct_study, &s, &pos, |k| Attrs {
                acquisition_number: Some(1),
                ..Attrs::numbered(k as i64 + 1)
            });
            let (lo, hi) = (pos.len() / 4, pos.len() * 3 / 4);
            let n1 = pos.len() as i64;
            let b = self.volume("ct_pass2", ct_study, &s, &pos[lo..hi], |k| Attrs {
                acquisition_number: Some(2),
                ..Attrs::numbered(n1 + k as i64 + 1)
            });
            self.trap(
                "T7",
                "two CT passes over the same positions in one series",
                PlanCheck::Volumes(vec![a, b]),
            );
        }
        if on("T7b") {
            let n = self.count(30);
            let mut s = self.series(ct_study, Modality::Ct, Plane::Axial, Shape::Slice, n, 6);
            self.orient(&mut s);
            let pos = Self::positions(&s);
            let block = self.rng.random_range(2..=5usize);
            let v = self.volume("ct_acqnum_varies", ct_study, &s, &pos, |k| Attrs {
                acquisition_number: Some((k / block) as i64 + 1),
                ..Attrs::numbered(k as i64 + 1)
            });
            self.trap(
                "T7b",
                "AcquisitionNumber varies inside one clean stack (must not split)",
                PlanCheck::Volumes(vec![v]),
            );
        }
        if on("T9") {
            let n = self.count(24);
            let number = next_mr(&mut mr_number);
            let mut s = self.series(
                mr_study,
                Modality::Mr,
                Plane::Sagittal,
                Shape::Slice,
                n,
                number,
            );
            s.slice_location = SliceLocationMode::Absent;
            let pos = Self::positions(&s);
            let v = self.volume("mr_sagittal", mr_study, &s, &pos, |k| {
                Attrs::numbered(k as i64 + 1)
            });
            self.trap(
                "T9",
                "sagittal volume without Slice Location",
                PlanCheck::Volumes(vec![v]),
            );
        }
        if on("T9b") {
            let n = self.count(24);
            let number = next_mr(&mut mr_number);
            let mut s = self.series(
                mr_study,
                Modality::Mr,
                Plane::Oblique,
                Shape::Slice,
                n,
                number,
            );
            // A sagittal turned 20° about z, then −30° about y: n ≈ (−0.81, −0.34, −0.47), far
            // from every axis and pointing to −z, so neither a sort by z nor one by the nearest
            // axis (x) follows IPP · n (PS3.3 C.7.6.2.1.1).
            let g = s.geometry;
            let mut oblique = VolumeGeometry::centred(
                g.rows,
                g.columns,
                g.pixel_spacing,
                g.slice_spacing,
                double_oblique(20.0, -30.0),
                g.count,
                [0.0, 0.0, 0.0],
            );
            oblique.slice_thickness = g.slice_thickness;
            s.geometry = oblique;
            let pos = Self::positions(&s);
            let v = self.volume("mr_oblique", mr_study, &s, &pos, |k| {
                Attrs::numbered(k as i64 + 1)
            });
            self.trap("T9b", "double-oblique volume", PlanCheck::Volumes(vec![v]));
        }
        if on("T10") {
            let tilt = f64::from(self.rng.random_range(30..=50u32)) / 2.0;
            let n = self.count(30);
            let mut s = self.series(
                ct_study,
                Modality::Ct,
                Plane::GantryTilt(tilt),
                Shape::Slice,
                n,
                7,
            );
            // The table steps by the drawn spacing; the planes are step × cos θ apart along n.
            // Slice Thickness (0018,0050) is the nominal thickness the scanner reconstructs, the
            // step here, so no header element holds the spacing along n (PS3.3 C.7.6.2.1.1).
            let g = s.geometry;
            let step = g.slice_spacing;
            let mut tilted = VolumeGeometry::gantry_tilted(
                g.rows,
                g.columns,
                g.pixel_spacing,
                step * tilt.to_radians().cos(),
                tilt,
                g.count,
                [0.0, 0.0, 0.0],
            );
            tilted.slice_thickness = step;
            s.geometry = tilted;
            let pos = Self::positions(&s);
            // Gantry/Detector Tilt (0018,1120) is nominal and "not intended for mathematical
            // computations" (PS3.3 C.8.2.1, Table C.8-3): the tilt is estimated from the geometry. The tag
            // reads 0 on every seed, so a solution that trusts it fails on every seed alike
            // instead of on half of them (research/series.md §4.2 drew present, 0 or absent).
            let _ = self.rng.random_range(0..4u32);
            let tag = TiltTag::Value(0.0);
            let v = self.volume("ct_tilted", ct_study, &s, &pos, |k| Attrs {
                tilt: tag,
                ..Attrs::numbered(k as i64 + 1)
            });
            self.trap(
                "T10",
                format!("gantry tilt {tilt}° (the tilt tag reads 0)"),
                PlanCheck::Volumes(vec![v]),
            );
        }
        if on("T12") {
            let n = self.count(20);
            let number = next_mr(&mut mr_number);
            let mut s = self.series(
                mr_study,
                Modality::Mr,
                Plane::Axial,
                Shape::Slice,
                n,
                number,
            );
            self.orient(&mut s);
            let pos = Self::positions(&s);
            let v = self.volume("mr_no_series_uid", mr_study, &s, &pos, |k| Attrs {
                remove_series_uid: true,
                ..Attrs::numbered(k as i64 + 1)
            });
            self.volumes[v].missing_uid = true;
            self.trap(
                "T12",
                "Series Instance UID removed",
                PlanCheck::Volumes(vec![v]),
            );
        }
        if on("S1") {
            let n = self.count(20) as usize;
            let number = next_mr(&mut mr_number);
            let mut s = self.series(
                mr_study,
                Modality::Mr,
                Plane::Axial,
                Shape::Slice,
                n as u32,
                number,
            );
            self.orient(&mut s);
            let pos = Self::positions(&s);
            let mut perm: Vec<i64> = (1..=n as i64).collect();
            loop {
                perm.shuffle(&mut self.rng);
                let up = perm.windows(2).all(|w| w[0] < w[1]);
                let down = perm.windows(2).all(|w| w[0] > w[1]);
                if !up && !down {
                    break;
                }
            }
            let v = self.volume("mr_shuffled_numbers", mr_study, &s, &pos, |k| {
                Attrs::numbered(perm[k])
            });
            self.trap(
                "S1",
                "InstanceNumber in random order",
                PlanCheck::Volumes(vec![v]),
            );
        }
        if on("S2") {
            let n = self.count(20);
            let number = next_mr(&mut mr_number);
            let mut s = self.series(
                mr_study,
                Modality::Mr,
                Plane::Axial,
                Shape::Slice,
                n,
                number,
            );
            self.orient(&mut s);
            let pos = Self::positions(&s);
            let v = self.volume("mr_no_numbers", mr_study, &s, &pos, |_| Attrs {
                number: Number::Empty,
                ..Attrs::numbered(0)
            });
            self.trap("S2", "InstanceNumber empty", PlanCheck::Volumes(vec![v]));
        }
        if on("S3") {
            let n = self.count(30);
            let mut s = self.series(ct_study, Modality::Ct, Plane::Axial, Shape::Slice, n, 8);
            self.orient(&mut s);
            let mut pos = Self::positions(&s);
            let gone = self.rng.random_range(3..pos.len() - 3);
            pos.remove(gone);
            let v = self.volume("ct_missing_slice", ct_study, &s, &pos, |k| {
                Attrs::numbered(if k < gone { k as i64 + 1 } else { k as i64 + 2 })
            });
            self.trap(
                "S3",
                "one interior slice missing",
                PlanCheck::Volumes(vec![v]),
            );
        }
        if on("S4") {
            let n1 = self.count(20) as usize;
            let n2 = (n1 / 2).max(3);
            let mut s = self.series(
                ct_study,
                Modality::Ct,
                Plane::Axial,
                Shape::Slice,
                (n1 + n2) as u32,
                9,
            );
            s.geometry.slice_spacing = 2.5;
            self.orient(&mut s);
            let start = s.geometry.position(0);
            let n = s.geometry.orientation.normal();
            let mut pos = Vec::new();
            let mut z = 0.0;
            for k in 0..n1 + n2 {
                pos.push([
                    start[0] + z * n[0],
                    start[1] + z * n[1],
                    start[2] + z * n[2],
                ]);
                // The wider gaps come first, so the spacing of the first two slices is not the
                // nominal one: a reader that takes it from there is caught (version 8).
                z += if k < n2 { 4.0 } else { 2.5 };
            }
            let v = self.volume("ct_two_spacings", ct_study, &s, &pos, |k| {
                Attrs::numbered(k as i64 + 1)
            });
            self.trap(
                "S4",
                "spacing changes from 4.0 to 2.5 mm",
                PlanCheck::Volumes(vec![v]),
            );
        }
        if on("S7") {
            let n = self.count(24);
            let number = next_mr(&mut mr_number);
            let mut s = self.series(
                mr_study,
                Modality::Mr,
                Plane::Axial,
                Shape::Slice,
                n,
                number,
            );
            self.orient(&mut s);
            let pos = Self::positions(&s);
            let jitter: Vec<[f64; 6]> = (0..pos.len())
                .map(|_| {
                    std::array::from_fn(|_| f64::from(self.rng.random_range(-20..=20i32)) * 1e-8)
                })
                .collect();
            let v = self.volume("mr_iop_jitter", mr_study, &s, &pos, |k| Attrs {
                iop_jitter: Some(jitter[k]),
                padded_ipp: k % 2 == 1,
                ..Attrs::numbered(k as i64 + 1)
            });
            self.trap(
                "S7",
                "orientation jitter ≤ 2e-7 and padded DS (must not split)",
                PlanCheck::Volumes(vec![v]),
            );
        }
        if on("S8") {
            let n = self.count(24);
            let number = next_mr(&mut mr_number);
            let mut s = self.series(
                mr_study,
                Modality::Mr,
                Plane::Axial,
                Shape::Slice,
                n,
                number,
            );
            // Negated on every seed: a constant value is spotted by its sameness, a negated
            // one only against IPP · n, so drawing either made seeds unequally hard.
            let _ = self.rng.random_bool(0.5);
            s.slice_location = SliceLocationMode::Negated;
            self.orient(&mut s);
            let pos = Self::positions(&s);
            let v = self.volume("mr_bad_slice_location", mr_study, &s, &pos, |k| {
                Attrs::numbered(k as i64 + 1)
            });
            self.trap(
                "S8",
                "Slice Location wrong sign or constant",
                PlanCheck::Volumes(vec![v]),
            );
        }

        // The second patient's look-alike CT copies the clean CT's number and description.
        let t8 = on("T8");

        // The clean CT: as large as needed to reach min_files, within a sane range.
        let others = self.images.len() + 12;
        let drawn = self.rng.random_range(60..=120usize);
        let wanted = (self.params.min_files as usize).saturating_sub(others);
        let n_ct = drawn.max(wanted).min(400);
        let mut ct = self.series(
            ct_study,
            Modality::Ct,
            Plane::Axial,
            Shape::Slice,
            n_ct as u32,
            2,
        );
        self.orient(&mut ct);
        // Numbered head to feet, as CT scanners usually are: against n when the patient lies
        // head first (n = +z), along it when feet first (n = −z).
        if let Some(c) = self.conventions.get_mut(&ct.uid) {
            c.against = !c.feet_first;
        }
        let pos = Self::positions(&ct);
        let n = pos.len() as i64;
        let t1 = self.volume("ct_axial", ct_study, &ct, &pos, |k| {
            Attrs::numbered(k as i64 + 1)
        });
        self.trap(
            "T1",
            format!("clean axial CT of {n} slices numbered head to feet"),
            PlanCheck::Volumes(vec![t1]),
        );
        self.clean_ct = t1;

        if on("T2") {
            // Both scouts on every seed; the roll is drawn as before (see T3).
            let _ = self.rng.random_range(1..=2usize);
            let count = 2usize;
            let mut vols = Vec::new();
            for (i, (plane, name)) in [
                (Plane::Coronal, "ct_scout_cor"),
                (Plane::Sagittal, "ct_scout_sag"),
            ]
            .into_iter()
            .take(count)
            .enumerate()
            {
                let mut s = self.series(ct_study, Modality::Ct, plane, Shape::Scout, 1, ct.number);
                s.uid = ct.uid.clone();
                s.description = ct.description.clone();
                let pos = Self::positions(&s);
                let v = self.volume(name, ct_study, &s, &pos, |_| Attrs {
                    image_type: Some(LOCALIZER),
                    ..Attrs::numbered(n + i as i64 + 1)
                });
                self.volumes[v].localizer = true;
                vols.push(v);
            }
            self.trap(
                "T2",
                format!("{count} CT localizer(s) inside the CT series"),
                PlanCheck::Volumes(vols),
            );
        }
        if t8 {
            let p1 = self.patient();
            let st = self.study(p1, Modality::Ct);
            let count = self.count(20);
            let mut s = self.series(
                st,
                Modality::Ct,
                Plane::Axial,
                Shape::Slice,
                count,
                ct.number,
            );
            s.description = ct.description.clone();
            self.orient(&mut s);
            let pos = Self::positions(&s);
            let v = self.volume("ct_other_patient", st, &s, &pos, |k| {
                Attrs::numbered(k as i64 + 1)
            });
            self.trap(
                "T8",
                "second patient, same series number and description",
                PlanCheck::Volumes(vec![v]),
            );
        }

        // File-level traps on the clean CT (never its first or last slice).
        let ct_images = self.volumes[t1].images.clone();
        let mut pick_ct = {
            let mut used: BTreeSet<usize> = BTreeSet::new();
            move |rng: &mut ChaCha8Rng| loop {
                let i = ct_images[rng.random_range(1..ct_images.len() - 1)];
                if used.insert(i) {
                    break i;
                }
            }
        };
        if on("S5") {
            let i = pick_ct(&mut self.rng);
            self.extras.push((Extra::Copy(i), String::new()));
            self.trap(
                "S5",
                "byte copy of a CT file under another name",
                PlanCheck::Duplicates(vec![i]),
            );
        }
        if on("S6") {
            let i = pick_ct(&mut self.rng);
            let mut dup = self.images[i].clone();
            dup.sop_uid = uid::derive(self.seed, "series-task/sop-duplicate", i as u64);
            dup.dup_of = Some(i);
            self.images.push(dup);
            self.trap(
                "S6",
                "second CT image at an occupied position, identical pixels",
                PlanCheck::Duplicates(vec![i]),
            );
        }
        if on("F4") {
            let i = pick_ct(&mut self.rng);
            self.images[i].raw = true;
            self.images[i].ts = TransferSyntax::ImplicitVrLittleEndian;
            self.trap(
                "F4",
                "DICOM without preamble or meta group",
                PlanCheck::Included(vec![i]),
            );
        }

        if on("F7") {
            // A lone image of its own series, so excluding it leaves no hole in a volume.
            let s = self.series(ct_study, Modality::Ct, Plane::Axial, Shape::Slice, 1, 11);
            let ts = self.ts();
            let i = self.image(ct_study, &s, s.geometry.position(0), Attrs::numbered(1), ts);
            self.images[i].truncated = true;
            self.trap(
                "F7",
                "DICOM file cut off inside its Pixel Data",
                PlanCheck::Truncated(vec![i]),
            );
        }

        // Fill up to min_files with clean MR volumes when the CT alone cannot.
        let mut extra_vols = 0;
        while self.images.len() < self.params.min_files as usize {
            extra_vols += 1;
            let number = next_mr(&mut mr_number);
            let mut s = self.series(
                mr_study,
                Modality::Mr,
                Plane::Axial,
                Shape::Slice,
                40,
                number,
            );
            self.orient(&mut s);
            let pos = Self::positions(&s);
            self.volume(&format!("mr_axial_{extra_vols}"), mr_study, &s, &pos, |k| {
                Attrs::numbered(k as i64 + 1)
            });
        }

        // Junk.
        // Every kind of junk on every seed (a text file, a JPEG, an empty file): a reader that
        // chokes on one kind would otherwise fail only on the seeds that drew it.
        let _ = self.rng.random_range(1..=3usize);
        let junk = 3usize;
        let mut f1 = Vec::new();
        for kind in [Extra::Text("README"), Extra::Jpeg, Extra::Empty]
            .into_iter()
            .take(junk)
        {
            self.extras.push((kind, String::new()));
            f1.push(self.extras.len() - 1);
        }
        self.trap(
            "F1",
            format!("{junk} non-DICOM file(s)"),
            PlanCheck::Extras(f1),
        );
        // F5: a text file named .dcm, and a DICOM named .jpg (chosen at path assignment).
        self.extras.push((Extra::Text("NOTES"), String::new()));
        let f5 = self.extras.len() - 1;
        self.trap("F5", "a text file named .dcm", PlanCheck::Extras(vec![f5]));
        if on("F2") {
            let mut listed: Vec<usize> = (0..self.images.len())
                .filter(|i| self.images[*i].dup_of.is_none())
                .collect();
            listed.shuffle(&mut self.rng);
            listed.truncate(listed.len() / 3);
            listed.sort_unstable();
            self.extras
                .push((Extra::Dicomdir(listed), "DICOMDIR".to_owned()));
            let e = self.extras.len() - 1;
            self.trap(
                "F2",
                "stale DICOMDIR listing a third of the files",
                PlanCheck::Extras(vec![e]),
            );
        }
        if on("F3") {
            self.extras.push((
                Extra::Report {
                    patient: p0,
                    study: ct_study,
                },
                String::new(),
            ));
            let e = self.extras.len() - 1;
            self.trap(
                "F3",
                "Basic Text SR without Pixel Data",
                PlanCheck::Extras(vec![e]),
            );
        }
        if on("F6") {
            self.trap(
                "F6",
                "files nested one to three folders deep",
                PlanCheck::Nested,
            );
        }
    }

    fn nested(&self) -> bool {
        self.traps.iter().any(|t| t.id == "F6")
    }

    fn assign_paths(&mut self) {
        let mut r = rng::stream(self.seed, "series/paths");
        let dirs: Vec<String> = if self.nested() {
            let mut d = Vec::new();
            for _ in 0..6 {
                let depth = r.random_range(1..=3usize);
                let parts: Vec<String> = (0..depth)
                    .map(|_| format!("{:02x}", r.random::<u8>()))
                    .collect();
                d.push(format!("{}/", parts.join("/")));
            }
            d
        } else {
            vec![String::new()]
        };
        let mut taken: BTreeSet<String> = BTreeSet::new();
        for fixed in [crate::grade::MANIFEST, "README.txt", "DICOMDIR"] {
            taken.insert(fixed.to_owned());
        }
        let mut name = |r: &mut ChaCha8Rng, ext: &str| loop {
            let dir = dirs[r.random_range(0..dirs.len())].as_str();
            let stem: String = (0..r.random_range(6..=10usize))
                .map(|_| char::from(b"0123456789abcdef"[r.random_range(0..16)]))
                .collect();
            let candidate = format!("{dir}{stem}{ext}");
            if taken.insert(candidate.clone()) {
                break candidate;
            }
        };
        let dicom_ext = |r: &mut ChaCha8Rng| match r.random_range(0..10u32) {
            0 | 1 => "",
            2 => ".IMA",
            _ => ".dcm",
        };
        let jpg_named = {
            let ct = &self.volumes[self.clean_ct].images;
            let candidates: Vec<usize> = ct
                .iter()
                .copied()
                .filter(|i| !self.images[*i].raw)
                .collect();
            candidates[r.random_range(0..candidates.len())]
        };
        for i in 0..self.images.len() {
            let ext = if i == jpg_named {
                ".jpg"
            } else {
                dicom_ext(&mut r)
            };
            self.images[i].path = name(&mut r, ext);
        }
        for e in 0..self.extras.len() {
            let path = match &self.extras[e].0 {
                Extra::Dicomdir(_) => "DICOMDIR".to_owned(),
                Extra::Text("README") => "README.txt".to_owned(),
                Extra::Text(_) => name(&mut r, ".dcm"),
                Extra::Jpeg => name(&mut r, ".jpg"),
                Extra::Empty => name(&mut r, ""),
                Extra::Copy(_) | Extra::Report { .. } => {
                    let ext = dicom_ext(&mut r);
                    name(&mut r, ext)
                }
            };
            self.extras[e].1 = path;
        }
    }

    fn build(&self, i: usize) -> Instance {
        let im = &self.images[i];
        let (patient, study) = (&self.patients[im.patient], &self.studies[im.study].1);
        let mut inst = build_instance(self.seed, patient, study, &im.series, 0);
        let d = &mut inst.dataset;
        let a = &im.attrs;
        let put = |d: &mut InMemDicomObject, tag: Tag, vr: VR, v: PrimitiveValue| {
            d.put(DataElement::new(tag, vr, v));
        };
        let text = |s: String| PrimitiveValue::from(s);
        put(d, tags::SOP_INSTANCE_UID, VR::UI, text(im.sop_uid.clone()));
        match a.number {
            Number::Value(n) => put(d, tags::INSTANCE_NUMBER, VR::IS, text(n.to_string())),
            Number::Empty => put(d, tags::INSTANCE_NUMBER, VR::IS, PrimitiveValue::Empty),
        }
        if let Some(it) = a.image_type {
            let v: Vec<String> = it.iter().map(|s| (*s).to_owned()).collect();
            put(d, tags::IMAGE_TYPE, VR::CS, PrimitiveValue::Strs(v.into()));
        }
        if let Some(n) = a.acquisition_number {
            put(d, tags::ACQUISITION_NUMBER, VR::IS, text(n.to_string()));
        }
        if let Some((n, te)) = a.echo {
            put(d, tags::ECHO_NUMBERS, VR::IS, text(n.to_string()));
            put(
                d,
                tags::ECHO_TIME,
                VR::DS,
                text(worksample_dicom::geometry::ds(te)),
            );
        }
        if let Some((b, g)) = a.diffusion {
            put(d, tags::DIFFUSION_B_VALUE, VR::FD, PrimitiveValue::from(b));
            if let Some(g) = g {
                put(
                    d,
                    tags::DIFFUSION_GRADIENT_ORIENTATION,
                    VR::FD,
                    PrimitiveValue::F64(g.to_vec().into()),
                );
            }
        }
        if let Some((t, count)) = a.temporal {
            put(
                d,
                tags::TEMPORAL_POSITION_IDENTIFIER,
                VR::IS,
                text(t.to_string()),
            );
            put(
                d,
                tags::NUMBER_OF_TEMPORAL_POSITIONS,
                VR::IS,
                text(count.to_string()),
            );
        }
        if a.remove_series_uid {
            d.remove_element(tags::SERIES_INSTANCE_UID);
        }
        if let Some(j) = a.iop_jitter {
            let v: Vec<String> = (0..6).map(|k| ds_exact(im.iop[k] + j[k])).collect();
            put(
                d,
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                PrimitiveValue::Strs(v.into()),
            );
        }
        if a.padded_ipp {
            let v: Vec<String> = im.position.iter().map(|x| format!("{x:.6}")).collect();
            put(
                d,
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                PrimitiveValue::Strs(v.into()),
            );
        }
        if im.series.modality == Modality::Ct {
            // Spacing Between Slices (0018,0088) belongs to the MR Image module (C.8.3.1) and the
            // enhanced Pixel Measures macro, not to the CT Image module (C.8.2.1): CT scanners
            // do not send it, so the spacing must come from the positions.
            d.remove_element(tags::SPACING_BETWEEN_SLICES);
        }
        if im.conv.feet_first {
            put(d, tags::PATIENT_POSITION, VR::CS, text("FFS".to_owned()));
        }
        let n = normal(&im.iop);
        let location = match im.conv.location {
            Location::Engine => None,
            Location::Axis { offset } => {
                let axis = (0..3)
                    .max_by(|a, b| n[*a].abs().total_cmp(&n[*b].abs()))
                    .unwrap_or(2);
                Some(Some(im.position[axis] - offset))
            }
            Location::Table { offset } => Some(Some(if n[2] < 0.0 {
                im.position[2] - offset
            } else {
                offset - im.position[2]
            })),
            Location::Absent => Some(None),
        };
        match location {
            None => {}
            Some(Some(v)) => put(
                d,
                tags::SLICE_LOCATION,
                VR::DS,
                text(worksample_dicom::geometry::ds(v)),
            ),
            Some(None) => {
                d.remove_element(tags::SLICE_LOCATION);
            }
        }
        match a.tilt {
            TiltTag::Keep => {}
            TiltTag::Value(t) => put(
                d,
                tags::GANTRY_DETECTOR_TILT,
                VR::DS,
                text(worksample_dicom::geometry::ds(t)),
            ),
        }
        inst
    }

    /// Image `i`'s file, and its thumbnail when `draw` asks for one and the file reads back
    /// as written (a native transfer syntax: RLE Lossless is not previewed).
    fn bytes_of(&self, i: usize, draw: bool) -> Result<(Vec<u8>, Option<PngImage>), GenerateError> {
        let im = &self.images[i];
        let inst = self.build(i);
        let thumbnail = (draw && !im.truncated && im.ts != TransferSyntax::RleLossless)
            .then(|| {
                Slice::from_instance(&inst)
                    .ok()
                    .as_ref()
                    .and_then(png_thumbnail)
            })
            .flatten();
        let opts = WriteOptions {
            transfer_syntax: im.ts,
            preamble: !im.raw,
            file_meta: !im.raw,
        };
        let mut bytes = to_bytes(&inst, &opts).map_err(|e| GenerateError::Encode {
            file: im.path.clone(),
            source: Box::new(e),
        })?;
        if im.truncated {
            // Pixel Data is the last element (PS3.5 §7.1: ascending tag order): cutting half of
            // its value leaves every header element intact and the file short of its length.
            let g = &im.series.geometry;
            let half = usize::from(g.rows) * usize::from(g.columns);
            bytes.truncate(bytes.len().saturating_sub(half));
        }
        Ok((bytes, thumbnail))
    }

    /// Writes every file into `out`; returns the thumbnails of the image files in `shown` (copies
    /// included) by path, drawn from each image before it is encoded, so the grader need not
    /// read the files back.
    fn write(
        &self,
        out: &dyn Sink,
        shown: &BTreeSet<&str>,
    ) -> Result<BTreeMap<String, PngImage>, GenerateError> {
        let write = |rel: &str, bytes: &[u8]| out.put(rel, bytes).map_err(GenerateError::from);
        let copies: BTreeMap<usize, &str> = self
            .extras
            .iter()
            .filter_map(|(e, p)| match e {
                Extra::Copy(i) => Some((*i, p.as_str())),
                Extra::Text(_)
                | Extra::Jpeg
                | Extra::Empty
                | Extra::Dicomdir(_)
                | Extra::Report { .. } => None,
            })
            .collect();
        let thumbnails = (0..self.images.len())
            .into_par_iter()
            .map(|i| {
                let paths = [Some(self.images[i].path.as_str()), copies.get(&i).copied()];
                let wanted: Vec<&str> = paths
                    .into_iter()
                    .flatten()
                    .filter(|p| shown.contains(p))
                    .collect();
                let (bytes, thumbnail) = self.bytes_of(i, !wanted.is_empty())?;
                write(&self.images[i].path, &bytes)?;
                if let Some(copy) = copies.get(&i) {
                    write(copy, &bytes)?;
                }
                let drawn: Vec<(String, PngImage)> = thumbnail
                    .map(|t| {
                        wanted
                            .iter()
                            .map(|p| ((*p).to_owned(), t.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok::<_, GenerateError>(drawn)
            })
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        for (e, path) in &self.extras {
            let bytes = match e {
                Extra::Copy(_) => continue,
                Extra::Text(what) => format!(
                    "{what}\n\nExported study folder. File names carry no meaning; read the files.\n"
                )
                .into_bytes(),
                Extra::Jpeg => {
                    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
                    b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xD9");
                    b
                }
                Extra::Empty => Vec::new(),
                Extra::Dicomdir(listed) => self.dicomdir(listed).map_err(|source| GenerateError::Encode {
                    file: path.clone(),
                    source,
                })?,
                Extra::Report { patient, study } => self.report(*patient, *study).map_err(|source| GenerateError::Encode {
                    file: path.clone(),
                    source,
                })?,
            };
            write(path, &bytes)?;
        }
        Ok(thumbnails)
    }

    /// A DICOMDIR (PS3.10 §8, PS3.3 F.3) whose IMAGE records list `listed` under the PS3.10
    /// §8.2 file IDs of an earlier export (`DICOM/S0000002/I0000017`), plus one instance that is
    /// no longer there: stale, as media copied and renamed by hand are.
    fn dicomdir(
        &self,
        listed: &[usize],
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
        let mut records = Vec::new();
        let record = |file: [String; 3], number: i64, class: &str, sop: &str, ts: &str| {
            let mut item = InMemDicomObject::new_empty();
            item.put(DataElement::new(
                tags::OFFSET_OF_THE_NEXT_DIRECTORY_RECORD,
                VR::UL,
                PrimitiveValue::from(0u32),
            ));
            item.put(DataElement::new(
                tags::RECORD_IN_USE_FLAG,
                VR::US,
                PrimitiveValue::from(0xFFFFu16),
            ));
            item.put(DataElement::new(
                tags::OFFSET_OF_REFERENCED_LOWER_LEVEL_DIRECTORY_ENTITY,
                VR::UL,
                PrimitiveValue::from(0u32),
            ));
            item.put(DataElement::new(
                tags::DIRECTORY_RECORD_TYPE,
                VR::CS,
                PrimitiveValue::from("IMAGE"),
            ));
            item.put(DataElement::new(
                tags::REFERENCED_FILE_ID,
                VR::CS,
                PrimitiveValue::Strs(file.to_vec().into()),
            ));
            item.put(DataElement::new(
                tags::INSTANCE_NUMBER,
                VR::IS,
                PrimitiveValue::from(number.to_string()),
            ));
            item.put(DataElement::new(
                tags::REFERENCED_SOP_CLASS_UID_IN_FILE,
                VR::UI,
                PrimitiveValue::from(class),
            ));
            item.put(DataElement::new(
                tags::REFERENCED_SOP_INSTANCE_UID_IN_FILE,
                VR::UI,
                PrimitiveValue::from(sop),
            ));
            item.put(DataElement::new(
                tags::REFERENCED_TRANSFER_SYNTAX_UID_IN_FILE,
                VR::UI,
                PrimitiveValue::from(ts),
            ));
            item
        };
        for &i in listed {
            let im = &self.images[i];
            let number = match im.attrs.number {
                Number::Value(n) => n,
                Number::Empty => 0,
            };
            let file_id = [
                "DICOM".to_owned(),
                format!("S{:07}", im.series.number),
                format!("I{:07}", i + 1),
            ];
            records.push(record(
                file_id,
                number,
                im.series.sop_class_uid(),
                &im.sop_uid,
                im.ts.uid(),
            ));
        }
        let gone = uid::derive(self.seed, "series-task/gone", 0);
        records.push(record(
            [
                "DICOM".to_owned(),
                "S0000099".to_owned(),
                "I0000001".to_owned(),
            ],
            1,
            uids::CT_IMAGE_STORAGE,
            &gone,
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
        ));
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(
            tags::FILE_SET_ID,
            VR::CS,
            PrimitiveValue::from("EXPORT"),
        ));
        obj.put(DataElement::new(
            tags::OFFSET_OF_THE_FIRST_DIRECTORY_RECORD_OF_THE_ROOT_DIRECTORY_ENTITY,
            VR::UL,
            PrimitiveValue::from(0u32),
        ));
        obj.put(DataElement::new(
            tags::OFFSET_OF_THE_LAST_DIRECTORY_RECORD_OF_THE_ROOT_DIRECTORY_ENTITY,
            VR::UL,
            PrimitiveValue::from(0u32),
        ));
        obj.put(DataElement::new(
            tags::FILE_SET_CONSISTENCY_FLAG,
            VR::US,
            PrimitiveValue::from(0u16),
        ));
        obj.put(DataElement::new(
            tags::DIRECTORY_RECORD_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(records),
        ));
        let meta = FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(uids::MEDIA_STORAGE_DIRECTORY_STORAGE)
            .media_storage_sop_instance_uid(uid::derive(self.seed, "series-task/dicomdir", 0))
            .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .implementation_class_uid(uid::IMPLEMENTATION_CLASS_UID)
            .implementation_version_name(uid::IMPLEMENTATION_VERSION_NAME)
            .build()?;
        let file = obj.with_exact_meta(meta);
        let mut out = Vec::new();
        file.write_all(&mut out)?;
        Ok(out)
    }

    /// A Basic Text SR (PS3.3 A.35.1) about the CT: DICOM, same patient, no Pixel Data.
    fn report(
        &self,
        patient: usize,
        study: usize,
    ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
        let (p, st) = (&self.patients[patient], &self.studies[study].1);
        let mut d = InMemDicomObject::new_empty();
        let s = |v: &str| PrimitiveValue::from(v.to_owned());
        d.put(DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            s(uids::BASIC_TEXT_SR_STORAGE),
        ));
        d.put(DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            s(&uid::derive(self.seed, "series-task/report", 0)),
        ));
        d.put(DataElement::new(tags::MODALITY, VR::CS, s("SR")));
        d.put(DataElement::new(
            tags::PATIENT_NAME,
            VR::PN,
            s(&p.identity.name.to_pn()),
        ));
        d.put(DataElement::new(
            tags::PATIENT_ID,
            VR::LO,
            s(&p.identity.id),
        ));
        d.put(DataElement::new(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            s(&st.uid),
        ));
        d.put(DataElement::new(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            s(&uid::derive(self.seed, "series-task/report-series", 0)),
        ));
        d.put(DataElement::new(tags::SERIES_NUMBER, VR::IS, s("99")));
        d.put(DataElement::new(tags::INSTANCE_NUMBER, VR::IS, s("1")));
        // Type 2 attributes of the Patient, General Study and SR modules (PS3.3 A.35.1): present,
        // and filled where we know the value.
        let study_date = st.date.to_da();
        let study_time = st.time.to_tm();
        for (tag, vr, value) in [
            (
                tags::PATIENT_BIRTH_DATE,
                VR::DA,
                p.identity.birth_date.to_da(),
            ),
            (tags::PATIENT_SEX, VR::CS, p.identity.sex.code().to_owned()),
            (tags::STUDY_DATE, VR::DA, study_date.clone()),
            (tags::STUDY_TIME, VR::TM, study_time.clone()),
            (tags::STUDY_ID, VR::SH, st.id.clone()),
            (tags::ACCESSION_NUMBER, VR::SH, st.accession_number.clone()),
            (
                tags::REFERRING_PHYSICIAN_NAME,
                VR::PN,
                st.referring_physician.to_pn(),
            ),
            (tags::MANUFACTURER, VR::LO, "WORKSAMPLE".to_owned()),
            (tags::CONTENT_DATE, VR::DA, study_date),
            (tags::CONTENT_TIME, VR::TM, study_time),
            (tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE".to_owned()),
        ] {
            d.put(DataElement::new(tag, vr, s(&value)));
        }
        for tag in [
            tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
            tags::PERFORMED_PROCEDURE_CODE_SEQUENCE,
        ] {
            d.put(DataElement::new(
                tag,
                VR::SQ,
                DataSetSequence::from(Vec::<InMemDicomObject>::new()),
            ));
        }
        let code = |value: &str, scheme: &str, meaning: &str| {
            let mut c = InMemDicomObject::new_empty();
            c.put(DataElement::new(tags::CODE_VALUE, VR::SH, s(value)));
            c.put(DataElement::new(
                tags::CODING_SCHEME_DESIGNATOR,
                VR::SH,
                s(scheme),
            ));
            c.put(DataElement::new(tags::CODE_MEANING, VR::LO, s(meaning)));
            DataSetSequence::from(vec![c])
        };
        d.put(DataElement::new(
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            VR::SQ,
            code("18748-4", "LN", "Diagnostic imaging report"),
        ));
        let mut finding = InMemDicomObject::new_empty();
        finding.put(DataElement::new(
            tags::RELATIONSHIP_TYPE,
            VR::CS,
            s("CONTAINS"),
        ));
        finding.put(DataElement::new(tags::VALUE_TYPE, VR::CS, s("TEXT")));
        finding.put(DataElement::new(
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            VR::SQ,
            code("121071", "DCM", "Finding"),
        ));
        finding.put(DataElement::new(
            tags::TEXT_VALUE,
            VR::UT,
            s("No acute intracranial abnormality."),
        ));
        d.put(DataElement::new(
            tags::CONTENT_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![finding]),
        ));
        d.put(DataElement::new(tags::VALUE_TYPE, VR::CS, s("CONTAINER")));
        d.put(DataElement::new(
            tags::COMPLETION_FLAG,
            VR::CS,
            s("COMPLETE"),
        ));
        d.put(DataElement::new(
            tags::VERIFICATION_FLAG,
            VR::CS,
            s("UNVERIFIED"),
        ));
        let inst = Instance {
            dataset: d,
            pixels: None,
        };
        Ok(to_bytes(
            &inst,
            &WriteOptions::new(TransferSyntax::ExplicitVrLittleEndian),
        )?)
    }

    /// The answer key, from the plan (paths assigned).
    fn key(&self) -> Key {
        let mut key = Key::default();
        let mut instance_of_image: BTreeMap<usize, InstanceId> = BTreeMap::new();
        for (v, vol) in self.volumes.iter().enumerate() {
            let first = &self.images[vol.images[0]];
            let n = normal(&first.iop);
            // Rank by IPP · n; plans are already ascending (a unit test checks it).
            let mut order = vol.images.clone();
            order.sort_by(|a, b| {
                dot(self.images[*a].position, n).total_cmp(&dot(self.images[*b].position, n))
            });
            let mut ids = Vec::new();
            for (rank, &i) in order.iter().enumerate() {
                let id = InstanceId(key.instances.len());
                key.instances.push(InstanceTruth {
                    volume: VolumeId(v),
                    rank,
                    files: vec![self.images[i].path.clone()],
                    duplicate_reason: None,
                });
                instance_of_image.insert(i, id);
                ids.push(id);
            }
            let positions: Vec<Vec3> = order.iter().map(|i| self.images[*i].position).collect();
            let numbers: Vec<Option<i64>> = order
                .iter()
                .map(|i| match self.images[*i].attrs.number {
                    Number::Value(n) => Some(n),
                    Number::Empty => None,
                })
                .collect();
            let g = &first.series.geometry;
            let truth = crate::truth::analyse(&positions, &first.iop);
            let mut flags = Vec::new();
            if vol.localizer {
                flags.push(FlagTruth {
                    kind: AnomalyKind::Localizer,
                    locator: Locator::None,
                });
            }
            if vol.missing_uid {
                flags.push(FlagTruth {
                    kind: AnomalyKind::MissingSeriesUid,
                    locator: Locator::None,
                });
            }
            for (kind, a, b) in &truth.gap_flags {
                flags.push(FlagTruth {
                    kind: *kind,
                    locator: Locator::Between(ids[*a], ids[*b]),
                });
            }
            if let Some(angle) = truth.tilt_deg {
                flags.push(FlagTruth {
                    kind: AnomalyKind::GantryTilt,
                    locator: Locator::Angle(angle),
                });
            }
            if crate::truth::numbers_not_spatial(&numbers) {
                flags.push(FlagTruth {
                    kind: AnomalyKind::InstanceNumberNotSpatial,
                    locator: Locator::None,
                });
            }
            key.volumes.push(VolumeTruth {
                name: vol.name.clone(),
                instances: ids,
                geometry: GeometryTruth {
                    iop: first.iop,
                    rows: u32::from(g.rows),
                    columns: u32::from(g.columns),
                    pixel_spacing: g.pixel_spacing,
                    slice_spacing: truth.spacing,
                    first_position: positions[0],
                    positions: positions.clone(),
                    regular: truth.regular,
                },
                flags,
            });
        }
        for (i, im) in self.images.iter().enumerate() {
            if im.truncated {
                let reasons = vec![ExclusionReason::Unreadable];
                key.files
                    .insert(im.path.clone(), FileTruth::Junk { reasons });
                continue;
            }
            match im.dup_of {
                None => {
                    key.files
                        .insert(im.path.clone(), FileTruth::Image(instance_of_image[&i]));
                }
                Some(orig) => {
                    let id = instance_of_image[&orig];
                    key.files.insert(im.path.clone(), FileTruth::Image(id));
                    let inst = &mut key.instances[id.0];
                    inst.files.push(im.path.clone());
                    inst.files.sort();
                    inst.duplicate_reason = Some(ExclusionReason::DuplicatePosition);
                }
            }
        }
        for (e, path) in &self.extras {
            let truth = match e {
                Extra::Copy(orig) => {
                    let id = instance_of_image[orig];
                    let inst = &mut key.instances[id.0];
                    inst.files.push(path.clone());
                    inst.files.sort();
                    inst.duplicate_reason = Some(ExclusionReason::DuplicateInstance);
                    FileTruth::Image(id)
                }
                Extra::Text(_) | Extra::Jpeg | Extra::Empty => FileTruth::Junk {
                    reasons: vec![ExclusionReason::NotDicom],
                },
                Extra::Dicomdir(_) => FileTruth::Junk {
                    reasons: vec![ExclusionReason::Dicomdir],
                },
                Extra::Report { .. } => FileTruth::Junk {
                    reasons: vec![ExclusionReason::NoPixelData],
                },
            };
            key.files.insert(path.clone(), truth);
        }
        for t in &self.traps {
            let check = match &t.check {
                PlanCheck::Volumes(vs) => {
                    TrapCheck::Volumes(vs.iter().map(|v| VolumeId(*v)).collect())
                }
                PlanCheck::Extras(es) => {
                    let mut files: Vec<String> =
                        es.iter().map(|e| self.extras[*e].1.clone()).collect();
                    if t.id == "F5" {
                        // The DICOM named .jpg must be included, not excluded: checked as its own
                        // row, F5b.
                        files.sort();
                    }
                    TrapCheck::Excluded(files)
                }
                PlanCheck::Duplicates(is) => {
                    TrapCheck::Duplicates(is.iter().map(|i| instance_of_image[i]).collect())
                }
                PlanCheck::Included(is) => {
                    TrapCheck::Included(is.iter().map(|i| self.images[*i].path.clone()).collect())
                }
                PlanCheck::Truncated(is) => {
                    TrapCheck::Excluded(is.iter().map(|i| self.images[*i].path.clone()).collect())
                }
                PlanCheck::Nested => TrapCheck::Accounted(
                    key.files
                        .keys()
                        .filter(|f| f.contains('/'))
                        .cloned()
                        .collect(),
                ),
            };
            key.traps.push(TrapTruth {
                id: t.id,
                label: t.label.clone(),
                check,
            });
            if t.id == "F5" {
                let jpg: Vec<String> = self
                    .images
                    .iter()
                    .filter(|im| im.path.ends_with(".jpg"))
                    .map(|im| im.path.clone())
                    .collect();
                // §4.2's F5 has two halves that fail differently (a reader trusting `.dcm`
                // chokes on the text; one trusting `.jpg` drops an image): each gets its own id,
                // so the card never shows two rows with one id.
                key.traps.push(TrapTruth {
                    id: "F5b",
                    label: "a DICOM image named .jpg".to_owned(),
                    check: TrapCheck::Included(jpg),
                });
            }
        }
        // Card order: the research's ids, T then S then F, whatever the planting order.
        const ORDER: [&str; 29] = [
            "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T7b", "T8", "T9", "T9b", "T10", "T12", "S1",
            "S2", "S3", "S4", "S5", "S6", "S7", "S8", "F1", "F2", "F3", "F4", "F5", "F5b", "F6",
            "F7",
        ];
        key.traps.sort_by_key(|t| {
            ORDER
                .iter()
                .position(|id| *id == t.id)
                .unwrap_or(ORDER.len())
        });
        key
    }
}

/// The trap ids `generate` would plant for (seed, params), in planting order, without rendering
/// or writing anything: for choosing seeds in tests and for assessors.
pub fn planned_traps(seed: u64, params: &Params) -> Vec<&'static str> {
    let mut plan = Planner::new(seed, params);
    plan.plan();
    // F5's second row (the DICOM named .jpg) is added to the key beside it.
    plan.traps
        .iter()
        .flat_map(|t| match t.id {
            "F5" => vec!["F5", "F5b"],
            id => vec![id],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(min_files: u32, every: bool) -> Params {
        let plant = if every { TRAP_IDS.to_vec() } else { Vec::new() };
        Params {
            min_files,
            scale: 1.0,
            matrix: 32,
            plant: plant.into_iter().map(str::to_owned).collect(),
        }
    }

    fn planned(seed: u64, p: &Params) -> Planner<'_> {
        let mut plan = Planner::new(seed, p);
        plan.plan();
        plan.assign_paths();
        plan
    }

    #[test]
    fn plans_are_ascending_along_the_normal_and_paths_unique() {
        let p = params(300, true);
        for seed in 0..10 {
            let plan = planned(seed, &p);
            for v in &plan.volumes {
                let n = normal(&plan.images[v.images[0]].iop);
                let d: Vec<f64> = v
                    .images
                    .iter()
                    .map(|i| dot(plan.images[*i].position, n))
                    .collect();
                assert!(
                    d.windows(2).all(|w| w[0] < w[1]),
                    "seed {seed}: `{}` is not ascending",
                    v.name
                );
            }
            let mut paths: Vec<&str> = plan.images.iter().map(|i| i.path.as_str()).collect();
            paths.extend(plan.extras.iter().map(|(_, p)| p.as_str()));
            let unique: BTreeSet<&str> = paths.iter().copied().collect();
            assert_eq!(
                unique.len(),
                paths.len(),
                "seed {seed}: a path is used twice"
            );
            assert!(paths.len() >= 300, "seed {seed}: {} files", paths.len());
        }
    }

    #[test]
    fn the_plant_list_decides_which_traps_are_planted() {
        let none = params(10, false);
        let all = params(10, true);
        assert_eq!(planned_traps(1, &none), vec!["T1", "F1", "F5", "F5b"]);
        let every = planned_traps(1, &all);
        for id in TRAP_IDS {
            assert!(every.contains(&id), "{id} planted when listed");
        }
        assert_eq!(planned_traps(4, &all), planned_traps(4, &all));
        let with = |id: &str| Params {
            plant: vec!["T2".into(), id.into()],
            ..params(10, false)
        };
        for (id, says) in [
            ("T99", "unknown trap `T99`"),
            ("T2", "`T2` is listed twice"),
            ("F5", "`F5` is always planted"),
        ] {
            let error = with(id).validate().expect_err(id);
            assert!(
                error.starts_with("plant: ") && error.contains(says),
                "{error}"
            );
        }
    }

    #[test]
    fn every_family_at_once_plans_on_every_seed() {
        // The hard profile plants every family together: the planner must fit them all (unique
        // paths, ascending plans are checked above) and plant each exactly as listed.
        let all = params(1000, true);
        for seed in 0..40 {
            let mut ids = planned_traps(seed, &all);
            ids.sort_unstable();
            let mut want: Vec<&str> = TRAP_IDS.iter().chain(ALWAYS.iter()).copied().collect();
            want.sort_unstable();
            assert_eq!(ids, want, "seed {seed}");
        }
    }
}

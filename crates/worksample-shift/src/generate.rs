//! The fixture generator: the profile's planted causes (the same kinds on every seed, so
//! candidates on one profile face the same diagnosis) placed on seeded strata of their own (a
//! station, or a software version or kernel of a shared station), decoy strata whose header
//! differences do not hurt P0, a stratum too small to judge, and null strata (sex, age band)
//! that cross everything. Every case is one head-CT slice of the engine's HeadCt phantom with a
//! lesion (label 1), a sub-threshold mimic or nothing (label 0).
//!
//! The draw is verified before it is kept (research shift.md §3.8): each planted
//! stratum's P0 performance differs from the reference significantly after Holm correction with
//! |ΔBA| ≥ 0.2, each decoy's does not move (|ΔBA| < 0.05), the reference configuration recovers
//! BA ≥ 0.9 (0.8 for thick slices) everywhere, and neither null attribute predicts the label.
//! A failed draw is redrawn from a derived seed, so the result is still a pure function of the
//! seed. Its files were streamed out as they were made and are taken back first.

use std::collections::BTreeMap;
use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use rayon::prelude::*;
use serde::Deserialize;
use worksample_dicom::geometry::{Orientation, VolumeGeometry, ds};
use worksample_dicom::identity::CharsetChoice;
use worksample_dicom::model::{
    Acquisition, Instance, Modality, Patient, Series, SeriesSpec, Study, Vendor, build_header,
};
use worksample_dicom::pixel::{
    BurnedInText, Lesion, Noise, Phantom, PixelData, PixelValues, StoredValues, burn_in,
    render_slice,
};
use worksample_dicom::rng::stream;
use worksample_dicom::write::{TransferSyntax, WriteOptions, to_bytes};
use worksample_task::{FolderSink, Sink, SinkError};

use crate::config::{Config, Denoise, Filter, HuOffset, P0_SPACING_MM, Selector};
use crate::key::{Case, Cause, Key, Planted, Role, Split, Unit};
use crate::model::{Decision, Prediction, predict};
use crate::slice::Slice;
use crate::stats::{Confusion, Z95, auc, holm, newcombe_diff, two_proportion_p};

/// Profile parameters (`[profiles.*.params]` of tasks/shift/task.toml).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Rows and columns of every slice.
    pub matrix: u16,
    /// Development cases of the reference stratum (half positive).
    pub reference_dev: usize,
    /// Test cases of the reference stratum.
    pub reference_test: usize,
    /// Development cases of every other stratum (half positive).
    pub stratum_dev: usize,
    /// Test cases of every other stratum.
    pub stratum_test: usize,
    /// The causes planted on every seed, by id (research shift.md §3.2). A fixed list rather
    /// than a drawn number of drawn kinds, so candidates graded on different hidden seeds of one
    /// profile face the same diagnosis; the seed still draws their strata, stations and values.
    pub causes: Vec<String>,
}

impl Params {
    /// Checks ranges serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if !(64..=512).contains(&self.matrix) {
            return Err(format!("matrix must be 64..=512, got {}", self.matrix));
        }
        if self.stratum_dev < 30 || self.reference_dev < 30 {
            return Err(
                "stratum_dev and reference_dev must be at least 30 (n ≥ 15 per class)".into(),
            );
        }
        if self.stratum_test < 10 || self.reference_test < 10 {
            return Err("stratum_test and reference_test must be at least 10".into());
        }
        let plantable = || {
            Cause::PLANTABLE
                .iter()
                .map(|c| c.id())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if self.causes.is_empty() {
            return Err(format!("causes: list at least one of {}", plantable()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for id in &self.causes {
            match Cause::parse(id) {
                Some(c) if Cause::PLANTABLE.contains(&c) => {}
                Some(_) | None => {
                    return Err(format!(
                        "causes: `{id}` is not a plantable cause; plantable: {}",
                        plantable()
                    ));
                }
            }
            if !seen.insert(id.as_str()) {
                return Err(format!("causes: `{id}` is listed twice"));
            }
        }
        Ok(())
    }

    /// The causes to plant, in vocabulary order (ids that do not parse, which
    /// [`Params::validate`] refuses, are skipped).
    pub fn planted_causes(&self) -> Vec<Cause> {
        let mut causes: Vec<Cause> = self
            .causes
            .iter()
            .filter_map(|id| Cause::parse(id))
            .collect();
        causes.sort();
        causes.dedup();
        causes
    }
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// Storing a file failed.
    #[error(transparent)]
    Write(#[from] SinkError),
    /// The DICOM engine failed to encode a file.
    #[error("failed to encode a fixture file")]
    Dicom(#[from] worksample_dicom::DicomError),
    /// Every draw failed its self-checks (a generator bug or impossible parameters).
    #[error("no draw passed the self-checks after {attempts} attempts; last: {reason}")]
    SelfCheck {
        /// Draws tried.
        attempts: u32,
        /// Why the last one failed.
        reason: String,
    },
}

/// How many draws are tried before giving up.
const MAX_DRAWS: u32 = 12;
/// Cases of the tiny stratum (dev, test).
const TINY: (usize, usize) = (6, 4);
/// Slices lie between these axial positions, mm: below the falx (z > 28 mm), whose 60 HU
/// would sit in P0's band, and above the skull base.
const Z_RANGE: (f64, f64) = (6.0, 22.0);

/// Everything that makes one stratum look and behave as it does.
#[derive(Debug, Clone)]
struct UnitDesign {
    role: Role,
    site: usize,
    station: String,
    vendor: Vendor,
    model: String,
    software: String,
    protocol: String,
    kernel: String,
    sigma: f64,
    thickness: f64,
    /// Lesion contrast multiplier (thick-slice partial volume).
    pv: f64,
    stored: StoredValues,
    /// A second window pair (VM 2), written after the first.
    window2: Option<(f64, f64)>,
    spacing: f64,
    burned: bool,
    ts: TransferSyntax,
    kvp: f64,
    n_dev: usize,
    n_test: usize,
    differences: Vec<String>,
    evidence: BTreeMap<String, (f64, f64)>,
    selector: BTreeMap<String, String>,
}

const SITES: [&str; 8] = [
    "Northgate General Hospital",
    "Riverside Medical Center",
    "St Elsewhere Hospital",
    "Lakeside Community Hospital",
    "Hillcrest University Hospital",
    "Bayview Medical Centre",
    "Westbrook Regional Hospital",
    "Oakridge Clinic",
];
const PROTOCOLS: [&str; 4] = ["ROUTINE HEAD", "HEAD", "BRAIN STD", "NEURO HEAD"];
const DESCRIPTIONS: [&str; 4] = ["HEAD", "CT HEAD", "BRAIN", "AXIAL HEAD"];

/// Site A's conventions: what P0 was built for.
fn site_a_stored() -> StoredValues {
    let mut s = StoredValues::ct_unsigned_12();
    s.window_center = 50.0;
    s.window_width = 100.0;
    s
}

fn station_code(site: &str, n: u32) -> String {
    let initials: String = site
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    format!("{}CT{n:02}", initials.to_ascii_uppercase())
}

fn selector(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Draws the strata: reference, planted causes (with companion strata where the cause is one
/// software version or kernel of a shared station), decoys and the tiny stratum.
fn draw_design(seed: u64, p: &Params) -> ([&'static str; 3], Vec<UnitDesign>) {
    let mut r = stream(seed, "shift/design");
    let mut sites = SITES.to_vec();
    sites.shuffle(&mut r);
    let sites = [sites[0], sites[1], sites[2]];
    let mut station_n = 0u32;
    let mut next_station = |r: &mut rand_chacha::ChaCha8Rng, site: usize| {
        station_n += 1 + r.random_range(0..3u32);
        station_code(sites[site], station_n)
    };
    let base = |role: Role, site: usize, station: String, r: &mut rand_chacha::ChaCha8Rng| {
        let vendor = *[Vendor::Siemens, Vendor::Philips]
            .choose(r)
            .expect("non-empty");
        let (model, software) = match vendor {
            Vendor::Siemens => *[
                ("SOMATOM Force", "syngo CT VB20A"),
                ("SOMATOM Definition AS+", "syngo CT VA48A"),
            ]
            .choose(r)
            .expect("non-empty"),
            Vendor::Ge | Vendor::Philips => {
                *[("IQon Spectral CT", "4.7.5"), ("Brilliance 64", "4.1.6")]
                    .choose(r)
                    .expect("non-empty")
            }
        };
        let kernel = match vendor {
            Vendor::Siemens => "Hr40f",
            Vendor::Ge | Vendor::Philips => "B",
        };
        UnitDesign {
            role,
            site,
            station: station.clone(),
            vendor,
            model: model.to_owned(),
            software: software.to_owned(),
            protocol: (*PROTOCOLS.choose(r).expect("non-empty")).to_owned(),
            kernel: kernel.to_owned(),
            sigma: 5.0,
            thickness: 1.0,
            pv: 1.0,
            stored: site_a_stored(),
            window2: None,
            spacing: P0_SPACING_MM,
            burned: false,
            ts: TransferSyntax::ExplicitVrLittleEndian,
            kvp: *[120.0, 120.0, 100.0].choose(r).expect("non-empty"),
            n_dev: p.stratum_dev,
            n_test: p.stratum_test,
            differences: Vec::new(),
            evidence: BTreeMap::new(),
            selector: selector(&[("StationName", &station)]),
        }
    };

    let mut units = Vec::new();
    let s = next_station(&mut r, 0);
    let mut reference = base(Role::Reference, 0, s, &mut r);
    reference.n_dev = p.reference_dev;
    reference.n_test = p.reference_test;
    reference.kvp = 120.0;
    units.push(reference);

    // The kinds are the profile's; which of the two other sites holds each is drawn, keeping
    // the two sites within one cause of each other.
    let pool = p.planted_causes();
    let mut site_of: Vec<usize> = (0..pool.len()).map(|i| 1 + i % 2).collect();
    site_of.shuffle(&mut r);
    for (cause, site) in pool.iter().zip(site_of) {
        let station = next_station(&mut r, site);
        let mut u = base(Role::Planted(*cause), site, station.clone(), &mut r);
        match cause {
            Cause::RescaleIgnored => {
                if r.random_bool(0.5) {
                    u.stored.rescale_intercept = -1000.0;
                    u.evidence.insert("hu_offset_p0".into(), (-24.0, 2.0));
                    u.differences.push("Rescale Intercept −1000".into());
                } else {
                    u.stored = StoredValues::ct_signed_16();
                    u.stored.window_center = 50.0;
                    u.stored.window_width = 100.0;
                    u.vendor = Vendor::Ge;
                    u.model = "Revolution CT".into();
                    u.software = "revo_ct_22.pl.4".into();
                    u.kernel = "STANDARD".into();
                    u.evidence.insert("hu_offset_p0".into(), (-1024.0, 2.0));
                    u.differences
                        .push("signed storage of HU, Rescale Intercept 0".into());
                }
            }
            Cause::HeaderWindowUsed => {
                // A software upgrade at a shared station changed the stored display window.
                let mut old = u.clone();
                old.role = Role::Decoy;
                old.differences
                    .push("the same station before its upgrade".into());
                old.selector = selector(&[("SoftwareVersions", &old.software)]);
                units.push(old);
                let (c, w) = *[(35.0, 60.0), (30.0, 60.0)]
                    .choose(&mut r)
                    .expect("non-empty");
                u.stored.window_center = c;
                u.stored.window_width = w;
                u.software = format!("{} SP{}", u.software, r.random_range(1..4u32));
                u.selector = selector(&[("SoftwareVersions", &u.software)]);
                u.evidence.insert("header_window_center".into(), (c, 0.5));
                u.evidence.insert("header_window_width".into(), (w, 0.5));
                u.differences.push(format!("header window {c}/{w}"));
            }
            Cause::PixelSpacingIgnored => {
                let ps = *[0.45, 1.8].choose(&mut r).expect("non-empty");
                u.spacing = ps;
                let scale = (P0_SPACING_MM / ps).powi(2);
                u.evidence
                    .insert("area_scale_p0".into(), (scale, 0.02 * scale));
                u.differences.push(format!("Pixel Spacing {ps} mm"));
            }
            Cause::KernelNoise => {
                // A sharp-kernel protocol on a station that also runs the standard one.
                let mut soft = u.clone();
                soft.role = Role::Decoy;
                soft.differences
                    .push("the same station's standard kernel".into());
                soft.selector = selector(&[("ConvolutionKernel", &soft.kernel)]);
                units.push(soft);
                u.kernel = match u.vendor {
                    Vendor::Siemens => "Hr64h".into(),
                    Vendor::Ge | Vendor::Philips => "D".into(),
                };
                u.sigma = r.random_range(21.5..24.5_f64).round();
                u.protocol = "HEAD BONE".into();
                u.selector = selector(&[("ConvolutionKernel", &u.kernel)]);
                u.evidence
                    .insert("noise_sd_hu".into(), (u.sigma, 0.15 * u.sigma));
                u.differences
                    .push(format!("kernel {}, noise σ {} HU", u.kernel, u.sigma));
            }
            Cause::SliceThicknessPv => {
                u.thickness = 5.0;
                u.pv = 0.45;
                u.sigma = 5.0 / 5.0_f64.sqrt();
                u.evidence
                    .insert("lesion_contrast_ratio".into(), (0.45, 0.1));
                u.differences.push("5 mm slices".into());
            }
            Cause::BurnedInAnnotation => {
                u.burned = true;
                u.evidence.insert("annotated_fraction".into(), (1.0, 0.0));
                u.differences.push("burned-in annotation".into());
            }
            Cause::Monochrome1Ignored => {
                // Stored as MONOCHROME1 for a display that inverts after the window: modality
                // values mirrored around the window centre, V = 100 − HU (PS3.3 C.7.6.3.1.2).
                u.stored.photometric = worksample_dicom::pixel::Photometric::Monochrome1;
                u.stored.rescale_intercept = -1997.5;
                u.differences.push("MONOCHROME1".into());
            }
            Cause::PixelRepresentationIgnored | Cause::PaddingNotMasked | Cause::NonHuInput => {}
        }
        units.push(u);
    }

    // Decoys: a GE-style station (signed, padding, implicit VR, a second window pair) and a
    // station with thinner-than-thick slices, another vendor and KVP.
    let site = 1 + r.random_range(0..2usize);
    let station = next_station(&mut r, site);
    let mut ge = base(Role::Decoy, site, station, &mut r);
    ge.vendor = Vendor::Ge;
    ge.model = "LightSpeed VCT".into();
    ge.software = "07MW18.4".into();
    ge.kernel = "STANDARD".into();
    ge.stored = StoredValues::ct_signed_16_intercept_1024();
    ge.stored.window_center = 50.0;
    ge.stored.window_width = 100.0;
    ge.window2 = Some((40.0, 80.0));
    ge.ts = TransferSyntax::ImplicitVrLittleEndian;
    ge.kvp = 100.0;
    ge.differences
        .push("signed storage, padding −2000, implicit VR, a second window pair, GE".into());
    units.push(ge);
    let site = 1 + r.random_range(0..2usize);
    let station = next_station(&mut r, site);
    let mut thin = base(Role::Decoy, site, station, &mut r);
    thin.thickness = 2.5;
    thin.sigma = 4.0;
    thin.kvp = 140.0;
    thin.differences
        .push("2.5 mm slices, 140 kVp, another model".into());
    units.push(thin);

    let site = 1 + r.random_range(0..2usize);
    let station = next_station(&mut r, site);
    let mut tiny = base(Role::Tiny, site, station, &mut r);
    (tiny.n_dev, tiny.n_test) = TINY;
    tiny.differences
        .push("a loaner scanner with few cases".into());
    units.push(tiny);
    (sites, units)
}

/// One case before it is written.
struct Built {
    case: Case,
    instance: Instance,
    ts: TransferSyntax,
}

/// The phantom of one case: a lesion, a mimic or nothing.
fn draw_lesion(r: &mut rand_chacha::ChaCha8Rng, label: bool, pv: f64, z: f64) -> Option<Lesion> {
    let head = Phantom::HeadCt { lesion: None };
    let mut centre = [-30.0, 0.0, z];
    for _ in 0..200 {
        let c = [r.random_range(-32.0..32.0), r.random_range(-38.0..38.0), z];
        let v = head.value_at(c);
        if (0.0..=50.0).contains(&v) {
            centre = c;
            break;
        }
    }
    let contrast = r.random_range(32.0..50.0) * pv;
    if label {
        Some(Lesion {
            centre,
            radius_mm: r.random_range(2.5..4.5),
            contrast_hu: contrast,
        })
    } else if r.random_bool(0.6) {
        Some(Lesion {
            centre,
            radius_mm: r.random_range(1.0..1.75),
            contrast_hu: contrast,
        })
    } else {
        None
    }
}

fn put_text(ds: &mut dicom_object::InMemDicomObject, tag: dicom_core::Tag, vr: VR, v: &str) {
    ds.put(DataElement::new(
        tag,
        vr,
        PrimitiveValue::from(v.to_owned()),
    ));
}

/// Builds one case: identity from the engine, pixels from the HeadCt phantom under the unit's
/// conventions, the header edited to the unit's values.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the values are independent"
)]
fn build_case(
    seed: u64,
    index: u64,
    unit_index: usize,
    u: &UnitDesign,
    sites: &[&str],
    label: bool,
    split: Split,
    oracle: &Config,
    matrix: u16,
) -> Built {
    let mut r = stream(seed, &format!("shift/case/{index}"));
    let patient = Patient::draw(seed, index, CharsetChoice::Ascii);
    let study = Study::draw(seed, &patient, index, Modality::Ct);
    let mut spec = SeriesSpec::new(Modality::Ct, matrix, matrix, 1);
    spec.vendor = Some(u.vendor);
    spec.private_tags = false;
    let mut series = Series::draw(seed, &patient, &study, index, 1, &spec);
    series.equipment.model = u.model.clone();
    series.equipment.software_versions = u.software.clone();
    series.equipment.station_name = u.station.clone();
    series.description = (*DESCRIPTIONS.choose(&mut r).expect("non-empty")).to_owned();
    series.protocol_name = u.protocol.clone();
    let z = r.random_range(Z_RANGE.0..Z_RANGE.1);
    let mut geometry = VolumeGeometry::centred(
        matrix,
        matrix,
        [u.spacing, u.spacing],
        u.thickness,
        Orientation::AXIAL,
        1,
        [0.0, 0.0, z],
    );
    geometry.slice_thickness = u.thickness;
    series.geometry = geometry;
    series.stored = u.stored;
    // The engine renders a flat dummy here; the real pixels are rendered below with this
    // task's own noise model (the engine's kernel presets are not the ones planted).
    series.phantom = Phantom::Flat { value: 0.0 };
    series.acquisition = Acquisition::Ct {
        kvp: u.kvp,
        tube_current_ma: r.random_range(150..400),
        exposure_time_ms: 1000,
        kernel: worksample_dicom::pixel::CtKernel::Soft,
        table_height_mm: 160.0,
    };
    let mut instance = build_header(seed, &patient, &study, &series, 0);
    let lesion = draw_lesion(&mut r, label, u.pv, z);
    let mut pixels = render_slice(
        &Phantom::HeadCt { lesion },
        &geometry.sampling_grid(0),
        &u.stored,
        Noise::Gaussian { sigma: u.sigma },
        &mut r,
    );
    if u.burned {
        burn_text(&mut pixels, &mut r);
    }
    let words: Vec<u16> = match &pixels.values {
        PixelValues::U16(v) => v.clone(),
        PixelValues::I16(v) => v.iter().map(|x| *x as u16).collect(),
        PixelValues::U8(v) => v.iter().map(|x| u16::from(*x)).collect(),
    };
    let dataset = &mut instance.dataset;
    put_text(dataset, tags::INSTITUTION_NAME, VR::LO, sites[u.site]);
    put_text(dataset, tags::CONVOLUTION_KERNEL, VR::SH, &u.kernel);
    put_text(
        dataset,
        tags::SLICE_THICKNESS,
        VR::DS,
        &ds_text(u.thickness),
    );
    if let Some((c2, w2)) = u.window2 {
        let pair = |a: f64, b: f64| PrimitiveValue::Strs(vec![ds_text(a), ds_text(b)].into());
        dataset.put(DataElement::new(
            tags::WINDOW_CENTER,
            VR::DS,
            pair(u.stored.window_center, c2),
        ));
        dataset.put(DataElement::new(
            tags::WINDOW_WIDTH,
            VR::DS,
            pair(u.stored.window_width, w2),
        ));
    }
    if u.burned {
        put_text(dataset, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
    }
    // The writer appends Pixel Data from the rendered values (OW, the words' bit patterns,
    // PS3.5 §8.1.1); the model reads the same words.
    instance.pixels = Some(pixels);
    let slice = Slice::from_header(&instance.dataset, words)
        .expect("the generator writes every attribute a slice needs");
    let p0 = predict(&Config::p0(), &slice);
    let oracle = predict(oracle, &slice);
    let Slice {
        sop_instance_uid: uid,
        attributes,
        ..
    } = slice;
    let name: String = (0..16)
        .map(|_| char::from_digit(r.random_range(0..16u32), 16).expect("digit below 16"))
        .collect();
    let folder = match split {
        Split::Dev => "dev",
        Split::Test => "test",
    };
    Built {
        case: Case {
            uid,
            file: format!("{folder}/{name}.dcm"),
            split,
            label,
            unit: unit_index,
            p0,
            oracle,
            attributes,
        },
        instance,
        ts: u.ts,
    }
}

fn ds_text(v: f64) -> String {
    ds(v)
}

/// Burns a short annotation into the top-left corner (air) at 75 HU, inside P0's band.
fn burn_text(pixels: &mut PixelData, r: &mut rand_chacha::ChaCha8Rng) {
    let text = *["R", "L", "AX", "H 2"].choose(r).expect("non-empty");
    let mut ink = PixelData {
        rows: pixels.rows,
        columns: pixels.columns,
        frames: 1,
        values: PixelValues::U16(vec![
            0;
            usize::from(pixels.rows) * usize::from(pixels.columns)
        ]),
        stored: StoredValues::mr_unsigned(16),
    };
    burn_in(
        &mut ink,
        &BurnedInText {
            lines: vec![text.to_owned()],
            origin: (3, 3),
            scale: 2,
        },
    );
    let value = pixels.stored.to_stored(75.0);
    let PixelValues::U16(marks) = &ink.values else {
        return;
    };
    for (i, m) in marks.iter().enumerate() {
        if *m == 0 {
            continue;
        }
        match &mut pixels.values {
            PixelValues::U16(v) => v[i] = value as u16,
            PixelValues::I16(v) => v[i] = value as i16,
            PixelValues::U8(v) => v[i] = value as u8,
        }
    }
}

/// The reference fix for a design: every header-respecting knob, plus the per-selector
/// corrections the physics causes need.
fn oracle_config(units: &[UnitDesign]) -> Config {
    let mut config = Config::header_respecting();
    for u in units {
        match u.role {
            Role::Planted(Cause::KernelNoise) => config.denoise.push(Denoise {
                selector: Selector(selector(&[("ConvolutionKernel", &u.kernel)])),
                filter: Filter::Median,
                radius_px: 1,
            }),
            Role::Planted(Cause::SliceThicknessPv) => config.hu_offset.push(HuOffset {
                selector: Selector(selector(&[("SliceThickness", &ds(u.thickness))])),
                add_hu: 12.0,
            }),
            Role::Planted(_) | Role::Reference | Role::Decoy | Role::Tiny => {}
        }
    }
    config
}

fn confusion<'a>(
    cases: impl Iterator<Item = &'a Case>,
    pick: fn(&Case) -> Prediction,
) -> Confusion {
    let mut c = Confusion::default();
    for case in cases {
        c.add(case.label, pick(case).decision == Decision::Pos);
    }
    c
}

/// The self-checks of research shift.md §3.8; the error says which failed.
fn verify(units: &[UnitDesign], cases: &[Case]) -> Result<(), String> {
    let of = |u: usize, split: Split| {
        cases
            .iter()
            .filter(move |c| c.unit == u && c.split == split)
    };
    let p0 = |c: &Case| c.p0;
    let oracle = |c: &Case| c.oracle;
    let reference = confusion(of(0, Split::Dev), p0);
    if reference.balanced_accuracy() < 0.95 {
        return Err(format!(
            "P0 is not right at the reference site (BA {:.2})",
            reference.balanced_accuracy()
        ));
    }
    // Sensitivity and specificity of every judged stratum against the reference, Holm-adjusted.
    let judged: Vec<usize> = (1..units.len())
        .filter(|u| !matches!(units[*u].role, Role::Tiny))
        .collect();
    let mut p_values = Vec::new();
    for u in &judged {
        let c = confusion(of(*u, Split::Dev), p0);
        p_values.push(two_proportion_p(
            c.tp,
            c.n_pos(),
            reference.tp,
            reference.n_pos(),
        ));
        p_values.push(two_proportion_p(
            c.tn,
            c.n_neg(),
            reference.tn,
            reference.n_neg(),
        ));
    }
    let adjusted = holm(&p_values);
    for (i, u) in judged.iter().enumerate() {
        let c = confusion(of(*u, Split::Dev), p0);
        let delta = reference.balanced_accuracy() - c.balanced_accuracy();
        let name = &units[*u].station;
        match units[*u].role {
            Role::Planted(cause) => {
                let sens = newcombe_diff(c.tp, c.n_pos(), reference.tp, reference.n_pos(), Z95);
                let spec = newcombe_diff(c.tn, c.n_neg(), reference.tn, reference.n_neg(), Z95);
                let excludes = |d: crate::stats::Interval| d.hi < 0.0 || d.lo > 0.0;
                let significant = (adjusted[2 * i] < 0.05 && excludes(sens))
                    || (adjusted[2 * i + 1] < 0.05 && excludes(spec));
                if delta < 0.2 || !significant {
                    return Err(format!(
                        "{} on {name}: ΔBA {delta:.2}, not a significant effect",
                        cause.id()
                    ));
                }
            }
            Role::Decoy => {
                if delta.abs() >= 0.05 {
                    return Err(format!("decoy {name} moves P0 (ΔBA {delta:.2})"));
                }
            }
            Role::Reference | Role::Tiny => {}
        }
    }
    for (u, design) in units.iter().enumerate() {
        let floor = match design.role {
            Role::Planted(Cause::SliceThicknessPv) => 0.8,
            Role::Tiny => continue,
            Role::Planted(_) | Role::Reference | Role::Decoy => 0.9,
        };
        for split in [Split::Dev, Split::Test] {
            let ba = confusion(of(u, split), oracle).balanced_accuracy();
            if ba < floor {
                return Err(format!(
                    "the reference fix reaches only BA {ba:.2} on {} ({split:?})",
                    design.station
                ));
            }
        }
    }
    // No leakage through the null attributes: a per-value prevalence lookup must not predict.
    for key in ["PatientSex", "AgeBand"] {
        let dev: Vec<&Case> = cases.iter().filter(|c| c.split == Split::Dev).collect();
        let mut by_value: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for c in &dev {
            let e = by_value
                .entry(c.attributes.get(key).map_or("", String::as_str))
                .or_default();
            e.0 += usize::from(c.label);
            e.1 += 1;
        }
        let rate = |c: &Case| {
            let (k, n) = by_value[c.attributes.get(key).map_or("", String::as_str)];
            k as f64 / n as f64
        };
        let pos: Vec<f64> = dev.iter().filter(|c| c.label).map(|c| rate(c)).collect();
        let neg: Vec<f64> = dev.iter().filter(|c| !c.label).map(|c| rate(c)).collect();
        let a = auc(&pos, &neg);
        if a >= 0.6 {
            return Err(format!("{key} predicts the label (AUC {a:.2})"));
        }
    }
    Ok(())
}

/// Generates the fixtures of `seed` into the folder `out` (an existing empty folder) and
/// returns the key.
pub fn generate(seed: u64, params: &Params, out: &Path) -> Result<Key, GenerateError> {
    generate_into(seed, params, &FolderSink::new(out))
}

/// Generates the fixtures of `seed` into `out` and returns the key.
///
/// Each draw streams its files to `out` as it makes them, and only then runs the self-checks,
/// which need every case's predictions; a draw that fails them takes its files back. So memory
/// holds the cases' key entries but never a whole draw's images. Of seeds 1–40, 4 standard
/// seeds (one redraw each) and 7 hard seeds (up to 4 redraws, seed 33) are redrawn, and pay for
/// writing and deleting the rejected files (measured before the cause lists were fixed: a
/// redrawn standard seed about 0.04 s slower than holding its draws, a hard seed drawn once
/// 0.03 s faster); a rejected draw's encoding error is fatal too, as every draw is encoded.
pub fn generate_into(seed: u64, params: &Params, out: &dyn Sink) -> Result<Key, GenerateError> {
    let mut last = String::new();
    for attempt in 0..MAX_DRAWS {
        let draw_seed = if attempt == 0 {
            seed
        } else {
            rand::RngCore::next_u64(&mut stream(seed, &format!("shift/redraw/{attempt}")))
        };
        let (units, cases) = draw(draw_seed, params, out)?;
        match verify(&units, &cases) {
            Ok(()) => return write(out, units, cases, attempt),
            Err(reason) => {
                for case in &cases {
                    out.discard(&case.file)?;
                }
                last = reason;
            }
        }
    }
    Err(GenerateError::SelfCheck {
        attempts: MAX_DRAWS,
        reason: last,
    })
}

/// One complete draw: the strata and every case, each case's file already put to `out`.
fn draw(
    seed: u64,
    params: &Params,
    out: &dyn Sink,
) -> Result<(Vec<UnitDesign>, Vec<Case>), GenerateError> {
    let (sites, units) = draw_design(seed, params);
    let oracle = oracle_config(&units);
    let mut jobs = Vec::new();
    for (ui, u) in units.iter().enumerate() {
        for (split, n) in [(Split::Dev, u.n_dev), (Split::Test, u.n_test)] {
            for i in 0..n {
                jobs.push((ui, split, i < n / 2));
            }
        }
    }
    let cases = jobs
        .par_iter()
        .enumerate()
        .map(|(index, (ui, split, label))| {
            let built = build_case(
                seed,
                index as u64,
                *ui,
                &units[*ui],
                &sites,
                *label,
                *split,
                &oracle,
                params.matrix,
            );
            let bytes = to_bytes(&built.instance, &WriteOptions::new(built.ts))?;
            out.put(&built.case.file, &bytes)?;
            Ok(built.case)
        })
        .collect::<Result<Vec<Case>, GenerateError>>()?;
    Ok((units, cases))
}

fn write(
    out: &dyn Sink,
    units: Vec<UnitDesign>,
    mut cases: Vec<Case>,
    redraws: u32,
) -> Result<Key, GenerateError> {
    cases.sort_by(|a, b| a.file.cmp(&b.file));
    let oracle = oracle_config(&units);
    let mut labels = String::from("file,sop_instance_uid,label\n");
    let mut p0 = String::from("file,sop_instance_uid,score,p,decision\n");
    for c in cases.iter().filter(|c| c.split == Split::Dev) {
        labels.push_str(&format!("{},{},{}\n", c.file, c.uid, u8::from(c.label)));
        p0.push_str(&format!(
            "{},{},{},{},{}\n",
            c.file,
            c.uid,
            c.p0.score,
            c.p0.p,
            c.p0.decision.as_str()
        ));
    }
    let reference_site = cases
        .iter()
        .find(|c| c.unit == 0)
        .and_then(|c| c.attributes.get("InstitutionName"))
        .cloned()
        .unwrap_or_default();
    let deployment = serde_json::json!({
        "model": "P0",
        "reference_site": reference_site,
        "p0_spacing_mm": P0_SPACING_MM,
        "p0_offset": crate::config::P0_OFFSET,
        "area_threshold_mm2": crate::config::P0_THRESHOLD_MM2,
    });
    let deployment = format!(
        "{}\n",
        serde_json::to_string_pretty(&deployment).expect("a JSON literal serialises")
    );
    for (name, text) in [
        ("dev_labels.csv", labels),
        ("p0_dev.csv", p0),
        ("deployment.json", deployment),
    ] {
        out.put(name, text.as_bytes())?;
    }
    let planted = units
        .iter()
        .enumerate()
        .filter_map(|(i, u)| match u.role {
            Role::Planted(cause) => Some(Planted {
                cause,
                unit: i,
                evidence: u.evidence.clone(),
            }),
            Role::Reference | Role::Decoy | Role::Tiny => None,
        })
        .collect();
    let units = units
        .into_iter()
        .map(|u| Unit {
            role: u.role,
            selector: u.selector,
            differences: u.differences,
        })
        .collect();
    Ok(Key {
        cases,
        units,
        planted,
        oracle,
        redraws,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use worksample_task::DigestSink;

    fn params() -> Params {
        Params {
            matrix: 200,
            reference_dev: 60,
            reference_test: 36,
            stratum_dev: 40,
            stratum_test: 24,
            causes: Cause::PLANTABLE.iter().map(|c| c.id().to_owned()).collect(),
        }
    }

    #[test]
    fn params_are_validated() {
        assert!(params().validate().is_ok());
        let with = |causes: &[&str]| Params {
            causes: causes.iter().map(|c| (*c).to_owned()).collect(),
            ..params()
        };
        for (causes, says) in [
            (&[][..], "list at least one"),
            (
                &["KERNEL_NOISE", "KERNEL_NOISE"][..],
                "`KERNEL_NOISE` is listed twice",
            ),
            (
                &["NON_HU_INPUT"][..],
                "`NON_HU_INPUT` is not a plantable cause",
            ),
            (&["KERNEL"][..], "`KERNEL` is not a plantable cause"),
        ] {
            let error = with(causes).validate().expect_err(says);
            assert!(
                error.starts_with("causes: ") && error.contains(says),
                "{error}"
            );
        }
    }

    #[test]
    fn every_cause_alone_passes_the_self_checks() {
        for cause in Cause::PLANTABLE {
            let alone = Params {
                causes: vec![cause.id().to_owned()],
                ..params()
            };
            let (units, cases) = draw(0, &alone, &DigestSink::new()).expect("draws");
            let planted: Vec<Role> = units
                .iter()
                .map(|u| u.role)
                .filter(|r| matches!(r, Role::Planted(_)))
                .collect();
            assert_eq!(planted, vec![Role::Planted(cause)]);
            // A draw may fail for a decoy; this cause must not be the reason.
            if let Err(reason) = verify(&units, &cases) {
                assert!(!reason.contains(cause.id()), "{reason}");
            }
        }
    }
}

//! Analytic phantoms evaluated at a patient-space point (LPS, mm; PS3.3 C.7.6.2.1.1): a head
//! (CT in HU, MR in arbitrary units) and a PA chest radiograph.
//!
//! The head is one tissue map shared by CT and MR, so an axial, sagittal, oblique or tilted grid
//! through the same head sees the same anatomy. Patient axes: +x left, +y posterior, +z superior.

/// What the pixels show.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phantom {
    /// Head CT in Hounsfield units, with an optional hyperdense lesion.
    HeadCt {
        /// A hyperdense (haemorrhage-like) sphere, if any.
        lesion: Option<Lesion>,
    },
    /// PA chest radiograph: a projection, so it depends only on the left–right and
    /// superior–inferior coordinates. Values are a fraction 0..1 of the detector range.
    ChestRadiograph,
    /// Brain MR in arbitrary units 0..~1000.
    MrBrain {
        /// Contrast weighting.
        weighting: MrWeighting,
    },
    /// The same modality value everywhere (tests).
    Flat {
        /// Modality value.
        value: f64,
    },
}

/// A hyperdense lesion: a sphere `contrast_hu` above normal parenchyma.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lesion {
    /// Centre, patient coordinates, mm.
    pub centre: [f64; 3],
    /// Radius, mm.
    pub radius_mm: f64,
    /// HU above parenchyma (haemorrhage is typically +40..+80).
    pub contrast_hu: f64,
}

/// MR contrast weighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MrWeighting {
    /// T1: CSF dark, white matter brighter than grey, fat bright.
    T1,
    /// T2: CSF bright, grey matter brighter than white.
    T2,
    /// FLAIR: T2-like with the CSF signal nulled by inversion recovery.
    Flair,
}

/// Tissue classes of the head phantom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tissue {
    Air,
    Skin,
    Fat,
    CorticalBone,
    Marrow,
    Csf,
    Grey,
    White,
    Falx,
}

/// Semi-axes of the head's outer surface, mm: 150 wide, 180 deep, 200 tall.
const HEAD: [f64; 3] = [75.0, 90.0, 100.0];
/// Depths below the scalp surface, mm, at which each layer ends.
const SKIN_END: f64 = 1.5;
const FAT_END: f64 = 5.0;
const OUTER_TABLE_END: f64 = 7.0;
const DIPLOE_END: f64 = 10.0;
const INNER_TABLE_END: f64 = 12.0;
const SUBARACHNOID_END: f64 = 13.5;
const CORTEX_END: f64 = 17.5;
/// Largest excursion of the cortical ribbon's inner edge, mm.
const GYRI_MM: f64 = 1.6;
/// Normalised radius² inside which depth exceeds every layer and the cortex:
/// (1 − (CORTEX_END + GYRI_MM) / HEAD[0])², HEAD[0] being the smallest semi-axis.
const INTERIOR_R2: f64 =
    (1.0 - (CORTEX_END + GYRI_MM) / HEAD[0]) * (1.0 - (CORTEX_END + GYRI_MM) / HEAD[0]);

/// Brain parenchyma HU a lesion's contrast is measured against (grey/white mean).
pub(crate) const PARENCHYMA_HU: f64 = 33.0;

/// An axis-aligned ellipsoid `((p − c) / s)² ≤ 1`.
struct Ellipsoid {
    centre: [f64; 3],
    semi: [f64; 3],
}

impl Ellipsoid {
    fn contains(&self, p: [f64; 3]) -> bool {
        let mut sum = 0.0;
        for ((pi, ci), si) in p.iter().zip(self.centre).zip(self.semi) {
            let d = (pi - ci) / si;
            sum += d * d;
        }
        sum <= 1.0
    }
}

/// CSF spaces: the two lateral ventricles (a body and a frontal horn each), the third and the
/// fourth ventricle.
const VENTRICLES: [Ellipsoid; 6] = [
    Ellipsoid {
        centre: [-8.5, 4.0, 16.0],
        semi: [5.5, 24.0, 9.0],
    },
    Ellipsoid {
        centre: [8.5, 4.0, 16.0],
        semi: [5.5, 24.0, 9.0],
    },
    Ellipsoid {
        centre: [-10.0, -22.0, 10.0],
        semi: [5.0, 9.0, 8.0],
    },
    Ellipsoid {
        centre: [10.0, -22.0, 10.0],
        semi: [5.0, 9.0, 8.0],
    },
    Ellipsoid {
        centre: [0.0, 6.0, -2.0],
        semi: [2.5, 12.0, 8.0],
    },
    Ellipsoid {
        centre: [0.0, 38.0, -36.0],
        semi: [6.0, 5.0, 7.0],
    },
];

/// Deep grey matter: thalami and caudate/lentiform nuclei.
const DEEP_GREY: [Ellipsoid; 4] = [
    Ellipsoid {
        centre: [-12.0, 12.0, -2.0],
        semi: [9.0, 14.0, 9.0],
    },
    Ellipsoid {
        centre: [12.0, 12.0, -2.0],
        semi: [9.0, 14.0, 9.0],
    },
    Ellipsoid {
        centre: [-22.0, -8.0, 2.0],
        semi: [7.0, 16.0, 10.0],
    },
    Ellipsoid {
        centre: [22.0, -8.0, 2.0],
        semi: [7.0, 16.0, 10.0],
    },
];

/// The head tissue at `p`.
/// Takes scalars, not `[f64; 3]`: an array argument went through memory and stalled every call
/// on a failed store-to-load forward (a third of the render time in `perf annotate`).
pub(crate) fn head_tissue(x: f64, y: f64, z: f64) -> Tissue {
    let p = [x, y, z];
    // Reciprocals folded at compile time: a multiply instead of a division per axis.
    let n = [
        p[0] * (1.0 / HEAD[0]),
        p[1] * (1.0 / HEAD[1]),
        p[2] * (1.0 / HEAD[2]),
    ];
    let r2 = n[0] * n[0] + n[1] * n[1] + n[2] * n[2];
    if r2 > 1.0 {
        return Tissue::Air;
    }
    // Depth below the surface along the ray from the centre: exact on that ray, close enough to
    // the normal distance for a head this round. That ray is at least HEAD[0] long, so depth is at
    // least (1 − r) × HEAD[0]: inside INTERIOR_R2 no layer or cortex test can succeed and the
    // two square roots are skipped (half the head's pixels).
    let depth = if r2 < INTERIOR_R2 {
        f64::INFINITY
    } else {
        let r = r2.sqrt();
        let len = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        (1.0 - r) * len / r
    };
    if depth < SUBARACHNOID_END {
        return if depth < SKIN_END {
            Tissue::Skin
        } else if depth < FAT_END {
            Tissue::Fat
        } else if depth < OUTER_TABLE_END {
            Tissue::CorticalBone
        } else if depth < DIPLOE_END {
            Tissue::Marrow
        } else if depth < INNER_TABLE_END {
            Tissue::CorticalBone
        } else {
            Tissue::Csf
        };
    }
    // The falx cerebri: a thin dural sheet in the midline above the corpus callosum.
    if p[0].abs() < 0.8 && p[2] > 28.0 {
        return Tissue::Falx;
    }
    // Every ventricle and deep nucleus lies in this box; most brain pixels skip the ten tests.
    let deep = p[0].abs() < 32.0 && (-32.0..45.0).contains(&p[1]) && (-44.0..26.0).contains(&p[2]);
    if deep && VENTRICLES.iter().any(|v| v.contains(p)) {
        return Tissue::Csf;
    }
    // Cortical ribbon, its thickness undulating by up to ±1.6 mm so it reads as gyri rather than
    // a plain shell (triangle waves: no transcendental call per pixel).
    if depth < CORTEX_END + GYRI_MM {
        let gyri = GYRI_MM * (wave(p[0] * 0.21) + wave(p[1] * 0.17) + wave(p[2] * 0.19)) / 3.0;
        if depth < CORTEX_END + gyri {
            return Tissue::Grey;
        }
    }
    if deep && DEEP_GREY.iter().any(|e| e.contains(p)) {
        return Tissue::Grey;
    }
    Tissue::White
}

/// A triangle wave of period 2π in −1..1, even in `x`: a cheap stand-in for a cosine.
fn wave(x: f64) -> f64 {
    let f = (x * (0.5 / std::f64::consts::PI)).abs();
    let t = f - (f as u64) as f64;
    4.0 * (t - 0.5).abs() - 1.0
}

/// CT number of a tissue, HU.
fn tissue_hu(t: Tissue) -> f64 {
    match t {
        Tissue::Air => -1000.0,
        Tissue::Skin => 40.0,
        Tissue::Fat => -90.0,
        Tissue::CorticalBone => 1400.0,
        Tissue::Marrow => 650.0,
        Tissue::Csf => 5.0,
        Tissue::Grey => 38.0,
        Tissue::White => 28.0,
        Tissue::Falx => 60.0,
    }
}

/// MR signal of a tissue, arbitrary units (relative intensities of typical spin-echo and FLAIR
/// brain protocols).
fn tissue_mr(t: Tissue, w: MrWeighting) -> f64 {
    match (w, t) {
        (MrWeighting::T1 | MrWeighting::T2 | MrWeighting::Flair, Tissue::Air) => 0.0,
        (MrWeighting::T1 | MrWeighting::T2 | MrWeighting::Flair, Tissue::CorticalBone) => 20.0,
        (MrWeighting::T1, Tissue::Skin) => 450.0,
        (MrWeighting::T1, Tissue::Fat) => 900.0,
        (MrWeighting::T1, Tissue::Marrow) => 750.0,
        (MrWeighting::T1, Tissue::Csf) => 150.0,
        (MrWeighting::T1, Tissue::Grey) => 480.0,
        (MrWeighting::T1, Tissue::White) => 680.0,
        (MrWeighting::T1, Tissue::Falx) => 300.0,
        (MrWeighting::T2, Tissue::Skin) => 400.0,
        (MrWeighting::T2, Tissue::Fat) => 600.0,
        (MrWeighting::T2, Tissue::Marrow) => 500.0,
        (MrWeighting::T2, Tissue::Csf) => 950.0,
        (MrWeighting::T2, Tissue::Grey) => 560.0,
        (MrWeighting::T2, Tissue::White) => 400.0,
        (MrWeighting::T2, Tissue::Falx) => 150.0,
        (MrWeighting::Flair, Tissue::Skin) => 420.0,
        (MrWeighting::Flair, Tissue::Fat) => 650.0,
        (MrWeighting::Flair, Tissue::Marrow) => 480.0,
        (MrWeighting::Flair, Tissue::Csf) => 70.0,
        (MrWeighting::Flair, Tissue::Grey) => 560.0,
        (MrWeighting::Flair, Tissue::White) => 430.0,
        (MrWeighting::Flair, Tissue::Falx) => 150.0,
    }
}

impl Phantom {
    /// The phantom's value at patient point `p`: HU for the head CT, MR units for the brain,
    /// a 0..1 fraction of the detector range for the chest radiograph, `value` for `Flat`.
    pub fn value_at(&self, p: [f64; 3]) -> f64 {
        match *self {
            Phantom::HeadCt { lesion } => head_ct(p, lesion),
            Phantom::MrBrain { weighting } => mr_brain(p, weighting),
            Phantom::ChestRadiograph => chest_at(p),
            Phantom::Flat { value } => value,
        }
    }
}

/// Head CT value at `p`, HU.
#[inline]
pub(crate) fn head_ct(p: [f64; 3], lesion: Option<Lesion>) -> f64 {
    let tissue = head_tissue(p[0], p[1], p[2]);
    let intracranial = matches!(tissue, Tissue::Grey | Tissue::White | Tissue::Csf);
    match lesion {
        Some(l) if intracranial && dist2(p, l.centre) <= l.radius_mm * l.radius_mm => {
            PARENCHYMA_HU + l.contrast_hu
        }
        Some(_) | None => tissue_hu(tissue),
    }
}

/// Brain MR value at `p`, arbitrary units.
#[inline]
pub(crate) fn mr_brain(p: [f64; 3], weighting: MrWeighting) -> f64 {
    tissue_mr(head_tissue(p[0], p[1], p[2]), weighting)
}

/// Chest radiograph at patient point `p`, 0..1. PA view: the viewer faces the patient, so
/// patient left (+x) is on the image right and superior (+z) is up.
pub(crate) fn chest_at(p: [f64; 3]) -> f64 {
    chest(p[0], -p[2])
}

fn dist2(a: [f64; 3], b: [f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

/// Attenuation of the PA chest at image-plane point (`u` mm to the image right, `v` mm down
/// from the centre), 0 (direct exposure, black) .. 1 (collimated, white): a 430 mm field.
fn chest(u: f64, v: f64) -> f64 {
    // Collimator blades 12 mm inside a 430 mm detector: unexposed, shown white.
    const FIELD: f64 = 203.0;
    if u.abs() > FIELD || v.abs() > FIELD {
        return 0.95;
    }
    let au = u.abs();
    // Body outline: neck, shoulders sloping out, then the chest wall.
    let half_width = if v < -175.0 {
        55.0
    } else if v < -135.0 {
        55.0 + (v + 175.0) / 40.0 * 115.0
    } else {
        170.0 - 0.0006 * (v - 40.0).powi(2)
    };
    if au > half_width {
        return 0.06;
    }
    let across = au / half_width;
    // Soft tissue, thicker in the middle.
    let mut a = 0.30 + 0.18 * (1.0 - across * across).sqrt();

    // Diaphragm domes; the right (image-left) dome sits higher under the liver.
    let (dome_top, centre) = if u < 0.0 {
        (95.0, -80.0)
    } else {
        (110.0, 80.0)
    };
    let dome = dome_top + 0.006 * (u - centre).powi(2);
    let below_diaphragm = v > dome;

    // Lungs: dark, darkest in their middle.
    let lung_c = if u < 0.0 { -82.0 } else { 85.0 };
    let lung = ((u - lung_c) / 62.0).powi(2) + ((v + 15.0) / 150.0).powi(2);
    // Heart: rounded shadow bulging to the patient's left (image right).
    let heart = ((u - 22.0) / 72.0).powi(2) + ((v - 55.0) / 58.0).powi(2);
    if lung < 1.0 && !below_diaphragm && heart >= 1.0 {
        a -= 0.30 * (1.0 - lung).sqrt();
        // Hilar and vascular markings: faint stripes radiating from the hila.
        let vessels = ((u - lung_c * 0.35) * 0.09 + v * 0.03).sin() * ((v + 40.0) * 0.07).sin();
        a += 0.025 * vessels * (1.0 - lung);
    }
    if below_diaphragm {
        a += 0.12;
    }
    if heart < 1.0 {
        a += 0.10;
    }
    // Mediastinum above the heart.
    if au < 32.0 && v < 20.0 && v > -175.0 {
        a += 0.10;
    }
    // Spine: vertebral bodies with darker discs every 28 mm.
    if au < 19.0 {
        let disc = ((v + 400.0) % 28.0) < 5.0;
        a += if disc { 0.10 } else { 0.17 };
    }
    // Clavicles.
    let clavicle_v = -160.0 - 0.12 * (au - 20.0);
    if au > 20.0 && au < 140.0 && (v - clavicle_v).abs() < 7.0 {
        a += 0.15;
    }
    // Posterior ribs: from the spine each arches up a little, then sweeps down and out to the
    // chest wall, dropping about 55 mm; a brighter cortex edges each band.
    let lateral = half_width - 4.0;
    if au > 20.0 && au < lateral {
        let t = (au - 20.0) / (lateral - 20.0);
        let drop = -10.0 * (std::f64::consts::PI * 0.8 * t).sin() + 55.0 * t * t;
        let half_thickness = 4.0 + 3.0 * t;
        for i in 0..11 {
            let d = (v - (-178.0 + 24.0 * f64::from(i) + drop)).abs();
            if d < half_thickness {
                a += if d > half_thickness - 1.5 { 0.12 } else { 0.07 };
                break;
            }
        }
    }
    a.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_ct_has_air_skull_brain_and_csf_where_expected() {
        let head = Phantom::HeadCt { lesion: None };
        // Outside the head.
        assert_eq!(head.value_at([0.0, 0.0, 120.0]), -1000.0);
        assert_eq!(head.value_at([80.0, 0.0, 0.0]), -1000.0);
        // The skull ring along the left–right axis: 5..12 mm below the 75 mm surface.
        assert_eq!(head.value_at([75.0 - 6.0, 0.0, 0.0]), 1400.0);
        assert_eq!(head.value_at([-75.0 + 11.0, 0.0, 0.0]), 1400.0);
        assert_eq!(head.value_at([0.0, 90.0 - 8.5, 0.0]), 650.0);
        // Centre of each ventricle is CSF.
        for v in &VENTRICLES {
            assert_eq!(head.value_at(v.centre), 5.0, "{:?}", v.centre);
        }
        // Deep white matter, centrum semiovale.
        assert_eq!(head.value_at([-30.0, 0.0, 40.0]), 28.0);
    }

    #[test]
    fn lesion_is_hyperdense_only_inside_its_sphere() {
        let lesion = Lesion {
            centre: [-30.0, 0.0, 40.0],
            radius_mm: 8.0,
            contrast_hu: 60.0,
        };
        let head = Phantom::HeadCt {
            lesion: Some(lesion),
        };
        assert_eq!(head.value_at(lesion.centre), PARENCHYMA_HU + 60.0);
        assert_eq!(head.value_at([-30.0, 0.0, 49.0]), 28.0);
    }

    #[test]
    fn mr_csf_is_dark_on_t1_bright_on_t2_dark_on_flair() {
        let csf = VENTRICLES[0].centre;
        let wm = [-30.0, 0.0, 40.0];
        let at = |w, p| Phantom::MrBrain { weighting: w }.value_at(p);
        assert!(at(MrWeighting::T1, csf) < at(MrWeighting::T1, wm));
        assert!(at(MrWeighting::T2, csf) > at(MrWeighting::T2, wm));
        assert!(at(MrWeighting::Flair, csf) < at(MrWeighting::Flair, wm));
    }

    #[test]
    fn chest_lungs_are_darker_than_spine_and_mediastinum() {
        let lung = chest(-85.0, -20.0);
        let spine = chest(0.0, -60.0);
        let abdomen = chest(-80.0, 180.0);
        let outside = chest(195.0, -195.0);
        let collimated = chest(0.0, 210.0);
        assert!(lung < spine && lung < abdomen, "{lung} {spine} {abdomen}");
        assert!(
            outside < lung && collimated > spine,
            "{outside} {collimated}"
        );
    }
}

//! Analytic phantoms evaluated at a patient-space point (LPS, mm; PS3.3 C.7.6.2.1.1): a head
//! (CT in HU, MR in arbitrary units) and a PA chest radiograph.
//!
//! The head is one tissue map shared by CT and MR, so an axial, sagittal, oblique or tilted grid
//! through the same head sees the same anatomy. Patient axes: +x left, +y posterior, +z superior.
//! Every boundary of the head is an ellipsoid (the scalp layers are the surface moved inwards
//! along each axis), except the gyral edge of the cortex, so [`head_row`] paints a row of pixels
//! as a dozen constant runs and evaluates only that edge per pixel.

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
/// Depths below the scalp, mm, at which each layer ends: skin, fat, outer table, diploë, inner
/// table, subarachnoid CSF, then the cortex's thinnest and thickest inner edge.
const CORTEX_END: f64 = 17.5;
/// Largest excursion of the cortical ribbon's inner edge, mm.
const GYRI_MM: f64 = 1.6;
const SHELL_DEPTHS: [f64; SHELLS] = [
    0.0,
    1.5,
    5.0,
    7.0,
    10.0,
    12.0,
    13.5,
    CORTEX_END - GYRI_MM,
    CORTEX_END + GYRI_MM,
];
const SHELLS: usize = 9;
/// What lies outside shell `k` but inside shell `k - 1` (Air outside the head). Shell 7 to 8 is
/// the cortex band decided per pixel; inside shell 8 is white matter.
const SHELL_OUTSIDE: [Tissue; 7] = [
    Tissue::Air,
    Tissue::Skin,
    Tissue::Fat,
    Tissue::CorticalBone,
    Tissue::Marrow,
    Tissue::CorticalBone,
    Tissue::Csf,
];
/// Shell 5 (inner table's inner edge) encloses everything intracranial.
const INTRACRANIAL_SHELL: usize = 5;
/// Inside shell 6, the falx and the ventricles take precedence over the cortex.
const BRAIN_SHELL: usize = 6;
const CORTEX_MIN_SHELL: usize = 7;
const INTERIOR_SHELL: usize = 8;
/// Reciprocal semi-axes of each shell: the head surface moved `depth` inwards along each axis.
/// On the axes that is the exact normal distance; elsewhere it is close for a head this round,
/// and each layer boundary stays an ellipsoid, so a row of pixels crosses it at two analytic
/// points.
const SHELL_INV: [[f64; 3]; SHELLS] = {
    let mut inv = [[0.0; 3]; SHELLS];
    let mut k = 0;
    while k < SHELLS {
        let mut a = 0;
        while a < 3 {
            inv[k][a] = 1.0 / (HEAD[a] - SHELL_DEPTHS[k]);
            a += 1;
        }
        k += 1;
    }
    inv
};

/// Brain parenchyma HU a lesion's contrast is measured against (grey/white mean).
pub(crate) const PARENCHYMA_HU: f64 = 33.0;

/// An axis-aligned ellipsoid `((p − c) / s)² ≤ 1`.
struct Ellipsoid {
    centre: [f64; 3],
    semi: [f64; 3],
}

/// Reciprocal semi-axes of each ellipsoid in `list`, folded at compile time for the per-row
/// quadratic (three divisions per ellipsoid per row showed in the render profile).
const fn inverse_semi<const N: usize>(list: &[Ellipsoid; N]) -> [[f64; 3]; N] {
    let mut inv = [[0.0; 3]; N];
    let mut i = 0;
    while i < N {
        let mut a = 0;
        while a < 3 {
            inv[i][a] = 1.0 / list[i].semi[a];
            a += 1;
        }
        i += 1;
    }
    inv
}

impl Ellipsoid {
    /// Whether `p` is inside, given the reciprocal semi-axes `inv` (products, not quotients:
    /// a division per axis per probe showed in the render profile).
    #[inline]
    fn contains(&self, inv: [f64; 3], p: [f64; 3]) -> bool {
        let mut sum = 0.0;
        for ((pi, ci), si) in p.iter().zip(self.centre).zip(inv) {
            let d = (pi - ci) * si;
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

const VENTRICLES_INV: [[f64; 3]; 6] = inverse_semi(&VENTRICLES);

/// The deep grey nuclei and ventricles a plane meets, as a bit set (deep grey first, then the
/// ventricles, in their tables' order): the rows of a slice that misses one need not look for it,
/// and most slices of a series lie above or below all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overlays(u16);

impl Overlays {
    /// Every one: for rows not known to share a plane.
    pub(crate) const ALL: Overlays = Overlays((1 << (DEEP_GREY.len() + VENTRICLES.len())) - 1);

    /// Those the plane through `origin` with normal `normal` (any length) can meet. The ellipsoid
    /// `((p − c) / s)² ≤ 1` reaches `√Σ (n_a s_a)²` from its centre along a unit normal n; one
    /// farther from the plane than that, with room for the rounding of each row's points (far
    /// below a micrometre), is left out. A degenerate normal keeps them all.
    pub(crate) fn meeting_plane(origin: [f64; 3], normal: [f64; 3]) -> Overlays {
        let len = normal.iter().map(|v| v * v).sum::<f64>().sqrt();
        if !(len > 0.0 && len.is_finite()) {
            return Overlays::ALL;
        }
        let n = normal.map(|v| v / len);
        let meets = |e: &Ellipsoid| {
            let distance = (0..3)
                .map(|a| n[a] * (e.centre[a] - origin[a]))
                .sum::<f64>();
            let reach = (0..3)
                .map(|a| (n[a] * e.semi[a]).powi(2))
                .sum::<f64>()
                .sqrt();
            // A NaN distance or reach compares false: the ellipsoid is kept.
            let misses = distance.abs() > reach * (1.0 + 1e-9) + 1e-6;
            !misses
        };
        let mut bits = 0;
        for (i, e) in DEEP_GREY.iter().chain(&VENTRICLES).enumerate() {
            if meets(e) {
                bits |= 1 << i;
            }
        }
        Overlays(bits)
    }

    fn has(self, i: usize) -> bool {
        self.0 & (1 << i) != 0
    }
}
const DEEP_GREY_INV: [[f64; 3]; 4] = inverse_semi(&DEEP_GREY);

/// Whether `p` is inside shell `k`.
#[inline]
fn in_shell(p: [f64; 3], k: usize) -> bool {
    let inv = SHELL_INV[k];
    let n = [p[0] * inv[0], p[1] * inv[1], p[2] * inv[2]];
    n[0] * n[0] + n[1] * n[1] + n[2] * n[2] <= 1.0
}

/// The falx cerebri: a thin dural sheet in the midline above the corpus callosum.
#[inline]
fn in_falx(p: [f64; 3]) -> bool {
    p[0].abs() < 0.8 && p[2] > 28.0
}

/// In the cortex band (between shells 7 and 8): whether `p` is cortex. The ribbon's inner edge
/// undulates by up to ±1.6 mm so it reads as gyri rather than a plain shell (triangle waves: no
/// transcendental call per pixel).
///
/// `Σ (p_a / (H_a − depth))² > 1` with the denominators multiplied out (all of them are
/// positive: depth ≤ 19.1 mm inside semi-axes of 75 mm and more), so a band pixel costs
/// multiplications only and the loop over a run of them vectorises.
#[inline(always)]
fn band_is_cortex(p: [f64; 3]) -> bool {
    let [answer] = band_is_cortex_lanes(&[[p[0]], [p[1]], [p[2]]]);
    answer
}

/// The head tissue at `p`: the innermost shell containing it, then the falx, ventricles, cortex
/// and deep grey matter in that order of precedence. [`head_row`] paints the same map span by
/// span; every span edge is settled with these same predicates, so both agree pixel for pixel.
pub(crate) fn head_tissue(x: f64, y: f64, z: f64) -> Tissue {
    let p = [x, y, z];
    for (k, outside) in SHELL_OUTSIDE.iter().enumerate() {
        if !in_shell(p, k) {
            return *outside;
        }
    }
    if in_falx(p) {
        return Tissue::Falx;
    }
    if VENTRICLES
        .iter()
        .zip(VENTRICLES_INV)
        .any(|(v, inv)| v.contains(inv, p))
    {
        return Tissue::Csf;
    }
    if !in_shell(p, CORTEX_MIN_SHELL)
        || (!in_shell(p, INTERIOR_SHELL) && band_is_cortex(p))
        || DEEP_GREY
            .iter()
            .zip(DEEP_GREY_INV)
            .any(|(e, inv)| e.contains(inv, p))
    {
        return Tissue::Grey;
    }
    Tissue::White
}

/// Pixel centres of one image row: column `c` sits at `start + c × step`, computed exactly so
/// for every caller.
pub(crate) struct Line {
    pub(crate) start: [f64; 3],
    pub(crate) step: [f64; 3],
}

impl Line {
    #[inline]
    pub(crate) fn at(&self, c: usize) -> [f64; 3] {
        // A slice index is at most isize::MAX, so the signed conversion (one instruction on
        // x86-64, where usize → f64 is a branchy sequence) is the same value.
        let cf = c as i64 as f64;
        [
            self.start[0] + cf * self.step[0],
            self.start[1] + cf * self.step[1],
            self.start[2] + cf * self.step[2],
        ]
    }

    /// Real interval of `t` where `Σ ((start + t step − centre) × inv)² ≤ 1`; empty (start >
    /// end) when the row misses, everything when the row does not move.
    #[inline(always)]
    fn quadratic(&self, centre: [f64; 3], inv: [f64; 3]) -> Estimate {
        let (mut a, mut b, mut c) = (0.0, 0.0, -1.0);
        for k in 0..3 {
            let q = (self.start[k] - centre[k]) * inv[k];
            let d = self.step[k] * inv[k];
            a += d * d;
            b += 2.0 * q * d;
            c += q * q;
        }
        if a <= 0.0 || !a.is_finite() {
            return Estimate::unsure(if c <= 0.0 {
                (f64::NEG_INFINITY, f64::INFINITY)
            } else {
                (f64::INFINITY, f64::NEG_INFINITY)
            });
        }
        let disc = b * b - 4.0 * a * c;
        // One division for the three quotients by 2a (several per row showed in the profile).
        let inv_2a = 0.5 / a;
        let vertex = -b * inv_2a;
        if disc < 0.0 {
            // A clear miss (most rows for most ellipsoids) is empty; a near tangent the rounding
            // may hide makes `span` probe the vertex pixel.
            if disc < -1e-9 * (b * b + (4.0 * a * c).abs()) {
                return Estimate::unsure((f64::INFINITY, f64::NEG_INFINITY));
            }
            return Estimate::unsure((vertex, vertex - f64::MIN_POSITIVE));
        }
        let root = disc.sqrt();
        let half = root * inv_2a;
        // How far a computed root can be from where the predicate flips: both evaluate the same
        // polynomial, each to a few units in the last place of its terms, and the root moves by
        // that error over the slope at the root, √disc. The bound is a million times the error
        // (the painted-rows test holds the result to per-pixel evaluation), and infinite at a
        // tangent, where `span` probes.
        let t = vertex.abs() + half;
        let terms =
            1.0 + c.abs() + b.abs() * t + a * t * t + (b * b + (4.0 * a * c).abs()) * 2.0 * inv_2a;
        Estimate {
            t0: vertex - half,
            t1: vertex + half,
            slack: 1e-9 * (1.0 + t + terms / root),
        }
    }
}

/// A real interval `t0..=t1` of column positions where a predicate holds, as computed, and how
/// far each end may be from the truth (`slack`, columns).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Estimate {
    pub(crate) t0: f64,
    pub(crate) t1: f64,
    pub(crate) slack: f64,
}

impl Estimate {
    /// An interval whose ends only seed the search.
    pub(crate) fn unsure((t0, t1): (f64, f64)) -> Estimate {
        Estimate {
            t0,
            t1,
            slack: f64::INFINITY,
        }
    }

    /// Whether both ends are farther than the slack from every whole column (or infinite: no
    /// edge in the row), so the columns inside are exactly the whole numbers in `t0..=t1`, with
    /// no predicate evaluated. Never for an unsure estimate; NaN ends are not clear.
    #[inline(always)]
    fn decisive(&self) -> bool {
        let clear = |t: f64| {
            let frac = t - t.floor();
            t.is_infinite() || (frac > self.slack && frac < 1.0 - self.slack)
        };
        self.slack.is_finite() && clear(self.t0) && clear(self.t1)
    }
}

/// The columns in `within` where `inside` holds, given an estimate of the real interval. An
/// estimate whose ends are clear of whole columns by more than its slack decides them (the
/// common case: the probes were most of the render profile); otherwise it only seeds the search:
/// both edges are moved until `inside` is true just inside them and false just outside. Either
/// way the result is what per-pixel evaluation gives (the set is convex, so one interval).
#[inline(always)]
pub(crate) fn span(
    within: std::ops::Range<usize>,
    estimate: Estimate,
    inside: impl Fn(usize) -> bool,
) -> std::ops::Range<usize> {
    let (lo, hi) = (within.start, within.end);
    if lo >= hi {
        return lo..lo;
    }
    let (t0, t1) = (estimate.t0, estimate.t1);
    // Selects rather than `f64::max`/`min` (which add NaN fix-ups): NaN still goes to `lo`.
    let (lo_f, hi_f) = (lo as f64, hi as f64);
    let clamp = |t: f64| {
        let t = if t > lo_f { t } else { lo_f };
        (if t < hi_f { t } else { hi_f }) as usize
    };
    let (mut a, mut b) = (clamp(t0.ceil()), clamp(t1.floor() + 1.0));
    if estimate.decisive() {
        return if a < b { a..b } else { lo..lo };
    }
    if a >= b {
        let mid = (t0 + t1) / 2.0;
        if !mid.is_finite() {
            return lo..lo;
        }
        let m = clamp(mid.round()).min(hi - 1);
        if !inside(m) {
            return lo..lo;
        }
        (a, b) = (m, m + 1);
    }
    while a < b && !inside(a) {
        a += 1;
    }
    while b > a && !inside(b - 1) {
        b -= 1;
    }
    if a == b {
        return lo..lo;
    }
    while a > lo && inside(a - 1) {
        a -= 1;
    }
    while b < hi && inside(b) {
        b += 1;
    }
    a..b
}

/// Linear estimate of where `lo < start + t × step < hi` (open bounds): a quotient and the
/// predicate's sum are each within a few units in the last place of their operands.
fn linear(start: f64, step: f64, lo: f64, hi: f64) -> Estimate {
    if step == 0.0 {
        // Every point of the row has this very coordinate: the comparison is the predicate's.
        let (t0, t1) = if lo < start && start < hi {
            (f64::NEG_INFINITY, f64::INFINITY)
        } else {
            (f64::INFINITY, f64::NEG_INFINITY)
        };
        return Estimate { t0, t1, slack: 0.0 };
    }
    let (a, b) = ((lo - start) / step, (hi - start) / step);
    let finite = |v: f64| if v.is_finite() { v.abs() } else { 0.0 };
    let scale = (start.abs() + finite(lo) + finite(hi)) / step.abs();
    Estimate {
        t0: a.min(b),
        t1: a.max(b),
        slack: 1e-9 * (1.0 + finite(a).max(finite(b)) + scale),
    }
}

/// Paints one row of the head (CT or MR, by `value`) into `out`, span by span: the nested shells
/// as runs of constant tissue, the cortex band per pixel (a few pixels at each side), then the
/// deep grey nuclei, ventricles, lesion and falx over the brain. Equal to evaluating
/// [`head_tissue`] (and the lesion rule of [`head_ct`]) at every pixel, at a fraction of the
/// cost: a 512-pixel row is a dozen fills.
#[inline(always)]
pub(crate) fn head_row(
    line: &Line,
    value: impl Fn(Tissue) -> f64,
    lesion: Option<(Lesion, f64)>,
    overlays: Overlays,
    out: &mut [f32],
) {
    // Each tissue's value once per row, in the rows' precision.
    let table = [
        Tissue::Air,
        Tissue::Skin,
        Tissue::Fat,
        Tissue::CorticalBone,
        Tissue::Marrow,
        Tissue::Csf,
        Tissue::Grey,
        Tissue::White,
        Tissue::Falx,
    ]
    .map(|t| value(t) as f32);
    let value = |t: Tissue| table[t as usize];
    let n = out.len();
    let mut shells: [std::ops::Range<usize>; SHELLS] = std::array::from_fn(|_| 0..0);
    let mut within = 0..n;
    for (k, shell) in shells.iter_mut().enumerate() {
        // Inside an empty shell every inner one is empty too: `span` would return this very
        // range, so the quadratic is skipped (most rows of a slice miss the inner shells).
        *shell = if within.is_empty() {
            within.start..within.start
        } else {
            span(
                within.clone(),
                line.quadratic([0.0; 3], SHELL_INV[k]),
                |c| in_shell(line.at(c), k),
            )
        };
        within = shell.clone();
    }
    // Each layer fills its shell minus the next one: a run at each side.
    let outer = shells[0].clone();
    out[..outer.start].fill(value(Tissue::Air));
    out[outer.end..].fill(value(Tissue::Air));
    for k in 0..INTERIOR_SHELL {
        let (this, next) = (shells[k].clone(), shells[k + 1].clone());
        let (left, right) = if next.is_empty() {
            (this.clone(), this.end..this.end)
        } else {
            (this.start..next.start, next.end..this.end)
        };
        if k + 1 < SHELL_OUTSIDE.len() {
            let v = value(SHELL_OUTSIDE[k + 1]);
            out[left].fill(v);
            out[right].fill(v);
        } else if k == CORTEX_MIN_SHELL - 1 {
            let v = value(Tissue::Grey);
            out[left].fill(v);
            out[right].fill(v);
        } else {
            let (grey, white) = (value(Tissue::Grey), value(Tissue::White));
            for run in [left, right] {
                paint_band(line, run, grey, white, out);
            }
        }
    }
    out[shells[INTERIOR_SHELL].clone()].fill(value(Tissue::White));

    // Over the brain, in increasing precedence; nothing to do on a row that misses it (every
    // span below lies inside the intracranial or brain range).
    let brain = shells[BRAIN_SHELL].clone();
    if shells[INTRACRANIAL_SHELL].is_empty() {
        return;
    }
    let mut overlay = |e: &Ellipsoid, inv: [f64; 3], v: f32| {
        if brain.is_empty() {
            return;
        }
        let estimate = line.quadratic(e.centre, inv);
        let s = span(brain.clone(), estimate, |c| e.contains(inv, line.at(c)));
        out[s].fill(v);
    };
    for (i, (e, inv)) in DEEP_GREY.iter().zip(DEEP_GREY_INV).enumerate() {
        if overlays.has(i) {
            overlay(e, inv, value(Tissue::Grey));
        }
    }
    for (i, (e, inv)) in VENTRICLES.iter().zip(VENTRICLES_INV).enumerate() {
        if overlays.has(DEEP_GREY.len() + i) {
            overlay(e, inv, value(Tissue::Csf));
        }
    }
    if let Some((l, v)) = lesion {
        let intracranial = shells[INTRACRANIAL_SHELL].clone();
        let inv = [l.radius_mm.recip(); 3];
        let r2 = l.radius_mm * l.radius_mm;
        let s = span(intracranial, line.quadratic(l.centre, inv), |c| {
            dist2(line.at(c), l.centre) <= r2
        });
        out[s].fill(v as f32);
    }
    let (x, z) = (
        linear(line.start[0], line.step[0], -0.8, 0.8),
        linear(line.start[2], line.step[2], 28.0, f64::INFINITY),
    );
    let both = Estimate {
        t0: x.t0.max(z.t0),
        t1: x.t1.min(z.t1),
        slack: x.slack.max(z.slack),
    };
    let falx = span(brain, both, |c| in_falx(line.at(c)));
    out[falx].fill(value(Tissue::Falx));
}

/// Paints the columns `run` of the cortex band: grey where [`band_is_cortex`], white elsewhere,
/// four pixels at a time through [`band_is_cortex_lanes`]. Written per pixel, the compiler packed
/// the three axes of one pixel into a register and went one pixel per step, with a branch for the
/// choice (the band was about a tenth of a head slice's render; four lanes took 8–10 % off the
/// whole render, the same bits).
#[inline(always)]
fn paint_band(line: &Line, run: std::ops::Range<usize>, grey: f32, white: f32, out: &mut [f32]) {
    let mut quads = out[run.clone()].chunks_exact_mut(LANES);
    let mut c = run.start;
    for quad in quads.by_ref() {
        // The quad's first column converted once and the lanes added in floating point: whole
        // numbers this small are exact, so these are `line.at`'s columns. Plain loops over the
        // lanes: `array::map` and `from_fn` go through a fallible mapping the optimiser did not
        // always see through here.
        let first = c as i64 as f64;
        let mut p = [[0.0; LANES]; 3];
        for (a, axis) in p.iter_mut().enumerate() {
            for (lane, v) in axis.iter_mut().enumerate() {
                *v = line.start[a] + (first + lane as f64) * line.step[a];
            }
        }
        for (o, is) in quad.iter_mut().zip(band_is_cortex_lanes(&p)) {
            *o = if is { grey } else { white };
        }
        c += LANES;
    }
    for (o, c) in quads.into_remainder().iter_mut().zip(c..) {
        *o = if band_is_cortex(line.at(c)) {
            grey
        } else {
            white
        };
    }
}

/// [`band_is_cortex`] for `N` points at once, coordinates by axis then lane: every step one
/// operation over the lanes, so with four lanes the compiler packs each into one vector
/// instruction. The scalar predicate is this with one lane, so both give the same answers.
#[inline(always)]
fn band_is_cortex_lanes<const N: usize>(p: &[[f64; N]; 3]) -> [bool; N] {
    const FREQUENCY: [f64; 3] = [0.21, 0.17, 0.19];
    // `GYRI_MM × (wave(x) + wave(y) + wave(z)) / 3` below the cortex's mean depth.
    let mut sum = [0.0; N];
    for (a, axis) in p.iter().enumerate() {
        for (s, &v) in sum.iter_mut().zip(axis) {
            // The first axis starts the sum rather than being added to 0.0 (which would differ
            // for −0.0 only, which `wave` never returns, but say it plainly).
            *s = if a == 0 {
                wave(v * FREQUENCY[a])
            } else {
                *s + wave(v * FREQUENCY[a])
            };
        }
    }
    let mut q = [[0.0; N]; 3];
    for (a, qa) in q.iter_mut().enumerate() {
        for (q, &s) in qa.iter_mut().zip(&sum) {
            let depth = CORTEX_END + GYRI_MM * s * (1.0 / 3.0);
            let d = HEAD[a] - depth;
            *q = d * d;
        }
    }
    let mut out = [false; N];
    for (i, o) in out.iter_mut().enumerate() {
        let s = [0, 1, 2].map(|a| p[a][i] * p[a][i]);
        *o = s[0] * q[1][i] * q[2][i] + s[1] * q[0][i] * q[2][i] + s[2] * q[0][i] * q[1][i]
            > q[0][i] * q[1][i] * q[2][i];
    }
    out
}

/// Pixels per step of [`paint_band`]: four `f64` lanes, one AVX2 register.
const LANES: usize = 4;

/// A triangle wave of period 2π in −1..1, even in `x`: a cheap stand-in for a cosine.
#[inline(always)]
fn wave(x: f64) -> f64 {
    /// 2⁵²: from here on every `f64` is a whole number.
    const WHOLE: f64 = 4_503_599_627_370_496.0;
    let f = (x * (0.5 / std::f64::consts::PI)).abs();
    // ⌊f⌋ by adds and a select, which vectorise (an integer round trip or `f64::floor` does not
    // on baseline x86-64): `f + 2⁵² − 2⁵²` is f rounded to nearest, one too many if it rounded up.
    let nearest = (f + WHOLE) - WHOLE;
    let floor = nearest - if nearest > f { 1.0 } else { 0.0 };
    let whole = if f < WHOLE { floor } else { f };
    let t = f - whole;
    4.0 * (t - 0.5).abs() - 1.0
}

/// CT number of a tissue, HU.
pub(crate) fn tissue_hu(t: Tissue) -> f64 {
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
pub(crate) fn tissue_mr(t: Tissue, w: MrWeighting) -> f64 {
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
    fn painted_rows_equal_per_point_evaluation() {
        let lesion = Lesion {
            centre: [-20.0, 5.0, 22.0],
            radius_mm: 9.0,
            contrast_hu: 60.0,
        };
        let value = Some((lesion, PARENCHYMA_HU + lesion.contrast_hu));
        // Axial, sagittal, coronal and two oblique row directions, 0.49 mm steps, rows spread
        // over the whole head including tangent ones at its edges.
        let directions = [
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, -1.0],
            [0.96, 0.2, 0.19],
            [0.3, -0.9, 0.316],
        ];
        let mut out = vec![0.0; 560];
        let (mut rows, mut distinct) = (0, std::collections::BTreeSet::new());
        for dir in directions {
            let step = dir.map(|d| d * 0.49);
            for i in 0..70 {
                for j in 0..55 {
                    let (u, v) = (-102.0 + 2.97 * f64::from(i), -104.0 + 3.83 * f64::from(j));
                    // Start 137 mm before the plane through (u, v) so the row crosses the head.
                    let through = match dir {
                        [1.0, 0.0, 0.0] => [0.0, u, v],
                        [0.0, 1.0, 0.0] => [u, 0.0, v],
                        _ => [u, v, v * 0.3],
                    };
                    let line = Line {
                        start: [0, 1, 2].map(|k| through[k] - 137.0 * dir[k]),
                        step,
                    };
                    head_row(&line, tissue_hu, value, Overlays::ALL, &mut out);
                    for (c, v) in out.iter().enumerate() {
                        let expected = head_ct(line.at(c), Some(lesion)) as f32;
                        assert_eq!(*v, expected, "{dir:?} row {i},{j} column {c}");
                        distinct.insert(v.to_bits());
                    }
                    rows += 1;
                }
            }
        }
        assert_eq!(rows, 5 * 70 * 55);
        // Every tissue and the lesion appear.
        assert_eq!(distinct.len(), 10, "{distinct:?}");
    }

    #[test]
    fn band_lanes_answer_as_the_scalar_predicate() {
        // Points over the band's whole range on every axis, on a lattice that is not aligned
        // with the gyri's period, four at a time.
        let mut agree = [0_usize; 2];
        for i in 0..20_000_u32 {
            let p: [[f64; LANES]; 3] = std::array::from_fn(|a| {
                std::array::from_fn(|l| {
                    let k = f64::from(i * 4 + l as u32);
                    let half = HEAD[a];
                    -half + (k * (0.7373 + 0.11 * a as f64)) % (2.0 * half)
                })
            });
            let lanes = band_is_cortex_lanes(&p);
            for (l, is) in lanes.into_iter().enumerate() {
                let scalar = band_is_cortex([p[0][l], p[1][l], p[2][l]]);
                assert_eq!(is, scalar, "{:?}", [p[0][l], p[1][l], p[2][l]]);
                agree[usize::from(is)] += 1;
            }
        }
        // Both answers occur, so the comparison says something.
        assert!(agree[0] > 1000 && agree[1] > 1000, "{agree:?}");
    }

    #[test]
    fn skull_is_as_thick_on_every_axis() {
        // Outer table from 5 to 7 mm, diploë to 10, inner table to 12, on all six half-axes.
        for (axis, semi) in HEAD.iter().enumerate() {
            for sign in [-1.0, 1.0] {
                let at = |depth: f64| {
                    let mut p = [0.0; 3];
                    p[axis] = sign * (semi - depth);
                    head_tissue(p[0], p[1], p[2])
                };
                assert_eq!(at(1.0), Tissue::Skin);
                assert_eq!(at(3.0), Tissue::Fat);
                assert_eq!(at(6.0), Tissue::CorticalBone);
                assert_eq!(at(8.5), Tissue::Marrow);
                assert_eq!(at(11.0), Tissue::CorticalBone);
                assert_eq!(at(13.0), Tissue::Csf);
            }
        }
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

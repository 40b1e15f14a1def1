//! P0, the deployed rule-based lesion detector, and its configurable preprocessing pipeline as
//! one pure function over a decoded slice ([`predict`]). `Config::p0()` reproduces the deployed
//! model exactly; the harness replays a candidate's corrected configuration with the same code.
//!
//! The steps follow the grayscale pipeline order the standard fixes (research shift.md §1.1):
//! stored values → padding (on stored values) → Modality LUT → VOI window → MONOCHROME1
//! inversion after VOI (PS3.3 C.7.6.3.1.2, PS3.4 N.2.1.3).

use serde::{Deserialize, Serialize};

use crate::config::{
    Config, Decode, Filter, Gate, Mask, ModalityLut, P0_OFFSET, P0_SPACING_MM, Padding,
    Photometric, SITE_A_WINDOW, Spacing, Window,
};
use crate::slice::Slice;

/// The model's decision on one slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Decision {
    /// A lesion is reported.
    Pos,
    /// No lesion is reported.
    Neg,
    /// The input is out of scope (only with a gate).
    Reject,
}

impl Decision {
    /// `POS`, `NEG` or `REJECT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pos => "POS",
            Decision::Neg => "NEG",
            Decision::Reject => "REJECT",
        }
    }

    /// Parses `POS`, `NEG` or `REJECT` (exact).
    pub fn parse(text: &str) -> Option<Decision> {
        match text {
            "POS" => Some(Decision::Pos),
            "NEG" => Some(Decision::Neg),
            "REJECT" => Some(Decision::Reject),
            _ => None,
        }
    }
}

/// What the model outputs for one slice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Area of the largest candidate component, mm² (0 for REJECT).
    pub score: f64,
    /// `σ((score − threshold) / 4)` (0 for REJECT).
    pub p: f64,
    /// The decision.
    pub decision: Decision,
}

/// Runs the pipeline configured by `config` on `slice`.
pub fn predict(config: &Config, slice: &Slice) -> Prediction {
    if config.gate == Gate::RescaleTypeHu && out_of_scope(slice) {
        return Prediction {
            score: 0.0,
            p: 0.0,
            decision: Decision::Reject,
        };
    }
    let (rows, columns) = (slice.rows, slice.columns);
    let decoder = Decoder::new(slice, config.decode);
    let header = Decoder::new(slice, Decode::Header);
    let modality = Modality::new(config, slice);
    // Padding compares stored values as the header defines them, whatever the decode knob says
    // (PS3.3 C.7.5.1.1.2); without a padding value or with the knob off nothing is padded.
    let pad = match (config.padding, slice.padding_value) {
        (Padding::Mask, Some(pad)) => Some(pad),
        (Padding::Mask, None) | (Padding::Ignore, _) => None,
    };
    let (center, width) = match config.window {
        Window::Header => slice.window.unwrap_or(SITE_A_WINDOW),
        Window::Fixed { center, width } => (center, width),
    };
    // A zero or negative header width would divide by zero: treat it as the narrowest window.
    let width = if width > 0.0 { width } else { 1.0 };
    let invert = config.photometric == Photometric::Header && slice.photometric == "MONOCHROME1";
    let [lo, hi] = config.band;
    let bottom = center - width / 2.0;
    let in_band = |h: f64| {
        let mut x = ((h - bottom) / width).clamp(0.0, 1.0);
        if invert {
            x = 1.0 - x;
        }
        lo <= x && x < hi
    };
    // Before denoising every step is a function of the pixel's word alone, so each distinct word
    // (a few thousand among a slice's 40,000 pixels) is decoded and tested once.
    let flags = word_flags(&slice.raw, |word| {
        let h = modality.hu(decoder.value(word));
        let mut f = 0;
        if pad.is_some_and(|pad| header.value(word) == pad) {
            f |= PADDED;
        }
        if h > -500.0 {
            f |= INSIDE;
        }
        if in_band(h) {
            f |= BAND;
        }
        f
    });
    let body = match config.mask {
        Mask::None => None,
        Mask::Body => {
            let inside: Vec<bool> = flags
                .iter()
                .map(|f| f & (INSIDE | PADDED) == INSIDE)
                .collect();
            Some(largest_component_mask(&inside, rows, columns))
        }
    };
    // A pixel is eligible when it is not padding and lies in the body (when masked). Zipped
    // slices rather than indexing closures: no bounds check per pixel, so the loops vectorise.
    let candidate: Vec<bool> = match config.denoise_for(slice) {
        None => masked(&flags, body.as_deref(), |f, _| f & BAND != 0),
        Some(d) => match d.filter {
            Filter::Median => {
                let hu: Vec<f64> = slice
                    .raw
                    .iter()
                    .map(|w| modality.hu(decoder.value(*w)))
                    .collect();
                let hu = median(&hu, rows, columns, d.radius_px as usize);
                masked(&flags, body.as_deref(), |_, i| in_band(hu[i]))
            }
        },
    };
    let (n, _) = largest_component(&candidate, rows, columns);
    let [sr, sc] = match config.spacing {
        Spacing::Fixed => [P0_SPACING_MM; 2],
        Spacing::PixelSpacing => slice.pixel_spacing.unwrap_or([P0_SPACING_MM; 2]),
    };
    let score = n as f64 * sr * sc;
    let threshold = config.area_threshold_mm2;
    Prediction {
        score,
        p: 1.0 / (1.0 + (-(score - threshold) / 4.0).exp()),
        decision: if score >= threshold {
            Decision::Pos
        } else {
            Decision::Neg
        },
    }
}

/// The pixel's stored word equals Pixel Padding Value.
const PADDED: u8 = 1;
/// HU above −500: a body pixel (before denoising).
const INSIDE: u8 = 2;
/// The windowed value lies in the candidate band (before denoising).
const BAND: u8 = 4;
/// The word's flags have been computed.
const KNOWN: u8 = 8;

/// Per pixel: not padded, inside `body` when there is one, and `test(flags, index)`.
fn masked(flags: &[u8], body: Option<&[bool]>, test: impl Fn(u8, usize) -> bool) -> Vec<bool> {
    let keep = |i: usize, f: u8| f & PADDED == 0 && test(f, i);
    match body {
        None => flags.iter().enumerate().map(|(i, &f)| keep(i, f)).collect(),
        Some(body) => flags
            .iter()
            .zip(body)
            .enumerate()
            .map(|(i, (&f, &b))| b && keep(i, f))
            .collect(),
    }
}

/// `flags(word)` for every word of `raw`, computed once per distinct word.
fn word_flags(raw: &[u16], flags: impl Fn(u16) -> u8) -> Vec<u8> {
    let (min, max) = raw
        .iter()
        .fold((u16::MAX, u16::MIN), |(a, b), w| (a.min(*w), b.max(*w)));
    let span = usize::from(max.saturating_sub(min)) + 1;
    if span <= raw.len() {
        // The words span no more values than there are pixels (a CT slice's few thousand
        // against tens of thousands of pixels): every value of the span is computed once, in
        // one straight loop, and each pixel is a lookup without the memo's first-seen branch.
        // The table covers every 16-bit word (64 KiB, zero outside the span), so a lookup needs
        // neither an offset nor a bounds check: a third of the instructions per pixel.
        let mut table = [0u8; 1 << 16];
        for w in min..=max {
            table[usize::from(w)] = flags(w) | KNOWN;
        }
        return raw.iter().map(|&w| table[usize::from(w)]).collect();
    }
    let mut memo = vec![0u8; span];
    raw.iter()
        .map(|w| {
            let slot = &mut memo[usize::from(w - min)];
            if *slot == 0 {
                *slot = flags(*w) | KNOWN;
            }
            *slot
        })
        .collect()
}

/// Step 1 for one word (PS3.5 §8.1.1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decoder {
    mode: Decode,
    bits: u32,
    signed: bool,
}

impl Decoder {
    pub(crate) fn new(slice: &Slice, mode: Decode) -> Decoder {
        Decoder {
            mode,
            bits: u32::from(slice.bits_stored.min(slice.bits_allocated).clamp(1, 16)),
            signed: slice.pixel_representation == 1,
        }
    }

    pub(crate) fn value(self, word: u16) -> i32 {
        match self.mode {
            Decode::U16 => i32::from(word),
            Decode::Header => {
                let mask: u32 = (1u32 << self.bits) - 1;
                let sign = 1u32 << (self.bits - 1);
                let v = u32::from(word) & mask;
                if self.signed && v & sign != 0 {
                    // Two's complement in `bits` bits.
                    v as i32 - (1i32 << self.bits)
                } else {
                    v as i32
                }
            }
        }
    }
}

/// Step 3 and 3b for one value: the Modality LUT, then the per-selector offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Modality {
    slope: f64,
    intercept: f64,
    add: f64,
}

impl Modality {
    pub(crate) fn new(config: &Config, slice: &Slice) -> Modality {
        let (slope, intercept) = match config.modality_lut {
            ModalityLut::Fixed => (1.0, -P0_OFFSET),
            ModalityLut::Header => (
                slice.rescale_slope.unwrap_or(1.0),
                slice.rescale_intercept.unwrap_or(0.0),
            ),
        };
        Modality {
            slope,
            intercept,
            add: config.offset_for(slice),
        }
    }

    pub(crate) fn hu(self, v: i32) -> f64 {
        self.slope * f64::from(v) + self.intercept + self.add
    }
}

/// The gate's test: Rescale Type present and not HU, or Image Type value 1 DERIVED.
pub fn out_of_scope(slice: &Slice) -> bool {
    let non_hu = slice
        .rescale_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("HU"));
    let derived = slice
        .image_type
        .first()
        .is_some_and(|t| t.eq_ignore_ascii_case("DERIVED"));
    non_hu || derived
}

/// Stored values of every pixel under a decode mode (PS3.5 §8.1.1).
pub fn decode(slice: &Slice, mode: Decode) -> Vec<i32> {
    let decoder = Decoder::new(slice, mode);
    slice.raw.iter().map(|w| decoder.value(*w)).collect()
}

/// HU of every pixel: the Modality LUT of the configuration, then the per-selector offset.
pub fn hu_values(config: &Config, slice: &Slice, values: &[i32]) -> Vec<f64> {
    let modality = Modality::new(config, slice);
    values.iter().map(|v| modality.hu(*v)).collect()
}

/// Median of the `(2r+1)²` window around each pixel, borders replicated (so every window has
/// an odd number of values and the median is one of them). Values are ordered by IEEE 754
/// `totalOrder` ([`f64::total_cmp`]), so the median is one exact value of the window.
pub fn median(values: &[f64], rows: usize, columns: usize, r: usize) -> Vec<f64> {
    if rows == 0 || columns == 0 {
        return Vec::new();
    }
    let keys = padded_keys(values, rows, columns, r);
    let out = if r == 1 {
        median3(&keys, rows, columns)
    } else {
        median_select(&keys, rows, columns, r)
    };
    out.into_iter().map(from_key).collect()
}

/// The integer whose signed order is `f64::total_cmp`'s order (the transformation `total_cmp`
/// itself applies); it is its own inverse.
fn to_key(v: f64) -> i64 {
    let bits = v.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

fn from_key(k: i64) -> f64 {
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

/// The keys of `values` in a `(rows + 2r) × (columns + 2r)` image whose border of width `r`
/// replicates the nearest edge pixel.
fn padded_keys(values: &[f64], rows: usize, columns: usize, r: usize) -> Vec<i64> {
    let width = columns + 2 * r;
    let mut out = Vec::with_capacity((rows + 2 * r) * width);
    for py in 0..rows + 2 * r {
        let y = py.saturating_sub(r).min(rows - 1);
        let row = &values[y * columns..(y + 1) * columns];
        let (first, last) = (to_key(row[0]), to_key(row[columns - 1]));
        out.extend(std::iter::repeat_n(first, r));
        out.extend(row.iter().map(|v| to_key(*v)));
        out.extend(std::iter::repeat_n(last, r));
    }
    out
}

fn sort2(a: &mut i64, b: &mut i64) {
    let (lo, hi) = ((*a).min(*b), (*a).max(*b));
    (*a, *b) = (lo, hi);
}

fn median_of_3(a: i64, b: i64, c: i64) -> i64 {
    a.max(b).min(a.min(b).max(c))
}

/// The 3 × 3 median over padded keys: with each window column sorted (low, middle, high), the
/// median of the nine is the median of the largest low, the middle middle and the smallest high
/// (the selection network of Paeth's median of nine); each sorted column serves three windows.
fn median3(keys: &[i64], rows: usize, columns: usize) -> Vec<i64> {
    let width = columns + 2;
    let mut out = vec![0; rows * columns];
    let (mut low, mut mid, mut high) = (vec![0; width], vec![0; width], vec![0; width]);
    for (y, out_row) in out.chunks_exact_mut(columns).enumerate() {
        let (a, rest) = keys[y * width..(y + 3) * width].split_at(width);
        let (b, c) = rest.split_at(width);
        for x in 0..width {
            let (mut p, mut q, mut s) = (a[x], b[x], c[x]);
            sort2(&mut p, &mut q);
            sort2(&mut q, &mut s);
            sort2(&mut p, &mut q);
            (low[x], mid[x], high[x]) = (p, q, s);
        }
        // Zipped windows written into the row: no push or index checks in the loop.
        for (((o, l), m), h) in out_row
            .iter_mut()
            .zip(low.windows(3))
            .zip(mid.windows(3))
            .zip(high.windows(3))
        {
            let max_low = l[0].max(l[1]).max(l[2]);
            let mid_mid = median_of_3(m[0], m[1], m[2]);
            let min_high = h[0].min(h[1]).min(h[2]);
            *o = median_of_3(max_low, mid_mid, min_high);
        }
    }
    out
}

/// The median of any odd window by selection over padded keys.
fn median_select(keys: &[i64], rows: usize, columns: usize, r: usize) -> Vec<i64> {
    let width = columns + 2 * r;
    let side = 2 * r + 1;
    let mut out = Vec::with_capacity(rows * columns);
    let mut window = Vec::with_capacity(side * side);
    for y in 0..rows {
        for x in 0..columns {
            window.clear();
            for dy in 0..side {
                let start = (y + dy) * width + x;
                window.extend_from_slice(&keys[start..start + side]);
            }
            let mid = window.len() / 2;
            let (_, m, _) = window.select_nth_unstable(mid);
            out.push(*m);
        }
    }
    out
}

/// The 8-connected components of a mask, found run by run: each row's maximal runs of set
/// pixels, joined (union–find) with the runs of the row above they touch, diagonals included.
struct Components {
    columns: usize,
    /// Runs in raster order: (row, first column, one past the last column).
    runs: Vec<(usize, usize, usize)>,
    /// Per run, the first run of its component; a component's first run holds its first pixel
    /// in raster order, so roots ascend in the order components are first met.
    root: Vec<usize>,
}

impl Components {
    fn new(mask: &[bool], rows: usize, columns: usize) -> Components {
        let mut runs = Vec::new();
        let mut parent: Vec<usize> = Vec::new();
        let mut above = 0..0;
        for y in 0..rows {
            let row = &mask[y * columns..(y + 1) * columns];
            let first = runs.len();
            // Runs of the row above ending before this run's left neighbour touch neither it
            // nor any run further right.
            let mut k = above.start;
            let mut x = skip(row, 0, false);
            while x < columns {
                let start = x;
                x = skip(row, x, true);
                let id = runs.len();
                runs.push((y, start, x));
                parent.push(id);
                // Runs of the row above that touch [start, x) with 8-connectivity: they end at
                // or after column start − 1 and begin at or before column x.
                while k < above.end && runs[k].2 < start {
                    k += 1;
                }
                for (j, (_, s, _)) in runs[k..above.end].iter().enumerate() {
                    if *s > x {
                        break;
                    }
                    union(&mut parent, k + j, id);
                }
                x = skip(row, x, false);
            }
            above = first..runs.len();
        }
        let root = (0..runs.len()).map(|i| find(&mut parent, i)).collect();
        Components {
            columns,
            runs,
            root,
        }
    }

    /// The largest component's size, its label (components numbered from 1 in raster order of
    /// their first pixel) and its root run; ties go to the component met first. `(0, 0, None)`
    /// for an empty mask.
    fn largest(&self) -> (usize, u32, Option<usize>) {
        let mut sizes = vec![0usize; self.runs.len()];
        for (i, (_, s, e)) in self.runs.iter().enumerate() {
            sizes[self.root[i]] += e - s;
        }
        let mut best = (0, 0, None);
        let mut label = 0u32;
        for (i, size) in sizes.iter().enumerate() {
            if self.root[i] != i {
                continue;
            }
            label += 1;
            if *size > best.0 {
                best = (*size, label, Some(i));
            }
        }
        best
    }
}

/// The first index from `x` on whose value is not `value` (`row.len()` when none), eight at a
/// time while it can: eight flags read as one little-endian word (each byte 0 or 1), where the
/// lowest byte that differs from `value`'s pattern is the answer, so a short run costs one step
/// and not one per pixel.
fn skip(row: &[bool], mut x: usize, value: bool) -> usize {
    let pattern = if value { u64::from_le_bytes([1; 8]) } else { 0 };
    while let Some(chunk) = row.get(x..x + 8) {
        let mut bytes = [0u8; 8];
        for (b, f) in bytes.iter_mut().zip(chunk) {
            *b = u8::from(*f);
        }
        let differs = u64::from_le_bytes(bytes) ^ pattern;
        if differs != 0 {
            return x + (differs.trailing_zeros() / 8) as usize;
        }
        x += 8;
    }
    while x < row.len() && row[x] == value {
        x += 1;
    }
    x
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Joins two sets under the smaller root, so every root is its set's first run.
fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    let (lo, hi) = (ra.min(rb), ra.max(rb));
    parent[hi] = lo;
}

/// Size of the largest 8-connected component and its label (0 when the mask is empty); ties go
/// to the component found first in raster order.
pub fn largest_component(mask: &[bool], rows: usize, columns: usize) -> (usize, u32) {
    if rows == 0 || columns == 0 {
        return (0, 0);
    }
    let (size, label, _) = Components::new(mask, rows, columns).largest();
    (size, label)
}

/// The pixels of the largest 8-connected component of `mask`.
pub fn largest_component_mask(mask: &[bool], rows: usize, columns: usize) -> Vec<bool> {
    if rows == 0 || columns == 0 {
        return Vec::new();
    }
    let components = Components::new(mask, rows, columns);
    let mut out = vec![false; mask.len()];
    if let (_, _, Some(best)) = components.largest() {
        for (i, (y, s, e)) in components.runs.iter().enumerate() {
            if components.root[i] == best {
                let at = y * components.columns;
                out[at + s..at + e].fill(true);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::{Denoise, HuOffset, Selector};

    /// A 40 × 40 slice of Site A conventions (unsigned 12-bit, intercept −1024, window 50/100,
    /// 0.9 mm): air around a disc of brain (30 HU) holding a square "lesion" of `side` pixels at
    /// 75 HU, stored by `to_stored`.
    fn phantom(side: usize, to_stored: impl Fn(f64) -> i32) -> Slice {
        let n = 40;
        let mut raw = Vec::with_capacity(n * n);
        for y in 0..n {
            for x in 0..n {
                let (dy, dx) = (y as f64 - 19.5, x as f64 - 19.5);
                let hu = if (15..15 + side).contains(&y) && (15..15 + side).contains(&x) {
                    75.0
                } else if dx * dx + dy * dy < 18.0 * 18.0 {
                    30.0
                } else {
                    -1000.0
                };
                raw.push(to_stored(hu) as u16);
            }
        }
        Slice {
            sop_instance_uid: "1.2.3".into(),
            rows: n,
            columns: n,
            raw,
            bits_allocated: 16,
            bits_stored: 12,
            pixel_representation: 0,
            rescale_slope: Some(1.0),
            rescale_intercept: Some(-1024.0),
            rescale_type: None,
            image_type: vec!["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()],
            window: Some((50.0, 100.0)),
            padding_value: None,
            photometric: "MONOCHROME2".into(),
            pixel_spacing: Some([0.9, 0.9]),
            attributes: BTreeMap::from([("ConvolutionKernel".to_owned(), "B".to_owned())]),
        }
    }

    fn site_a(side: usize) -> Slice {
        phantom(side, |hu| (hu + 1024.0) as i32)
    }

    fn area(side: usize, spacing: f64) -> f64 {
        (side * side) as f64 * spacing * spacing
    }

    #[test]
    fn word_flags_table_and_memo_give_each_pixel_its_words_flags() {
        let flags = |w: u16| (w.wrapping_mul(2_654_435_761_u32 as u16) >> 13) as u8 & 7;
        // A narrow span takes the table, a wide one (two words far apart) the memo.
        for raw in [
            (0..600u16).map(|i| 1000 + i * 7 % 300).collect::<Vec<_>>(),
            vec![3, 60_000, 3, 17, 60_000],
            vec![5],
        ] {
            let got = word_flags(&raw, flags);
            let want: Vec<u8> = raw.iter().map(|w| flags(*w) | KNOWN).collect();
            assert_eq!(got, want, "{raw:?}");
        }
    }

    #[test]
    fn p0_finds_a_lesion_at_site_a_and_not_a_small_one() {
        let p = predict(&Config::p0(), &site_a(5));
        assert_eq!(p.decision, Decision::Pos);
        assert!((p.score - area(5, 0.9)).abs() < 1e-9, "{p:?}");
        assert!(p.p > 0.5);
        let p = predict(&Config::p0(), &site_a(3));
        assert_eq!(p.decision, Decision::Neg, "9 px × 0.81 mm² < 12 mm²");
    }

    #[test]
    fn decode_knob_reads_twos_complement_only_when_asked() {
        // Signed storage with intercept +1024: tissue is stored negative.
        let mut s = phantom(5, |hu| (hu - 1024.0) as i32);
        s.pixel_representation = 1;
        s.bits_stored = 16;
        s.rescale_intercept = Some(1024.0);
        let lut = Config {
            modality_lut: ModalityLut::Header,
            ..Config::p0()
        };
        assert_eq!(
            predict(&lut, &s).decision,
            Decision::Neg,
            "words read as u16"
        );
        let fixed = Config {
            decode: Decode::Header,
            ..lut
        };
        assert_eq!(predict(&fixed, &s).decision, Decision::Pos);
        assert_eq!(decode(&s, Decode::Header)[0], -2024);
        assert_eq!(decode(&s, Decode::U16)[0], 65536 - 2024);
    }

    #[test]
    fn modality_lut_knob_follows_the_header_intercept() {
        // Intercept −1000: P0's SV − 1024 reads every value 24 HU low (75 → 51, out of band).
        let mut s = phantom(5, |hu| (hu + 1000.0) as i32);
        s.rescale_intercept = Some(-1000.0);
        assert_eq!(predict(&Config::p0(), &s).decision, Decision::Neg);
        let fixed = Config {
            modality_lut: ModalityLut::Header,
            ..Config::p0()
        };
        assert_eq!(predict(&fixed, &s).decision, Decision::Pos);
    }

    #[test]
    fn window_knob_replaces_the_header_window() {
        // Header 35/60 puts the band at 38..62 HU: the lesion (75) leaves it, brain (30) does not
        // enter it, so the lesion is missed.
        let mut s = site_a(5);
        s.window = Some((35.0, 60.0));
        assert_eq!(predict(&Config::p0(), &s).decision, Decision::Neg);
        let fixed = Config {
            window: Window::Fixed {
                center: 50.0,
                width: 100.0,
            },
            ..Config::p0()
        };
        assert_eq!(predict(&fixed, &s).decision, Decision::Pos);
    }

    #[test]
    fn spacing_knob_uses_pixel_spacing() {
        let mut s = site_a(4);
        s.pixel_spacing = Some([0.5, 0.5]);
        // 16 px: P0 says 12.96 mm² (POS), the header says 4 mm² (NEG).
        assert_eq!(predict(&Config::p0(), &s).decision, Decision::Pos);
        let fixed = Config {
            spacing: Spacing::PixelSpacing,
            ..Config::p0()
        };
        let p = predict(&fixed, &s);
        assert_eq!(p.decision, Decision::Neg);
        assert!((p.score - 4.0).abs() < 1e-9);
    }

    #[test]
    fn padding_knob_masks_stored_padding_values() {
        // Padding stored as the lesion's own value would be counted unless masked.
        let mut s = site_a(0);
        for i in 0..40 * 3 {
            s.raw[i] = (75.0 + 1024.0) as u16;
        }
        s.padding_value = Some(75 + 1024);
        assert_eq!(predict(&Config::p0(), &s).decision, Decision::Pos);
        let fixed = Config {
            padding: Padding::Mask,
            ..Config::p0()
        };
        assert_eq!(predict(&fixed, &s).decision, Decision::Neg);
    }

    #[test]
    fn photometric_knob_inverts_monochrome1_after_the_window() {
        // Values mirrored around the window centre 50 (V = 100 − HU): brain (30 → 70) lands in
        // the band, so P0 calls every slice positive; inverting after VOI restores both answers.
        let mirrored = |side| {
            let mut s = phantom(side, |hu| (100.0 - hu + 1024.0) as i32);
            s.photometric = "MONOCHROME1".into();
            s
        };
        assert_eq!(predict(&Config::p0(), &mirrored(0)).decision, Decision::Pos);
        let fixed = Config {
            photometric: Photometric::Header,
            ..Config::p0()
        };
        assert_eq!(predict(&fixed, &mirrored(0)).decision, Decision::Neg);
        assert_eq!(predict(&fixed, &mirrored(5)).decision, Decision::Pos);
    }

    #[test]
    fn gate_rejects_non_hu_and_derived_images() {
        let mut s = site_a(5);
        let gated = Config {
            gate: Gate::RescaleTypeHu,
            ..Config::p0()
        };
        assert_eq!(predict(&gated, &s).decision, Decision::Pos);
        s.rescale_type = Some("MGML".into());
        assert_eq!(predict(&gated, &s).decision, Decision::Reject);
        assert_eq!(predict(&Config::p0(), &s).decision, Decision::Pos);
        s.rescale_type = Some("HU".into());
        s.image_type[0] = "DERIVED".into();
        assert_eq!(predict(&gated, &s).decision, Decision::Reject);
    }

    #[test]
    fn body_mask_drops_candidates_outside_the_head() {
        // A 5 × 5 block at lesion HU in the air corner, the head itself clean.
        let mut s = site_a(0);
        for y in 0..5 {
            for x in 0..5 {
                s.raw[y * 40 + x] = (75.0 + 1024.0) as u16;
            }
        }
        assert_eq!(predict(&Config::p0(), &s).decision, Decision::Pos);
        let masked = Config {
            mask: Mask::Body,
            ..Config::p0()
        };
        assert_eq!(predict(&masked, &s).decision, Decision::Neg);
        // A real lesion inside the head survives the mask.
        assert_eq!(predict(&masked, &site_a(5)).decision, Decision::Pos);
    }

    #[test]
    fn hu_offset_and_denoise_apply_only_to_selected_slices() {
        // A faint lesion (60 → 50 HU after a −10 HU shift would be missed; +10 rescues 48 HU).
        let s = phantom(5, |hu| (if hu == 75.0 { 48.0 } else { hu } + 1024.0) as i32);
        assert_eq!(predict(&Config::p0(), &s).decision, Decision::Neg);
        let sel = |kernel: &str| {
            Selector(BTreeMap::from([(
                "ConvolutionKernel".into(),
                kernel.into(),
            )]))
        };
        let other = Config {
            hu_offset: vec![HuOffset {
                selector: sel("D"),
                add_hu: 10.0,
            }],
            ..Config::p0()
        };
        assert_eq!(predict(&other, &s).decision, Decision::Neg);
        let this = Config {
            hu_offset: vec![HuOffset {
                selector: sel("B"),
                add_hu: 10.0,
            }],
            ..Config::p0()
        };
        assert_eq!(predict(&this, &s).decision, Decision::Pos);
        // A one-pixel diagonal streak at lesion HU: 8-connected it is one 24-pixel component
        // under P0, and a 3 × 3 median (3 of 9 values in each window) removes it.
        let mut noisy = site_a(0);
        for k in 8..32 {
            noisy.raw[k * 40 + k] = (75.0 + 1024.0) as u16;
        }
        assert_eq!(predict(&Config::p0(), &noisy).decision, Decision::Pos);
        let denoised = Config {
            denoise: vec![Denoise {
                selector: sel("B"),
                filter: Filter::Median,
                radius_px: 1,
            }],
            ..Config::p0()
        };
        assert_eq!(predict(&denoised, &noisy).decision, Decision::Neg);
    }

    #[test]
    fn median_and_components_on_known_inputs() {
        let v = [1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0];
        assert_eq!(median(&v, 3, 3, 1)[4], 5.0);
        // Borders replicate: the corner's window is {1,1,9,1,1,9,8,8,3} → 3.
        assert_eq!(median(&v, 3, 3, 1)[0], 3.0);
        let m = [
            true, false, false, true, //
            false, true, false, true, //
            false, false, false, true, //
        ];
        assert_eq!(
            largest_component(&m, 3, 4),
            (3, 2),
            "diagonal tie: (0,0),(1,1) has 2"
        );
        assert_eq!(largest_component(&[false; 4], 2, 2), (0, 0));
    }

    /// The definitions the fast versions must reproduce: the median by selection over the
    /// replicated window, and components by flood fill numbered in raster order.
    fn reference_median(values: &[f64], rows: usize, columns: usize, r: usize) -> Vec<f64> {
        let mut out = Vec::new();
        for y in 0..rows {
            for x in 0..columns {
                let mut window = Vec::new();
                for dy in 0..=2 * r {
                    let yy = (y + dy).saturating_sub(r).min(rows - 1);
                    for dx in 0..=2 * r {
                        let xx = (x + dx).saturating_sub(r).min(columns - 1);
                        window.push(values[yy * columns + xx]);
                    }
                }
                window.sort_by(f64::total_cmp);
                out.push(window[window.len() / 2]);
            }
        }
        out
    }

    fn reference_labels(mask: &[bool], rows: usize, columns: usize) -> (Vec<u32>, Vec<usize>) {
        let mut labels = vec![0u32; mask.len()];
        let mut sizes = Vec::new();
        for start in 0..mask.len() {
            if !mask[start] || labels[start] != 0 {
                continue;
            }
            let id = sizes.len() as u32 + 1;
            labels[start] = id;
            let mut stack = vec![start];
            let mut size = 0;
            while let Some(i) = stack.pop() {
                size += 1;
                let (y, x) = (i / columns, i % columns);
                for yy in y.saturating_sub(1)..=(y + 1).min(rows - 1) {
                    for xx in x.saturating_sub(1)..=(x + 1).min(columns - 1) {
                        let j = yy * columns + xx;
                        if mask[j] && labels[j] == 0 {
                            labels[j] = id;
                            stack.push(j);
                        }
                    }
                }
            }
            sizes.push(size);
        }
        (labels, sizes)
    }

    #[test]
    fn skip_finds_the_first_other_value_from_every_start() {
        use rand::{Rng, SeedableRng};
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for len in 0..40 {
            // Long runs and short ones: each flag repeats the previous one with probability p.
            let p = r.random_range(0.0..1.0);
            let mut row: Vec<bool> = Vec::with_capacity(len);
            for _ in 0..len {
                let next = match row.last() {
                    Some(&last) if r.random_bool(p) => last,
                    _ => r.random_bool(0.5),
                };
                row.push(next);
            }
            for value in [false, true] {
                for x in 0..=len {
                    let naive = (x..len).find(|&i| row[i] != value).unwrap_or(len);
                    assert_eq!(skip(&row, x, value), naive, "{row:?} from {x} past {value}");
                }
            }
        }
    }

    #[test]
    fn fast_median_and_components_match_their_definitions() {
        use rand::{Rng, SeedableRng};
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for round in 0..300 {
            let (rows, columns) = (r.random_range(1..14usize), r.random_range(1..14usize));
            let n = rows * columns;
            // Few distinct values (ties), signed zeros and negatives exercise the total order.
            let palette = [-0.0, 0.0, -3.5, 2.0, 7.25, -1000.0, 75.0, 1e-300];
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    if round % 2 == 0 {
                        palette[r.random_range(0..palette.len())]
                    } else {
                        r.random_range(-50.0..50.0)
                    }
                })
                .collect();
            for radius in 1..=3 {
                let fast = median(&values, rows, columns, radius);
                let slow = reference_median(&values, rows, columns, radius);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&fast), bits(&slow), "{rows}×{columns} r={radius}");
            }
            let density = r.random_range(0.1..0.9);
            let mask: Vec<bool> = (0..n).map(|_| r.random_bool(density)).collect();
            let (labels, sizes) = reference_labels(&mask, rows, columns);
            let mut best = (0, 0u32);
            for (i, s) in sizes.iter().enumerate() {
                if *s > best.0 {
                    best = (*s, i as u32 + 1);
                }
            }
            assert_eq!(largest_component(&mask, rows, columns), best, "{mask:?}");
            let expected: Vec<bool> = labels.iter().map(|l| best.1 != 0 && *l == best.1).collect();
            assert_eq!(largest_component_mask(&mask, rows, columns), expected);
        }
    }
}

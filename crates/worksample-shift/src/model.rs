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
    let header_values = decode(slice, Decode::Header);
    let values = match config.decode {
        Decode::U16 => decode(slice, Decode::U16),
        Decode::Header => header_values.clone(),
    };
    let padded: Vec<bool> = match (config.padding, slice.padding_value) {
        (Padding::Mask, Some(pad)) => header_values.iter().map(|v| *v == pad).collect(),
        (Padding::Mask, None) | (Padding::Ignore, _) => vec![false; values.len()],
    };
    let hu = hu_values(config, slice, &values);
    let body = match config.mask {
        Mask::None => None,
        Mask::Body => {
            let inside: Vec<bool> = hu
                .iter()
                .zip(&padded)
                .map(|(h, p)| *h > -500.0 && !p)
                .collect();
            Some(largest_component_mask(&inside, rows, columns))
        }
    };
    let hu = match config.denoise_for(slice) {
        Some(d) => match d.filter {
            Filter::Median => median(&hu, rows, columns, d.radius_px as usize),
        },
        None => hu,
    };
    let (center, width) = match config.window {
        Window::Header => slice.window.unwrap_or(SITE_A_WINDOW),
        Window::Fixed { center, width } => (center, width),
    };
    // A zero or negative header width would divide by zero: treat it as the narrowest window.
    let width = if width > 0.0 { width } else { 1.0 };
    let invert = config.photometric == Photometric::Header && slice.photometric == "MONOCHROME1";
    let [lo, hi] = config.band;
    let candidate: Vec<bool> = hu
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut x = ((h - (center - width / 2.0)) / width).clamp(0.0, 1.0);
            if invert {
                x = 1.0 - x;
            }
            lo <= x && x < hi && !padded[i] && body.as_ref().is_none_or(|b| b[i])
        })
        .collect();
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
    match mode {
        Decode::U16 => slice.raw.iter().map(|w| i32::from(*w)).collect(),
        Decode::Header => {
            let bits = u32::from(slice.bits_stored.min(slice.bits_allocated).clamp(1, 16));
            let mask: u32 = (1u32 << bits) - 1;
            let sign = 1u32 << (bits - 1);
            let signed = slice.pixel_representation == 1;
            slice
                .raw
                .iter()
                .map(|w| {
                    let v = u32::from(*w) & mask;
                    if signed && v & sign != 0 {
                        // Two's complement in `bits` bits.
                        v as i32 - (1i32 << bits)
                    } else {
                        v as i32
                    }
                })
                .collect()
        }
    }
}

/// HU of every pixel: the Modality LUT of the configuration, then the per-selector offset.
pub fn hu_values(config: &Config, slice: &Slice, values: &[i32]) -> Vec<f64> {
    let (slope, intercept) = match config.modality_lut {
        ModalityLut::Fixed => (1.0, -P0_OFFSET),
        ModalityLut::Header => (
            slice.rescale_slope.unwrap_or(1.0),
            slice.rescale_intercept.unwrap_or(0.0),
        ),
    };
    let add = config.offset_for(slice);
    values
        .iter()
        .map(|v| slope * f64::from(*v) + intercept + add)
        .collect()
}

/// Median of the `(2r+1)²` window around each pixel, borders replicated (so every window has
/// an odd number of values and the median is one of them).
pub fn median(values: &[f64], rows: usize, columns: usize, r: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(values.len());
    let mut window = Vec::with_capacity((2 * r + 1) * (2 * r + 1));
    for y in 0..rows {
        for x in 0..columns {
            window.clear();
            for dy in 0..=2 * r {
                let yy = (y + dy).saturating_sub(r).min(rows - 1);
                for dx in 0..=2 * r {
                    let xx = (x + dx).saturating_sub(r).min(columns - 1);
                    window.push(values[yy * columns + xx]);
                }
            }
            let mid = window.len() / 2;
            let (_, m, _) = window.select_nth_unstable_by(mid, f64::total_cmp);
            out.push(*m);
        }
    }
    out
}

/// 8-connected component labels of `mask` (0 = background, components numbered from 1 in
/// raster order of their first pixel) and each component's size (index = label − 1).
fn label(mask: &[bool], rows: usize, columns: usize) -> (Vec<u32>, Vec<usize>) {
    let mut labels = vec![0u32; mask.len()];
    let mut sizes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || labels[start] != 0 {
            continue;
        }
        let id = sizes.len() as u32 + 1;
        labels[start] = id;
        stack.push(start);
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

/// Size of the largest 8-connected component and its label (0 when the mask is empty); ties go
/// to the component found first in raster order.
pub fn largest_component(mask: &[bool], rows: usize, columns: usize) -> (usize, u32) {
    if rows == 0 || columns == 0 {
        return (0, 0);
    }
    let (_, sizes) = label(mask, rows, columns);
    let mut best = (0, 0);
    for (i, s) in sizes.iter().enumerate() {
        if *s > best.0 {
            best = (*s, i as u32 + 1);
        }
    }
    best
}

/// The pixels of the largest 8-connected component of `mask`.
pub fn largest_component_mask(mask: &[bool], rows: usize, columns: usize) -> Vec<bool> {
    if rows == 0 || columns == 0 {
        return Vec::new();
    }
    let (labels, sizes) = label(mask, rows, columns);
    let mut best = (0, 0u32);
    for (i, s) in sizes.iter().enumerate() {
        if *s > best.0 {
            best = (*s, i as u32 + 1);
        }
    }
    labels.iter().map(|l| best.1 != 0 && *l == best.1).collect()
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
}

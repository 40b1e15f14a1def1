//! Stored-value conventions: how modality values (HU, MR units, detector units) become stored
//! pixel values, following the vendor conventions a site-shift task plants.
//!
//! The Modality LUT is `modality = slope × stored + intercept` (PS3.3 C.11.1.1.2); the stored range
//! follows from Bits Stored and Pixel Representation (PS3.5 §8.1.1, PS3.3 C.7.6.3.1).

/// Photometric Interpretation (0028,0004) of a single-sample image (PS3.3 C.7.6.3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Photometric {
    /// The minimum value is displayed white after the VOI transformation: high stored = dark.
    Monochrome1,
    /// The minimum value is displayed black.
    Monochrome2,
}

/// The Image Pixel and Modality/VOI LUT attributes that decide what a stored value means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredValues {
    /// Bits Allocated (0028,0100): 8 or 16.
    pub bits_allocated: u16,
    /// Bits Stored (0028,0101): values are clamped to this many bits.
    pub bits_stored: u16,
    /// High Bit (0028,0102): `bits_stored - 1` (PS3.5 §8.1.1, little-endian layout).
    pub high_bit: u16,
    /// Pixel Representation (0028,0103): 0 unsigned, 1 two's complement.
    pub pixel_representation: u16,
    /// Rescale Slope (0028,1053).
    pub rescale_slope: f64,
    /// Rescale Intercept (0028,1052).
    pub rescale_intercept: f64,
    /// Photometric Interpretation (0028,0004).
    pub photometric: Photometric,
    /// Pixel Padding Value (0028,0120), a *stored* value (PS3.3 C.7.5.1.1.2): written into the
    /// pixels outside the circular reconstruction field of view.
    pub padding_value: Option<i32>,
    /// Window Center (0028,1050), in modality units (PS3.3 C.11.2.1.2).
    pub window_center: f64,
    /// Window Width (0028,1051), in modality units.
    pub window_width: f64,
}

impl StoredValues {
    /// Siemens/Philips-style CT: unsigned, 12 bits stored in 16, intercept −1024, slope 1, no
    /// padding; the stored range 0..4095 covers −1024..3071 HU. Brain window 40/80.
    pub fn ct_unsigned_12() -> Self {
        Self::ct(16, 12, 0, 1.0, -1024.0, None)
    }

    /// Signed 16-bit CT whose stored values are HU (intercept 0): reading it with a hard-coded
    /// `HU = SV − 1024` is off by −1024 HU (research shift.md §1.2 cause 1). Out-of-FOV pixels hold
    /// the GE-style padding −2000.
    pub fn ct_signed_16() -> Self {
        Self::ct(16, 16, 1, 1.0, 0.0, Some(-2000))
    }

    /// GE LightSpeed-style CT: signed 16 bits, intercept −1024, padding −2000 (TCIA RIDER header,
    /// research shift.md §1.2 cause 3); padding is −3024 HU after rescale.
    pub fn ct_signed_16_intercept_1024() -> Self {
        Self::ct(16, 16, 1, 1.0, -1024.0, Some(-2000))
    }

    /// Unsigned 16 bits with intercept −8192, so values below −1024 HU survive (the
    /// "non-clamped" Philips/Toshiba behaviour, shift.md §1.2 cause 11).
    pub fn ct_unsigned_16_intercept_8192() -> Self {
        Self::ct(16, 16, 0, 1.0, -8192.0, None)
    }

    /// Unsigned 16 bits with slope 0.5 and intercept −1024: half-HU precision, and a scale error
    /// for readers that ignore the slope.
    pub fn ct_unsigned_16_slope_half() -> Self {
        Self::ct(16, 16, 0, 0.5, -1024.0, None)
    }

    /// MR: unsigned, no rescale (legacy MR has no Modality LUT, PS3.3 C.8.3.1), `bits_stored`
    /// clamped to 1..=16; 8 bits allocated when 8 or fewer are stored.
    pub fn mr_unsigned(bits_stored: u16) -> Self {
        let bits_stored = bits_stored.clamp(1, 16);
        let top = f64::from(bits_stored).exp2() - 1.0;
        Self {
            bits_allocated: if bits_stored <= 8 { 8 } else { 16 },
            bits_stored,
            high_bit: bits_stored - 1,
            pixel_representation: 0,
            rescale_slope: 1.0,
            rescale_intercept: 0.0,
            photometric: Photometric::Monochrome2,
            padding_value: None,
            // Phantom intensities span 0..~1000; the window covers them whatever the depth.
            window_center: 450.0_f64.min(top / 2.0),
            window_width: 900.0_f64.min(top + 1.0),
        }
    }

    /// Projection radiography (DX/CR): unsigned, identity rescale (Rescale Type "US", PS3.3
    /// C.8.11.3.1.2), `bits_stored` clamped to 1..=16; the window spans the full range.
    pub fn dx(bits_stored: u16, photometric: Photometric) -> Self {
        let bits_stored = bits_stored.clamp(1, 16);
        let top = f64::from(bits_stored).exp2() - 1.0;
        Self {
            bits_allocated: if bits_stored <= 8 { 8 } else { 16 },
            bits_stored,
            high_bit: bits_stored - 1,
            pixel_representation: 0,
            rescale_slope: 1.0,
            rescale_intercept: 0.0,
            photometric,
            padding_value: None,
            window_center: (top / 2.0).round(),
            window_width: top + 1.0,
        }
    }

    fn ct(
        bits_allocated: u16,
        bits_stored: u16,
        pixel_representation: u16,
        rescale_slope: f64,
        rescale_intercept: f64,
        padding_value: Option<i32>,
    ) -> Self {
        Self {
            bits_allocated,
            bits_stored,
            high_bit: bits_stored - 1,
            pixel_representation,
            rescale_slope,
            rescale_intercept,
            photometric: Photometric::Monochrome2,
            padding_value,
            window_center: 40.0,
            window_width: 80.0,
        }
    }

    /// Bits that actually carry the value: Bits Stored, capped by Bits Allocated and by the 16 bits
    /// our buffers hold, at least 1.
    fn effective_bits(&self) -> u32 {
        u32::from(self.bits_stored.min(self.bits_allocated).clamp(1, 16))
    }

    /// Smallest and largest representable stored value (PS3.5 §8.1.1: two's complement when Pixel
    /// Representation is 1).
    pub fn stored_range(&self) -> (i32, i32) {
        let bits = self.effective_bits();
        if self.pixel_representation == 1 {
            (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        } else {
            (0, (1 << bits) - 1)
        }
    }

    /// Modality values of the two ends of the stored range, lowest first (a negative slope swaps
    /// them).
    pub fn modality_range(&self) -> (f64, f64) {
        let (lo, hi) = self.stored_range();
        let (a, b) = (self.to_modality(lo), self.to_modality(hi));
        (a.min(b), a.max(b))
    }

    /// Inverse rescale, rounded half away from zero and clamped to the Bits Stored range. A zero
    /// or non-finite slope maps everything to an end of the range rather than panicking.
    pub fn to_stored(&self, modality_value: f64) -> i32 {
        self.quantizer().quantize(modality_value)
    }

    /// [`StoredValues::to_stored`] with its per-image constants worked out once, for per-pixel
    /// use.
    pub(crate) fn quantizer(&self) -> Quantizer {
        let (lo, hi) = self.stored_range();
        Quantizer {
            intercept: self.rescale_intercept,
            // Multiplying by the reciprocal: a division's latency showed in render profiles.
            inverse_slope: self.rescale_slope.recip(),
            lo,
            hi,
        }
    }

    /// The Modality LUT: `slope × stored + intercept` (PS3.3 C.11.1.1.2).
    pub fn to_modality(&self, stored: i32) -> f64 {
        self.rescale_slope * f64::from(stored) + self.rescale_intercept
    }
}

/// The inverse rescale of one [`StoredValues`], ready for per-pixel use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quantizer {
    intercept: f64,
    inverse_slope: f64,
    lo: i32,
    hi: i32,
}

impl Quantizer {
    #[inline]
    pub(crate) fn quantize(&self, modality_value: f64) -> i32 {
        let v = (modality_value - self.intercept) * self.inverse_slope;
        // Clamp first, in floating point; rounding a clamped value equals clamping the rounded
        // one, as both ends are integers. Written as selects that compile to one `maxpd` and one
        // `minpd` (`f64::max` adds a NaN fix-up to each): `v > lo` is false for NaN, so NaN
        // still becomes the low end, as a zero or NaN slope needs.
        let (lo, hi) = (f64::from(self.lo), f64::from(self.hi));
        let v = if v > lo { v } else { lo };
        round_half_away(if v < hi { v } else { hi })
    }
}

/// [`Quantizer`] in single precision, for the renderer's rows: eight pixels per AVX2 operation
/// instead of two per SSE2 one. Every stored range fits a 17-bit integer and every clamp bound is
/// exact in an `f32`; the tests hold it to the `f64` quantizer wherever the inverse rescale is
/// exact in both.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowQuantizer {
    intercept: f32,
    inverse_slope: f32,
    lo: f32,
    hi: f32,
}

impl From<Quantizer> for RowQuantizer {
    fn from(q: Quantizer) -> Self {
        RowQuantizer {
            intercept: q.intercept as f32,
            inverse_slope: q.inverse_slope as f32,
            lo: q.lo as f32,
            hi: q.hi as f32,
        }
    }
}

impl RowQuantizer {
    /// Whether every stored value is non-negative (Pixel Representation 0).
    #[inline]
    pub(crate) fn non_negative(&self) -> bool {
        self.lo >= 0.0
    }

    /// [`Quantizer::quantize`]: clamped in floating point (NaN to the low end), then rounded
    /// half away from zero.
    #[inline(always)]
    pub(crate) fn quantize(&self, modality_value: f32) -> i32 {
        let v = self.clamped(modality_value);
        let floor = floor_half_up_f32(v.abs());
        if v < 0.0 { floor.wrapping_neg() } else { floor }
    }

    /// [`Quantizer::quantize_non_negative`]: the clamped value is `+0.0` or more.
    #[inline(always)]
    pub(crate) fn quantize_non_negative(&self, modality_value: f32) -> i32 {
        floor_half_up_f32(self.clamped(modality_value))
    }

    #[inline(always)]
    fn clamped(&self, modality_value: f32) -> f32 {
        let v = (modality_value - self.intercept) * self.inverse_slope;
        let v = if v > self.lo { v } else { self.lo };
        if v < self.hi { v } else { self.hi }
    }
}

/// 1.5 × 2²³: [`MAGIC`] for `f32`, for magnitudes below 2²².
const MAGIC_F32: f32 = 12_582_912.0;

/// [`floor_half_up`] in single precision, for `0 ≤ y < 2²²`: the rounded integer is the
/// distance of the sum's bit pattern from the constant's (both share one exponent).
#[inline(always)]
fn floor_half_up_f32(y: f32) -> i32 {
    let y = y + 0.5;
    let big = y + MAGIC_F32;
    let nearest = big - MAGIC_F32;
    (big.to_bits() as i32 - MAGIC_F32.to_bits() as i32).wrapping_sub(i32::from(nearest > y))
}

/// 1.5 × 2⁵²: adding it to an `f64` of magnitude below 2⁵¹ rounds it to an integer (ties to
/// even) and leaves that integer, two's complement, in the low 32 bits.
const MAGIC: f64 = 6_755_399_441_055_744.0;

/// `v` rounded half away from zero, for |v| < 2³¹: `sign(v) × ⌊fl(|v| + ½)⌋`.
///
/// `y + MAGIC` holds `y` rounded to nearest (ties to even) in its low bits; one less when that
/// rounded up gives the floor, and the sign is applied to the integer. Neither `f64::round` (a
/// libm call on baseline x86-64) nor a saturating `as` cast (scalar, with a NaN check)
/// vectorises; these adds, compares and integer selects do, in about half the operations of
/// flooring in floating point.
#[inline]
fn round_half_away(v: f64) -> i32 {
    let floor = floor_half_up(v.abs());
    if v < 0.0 { floor.wrapping_neg() } else { floor }
}

/// `⌊fl(y + ½)⌋` for `0 ≤ y < 2³¹`: [`round_half_away`] of a non-negative value.
#[inline]
fn floor_half_up(y: f64) -> i32 {
    let y = y + 0.5;
    let big = y + MAGIC;
    let nearest = big - MAGIC;
    (big.to_bits() as i32).wrapping_sub(i32::from(nearest > y))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conventions() -> Vec<(&'static str, StoredValues)> {
        vec![
            ("ct_unsigned_12", StoredValues::ct_unsigned_12()),
            ("ct_signed_16", StoredValues::ct_signed_16()),
            (
                "ct_signed_16_intercept_1024",
                StoredValues::ct_signed_16_intercept_1024(),
            ),
            (
                "ct_unsigned_16_intercept_8192",
                StoredValues::ct_unsigned_16_intercept_8192(),
            ),
            (
                "ct_unsigned_16_slope_half",
                StoredValues::ct_unsigned_16_slope_half(),
            ),
            ("mr_unsigned_10", StoredValues::mr_unsigned(10)),
            ("mr_unsigned_12", StoredValues::mr_unsigned(12)),
            ("dx_14", StoredValues::dx(14, Photometric::Monochrome1)),
            ("dx_16", StoredValues::dx(16, Photometric::Monochrome2)),
        ]
    }

    #[test]
    fn stored_and_modality_round_trip_inside_the_range() {
        for (name, sv) in conventions() {
            let (lo, hi) = sv.stored_range();
            for stored in [lo, lo + 1, (lo + hi) / 2, hi - 1, hi] {
                assert_eq!(
                    sv.to_stored(sv.to_modality(stored)),
                    stored,
                    "{name} {stored}"
                );
            }
        }
    }

    #[test]
    fn ct_conventions_place_air_and_water_where_vendors_do() {
        let cases = [
            (StoredValues::ct_unsigned_12(), 24, 1024),
            (StoredValues::ct_signed_16(), -1000, 0),
            (StoredValues::ct_signed_16_intercept_1024(), 24, 1024),
            (StoredValues::ct_unsigned_16_intercept_8192(), 7192, 8192),
            (StoredValues::ct_unsigned_16_slope_half(), 48, 2048),
        ];
        for (sv, air, water) in cases {
            assert_eq!(sv.to_stored(-1000.0), air, "{sv:?}");
            assert_eq!(sv.to_stored(0.0), water, "{sv:?}");
        }
    }

    #[test]
    fn to_stored_clamps_at_bits_stored() {
        let ct12 = StoredValues::ct_unsigned_12();
        assert_eq!(ct12.stored_range(), (0, 4095));
        assert_eq!(ct12.to_stored(-3000.0), 0);
        assert_eq!(ct12.to_stored(5000.0), 4095);
        assert_eq!(ct12.modality_range(), (-1024.0, 3071.0));
        let signed = StoredValues::ct_signed_16();
        assert_eq!(signed.to_stored(-40_000.0), -32768);
        assert_eq!(signed.to_stored(40_000.0), 32767);
        let mr10 = StoredValues::mr_unsigned(10);
        assert_eq!((mr10.bits_allocated, mr10.high_bit), (16, 9));
        assert_eq!(mr10.to_stored(2000.0), 1023);
        assert_eq!(mr10.to_stored(-5.0), 0);
        let dx8 = StoredValues::dx(8, Photometric::Monochrome2);
        assert_eq!((dx8.bits_allocated, dx8.stored_range()), (8, (0, 255)));
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        for (v, r) in [
            (0.5, 1),
            (-0.5, -1),
            (1.49, 1),
            (2.5, 3),
            (-2.5, -3),
            (-0.2, 0),
            (32767.4, 32767),
            (-32768.0, -32768),
        ] {
            assert_eq!(round_half_away(v), r, "{v}");
        }
    }

    #[test]
    fn rounding_equals_flooring_the_magnitude_plus_a_half() {
        // The edge cases (signed zero, ties, the largest double below ½ whose sum with ½ rounds
        // up to 1) and a sweep of fractions over the 16-bit range, against `f64::floor`.
        let mut values = vec![
            0.0,
            -0.0,
            0.49999999999999994,
            -0.49999999999999994,
            0.5,
            -0.5,
            65535.0,
            65534.5,
            -32768.0,
            -32767.5,
            1e-300,
            -1e-300,
        ];
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x >> 11) as f64 / (1u64 << 53) as f64 * 98_303.0 - 32_768.0);
            values.push(f64::from((x % 196_607) as u32) / 2.0 - 32_768.0);
        }
        for v in values {
            let expected = (v.abs() + 0.5).floor().copysign(v) as i32;
            assert_eq!(round_half_away(v), expected, "{v:e}");
        }
    }

    #[test]
    fn the_non_negative_quantizer_equals_the_general_one() {
        let mut x = 0x2545_F491_4F6C_DD1D_u64;
        for (name, sv) in conventions() {
            let q = RowQuantizer::from(sv.quantizer());
            if !q.non_negative() {
                continue;
            }
            let (lo, hi) = sv.modality_range();
            for _ in 0..50_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = lo - 50.0 + (x >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo + 100.0);
                let v = v as f32;
                let half = 0.5 * sv.rescale_slope as f32;
                for v in [v, v.round(), v.round() + half, -0.0, 0.0] {
                    assert_eq!(q.quantize_non_negative(v), q.quantize(v), "{name} {v:e}");
                }
            }
        }
    }

    #[test]
    fn the_single_precision_quantizer_equals_the_double_one() {
        // Quarter steps across every convention's range and beyond: exact in both precisions
        // for these slopes (1, ½ and 2^-k detector scales), ties included.
        for (name, sv) in conventions() {
            let (q, row) = (sv.quantizer(), RowQuantizer::from(sv.quantizer()));
            let (lo, hi) = sv.modality_range();
            let (lo, hi) = ((lo - 100.0) as i32 * 4, (hi + 100.0) as i32 * 4);
            for quarter in (lo..hi).step_by(3) {
                let v = f64::from(quarter) / 4.0;
                assert_eq!(row.quantize(v as f32), q.quantize(v), "{name} {v}");
                if row.non_negative() {
                    assert_eq!(
                        row.quantize_non_negative(v as f32),
                        q.quantize(v),
                        "{name} {v}"
                    );
                }
            }
            for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0] {
                assert_eq!(row.quantize(v), q.quantize(f64::from(v)), "{name} {v}");
            }
        }
    }

    #[test]
    fn degenerate_slope_does_not_panic() {
        let mut sv = StoredValues::ct_unsigned_12();
        sv.rescale_slope = 0.0;
        assert_eq!(sv.to_stored(-2000.0), 0);
        assert_eq!(sv.to_stored(5.0), 4095);
        sv.rescale_slope = f64::NAN;
        assert_eq!(sv.to_stored(5.0), 0);
    }
}

//! Image noise and CT reconstruction-kernel presets, drawn only from the rng passed in so the
//! same seed gives the same pixels.
//!
//! Sharp CT kernels (bone, lung) trade noise for resolution: more noise and overshoot at edges
//! (research shift.md §1.2 cause 8).

use rand::Rng;

/// CT reconstruction kernel family; each vendor names them differently (Convolution Kernel
/// (0018,1210), PS3.3 C.8.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtKernel {
    /// Soft tissue: smooth, least noise.
    Soft,
    /// Standard brain/body.
    Standard,
    /// Bone: sharp, noisy, with edge enhancement.
    Bone,
}

/// Noise added in modality units (HU, MR units, detector units) before the inverse rescale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Noise {
    /// Noiseless.
    None,
    /// White Gaussian noise of standard deviation `sigma`.
    Gaussian {
        /// Standard deviation, modality units.
        sigma: f64,
    },
    /// A reconstruction-kernel look: the noiseless image is sharpened by an unsharp mask of gain
    /// `edge_gain` (so edges overshoot), then white Gaussian noise of `sigma` is added.
    Kernel {
        /// Standard deviation, modality units.
        sigma: f64,
        /// Unsharp-mask gain: 0 leaves edges alone.
        edge_gain: f64,
    },
}

impl Noise {
    /// Typical head-CT noise for a kernel family, HU.
    pub fn for_kernel(kernel: CtKernel) -> Noise {
        match kernel {
            CtKernel::Soft => Noise::Kernel {
                sigma: 3.0,
                edge_gain: 0.0,
            },
            CtKernel::Standard => Noise::Kernel {
                sigma: 5.0,
                edge_gain: 0.2,
            },
            CtKernel::Bone => Noise::Kernel {
                sigma: 18.0,
                edge_gain: 0.8,
            },
        }
    }

    /// Standard deviation of the additive part.
    pub(crate) fn sigma(self) -> f64 {
        match self {
            Noise::None => 0.0,
            Noise::Gaussian { sigma } | Noise::Kernel { sigma, .. } => sigma,
        }
    }

    /// Unsharp-mask gain.
    pub(crate) fn edge_gain(self) -> f64 {
        match self {
            Noise::None | Noise::Gaussian { .. } => 0.0,
            Noise::Kernel { edge_gain, .. } => edge_gain,
        }
    }
}

/// Bits of randomness per normal deviate: a 4096-entry quantile table.
const TABLE_BITS: u32 = 12;

/// Standard normal deviates by table lookup: 12 random bits pick one of 4096 equiprobable
/// quantiles Φ⁻¹((i + ½) / 4096), so one `u64` from the rng gives five deviates with no
/// logarithm, square root or rejection loop (Box–Muller and the polar method dominated the
/// render profile). The distribution is Gaussian to within the quantisation, truncated at
/// ±3.49σ; after rounding to integer stored values the difference is invisible.
pub(crate) struct Normal {
    table: &'static [f64; 1 << TABLE_BITS],
    bits: u64,
    left: u32,
}

impl Normal {
    pub(crate) fn new() -> Self {
        Self {
            table: quantiles(),
            bits: 0,
            left: 0,
        }
    }

    pub(crate) fn sample(&mut self, rng: &mut impl Rng) -> f64 {
        if self.left == 0 {
            self.bits = rng.next_u64();
            self.left = 64 / TABLE_BITS;
        }
        let index = (self.bits & ((1 << TABLE_BITS) - 1)) as usize;
        self.bits >>= TABLE_BITS;
        self.left -= 1;
        self.table[index]
    }
}

/// Length of the noise tile, a power of two: 2¹⁸ deviates, 1 MiB of `f32`, which stays in a
/// core's L2 cache.
pub(crate) const TILE_LEN: usize = 1 << 18;
/// Seed of the tile. Fixed: what varies per image is where each row reads from it.
const TILE_SEED: u64 = 0x005E_ED0F_7115;

/// A fixed tile of standard normal deviates, drawn once per process from [`TILE_SEED`].
///
/// Each image row adds `sigma ×` a run of the tile starting at an offset drawn from the image's
/// rng, instead of drawing a deviate per pixel: one rng call per row, and an add the compiler
/// vectorises. Offsets are uniform over 2¹⁸ positions, so two rows of a 512-column image share
/// a stretch of noise with probability ≈ 0.4 % per pair, and then shifted, never aligned; the
/// noise stays white in both directions. Every kernel reads the same unit tile scaled by its
/// sigma (their textures differ by the unsharp mask, which acts on the noiseless image).
pub(crate) fn tile() -> &'static [f32] {
    static TILE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TILE.get_or_init(|| {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(TILE_SEED);
        let mut normal = Normal::new();
        (0..TILE_LEN)
            .map(|_| normal.sample(&mut rng) as f32)
            .collect()
    })
}

fn quantiles() -> &'static [f64; 1 << TABLE_BITS] {
    static TABLE: std::sync::OnceLock<[f64; 1 << TABLE_BITS]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let n = f64::from(1u32 << TABLE_BITS);
        std::array::from_fn(|i| inverse_normal_cdf((i as f64 + 0.5) / n))
    })
}

/// Φ⁻¹(p) for 0 < p < 1 by P. J. Acklam's rational approximation (relative error < 1.2e-9).
fn inverse_normal_cdf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    const P_LOW: f64 = 0.02425;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Unsharp mask of one row: `v + gain × (v − mean of the 3×3 neighbourhood)`, with the rows
/// above and below (the row itself at the image border) and columns replicated at the edges,
/// written into `out` for the columns in `range` only (the rest of `out` is left alone; each
/// computed value is the same whatever the range). Column sums first, then a sliding sum of
/// three: two straight loops the compiler vectorises. Single precision, like the rest of a
/// row's pipeline: eight values per AVX2 operation, and modality values (at most a few
/// thousand, a 12-bit stored range at a time) keep a 24-bit significand's precision to far
/// below one stored unit.
#[inline(always)]
pub(crate) fn sharpen_row(
    prev: &[f32],
    cur: &[f32],
    next: &[f32],
    gain: f32,
    sums: &mut [f32],
    out: &mut [f32],
    range: std::ops::Range<usize>,
) {
    /// The mean's divisor as a product: a division per pixel costs several multiplications.
    const NINTH: f32 = 1.0 / 9.0;
    let columns = cur
        .len()
        .min(prev.len())
        .min(next.len())
        .min(out.len())
        .min(sums.len());
    let range = range.start.min(columns)..range.end.min(columns);
    if range.is_empty() {
        return;
    }
    let last = columns - 1;
    // The column sums the range reads: one more at each side where there is one.
    let (s0, s1) = (range.start.saturating_sub(1), (range.end + 1).min(columns));
    for (((s, p), c), n) in sums[s0..s1]
        .iter_mut()
        .zip(&prev[s0..s1])
        .zip(&cur[s0..s1])
        .zip(&next[s0..s1])
    {
        *s = p + c + n;
    }
    let at = |c: usize| sums[c.min(last)];
    let mut inner = range;
    // Replicated edges: column −1 is column 0, column `columns` is the last.
    if inner.start == 0 {
        out[0] = cur[0] + gain * (cur[0] - (at(0) + at(0) + at(1)) * NINTH);
        inner.start = 1;
    }
    if columns > 1 && inner.end == columns {
        out[last] = cur[last] + gain * (cur[last] - (at(last - 1) + at(last) + at(last)) * NINTH);
        inner.end = last;
    }
    if inner.start < inner.end {
        let (a, b) = (inner.start, inner.end);
        // Three shifted views of the sums instead of indexing: no bounds check per pixel, so
        // the loop vectorises. Same additions in the same order as `sums[c − 1] + sums[c] +
        // sums[c + 1]`.
        let (left, mid, right) = (&sums[a - 1..b - 1], &sums[a..b], &sums[a + 1..b + 1]);
        for ((((o, &v), &l), &m), &r) in out[a..b]
            .iter_mut()
            .zip(&cur[a..b])
            .zip(left)
            .zip(mid)
            .zip(right)
        {
            *o = v + gain * (v - (l + m + r) * NINTH);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn inverse_normal_cdf_matches_known_quantiles() {
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959_963_985),
            (0.01, -2.326_347_874),
            (0.999, 3.090_232_306),
        ] {
            assert!((inverse_normal_cdf(p) - z).abs() < 1e-8, "{p}");
        }
    }

    #[test]
    fn normal_deviates_have_unit_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut n = Normal::new();
        let xs: Vec<f64> = (0..20_000).map(|_| n.sample(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }

    #[test]
    fn sharper_kernels_are_noisier_and_enhance_edges() {
        let [soft, standard, bone] =
            [CtKernel::Soft, CtKernel::Standard, CtKernel::Bone].map(Noise::for_kernel);
        assert!(soft.sigma() < standard.sigma() && standard.sigma() < bone.sigma());
        assert!(soft.edge_gain() < standard.edge_gain() && standard.edge_gain() < bone.edge_gain());
    }

    #[test]
    fn sharpening_part_of_a_row_gives_the_same_values_as_the_whole_row() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for columns in [1, 2, 3, 7, 40] {
            let mut row = || -> Vec<f32> {
                (0..columns)
                    .map(|_| rng.random_range(-1000..1500_i32) as f32 * 0.37)
                    .collect()
            };
            let (prev, cur, next) = (row(), row(), row());
            let mut sums = vec![0.0; columns];
            let mut whole = vec![0.0; columns];
            sharpen_row(&prev, &cur, &next, 0.8, &mut sums, &mut whole, 0..columns);
            for start in 0..columns {
                for end in start..=columns {
                    let mut part = vec![f32::NAN; columns];
                    let mut sums = vec![f32::NAN; columns];
                    sharpen_row(&prev, &cur, &next, 0.8, &mut sums, &mut part, start..end);
                    for c in 0..columns {
                        if (start..end).contains(&c) {
                            assert_eq!(part[c].to_bits(), whole[c].to_bits(), "{columns} {c}");
                        } else {
                            assert!(part[c].is_nan(), "{columns} {start}..{end} wrote {c}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn sharpen_overshoots_a_step_and_keeps_flat_regions() {
        let row = [0.0, 0.0, 0.0, 9.0, 9.0, 9.0];
        let (mut v, mut sums) = ([0.0; 6], [0.0; 6]);
        sharpen_row(&row, &row, &row, 1.0, &mut sums, &mut v, 0..6);
        assert_eq!(v[0], 0.0);
        assert!(v[2] < 0.0 && v[3] > 9.0, "{v:?}");
        assert_eq!(v[5], 9.0);
    }
}

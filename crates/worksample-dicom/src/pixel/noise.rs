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

/// Standard normal deviates by Marsaglia's polar method, two per accepted pair of uniforms (rand
/// 0.9 without rand_distr has no normal distribution; the polar method avoids sin/cos).
pub(crate) struct Normal {
    spare: Option<f64>,
}

impl Normal {
    pub(crate) fn new() -> Self {
        Self { spare: None }
    }

    pub(crate) fn sample(&mut self, rng: &mut impl Rng) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = 2.0 * rng.random::<f64>() - 1.0;
            let v = 2.0 * rng.random::<f64>() - 1.0;
            let s = u * u + v * v;
            // Accepts 78.5 % of pairs; s > 0 keeps the logarithm finite.
            if s < 1.0 && s > 0.0 {
                let k = (-2.0 * s.ln() / s).sqrt();
                self.spare = Some(v * k);
                return u * k;
            }
        }
    }
}

/// Unsharp mask in place: `v + gain × (v − mean of the 3×3 neighbourhood)`, edges replicated.
/// The box sum is separable: three-wide row sums first, then three of those down each column.
pub(crate) fn sharpen(values: &mut [f64], rows: usize, columns: usize, gain: f64) {
    if gain == 0.0 || rows == 0 || columns == 0 || values.len() != rows * columns {
        return;
    }
    let mut row_sums = vec![0.0; values.len()];
    for (src, dst) in values
        .chunks_exact(columns)
        .zip(row_sums.chunks_exact_mut(columns))
    {
        for c in 0..columns {
            let (c0, c2) = (c.saturating_sub(1), (c + 1).min(columns - 1));
            dst[c] = src[c0] + src[c] + src[c2];
        }
    }
    for r in 0..rows {
        let (r0, r2) = (r.saturating_sub(1), (r + 1).min(rows - 1));
        for c in 0..columns {
            let sum =
                row_sums[r0 * columns + c] + row_sums[r * columns + c] + row_sums[r2 * columns + c];
            let v = &mut values[r * columns + c];
            *v += gain * (*v - sum / 9.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

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
    fn sharpen_overshoots_a_step_and_keeps_flat_regions() {
        let mut v = vec![0.0, 0.0, 0.0, 9.0, 9.0, 9.0];
        sharpen(&mut v, 1, 6, 1.0);
        assert_eq!(v[0], 0.0);
        assert!(v[2] < 0.0 && v[3] > 9.0, "{v:?}");
        assert_eq!(v[5], 9.0);
    }
}

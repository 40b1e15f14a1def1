//! Task-neutral statistics for stratified evaluation: Wilson score intervals, the Newcombe
//! hybrid score interval for a difference of proportions, the pooled two-proportion z test,
//! Holm's step-down adjustment, the Mann–Whitney AUC with ties and DeLong's interval.
//!
//! Each is a small closed-form function checked against published or independently computed
//! values (statsmodels `proportion_confint(method="wilson")`, Newcombe 1998 Table II, scipy).

/// The 97.5 % standard normal quantile: two-sided 95 % intervals.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Complementary error function, Numerical Recipes `erfcc` (fractional error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The standard normal cumulative distribution function Φ(x).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// A proportion with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Point estimate.
    pub est: f64,
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

/// Wilson score interval of `k` successes in `n` at quantile `z` (Wilson 1927). `n = 0` gives
/// the uninformative `[0, 1]` with estimate 0.
pub fn wilson(k: usize, n: usize, z: f64) -> Interval {
    if n == 0 {
        return Interval {
            est: 0.0,
            lo: 0.0,
            hi: 1.0,
        };
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    // The Wilson interval always contains the estimate; at k = 0 and k = n rounding can put the
    // computed limit a hair inside it, so the limits are clamped around the point.
    Interval {
        est: p,
        lo: (centre - half).clamp(0.0, p),
        hi: (centre + half).clamp(p, 1.0),
    }
}

/// Newcombe's hybrid score interval (method 10, Newcombe 1998) for `p1 − p2`, built from the
/// two Wilson intervals at quantile `z`.
pub fn newcombe_diff(k1: usize, n1: usize, k2: usize, n2: usize, z: f64) -> Interval {
    let a = wilson(k1, n1, z);
    let b = wilson(k2, n2, z);
    let d = a.est - b.est;
    let lo = d - ((a.est - a.lo).powi(2) + (b.hi - b.est).powi(2)).sqrt();
    let hi = d + ((a.hi - a.est).powi(2) + (b.est - b.lo).powi(2)).sqrt();
    Interval { est: d, lo, hi }
}

/// Two-sided p value of the pooled two-proportion z test of `k1/n1` against `k2/n2`; 1 when
/// either sample is empty or the pooled proportion is 0 or 1 (no evidence of a difference).
pub fn two_proportion_p(k1: usize, n1: usize, k2: usize, n2: usize) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let (a, b) = (k1 as f64 / n1 as f64, k2 as f64 / n2 as f64);
    let pooled = (k1 + k2) as f64 / (n1 + n2) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    if se <= 0.0 {
        return 1.0;
    }
    let z = (a - b).abs() / se;
    (2.0 * (1.0 - normal_cdf(z))).min(1.0)
}

/// Holm's step-down adjusted p values (Holm 1979), in the input order: sorted ascending,
/// `p_(i) × (m − i)`, made monotone, capped at 1.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let v = (p[i] * (m - rank) as f64).min(1.0);
        running = running.max(v);
        adjusted[i] = running;
    }
    adjusted
}

/// Mann–Whitney AUC of scores of positives against negatives, ties counting one half; 0.5 when
/// either group is empty.
pub fn auc(pos: &[f64], neg: &[f64]) -> f64 {
    if pos.is_empty() || neg.is_empty() {
        return 0.5;
    }
    let mut sum = 0.0;
    for x in pos {
        for y in neg {
            sum += psi(*x, *y);
        }
    }
    sum / (pos.len() * neg.len()) as f64
}

fn psi(x: f64, y: f64) -> f64 {
    if x > y {
        1.0
    } else if x == y {
        0.5
    } else {
        0.0
    }
}

/// AUC with DeLong's 95 % interval (DeLong, DeLong & Clarke-Pearson 1988): the variance from
/// the structural components' sample variances, the interval clamped to `[0, 1]`. With fewer
/// than two positives or negatives the interval is `[0, 1]`.
pub fn auc_delong(pos: &[f64], neg: &[f64]) -> Interval {
    let est = auc(pos, neg);
    let (m, n) = (pos.len(), neg.len());
    if m < 2 || n < 2 {
        return Interval {
            est,
            lo: 0.0,
            hi: 1.0,
        };
    }
    let v10: Vec<f64> = pos
        .iter()
        .map(|x| neg.iter().map(|y| psi(*x, *y)).sum::<f64>() / n as f64)
        .collect();
    let v01: Vec<f64> = neg
        .iter()
        .map(|y| pos.iter().map(|x| psi(*x, *y)).sum::<f64>() / m as f64)
        .collect();
    let var = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64
    };
    let se = (var(&v10) / m as f64 + var(&v01) / n as f64).sqrt();
    Interval {
        est,
        lo: (est - Z95 * se).max(0.0),
        hi: (est + Z95 * se).min(1.0),
    }
}

/// Confusion counts of POS/NEG decisions against labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Confusion {
    /// Positive, called positive.
    pub tp: usize,
    /// Negative, called positive.
    pub fp: usize,
    /// Negative, called negative.
    pub tn: usize,
    /// Positive, called negative.
    pub fn_: usize,
}

impl Confusion {
    /// Adds one case.
    pub fn add(&mut self, label: bool, called_positive: bool) {
        match (label, called_positive) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
        }
    }

    /// Positives.
    pub fn n_pos(&self) -> usize {
        self.tp + self.fn_
    }

    /// Negatives.
    pub fn n_neg(&self) -> usize {
        self.tn + self.fp
    }

    /// Sensitivity with its Wilson interval.
    pub fn sensitivity(&self) -> Interval {
        wilson(self.tp, self.n_pos(), Z95)
    }

    /// Specificity with its Wilson interval.
    pub fn specificity(&self) -> Interval {
        wilson(self.tn, self.n_neg(), Z95)
    }

    /// (sensitivity + specificity) / 2; a missing class counts as 0.5 for its half.
    pub fn balanced_accuracy(&self) -> f64 {
        let half = |k: usize, n: usize| if n == 0 { 0.5 } else { k as f64 / n as f64 };
        (half(self.tp, self.n_pos()) + half(self.tn, self.n_neg())) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn normal_cdf_matches_tables() {
        assert!(close(normal_cdf(Z95), 0.975, 1e-7));
        assert!(close(normal_cdf(0.0), 0.5, 1e-7));
        assert!(close(normal_cdf(-1.0), 0.158_655_25, 1e-7));
    }

    #[test]
    fn wilson_matches_statsmodels() {
        // statsmodels proportion_confint(8, 10, method="wilson") = (0.4901624, 0.9433178).
        let w = wilson(8, 10, Z95);
        assert!(
            close(w.lo, 0.490_162_4, 1e-6) && close(w.hi, 0.943_317_8, 1e-6),
            "{w:?}"
        );
        // 0 of 20: (0, 0.1611252).
        let w = wilson(0, 20, Z95);
        assert!(
            close(w.lo, 0.0, 1e-12) && close(w.hi, 0.161_125_2, 1e-6),
            "{w:?}"
        );
        assert_eq!(wilson(0, 0, Z95).hi, 1.0);
        // Every interval contains its estimate, including at the ends.
        for n in 1..=60 {
            for k in [0, 1, n / 2, n - 1, n] {
                let w = wilson(k, n, Z95);
                assert!(w.lo <= w.est && w.est <= w.hi, "{k}/{n}: {w:?}");
            }
        }
    }

    #[test]
    fn newcombe_matches_the_paper() {
        // Newcombe 1998, Stat Med 17:873, Table II example (a): 56/70 − 48/80 = 0.2,
        // method 10 interval 0.0524 to 0.3339.
        let d = newcombe_diff(56, 70, 48, 80, Z95);
        assert!(close(d.est, 0.2, 1e-12));
        assert!(
            close(d.lo, 0.0524, 1e-4) && close(d.hi, 0.3339, 1e-4),
            "{d:?}"
        );
    }

    #[test]
    fn two_proportion_test_and_holm() {
        // 56/70 vs 48/80: pooled z = 2.6502, p = 0.008045 (scipy.special.erfc(z / sqrt 2)).
        assert!(close(two_proportion_p(56, 70, 48, 80), 0.008_045, 1e-5));
        assert_eq!(two_proportion_p(5, 5, 5, 5), 1.0);
        let adj = holm(&[0.01, 0.04, 0.03]);
        assert!(close(adj[0], 0.03, 1e-12));
        assert!(close(adj[1], 0.06, 1e-12), "monotone: {adj:?}");
        assert!(close(adj[2], 0.06, 1e-12));
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn auc_and_delong_on_a_worked_example() {
        let (pos, neg) = ([0.9, 0.8, 0.7], [0.6, 0.75, 0.2]);
        let a = auc_delong(&pos, &neg);
        assert!(close(a.est, 8.0 / 9.0, 1e-12));
        // Structural components {1, 1, 2/3} on both sides: variance 1/27 each, se 0.157135.
        assert!(close(a.lo, 8.0 / 9.0 - Z95 * 0.157_134_8, 1e-6), "{a:?}");
        assert_eq!(a.hi, 1.0);
        assert_eq!(auc(&[1.0], &[1.0]), 0.5, "a tie counts one half");
        assert_eq!(auc(&[], &[1.0]), 0.5);
    }

    #[test]
    fn confusion_counts_and_balanced_accuracy() {
        let mut c = Confusion::default();
        for (label, call) in [(true, true), (true, false), (false, false), (false, false)] {
            c.add(label, call);
        }
        assert_eq!((c.tp, c.fn_, c.tn, c.fp), (1, 1, 2, 0));
        assert!(close(c.balanced_accuracy(), 0.75, 1e-12));
        assert!(close(c.sensitivity().est, 0.5, 1e-12));
    }
}

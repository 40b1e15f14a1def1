//! Task-neutral metrics shared by the graders: precision, recall, F1, BCubed, Kendall tau, IoU matching.
//!
//! Everything here is a pure function of its inputs, with the conventions graders need stated
//! once: an empty prediction against an empty truth is perfect (nothing to get right), F1 of
//! zero precision and zero recall is 0, and IoU matching uses a strict `> 0.5` threshold so that
//! every truth set matches at most one predicted set without a Hungarian step (Kirillov et al.,
//! "Panoptic Segmentation", arXiv 1801.00868, §4.1).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;

/// The harmonic mean of precision and recall; 0 when both are 0.
pub fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall <= 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

/// Precision and recall of one measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrecisionRecall {
    /// Fraction of predictions that are right.
    pub precision: f64,
    /// Fraction of the truth that was found.
    pub recall: f64,
}

impl PrecisionRecall {
    /// Their F1.
    pub fn f1(self) -> f64 {
        f1(self.precision, self.recall)
    }
}

/// Counts of a detection task: true positives, false positives, false negatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Predictions that match a truth item.
    pub tp: usize,
    /// Predictions that match nothing.
    pub fp: usize,
    /// Truth items nothing matched.
    pub fn_: usize,
}

impl Counts {
    /// Precision and recall; each is 1 when its denominator is 0 (nothing predicted, or
    /// nothing to find), so an empty answer to an empty question is perfect.
    pub fn precision_recall(self) -> PrecisionRecall {
        let ratio = |part: usize, whole: usize| {
            if whole == 0 {
                1.0
            } else {
                part as f64 / whole as f64
            }
        };
        PrecisionRecall {
            precision: ratio(self.tp, self.tp + self.fp),
            recall: ratio(self.tp, self.tp + self.fn_),
        }
    }

    /// F1 of [`Counts::precision_recall`].
    pub fn f1(self) -> f64 {
        self.precision_recall().f1()
    }
}

/// BCubed precision and recall (Bagga & Baldwin 1998; Amigó et al. 2009) of a clustering, from
/// each item's (truth cluster, predicted cluster) pair. Computed from the contingency table in
/// O(N log N): precision = Σ n_ij² / |P_j| / N, recall = Σ n_ij² / |T_i| / N. No items → perfect.
pub fn bcubed<T: Ord, P: Ord>(items: impl IntoIterator<Item = (T, P)>) -> PrecisionRecall {
    let mut table: BTreeMap<(T, P), usize> = BTreeMap::new();
    for pair in items {
        *table.entry(pair).or_default() += 1;
    }
    let mut truth_size: BTreeMap<&T, usize> = BTreeMap::new();
    let mut pred_size: BTreeMap<&P, usize> = BTreeMap::new();
    let mut n = 0usize;
    for ((t, p), &c) in &table {
        *truth_size.entry(t).or_default() += c;
        *pred_size.entry(p).or_default() += c;
        n += c;
    }
    if n == 0 {
        return PrecisionRecall {
            precision: 1.0,
            recall: 1.0,
        };
    }
    let (mut precision, mut recall) = (0.0, 0.0);
    for ((t, p), &c) in &table {
        let c2 = (c * c) as f64;
        precision += c2 / pred_size[p] as f64;
        recall += c2 / truth_size[t] as f64;
    }
    PrecisionRecall {
        precision: precision / n as f64,
        recall: recall / n as f64,
    }
}

/// Kendall's τ-a between a sequence of ranks and ascending order: (concordant − discordant) /
/// (n choose 2). Ties count as neither. 1 for ascending, −1 for descending; 1 for fewer than 2
/// items (there is no order to get wrong). O(n²), fine for volumes of a few hundred slices.
pub fn kendall_tau_a<R: Ord>(ranks: &[R]) -> f64 {
    let n = ranks.len();
    if n < 2 {
        return 1.0;
    }
    let mut score: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            match ranks[i].cmp(&ranks[j]) {
                std::cmp::Ordering::Less => score += 1,
                std::cmp::Ordering::Greater => score -= 1,
                std::cmp::Ordering::Equal => {}
            }
        }
    }
    let pairs = (n * (n - 1) / 2) as f64;
    score as f64 / pairs
}

/// One match between a truth set and a predicted set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IouMatch {
    /// Index into the truth sets.
    pub truth: usize,
    /// Index into the predicted sets.
    pub predicted: usize,
    /// |truth ∩ predicted| / |truth ∪ predicted|, over items that belong to some truth set.
    pub iou: f64,
}

/// Matches predicted sets to truth sets at IoU > 0.5. Items of a predicted set that are in no
/// truth set are ignored (they are charged elsewhere, e.g. as triage errors). Because IoU > 0.5
/// on both sides implies a majority overlap, each truth set matches at most one predicted set
/// and vice versa; matches come in truth order. Truth sets are expected to be disjoint.
pub fn match_iou<T: Ord + Hash>(truth: &[BTreeSet<T>], predicted: &[BTreeSet<T>]) -> Vec<IouMatch> {
    let mut owner: HashMap<&T, usize> = HashMap::new();
    for (i, set) in truth.iter().enumerate() {
        for item in set {
            owner.insert(item, i);
        }
    }
    let mut matches = Vec::new();
    for (j, set) in predicted.iter().enumerate() {
        let mut overlap: BTreeMap<usize, usize> = BTreeMap::new();
        let mut known = 0usize;
        for item in set {
            if let Some(&i) = owner.get(item) {
                *overlap.entry(i).or_default() += 1;
                known += 1;
            }
        }
        for (i, inter) in overlap {
            let union = truth[i].len() + known - inter;
            let iou = inter as f64 / union as f64;
            if iou > 0.5 {
                matches.push(IouMatch {
                    truth: i,
                    predicted: j,
                    iou,
                });
            }
        }
    }
    matches.sort_by_key(|m| (m.truth, m.predicted));
    matches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    #[test]
    fn f1_and_counts_conventions() {
        assert_eq!(f1(0.0, 0.0), 0.0);
        assert!(close(f1(1.0, 0.5), 2.0 / 3.0));
        let empty = Counts::default();
        assert_eq!(empty.f1(), 1.0, "nothing to find, nothing claimed");
        let c = Counts {
            tp: 3,
            fp: 1,
            fn_: 2,
        };
        let pr = c.precision_recall();
        assert!(close(pr.precision, 0.75) && close(pr.recall, 0.6));
        assert_eq!(
            Counts {
                tp: 0,
                fp: 2,
                fn_: 0
            }
            .f1(),
            0.0
        );
    }

    #[test]
    fn bcubed_matches_the_research_demo() {
        // series-metrics-demo.py scenario A: 120-slice CT + 3-image localizer merged → F 0.976.
        let items = (0..123).map(|i| (if i < 120 { "ct" } else { "loc" }, "x"));
        let pr = bcubed(items);
        assert!(close(pr.recall, 1.0));
        assert!(close(pr.f1(), 0.976), "{pr:?}");
        // Scenario C: 40 slices over-split into singletons → F 0.049.
        let pr = bcubed((0..40).map(|i| ("v", i)));
        assert!(close(pr.f1(), 0.049), "{pr:?}");
        // Scenario D: only the localizer merged into the CT → F 0.987.
        let truth = [
            ("ct", 120),
            ("loc", 3),
            ("e1", 30),
            ("e2", 30),
            ("b0", 20),
            ("b1", 20),
        ];
        let mut items = Vec::new();
        for (name, n) in truth {
            let pred = if name == "loc" { "ct" } else { name };
            items.extend(std::iter::repeat_n((name, pred), n));
        }
        assert!(close(bcubed(items).f1(), 0.987));
        let none: Vec<(u8, u8)> = Vec::new();
        assert_eq!(bcubed(none).f1(), 1.0);
    }

    #[test]
    fn kendall_tau_a_matches_the_research_demo() {
        let asc: Vec<u32> = (0..50).collect();
        assert_eq!(kendall_tau_a(&asc), 1.0);
        let rev: Vec<u32> = (0..50).rev().collect();
        assert_eq!(kendall_tau_a(&rev), -1.0);
        let mut swap = asc.clone();
        swap.swap(10, 11);
        assert!(
            close(kendall_tau_a(&swap), 0.9984),
            "one adjacent swap in 50"
        );
        assert_eq!(kendall_tau_a::<u8>(&[]), 1.0);
        assert_eq!(
            kendall_tau_a(&[1, 1]),
            0.0,
            "a tie is neither concordant nor discordant"
        );
    }

    #[test]
    fn iou_matching_is_strict_and_unique() {
        let set = |r: std::ops::Range<u32>| r.collect::<BTreeSet<u32>>();
        let truth = vec![set(0..10), set(10..14), set(20..30)];
        let predicted = vec![
            set(0..14),    // CT + localizer merged: IoU 10/14 with the CT only
            set(20..25),   // half of the third: IoU 0.5 is not a match
            set(25..30),   // the other half: IoU 0.5, not a match either
            set(100..200), // only unknown items: ignored
        ];
        let m = match_iou(&truth, &predicted);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!((m[0].truth, m[0].predicted), (0, 0));
        assert!(close(m[0].iou, 10.0 / 14.0));
        let exact = match_iou(&truth, &truth);
        assert_eq!(exact.len(), 3);
        assert!(exact.iter().all(|m| m.truth == m.predicted && m.iou == 1.0));
    }
}

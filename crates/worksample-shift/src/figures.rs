//! Assessor figures of the `shift` task (issue 8): figures are data, never formatting; the
//! report renderer draws them.
//!
//! - sensitivity and specificity per site (Institution Name) and per scanner (Station Name),
//!   each with its Wilson 95 % interval, P0 as deployed next to the candidate's corrected
//!   configuration as the grader replayed it;
//! - intensity histograms per scanner over a fixed HU range: the modality values the header
//!   defines (PS3.3 C.7.6.1.2.4 Modality LUT), and the same slices as P0 reads them, so a
//!   rescale or signedness shift shows at a glance.
//!
//! The replay runs on the test set only (its labels stay with the harness), so both bars of a
//! pair are measured on the test cases: P0 and the fix on the same slices. The histograms reuse
//! the slices the replay already decoded (at most [`SLICES_PER_SCANNER`] per scanner); only when
//! the configuration cannot be replayed are those few files read here. Labels name sites and
//! scanners, never a planted cause. Nothing here fails: a slice that cannot be read is left out
//! and counted in the caption.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use worksample_task::rubric::{Bar, Figure, FigureKind, HistogramSeries};

use crate::config::{Config, Decode, ModalityLut};
use crate::key::Case;
use crate::model::{Decision, Decoder, Modality, Prediction};
use crate::slice::Slice;
use crate::stats::{Confusion, Interval};

/// The binned range, HU: air (−1000) through parenchyma, lesions and the first of bone, so a
/// −24 HU rescale slip and a −1024 signedness slip both stay in view.
pub const HU_RANGE: (f64, f64) = (-1100.0, 300.0);
/// Bins over [`HU_RANGE`] (10 HU each).
pub const BINS: usize = 140;
/// Most test slices histogrammed per scanner.
pub const SLICES_PER_SCANNER: usize = 20;

/// Values binned over [`HU_RANGE`], and how many fell outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Count per bin, [`BINS`] of them.
    pub bins: Vec<u64>,
    /// Values below, above or not finite.
    pub outside: u64,
}

impl Default for Counts {
    fn default() -> Self {
        Counts {
            bins: vec![0; BINS],
            outside: 0,
        }
    }
}

impl Counts {
    /// Counts `n` values `v`.
    fn add(&mut self, v: f64, n: u64) {
        let (lo, hi) = HU_RANGE;
        if !(v.is_finite() && lo <= v && v < hi) {
            self.outside += n;
            return;
        }
        let i = ((v - lo) / (hi - lo) * BINS as f64) as usize;
        self.bins[i.min(BINS - 1)] += n;
    }

    fn merge(&mut self, other: &Counts) {
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            *a += b;
        }
        self.outside += other.outside;
    }

    fn total(&self) -> u64 {
        self.bins.iter().sum::<u64>() + self.outside
    }
}

/// The intensity counts of one slice under two readings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Intensity {
    /// Modality values by the header: stored values decoded by Bits Stored and Pixel
    /// Representation (PS3.5 §8.1.1), then Rescale Slope/Intercept; padding pixels left out
    /// (PS3.3 C.7.5.1.1.2).
    pub header: Counts,
    /// P0's reading: every word unsigned, minus 1024 (brief steps 1 and 3 as deployed).
    pub p0: Counts,
}

/// Bins one slice under both readings, with the model's own decoding functions. Both readings
/// are functions of the stored word alone, so the words are counted first and each distinct
/// word is read once: the figures bin up to [`SLICES_PER_SCANNER`] slices per scanner, and
/// reading every pixel twice in floating point was most of their cost.
pub fn intensity(slice: &Slice) -> Intensity {
    let mut words = vec![0u32; 1 << 16];
    for &word in &slice.raw {
        words[usize::from(word)] += 1;
    }
    let header_config = Config {
        modality_lut: ModalityLut::Header,
        ..Config::p0()
    };
    let header = (
        Decoder::new(slice, Decode::Header),
        Modality::new(&header_config, slice),
    );
    let p0 = (
        Decoder::new(slice, Decode::U16),
        Modality::new(&Config::p0(), slice),
    );
    let mut out = Intensity::default();
    for (word, &n) in (0..=u16::MAX).zip(&words) {
        if n == 0 {
            continue;
        }
        let n = u64::from(n);
        let stored = header.0.value(word);
        if slice.padding_value != Some(stored) {
            out.header.add(header.1.hu(stored), n);
        }
        out.p0.add(p0.1.hu(p0.0.value(word)), n);
    }
    out
}

fn attribute<'a>(case: &'a Case, keyword: &str) -> &'a str {
    case.attributes.get(keyword).map_or("", String::as_str)
}

/// The test cases to histogram: per scanner, at most [`SLICES_PER_SCANNER`] spread evenly over
/// its cases in key order (file order, itself drawn from the seed), so the choice is a pure
/// function of the key. Indices into `test`, ascending.
pub fn sample(test: &[&Case]) -> BTreeSet<usize> {
    let mut by_station: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in test.iter().enumerate() {
        by_station
            .entry(attribute(c, "StationName"))
            .or_default()
            .push(i);
    }
    let mut chosen = BTreeSet::new();
    for cases in by_station.values() {
        let n = cases.len();
        let k = n.min(SLICES_PER_SCANNER);
        chosen.extend((0..k).map(|j| cases[j * n / k]));
    }
    chosen
}

/// Reads and bins the sampled test slices from the trusted fixtures, for when no replay did;
/// a file that cannot be read is left out.
pub fn read_intensities(
    test: &[&Case],
    sampled: &BTreeSet<usize>,
    fixtures: &Path,
) -> BTreeMap<usize, Intensity> {
    use rayon::prelude::*;
    let sampled: Vec<usize> = sampled.iter().copied().collect();
    sampled
        .par_iter()
        .filter_map(|&i| {
            let case = test.get(i)?;
            let slice = Slice::read(&fixtures.join(&case.file)).ok()?;
            Some((i, intensity(&slice)))
        })
        .collect()
}

/// Every figure: the two metric bar charts, then the two intensity histograms. `fix` is the
/// replay of the candidate's configuration on `test` (same order), when there was one;
/// `intensities` the binned sampled slices by index into `test`, `sampled` how many were
/// chosen.
pub fn figures(
    test: &[&Case],
    fix: Option<&[Prediction]>,
    sampled: usize,
    intensities: &BTreeMap<usize, Intensity>,
) -> Vec<Figure> {
    // A replay of another length cannot be paired with the cases: show P0 alone.
    let fix = fix.filter(|f| f.len() == test.len());
    let mut out = vec![
        metric_bars(test, fix, Rate::Sensitivity),
        metric_bars(test, fix, Rate::Specificity),
    ];
    out.extend(histograms(test, sampled, intensities));
    out
}

/// Which rate a bar chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rate {
    Sensitivity,
    Specificity,
}

/// Confusion counts with REJECT counted as an error, as the fix criterion counts it (every
/// test slice is in scope).
fn confusion(cases: impl Iterator<Item = (bool, Decision)>) -> Confusion {
    let mut c = Confusion::default();
    for (label, decision) in cases {
        let called_positive = match decision {
            Decision::Pos => true,
            Decision::Neg => false,
            Decision::Reject => !label,
        };
        c.add(label, called_positive);
    }
    c
}

/// The groups a bar chart shows: sites (the reference site first, then by name), then
/// scanners (by their site in that order, then by name). Each is a label and indices into
/// `test`.
fn groups(test: &[&Case]) -> Vec<(String, Vec<usize>)> {
    let reference = test
        .iter()
        .find(|c| c.unit == 0)
        .map_or("", |c| attribute(c, "InstitutionName"));
    let site_rank = |site: &str| (site != reference, site.to_owned());
    let mut sites: BTreeMap<(bool, String), Vec<usize>> = BTreeMap::new();
    let mut stations: BTreeMap<((bool, String), String), Vec<usize>> = BTreeMap::new();
    for (i, c) in test.iter().enumerate() {
        let site = attribute(c, "InstitutionName");
        sites.entry(site_rank(site)).or_default().push(i);
        stations
            .entry((site_rank(site), attribute(c, "StationName").to_owned()))
            .or_default()
            .push(i);
    }
    let name = |text: &str, absent: &str| {
        if text.is_empty() {
            absent.to_owned()
        } else {
            text.to_owned()
        }
    };
    let mut out = Vec::with_capacity(sites.len() + stations.len());
    for ((other, site), cases) in sites {
        let mut label = name(&site, "(no Institution Name)");
        if !other {
            label.push_str(" (reference)");
        }
        out.push((label, cases));
    }
    for ((_, station), cases) in stations {
        out.push((name(&station, "(no Station Name)"), cases));
    }
    out
}

/// A bar with its interval. Wilson's limits at k = 0 or k = n are exactly the estimate, but
/// the closed form can land an ulp inside it (0.9999999999999999 for 10 of 10): the interval
/// is widened to hold the point, so a whisker never sits beside its bar.
fn bar(label: String, interval: Interval) -> Bar {
    Bar {
        label,
        value: interval.est,
        interval: Some([interval.lo.min(interval.est), interval.hi.max(interval.est)]),
    }
}

fn metric_bars(test: &[&Case], fix: Option<&[Prediction]>, rate: Rate) -> Figure {
    let measure = |c: Confusion| match rate {
        Rate::Sensitivity => c.sensitivity(),
        Rate::Specificity => c.specificity(),
    };
    let mut bars = Vec::new();
    for (label, cases) in groups(test) {
        let p0 = confusion(cases.iter().map(|&i| (test[i].label, test[i].p0.decision)));
        bars.push(bar(format!("{label} · P0"), measure(p0)));
        if let Some(fix) = fix {
            let c = confusion(cases.iter().map(|&i| (test[i].label, fix[i].decision)));
            bars.push(bar(format!("{label} · fix"), measure(c)));
        }
    }
    let (id, name, what) = match rate {
        Rate::Sensitivity => (
            "shift-sensitivity",
            "Sensitivity",
            "the share of lesion slices called POS",
        ),
        Rate::Specificity => (
            "shift-specificity",
            "Specificity",
            "the share of lesion-free slices called NEG",
        ),
    };
    let pairing = match fix {
        Some(_) => {
            "P0 as deployed next to the candidate's pipeline_config as the harness replayed it (\"fix\")"
        }
        None => "P0 as deployed only: the candidate's pipeline_config could not be replayed",
    };
    Figure::new(
        id,
        format!("{name} per site and scanner, test set"),
        format!(
            "{name} ({what}) per site (Institution Name), then per scanner (Station Name), on the {} test slices whose labels the harness keeps: {pairing}. Whiskers are Wilson 95 % intervals; a class with no cases shows 0 with [0, 1]; a REJECT counts as an error, as in the fix criterion. The test set is where the replay runs, so both bars of a pair measure the same slices; P0's development-set values are the candidate's strata_metrics.",
            test.len()
        ),
        FigureKind::Bars {
            unit: "proportion".into(),
            bars,
        },
    )
}

/// One histogram per reading, one series per scanner; none when no slice could be binned.
fn histograms(
    test: &[&Case],
    sampled: usize,
    intensities: &BTreeMap<usize, Intensity>,
) -> Vec<Figure> {
    let mut by_station: BTreeMap<&str, (usize, Intensity)> = BTreeMap::new();
    for (i, counts) in intensities {
        let Some(case) = test.get(*i) else { continue };
        let entry = by_station
            .entry(attribute(case, "StationName"))
            .or_default();
        entry.0 += 1;
        entry.1.header.merge(&counts.header);
        entry.1.p0.merge(&counts.p0);
    }
    if by_station.is_empty() {
        return Vec::new();
    }
    let (lo, hi) = HU_RANGE;
    let edges: Vec<f64> = (0..=BINS)
        .map(|i| lo + (hi - lo) * i as f64 / BINS as f64)
        .collect();
    let read: usize = by_station.values().map(|(n, _)| *n).sum();
    let missing = sampled.saturating_sub(read);
    let slices = by_station
        .iter()
        .map(|(s, (n, _))| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut common = format!(
        "Test slices per scanner (Station Name), at most {SLICES_PER_SCANNER} each, chosen evenly in file order: {slices}. Bins of {} HU over {lo} to {hi}.",
        (hi - lo) / BINS as f64
    );
    if missing > 0 {
        common.push_str(&format!(
            " {missing} sampled slices could not be read and are left out."
        ));
    }
    let outside = |pick: fn(&Intensity) -> &Counts| {
        by_station
            .iter()
            .map(|(s, (_, i))| {
                let c = pick(i);
                let share = if c.total() == 0 {
                    0.0
                } else {
                    100.0 * c.outside as f64 / c.total() as f64
                };
                format!("{s} {share:.0} %")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let series = |pick: fn(&Intensity) -> &Counts| -> Vec<HistogramSeries> {
        by_station
            .iter()
            .map(|(s, (_, i))| HistogramSeries {
                label: if s.is_empty() {
                    "(no Station Name)".to_owned()
                } else {
                    (*s).to_owned()
                },
                counts: pick(i).bins.clone(),
            })
            .collect()
    };
    fn header(i: &Intensity) -> &Counts {
        &i.header
    }
    fn p0(i: &Intensity) -> &Counts {
        &i.p0
    }
    vec![
        Figure::new(
            "shift-intensity-header",
            "Modality values per scanner, as the header defines them",
            format!(
                "Pixel values after the header's decoding and rescale: Bits Stored and Pixel Representation (PS3.5 §8.1.1), then Rescale Slope and Intercept (0028,1053)/(0028,1052); padding pixels (0028,0120) left out. Scanners whose files are right line up here. {common} Outside the range: {}.",
                outside(header)
            ),
            FigureKind::Histogram {
                unit: "HU".into(),
                edges: edges.clone(),
                series: series(header),
            },
        ),
        Figure::new(
            "shift-intensity-p0",
            "The same slices as P0 reads them",
            format!(
                "Pixel values as deployed P0 computes them: every 16-bit word read as unsigned, minus 1024, whatever the header says. A scanner whose curve moves away from its curve in the previous figure is one where P0 misreads the CT numbers. {common} Outside the range: {}.",
                outside(p0)
            ),
            FigureKind::Histogram {
                unit: "HU".into(),
                edges,
                series: series(p0),
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{Cause, Split};
    use worksample_task::Figures;

    fn case(i: usize, site: &str, station: &str, unit: usize, label: bool, p0: Decision) -> Case {
        let prediction = |decision| Prediction {
            score: 0.0,
            p: 0.0,
            decision,
        };
        Case {
            uid: format!("1.2.3.{i}"),
            file: format!("test/{i:04}.dcm"),
            split: Split::Test,
            label,
            unit,
            p0: prediction(p0),
            oracle: prediction(if label { Decision::Pos } else { Decision::Neg }),
            attributes: [
                ("InstitutionName".to_owned(), site.to_owned()),
                ("StationName".to_owned(), station.to_owned()),
            ]
            .into_iter()
            .collect(),
        }
    }

    /// Two sites, three scanners: P0 is right at the reference scanner RA1, misses every
    /// lesion on RB1 and calls every slice positive on RB2.
    fn cases() -> Vec<Case> {
        let mut out = Vec::new();
        for i in 0..60 {
            let label = i % 2 == 0;
            let (site, station, unit, p0) = match i % 3 {
                0 => ("Site A", "RA1", 0, label),
                1 => ("Site B", "RB1", 1, false),
                _ => ("Site B", "RB2", 2, true),
            };
            let d = if p0 { Decision::Pos } else { Decision::Neg };
            out.push(case(i, site, station, unit, label, d));
        }
        out
    }

    fn fix_of(cases: &[&Case]) -> Vec<Prediction> {
        cases
            .iter()
            .map(|c| Prediction {
                score: 0.0,
                p: 0.0,
                decision: if c.label {
                    Decision::Pos
                } else {
                    Decision::Neg
                },
            })
            .collect()
    }

    fn bars(figure: &Figure) -> &[Bar] {
        let FigureKind::Bars { bars, .. } = &figure.kind else {
            panic!("{} is not a bar chart", figure.id)
        };
        bars
    }

    fn value(figure: &Figure, label: &str) -> f64 {
        bars(figure)
            .iter()
            .find(|b| b.label == label)
            .unwrap_or_else(|| panic!("no bar {label} in {}", figure.id))
            .value
    }

    #[test]
    fn bars_carry_wilson_intervals_around_the_point() {
        let owned = cases();
        let test: Vec<&Case> = owned.iter().collect();
        let fix = fix_of(&test);
        let out = figures(&test, Some(&fix), 0, &BTreeMap::new());
        assert_eq!(out.len(), 2, "no intensities, no histograms");
        let [sens, spec] = [&out[0], &out[1]];
        for f in [sens, spec] {
            // Two sites and three scanners, each P0 then fix.
            let labels: Vec<&str> = bars(f).iter().map(|b| b.label.as_str()).collect();
            assert_eq!(
                labels,
                [
                    "Site A (reference) · P0",
                    "Site A (reference) · fix",
                    "Site B · P0",
                    "Site B · fix",
                    "RA1 · P0",
                    "RA1 · fix",
                    "RB1 · P0",
                    "RB1 · fix",
                    "RB2 · P0",
                    "RB2 · fix",
                ]
            );
            for b in bars(f) {
                let [lo, hi] = b.interval.expect("every bar has its interval");
                assert!(
                    (0.0..=b.value).contains(&lo) && (b.value..=1.0).contains(&hi) && lo < hi,
                    "{}: {} not inside [{lo}, {hi}] within [0, 1]",
                    b.label,
                    b.value
                );
            }
            for cause in Cause::ALL {
                assert!(!f.caption.contains(cause.id()) && !f.title.contains(cause.id()));
            }
        }
        assert_eq!(value(sens, "RB1 · P0"), 0.0);
        assert_eq!(value(sens, "RB1 · fix"), 1.0);
        assert_eq!(value(spec, "RB1 · P0"), 1.0);
        assert_eq!(value(spec, "RB2 · P0"), 0.0);
        assert_eq!(value(spec, "RB2 · fix"), 1.0);
        assert_eq!(value(sens, "Site B · P0"), 0.5);
        // Wilson 95 % of 0 in 10 (statsmodels proportion_confint, method="wilson").
        let rb1 = bars(sens)
            .iter()
            .find(|b| b.label == "RB1 · P0")
            .expect("bar");
        let [lo, hi] = rb1.interval.expect("interval");
        assert!(lo == 0.0 && (hi - 0.277_533).abs() < 1e-5, "{hi}");
    }

    #[test]
    fn a_reject_is_an_error_and_without_a_replay_only_p0_is_shown() {
        let owned = cases();
        let test: Vec<&Case> = owned.iter().collect();
        let mut fix = fix_of(&test);
        for p in &mut fix {
            p.decision = Decision::Reject;
        }
        let out = figures(&test, Some(&fix), 0, &BTreeMap::new());
        assert_eq!(value(&out[0], "RA1 · fix"), 0.0);
        assert_eq!(value(&out[1], "RA1 · fix"), 0.0);
        // A replay that cannot be paired with the cases is not shown.
        for replay in [None, Some(&fix[1..])] {
            let out = figures(&test, replay, 0, &BTreeMap::new());
            assert_eq!(bars(&out[0]).len(), 5);
            assert!(bars(&out[0]).iter().all(|b| b.label.ends_with("· P0")));
            assert!(out[0].caption.contains("could not be replayed"));
        }
    }

    #[test]
    fn the_sample_takes_at_most_twenty_per_scanner_spread_over_its_cases() {
        let owned: Vec<Case> = (0..70)
            .map(|i| {
                let station = if i < 50 { "BIG" } else { "SMALL" };
                case(i, "S", station, 0, false, Decision::Neg)
            })
            .collect();
        let test: Vec<&Case> = owned.iter().collect();
        let chosen = sample(&test);
        let big: Vec<usize> = chosen.iter().copied().filter(|i| *i < 50).collect();
        assert_eq!(big.len(), SLICES_PER_SCANNER);
        assert_eq!(
            (big[0], big[big.len() - 1]),
            (0, 47),
            "spread, not the first 20"
        );
        assert_eq!(chosen.iter().filter(|i| **i >= 50).count(), 20);
        assert_eq!(sample(&test), chosen, "deterministic");
        let few = sample(&test[45..55]);
        assert_eq!(few.len(), 10, "a scanner with fewer cases gives them all");
    }

    /// A 4 × 4 slice whose every pixel holds `hu` under the given storage.
    fn slice(hu: f64, signed: bool, intercept: f64, padding: Option<i32>) -> Slice {
        let stored = (hu - intercept).round() as i32;
        let word = stored as i16 as u16;
        let mut raw = vec![word; 16];
        if let Some(pad) = padding {
            raw[0] = pad as i16 as u16;
        }
        Slice {
            sop_instance_uid: "1.2.3".into(),
            rows: 4,
            columns: 4,
            raw,
            bits_allocated: 16,
            bits_stored: if signed { 16 } else { 12 },
            pixel_representation: u16::from(signed),
            rescale_slope: Some(1.0),
            rescale_intercept: Some(intercept),
            rescale_type: None,
            image_type: vec!["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()],
            window: Some((50.0, 100.0)),
            padding_value: padding,
            photometric: "MONOCHROME2".into(),
            pixel_spacing: Some([0.9, 0.9]),
            attributes: BTreeMap::new(),
        }
    }

    fn bin_of(hu: f64) -> usize {
        ((hu - HU_RANGE.0) / (HU_RANGE.1 - HU_RANGE.0) * BINS as f64) as usize
    }

    fn only_bin(c: &Counts) -> usize {
        let filled: Vec<usize> = (0..BINS).filter(|i| c.bins[*i] > 0).collect();
        assert_eq!(filled.len(), 1, "{filled:?}");
        filled[0]
    }

    #[test]
    fn the_readings_show_rescale_and_signedness_shifts() {
        let reference = intensity(&slice(35.0, false, -1024.0, None));
        let rescaled = intensity(&slice(35.0, false, -1000.0, None));
        let signed = intensity(&slice(35.0, true, 0.0, None));
        for i in [&reference, &rescaled, &signed] {
            assert_eq!(only_bin(&i.header), bin_of(35.0), "the header agrees");
            assert_eq!(i.header.bins.len(), BINS);
        }
        assert_eq!(only_bin(&reference.p0), bin_of(35.0));
        assert_eq!(only_bin(&rescaled.p0), bin_of(11.0), "24 HU low");
        assert_eq!(only_bin(&signed.p0), bin_of(35.0 - 1024.0), "1024 HU low");
        let air = intensity(&slice(-1000.0, true, 0.0, None));
        assert_eq!(air.p0.outside, 16, "negative words wrap beyond the range");
        let padded = intensity(&slice(35.0, true, 0.0, Some(-2000)));
        assert_eq!(padded.header.bins.iter().sum::<u64>(), 15);
        assert_eq!(padded.header.outside, 0, "padding is left out, not counted");
        assert_eq!(padded.p0.total(), 16, "P0 reads every pixel");
    }

    #[test]
    fn one_pass_binning_equals_binning_the_models_decoded_images() {
        use crate::model::{decode, hu_values};
        // Under each storage the generator writes, and slopes that are not 1.
        for (signed, bits_stored, intercept, slope, padding) in [
            (false, 12, -1024.0, 1.0, None),
            (true, 16, 0.0, 1.0, Some(-2000)),
            (false, 16, -1000.0, 0.5, Some(0)),
            (true, 12, 24.0, 2.0, Some(-1)),
        ] {
            let mut s = slice(0.0, signed, intercept, padding);
            // Every word twice, and one a further 65,536 times.
            s.raw = (0..=u16::MAX)
                .chain(0..=u16::MAX)
                .chain(std::iter::repeat_n(1000, 1 << 16))
                .collect();
            (s.rows, s.columns) = (384, 512);
            s.bits_stored = bits_stored;
            s.rescale_slope = Some(slope);
            let header_config = Config {
                modality_lut: ModalityLut::Header,
                ..Config::p0()
            };
            let stored = decode(&s, Decode::Header);
            let mut expected = Intensity::default();
            for (v, sv) in hu_values(&header_config, &s, &stored).iter().zip(&stored) {
                if s.padding_value != Some(*sv) {
                    expected.header.add(*v, 1);
                }
            }
            for v in hu_values(&Config::p0(), &s, &decode(&s, Decode::U16)) {
                expected.p0.add(v, 1);
            }
            assert_eq!(
                intensity(&s),
                expected,
                "{signed} {bits_stored} {intercept}"
            );
        }
    }

    #[test]
    fn histograms_have_one_series_per_scanner_over_shared_bins() {
        let owned = cases();
        let test: Vec<&Case> = owned.iter().collect();
        let chosen = sample(&test);
        let mut intensities = BTreeMap::new();
        for i in &chosen {
            let intercept = if attribute(test[*i], "StationName") == "RB1" {
                -1000.0
            } else {
                -1024.0
            };
            intensities.insert(*i, intensity(&slice(35.0, false, intercept, None)));
        }
        // One sampled slice could not be read.
        let lost = *chosen.iter().next().expect("a sample");
        intensities.remove(&lost);
        let out = figures(&test, None, chosen.len(), &intensities);
        assert_eq!(out.len(), 4);
        for f in &out[2..] {
            let FigureKind::Histogram { edges, series, .. } = &f.kind else {
                panic!("{} is not a histogram", f.id)
            };
            assert_eq!(edges.len(), BINS + 1);
            assert_eq!((edges[0], edges[BINS]), HU_RANGE);
            let labels: Vec<&str> = series.iter().map(|s| s.label.as_str()).collect();
            assert_eq!(labels, ["RA1", "RB1", "RB2"]);
            assert!(series.iter().all(|s| s.counts.len() == BINS));
            assert!(f.caption.contains("1 sampled slices could not be read"));
        }
        let FigureKind::Histogram { series, .. } = &out[3].kind else {
            panic!("not a histogram")
        };
        assert!(series[1].counts[bin_of(11.0)] > 0 && series[0].counts[bin_of(11.0)] == 0);
    }

    /// End to end on a small generated folder: the grader attaches every figure, reusing the
    /// replay, and the fallback reader bins the same sample; asked for visible figures only or
    /// none, it draws none and grades alike.
    #[test]
    fn the_grader_attaches_the_figures() {
        let dir = tempfile::tempdir().expect("tempdir");
        let params = crate::generate::Params {
            matrix: 200,
            reference_dev: 60,
            reference_test: 36,
            stratum_dev: 40,
            stratum_test: 24,
            causes: ["RESCALE_IGNORED", "HEADER_WINDOW_USED", "KERNEL_NOISE"]
                .map(String::from)
                .to_vec(),
        };
        let key = crate::generate::generate(7, &params, dir.path()).expect("generates");
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../tasks/shift/output.schema.json"))
                .expect("the schema is JSON");
        let sub = tempfile::tempdir().expect("tempdir");
        let report = serde_json::json!({"schema": "shift-report/1", "strata_metrics": [],
            "root_causes": [], "not_causal": [], "pipeline_config": {"modality_lut": "header"}});
        std::fs::write(sub.path().join("report.json"), report.to_string()).expect("writes");
        let grade_with = |shown| {
            crate::grade::grade_submission(&schema, &key, dir.path(), sub.path(), shown)
                .expect("grades")
        };
        let grade = grade_with(Figures::Draw);
        // The grader's figures choice rests on this: a visible figure would be lost to
        // candidates.
        assert!(
            grade
                .figures
                .iter()
                .all(|f| f.visibility == worksample_task::rubric::Visibility::Hidden)
        );
        for shown in [Figures::Visible, Figures::Skip] {
            let text = grade_with(shown);
            assert!(text.figures.is_empty(), "{shown:?}: every figure is hidden");
            assert_eq!(text.criteria, grade.criteria, "{shown:?}: the same grade");
        }
        let ids: Vec<&str> = grade.figures.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "shift-sensitivity",
                "shift-specificity",
                "shift-intensity-header",
                "shift-intensity-p0"
            ]
        );
        let test: Vec<&Case> = key.split(Split::Test).collect();
        let stations: BTreeSet<&str> = test.iter().map(|c| attribute(c, "StationName")).collect();
        let sites: BTreeSet<&str> = test
            .iter()
            .map(|c| attribute(c, "InstitutionName"))
            .collect();
        assert_eq!(
            bars(&grade.figures[0]).len(),
            2 * (sites.len() + stations.len())
        );
        let FigureKind::Histogram { series, .. } = &grade.figures[2].kind else {
            panic!("not a histogram")
        };
        assert_eq!(series.len(), stations.len());
        let chosen = sample(&test);
        let read = read_intensities(&test, &chosen, dir.path());
        assert_eq!(read.len(), chosen.len());
        let again = figures(&test, None, chosen.len(), &read);
        assert_eq!(
            again[2].kind, grade.figures[2].kind,
            "replay and reader agree"
        );
        for f in &grade.figures {
            for cause in Cause::ALL {
                assert!(!serde_json::to_string(f).expect("json").contains(cause.id()));
            }
        }
    }
}

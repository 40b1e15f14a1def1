//! The brief's definitions of spacing, regularity and gap anomalies, applied to a stack whose
//! order is known: the generator derives the key's geometry and flags through these functions,
//! so the key says exactly what brief.md says.
//!
//! Distances are measured along the slice normal n = row × column (PS3.3 C.7.6.2.1.1), never
//! along Slice Location (Clunie: "never use Slice Location"). A gap equals the nominal spacing
//! when it is within 1% of it; the nominal spacing is the modal gap (gaps rounded to 0.01 mm,
//! ties to the smaller); a gantry tilt is a stacking direction more than 1° off the normal.

use std::collections::BTreeMap;

use worksample_dicom::geometry::Vec3;

use crate::output::AnomalyKind;

/// Relative tolerance for "equal" gaps.
pub const GAP_TOLERANCE: f64 = 0.01;

/// Smallest angle between stacking direction and normal that counts as a tilt, degrees.
pub const TILT_THRESHOLD_DEG: f64 = 1.0;

/// What the brief's rules say about one ordered stack.
#[derive(Debug, Clone, PartialEq)]
pub struct StackTruth {
    /// Modal gap along the normal; `None` for one instance.
    pub spacing: Option<f64>,
    /// No gap flag and no tilt.
    pub regular: bool,
    /// missing_slice / irregular_spacing flags as (kind, lower index, upper index).
    pub gap_flags: Vec<(AnomalyKind, usize, usize)>,
    /// The tilt angle when over the threshold.
    pub tilt_deg: Option<f64>,
}

fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// The unit normal row × column of an IOP.
pub fn unit_normal(iop: &[f64; 6]) -> Vec3 {
    let (r, c) = ([iop[0], iop[1], iop[2]], [iop[3], iop[4], iop[5]]);
    let n = [
        r[1] * c[2] - r[2] * c[1],
        r[2] * c[0] - r[0] * c[2],
        r[0] * c[1] - r[1] * c[0],
    ];
    let len = dot(n, n).sqrt();
    if len == 0.0 {
        n
    } else {
        [n[0] / len, n[1] / len, n[2] / len]
    }
}

/// Applies the brief's rules to `positions`, given in ascending order along the normal of `iop`.
pub fn analyse(positions: &[Vec3], iop: &[f64; 6]) -> StackTruth {
    if positions.len() < 2 {
        return StackTruth {
            spacing: None,
            regular: true,
            gap_flags: Vec::new(),
            tilt_deg: None,
        };
    }
    let n = unit_normal(iop);
    let gaps: Vec<f64> = positions
        .windows(2)
        .map(|w| dot(w[1], n) - dot(w[0], n))
        .collect();
    let mut modes: BTreeMap<i64, (usize, f64)> = BTreeMap::new();
    for g in &gaps {
        let e = modes.entry((g * 100.0).round() as i64).or_insert((0, *g));
        e.0 += 1;
    }
    // Highest count; BTreeMap order makes the smaller gap win a tie.
    let nominal = modes
        .values()
        .fold(
            (0usize, 0.0f64),
            |best, &(c, g)| if c > best.0 { (c, g) } else { best },
        )
        .1;
    let same = |a: f64, b: f64| (a - b).abs() <= GAP_TOLERANCE * nominal.abs();
    let mut flags = Vec::new();
    let mut previous_irregular: Option<f64> = None;
    for (i, &g) in gaps.iter().enumerate() {
        if same(g, nominal) {
            previous_irregular = None;
            continue;
        }
        let m = (g / nominal).round();
        if m >= 2.0 && same(g, m * nominal) {
            flags.push((AnomalyKind::MissingSlice, i, i + 1));
            previous_irregular = None;
        } else {
            if !previous_irregular.is_some_and(|p| same(p, g)) {
                flags.push((AnomalyKind::IrregularSpacing, i, i + 1));
            }
            previous_irregular = Some(g);
        }
    }
    let (first, last) = (positions[0], positions[positions.len() - 1]);
    let d = [last[0] - first[0], last[1] - first[1], last[2] - first[2]];
    let len = dot(d, d).sqrt();
    let angle = if len == 0.0 {
        0.0
    } else {
        (dot(d, n).abs() / len).min(1.0).acos().to_degrees()
    };
    let tilt_deg = (angle > TILT_THRESHOLD_DEG).then_some(angle);
    StackTruth {
        spacing: Some(nominal),
        regular: flags.is_empty() && tilt_deg.is_none(),
        gap_flags: flags,
        tilt_deg,
    }
}

/// The brief's `instance_number_not_spatial` rule: every instance has an InstanceNumber and,
/// in spatial order, they are neither strictly increasing nor strictly decreasing.
pub fn numbers_not_spatial(numbers: &[Option<i64>]) -> bool {
    let Some(all) = numbers.iter().copied().collect::<Option<Vec<i64>>>() else {
        return false;
    };
    let up = all.windows(2).all(|w| w[0] < w[1]);
    let down = all.windows(2).all(|w| w[0] > w[1]);
    all.len() >= 2 && !up && !down
}

#[cfg(test)]
mod tests {
    use super::*;

    const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

    fn stack(gaps: &[f64]) -> Vec<Vec3> {
        let mut z = -10.0;
        let mut out = vec![[0.0, 0.0, z]];
        for g in gaps {
            z += g;
            out.push([0.0, 0.0, z]);
        }
        out
    }

    #[test]
    fn regular_missing_and_irregular() {
        let t = analyse(&stack(&[2.5; 5]), &AXIAL);
        assert_eq!(
            (t.spacing, t.regular, t.gap_flags.len()),
            (Some(2.5), true, 0)
        );
        let t = analyse(&stack(&[2.5, 2.5, 5.0, 2.5, 2.5]), &AXIAL);
        assert_eq!(t.gap_flags, vec![(AnomalyKind::MissingSlice, 2, 3)]);
        assert!(!t.regular);
        let t = analyse(&stack(&[2.5, 2.5, 2.5, 2.5, 4.0, 4.0, 4.0]), &AXIAL);
        assert_eq!(t.spacing, Some(2.5));
        assert_eq!(
            t.gap_flags,
            vec![(AnomalyKind::IrregularSpacing, 4, 5)],
            "one flag at the transition"
        );
        assert_eq!(analyse(&stack(&[]), &AXIAL).spacing, None);
    }

    #[test]
    fn tilt_is_the_angle_off_the_normal() {
        let tilt = 20f64.to_radians();
        let iop = [1.0, 0.0, 0.0, 0.0, tilt.cos(), -tilt.sin()];
        let pos: Vec<Vec3> = (0..10)
            .map(|k| [0.0, 0.0, f64::from(k) * 2.0 / tilt.cos()])
            .collect();
        let t = analyse(&pos, &iop);
        assert!((t.tilt_deg.expect("tilted") - 20.0).abs() < 1e-6);
        assert!(
            (t.spacing.expect("spacing") - 2.0).abs() < 1e-9,
            "spacing along the normal: step × cos θ"
        );
        assert!(!t.regular);
    }

    #[test]
    fn numbering_rule() {
        assert!(
            !numbers_not_spatial(&[Some(3), Some(2), Some(1)]),
            "reversed but monotone"
        );
        assert!(numbers_not_spatial(&[Some(1), Some(3), Some(2)]));
        assert!(
            !numbers_not_spatial(&[Some(1), None, Some(2)]),
            "needs every number"
        );
    }
}

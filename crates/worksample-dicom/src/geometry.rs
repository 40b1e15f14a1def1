//! Patient-space geometry of a stack of images: orientation presets, positions, spacing, gantry
//! tilt and Slice Location (PS3.3 C.7.6.2 Image Plane module).
//!
//! Conventions (PS3.3 C.7.6.2.1.1): patient coordinates are LPS in millimetres; Image Orientation
//! (Patient) lists the row direction cosines (direction of increasing column index) first, then the
//! column direction cosines (increasing row index); Image Position (Patient) is the centre of the
//! first transmitted pixel. Pixel Spacing is [between rows, between columns].

/// A 3-vector in patient coordinates (LPS, mm).
pub type Vec3 = [f64; 3];

/// Image Orientation (Patient): unit row and column direction cosines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orientation {
    /// Direction of increasing column index (first IOP triplet).
    pub row: Vec3,
    /// Direction of increasing row index (second IOP triplet).
    pub col: Vec3,
}

/// Why direction cosines were rejected.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OrientationError {
    /// A direction has (near) zero length.
    #[error("image orientation has a zero-length direction")]
    ZeroLength,
    /// Row and column directions are not perpendicular (|dot| above 1e-3 after normalising).
    #[error("image orientation row and column are not perpendicular (dot {dot})")]
    NotPerpendicular {
        /// Their dot product after normalising.
        dot: f64,
    },
}

impl Orientation {
    /// Axial: rows run to patient left (+x), columns to posterior (+y); normal +z (head).
    pub const AXIAL: Orientation = Orientation {
        row: [1.0, 0.0, 0.0],
        col: [0.0, 1.0, 0.0],
    };
    /// Sagittal: rows run posterior (+y), columns to feet (−z); normal −x (towards the patient's right).
    pub const SAGITTAL: Orientation = Orientation {
        row: [0.0, 1.0, 0.0],
        col: [0.0, 0.0, -1.0],
    };
    /// Coronal: rows run to patient left (+x), columns to feet (−z); normal +y (posterior).
    pub const CORONAL: Orientation = Orientation {
        row: [1.0, 0.0, 0.0],
        col: [0.0, 0.0, -1.0],
    };

    /// An axial plane rotated by `degrees` about the patient's left–right (x) axis, as a gantry
    /// tilt or an oblique prescription produces: row (1,0,0), column (0, cos θ, −sin θ).
    pub fn tilted_axial(degrees: f64) -> Orientation {
        let t = degrees.to_radians();
        Orientation {
            row: [1.0, 0.0, 0.0],
            col: [0.0, t.cos(), -t.sin()],
        }
    }

    /// An oblique plane: axial rotated by `about_x` degrees about x, then by `about_z` about z.
    pub fn oblique(about_x: f64, about_z: f64) -> Orientation {
        let base = Orientation::tilted_axial(about_x);
        let (s, c) = about_z.to_radians().sin_cos();
        let rot = |v: Vec3| [c * v[0] - s * v[1], s * v[0] + c * v[1], v[2]];
        Orientation {
            row: rot(base.row),
            col: rot(base.col),
        }
    }

    /// Validates and normalises direction cosines read from a file or given by a task.
    pub fn from_cosines(row: Vec3, col: Vec3) -> Result<Orientation, OrientationError> {
        let (nr, nc) = (norm(row), norm(col));
        if nr < 1e-9 || nc < 1e-9 {
            return Err(OrientationError::ZeroLength);
        }
        let row = scale(row, 1.0 / nr);
        let col = scale(col, 1.0 / nc);
        let dot = dot(row, col);
        if dot.abs() > 1e-3 {
            return Err(OrientationError::NotPerpendicular { dot });
        }
        Ok(Orientation { row, col })
    }

    /// Slice normal n = row × column; stacks are ordered along it.
    pub fn normal(&self) -> Vec3 {
        cross(self.row, self.col)
    }

    /// The six IOP values, rounded to 6 decimals so −0 and 1e-17 never reach a DS string.
    pub fn iop(&self) -> [f64; 6] {
        let r = |v: f64| clean(v, 1e6);
        [
            r(self.row[0]),
            r(self.row[1]),
            r(self.row[2]),
            r(self.col[0]),
            r(self.col[1]),
            r(self.col[2]),
        ]
    }
}

/// What Slice Location (0020,1041) says, for tasks that plant a wrong one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SliceLocationMode {
    /// IPP · normal, the consistent value.
    Consistent,
    /// Not written.
    Absent,
    /// −(IPP · normal): right magnitude, wrong sign.
    Negated,
    /// The same value on every slice.
    Constant(f64),
}

/// A regular stack of `count` parallel images.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolumeGeometry {
    /// Rows (0028,0010).
    pub rows: u16,
    /// Columns (0028,0011).
    pub columns: u16,
    /// Pixel Spacing (0028,0030): [between rows, between columns], mm.
    pub pixel_spacing: [f64; 2],
    /// Distance between adjacent planes measured along the slice normal, mm; Spacing Between
    /// Slices (0018,0088).
    pub slice_spacing: f64,
    /// Slice Thickness (0018,0050), mm.
    pub slice_thickness: f64,
    /// Image Orientation (Patient). With a gantry tilt this is the tilted plane.
    pub orientation: Orientation,
    /// Image Position (Patient) of the first image.
    pub first_position: Vec3,
    /// Gantry/Detector Tilt (0018,1120) in degrees; 0 for none. When non-zero, positions step
    /// along the table (+z) by `slice_spacing / cos(tilt)` while the plane stays tilted.
    pub gantry_tilt_deg: f64,
    /// Number of images.
    pub count: u32,
}

impl VolumeGeometry {
    /// A stack centred on `centre`: the middle of the middle image sits there.
    pub fn centred(
        rows: u16,
        columns: u16,
        pixel_spacing: [f64; 2],
        slice_spacing: f64,
        orientation: Orientation,
        count: u32,
        centre: Vec3,
    ) -> VolumeGeometry {
        let half_cols = (f64::from(columns) - 1.0) / 2.0 * pixel_spacing[1];
        let half_rows = (f64::from(rows) - 1.0) / 2.0 * pixel_spacing[0];
        let half_stack = (f64::from(count.max(1)) - 1.0) / 2.0 * slice_spacing;
        let n = orientation.normal();
        let first = sub(
            sub(
                sub(centre, scale(orientation.row, half_cols)),
                scale(orientation.col, half_rows),
            ),
            scale(n, half_stack),
        );
        VolumeGeometry {
            rows,
            columns,
            pixel_spacing,
            slice_spacing,
            slice_thickness: slice_spacing,
            orientation,
            first_position: first,
            gantry_tilt_deg: 0.0,
            count,
        }
    }

    /// A gantry-tilted axial stack centred on `centre`: the plane is tilted by `tilt_deg` about
    /// x and the table moves along +z between slices.
    pub fn gantry_tilted(
        rows: u16,
        columns: u16,
        pixel_spacing: [f64; 2],
        slice_spacing: f64,
        tilt_deg: f64,
        count: u32,
        centre: Vec3,
    ) -> VolumeGeometry {
        let orientation = Orientation::tilted_axial(tilt_deg);
        let mut g = VolumeGeometry::centred(
            rows,
            columns,
            pixel_spacing,
            slice_spacing,
            orientation,
            1,
            centre,
        );
        g.gantry_tilt_deg = tilt_deg;
        g.count = count;
        let half = (f64::from(count.max(1)) - 1.0) / 2.0;
        g.first_position = sub(g.first_position, scale(g.step(), half));
        g
    }

    /// Displacement from one image position to the next.
    pub fn step(&self) -> Vec3 {
        if self.gantry_tilt_deg == 0.0 {
            scale(self.orientation.normal(), self.slice_spacing)
        } else {
            // The table moves along z; the perpendicular plane distance is step·cos θ.
            let cos = self.gantry_tilt_deg.to_radians().cos();
            [0.0, 0.0, self.slice_spacing / cos]
        }
    }

    /// Image Position (Patient) of image `index` (0-based), rounded to 1e-4 mm.
    pub fn position(&self, index: u32) -> Vec3 {
        let p = add(self.first_position, scale(self.step(), f64::from(index)));
        [clean(p[0], 1e4), clean(p[1], 1e4), clean(p[2], 1e4)]
    }

    /// Slice Location for image `index` under `mode` (`None` when it is not written).
    pub fn slice_location(&self, index: u32, mode: SliceLocationMode) -> Option<f64> {
        let d = clean(dot(self.position(index), self.orientation.normal()), 1e4);
        match mode {
            SliceLocationMode::Consistent => Some(d),
            SliceLocationMode::Absent => None,
            SliceLocationMode::Negated => Some(clean(-d, 1e4)),
            SliceLocationMode::Constant(v) => Some(v),
        }
    }

    /// Patient-space centre of pixel (0,0) of image `index`, and the grid directions, for the
    /// pixel renderer.
    pub fn sampling_grid(&self, index: u32) -> crate::pixel::SamplingGrid {
        crate::pixel::SamplingGrid {
            rows: self.rows,
            columns: self.columns,
            origin: self.position(index),
            row_dir: self.orientation.row,
            col_dir: self.orientation.col,
            spacing: self.pixel_spacing,
        }
    }
}

/// Formats a decimal string value (DS, PS3.5 Table 6.2-1): at most 16 characters, no exponent for
/// the magnitudes we write, trailing zeros trimmed.
pub fn ds(value: f64) -> String {
    // six_decimals never signs a value that rounds to zero; the formatter's path clears −0.
    six_decimals(value)
        .filter(|s| s.len() <= 16)
        .unwrap_or_else(|| ds_by_formatter(value))
}

/// [`ds`] through the formatter: six decimals, then fewer until the text fits.
fn ds_by_formatter(value: f64) -> String {
    let v = if value == 0.0 { 0.0 } else { value };
    for decimals in (0..=6).rev() {
        let mut s = format!("{v:.decimals$}");
        if s.contains('.') {
            while s.ends_with('0') {
                s.pop();
            }
            if s.ends_with('.') {
                s.pop();
            }
        }
        if s == "-0" {
            s = "0".to_owned();
        }
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{v:.0}")
}

/// `v` rounded to six decimals and trimmed as [`ds`] writes it, worked out exactly in integers:
/// the same text as `format!("{v:.6}")` trimmed (the correctly rounded decimal, ties to even),
/// without the formatter's general exact-digit search, which was a tenth of a series
/// generation's time (every position, orientation and spacing is a DS). `None` for a value
/// too large for this path or not finite.
fn six_decimals(v: f64) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    // v = mantissa × 2^exponent exactly (IEEE 754 binary64; subnormals have no implicit bit).
    let (mantissa, exponent) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | (1 << 52), biased - 1075),
    };
    // mantissa × 10^6 < 2^73, so the product and any shift below stay inside 128 bits.
    let scaled = u128::from(mantissa) * 1_000_000;
    let units = if exponent >= 0 {
        if exponent > 50 {
            return None;
        }
        scaled << exponent
    } else {
        let k = exponent.unsigned_abs();
        if k > 100 {
            // Below 2^-48 in magnitude: rounds to zero at six decimals, and cannot be a tie.
            0
        } else {
            let q = scaled >> k;
            let rest = scaled - (q << k);
            let half = 1u128 << (k - 1);
            if rest > half || (rest == half && q & 1 == 1) {
                q + 1
            } else {
                q
            }
        }
    };
    // Beyond 2^64 millionths (about 1.8e13) the formatter's path serves; digits are written
    // right to left into a buffer, the sign last.
    let units = u64::try_from(units).ok()?;
    let (mut whole, mut decimals) = (units / 1_000_000, units % 1_000_000);
    let mut buf = [0u8; 32];
    let mut at = buf.len();
    let mut put = |b: u8| {
        at -= 1;
        buf[at] = b;
    };
    if decimals != 0 {
        let mut width = 6;
        while decimals % 10 == 0 {
            decimals /= 10;
            width -= 1;
        }
        for _ in 0..width {
            put(b'0' + (decimals % 10) as u8);
            decimals /= 10;
        }
        put(b'.');
    }
    loop {
        put(b'0' + (whole % 10) as u8);
        whole /= 10;
        if whole == 0 {
            break;
        }
    }
    // A value that rounds to zero prints as "0", never "-0".
    if v.is_sign_negative() && units != 0 {
        put(b'-');
    }
    std::str::from_utf8(&buf[at..]).ok().map(str::to_owned)
}

fn clean(v: f64, factor: f64) -> f64 {
    let r = (v * factor).round() / factor;
    if r == 0.0 { 0.0 } else { r }
}
fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}
fn scale(a: Vec3, k: f64) -> Vec3 {
    [a[0] * k, a[1] * k, a[2] * k]
}
fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ds_writes_what_the_formatter_writes() {
        use rand::{Rng, SeedableRng};
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        // Exact ties at the sixth decimal (k / 2^m with the seventh digit a 5 and nothing after),
        // both parities, signs, subnormals, the largest finite values and zeros.
        let mut values = vec![
            0.0,
            -0.0,
            0.5e-6,
            1.5e-6,
            2.5e-6,
            -2.5e-6,
            0.0000005,
            0.1234565,
            1.0 / 64.0,
            -3.0 / 128.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE / 8.0,
            f64::MAX,
            f64::MIN,
            1e15,
            -1e15,
            9_999_999_999.999_998,
            123_456_789.012_345_67,
        ];
        for m in 1..=30 {
            for k in 0..64u32 {
                values.push(f64::from(k) / f64::from(1u32 << (m % 31)));
            }
        }
        for _ in 0..40_000 {
            let magnitude = 10f64.powi(r.random_range(-12..13));
            let v: f64 = r.random_range(-1.0..1.0) * magnitude;
            values.push(v);
            // Values on a grid finer than the sixth decimal, as geometry arithmetic makes them.
            values.push((v * 1e7).round() / 1e7);
            values.push(f64::from_bits(r.random()));
        }
        for v in values {
            if v.is_finite() {
                assert_eq!(ds(v), ds_by_formatter(v), "{v:e} ({:#x})", v.to_bits());
            }
        }
    }

    #[test]
    fn preset_normals() {
        assert_eq!(Orientation::AXIAL.normal(), [0.0, 0.0, 1.0]);
        assert_eq!(Orientation::SAGITTAL.normal(), [-1.0, 0.0, 0.0]);
        assert_eq!(Orientation::CORONAL.normal(), [0.0, 1.0, 0.0]);
    }

    #[test]
    fn centred_stack_is_centred_and_ascends_along_normal() {
        let g = VolumeGeometry::centred(
            4,
            6,
            [0.5, 0.5],
            2.0,
            Orientation::AXIAL,
            3,
            [0.0, 0.0, 10.0],
        );
        assert_eq!(g.position(0), [-1.25, -0.75, 8.0]);
        assert_eq!(g.position(2), [-1.25, -0.75, 12.0]);
        assert_eq!(
            g.slice_location(1, SliceLocationMode::Consistent),
            Some(10.0)
        );
        assert_eq!(g.slice_location(1, SliceLocationMode::Negated), Some(-10.0));
        assert_eq!(g.slice_location(1, SliceLocationMode::Absent), None);
    }

    #[test]
    fn gantry_tilt_steps_along_table_with_perpendicular_spacing() {
        let g = VolumeGeometry::gantry_tilted(8, 8, [1.0, 1.0], 2.5, 20.0, 5, [0.0, 0.0, 0.0]);
        let (a, b) = (g.position(0), g.position(1));
        assert_eq!((a[0], a[1]), (b[0], b[1]));
        let along_normal = dot(sub(b, a), g.orientation.normal());
        assert!((along_normal - 2.5).abs() < 1e-3, "{along_normal}");
        assert_eq!(
            g.orientation.iop()[5],
            clean(-(20.0f64.to_radians().sin()), 1e6)
        );
    }

    #[test]
    fn from_cosines_normalises_and_rejects() {
        let o = Orientation::from_cosines([2.0, 0.0, 0.0], [0.0, 3.0, 0.0]).expect("orthogonal");
        assert_eq!(o, Orientation::AXIAL);
        assert_eq!(
            Orientation::from_cosines([0.0; 3], [0.0, 1.0, 0.0]),
            Err(OrientationError::ZeroLength)
        );
        assert!(matches!(
            Orientation::from_cosines([1.0, 0.0, 0.0], [1.0, 1.0, 0.0]),
            Err(OrientationError::NotPerpendicular { .. })
        ));
        let ob = Orientation::oblique(15.0, 10.0);
        assert!(dot(ob.row, ob.col).abs() < 1e-12);
    }

    #[test]
    fn ds_strings_fit_sixteen_chars() {
        assert_eq!(ds(-125.0), "-125");
        assert_eq!(ds(0.48828125), "0.488281");
        assert_eq!(ds(-0.0), "0");
        assert!(ds(-123456789.123456).len() <= 16);
    }
}

//! Pixel data: analytic phantoms, stored-value conventions, noise and burned-in text.
//!
//! A slice is rendered by evaluating a 3D phantom ([`Phantom`]) at each pixel's patient-space
//! centre ([`SamplingGrid`]), so differently oriented series of the same patient agree where they
//! cross. Modality values (HU, MR units, detector units) get kernel noise ([`Noise`]), then become
//! stored values under a vendor convention ([`StoredValues`]): rescale, signedness, Bits Stored
//! clamping, Pixel Padding Value outside the reconstruction circle and MONOCHROME1 inversion.
//! Everything random comes from the rng passed in.

mod noise;
mod phantom;
mod stored;
mod text;

use rand::Rng;
use sha2::{Digest, Sha256};

pub use noise::{CtKernel, Noise};
pub use phantom::{Lesion, MrWeighting, Phantom};
pub use stored::{Photometric, StoredValues};
pub use text::{BurnedInText, MaskRect, burn_in};

/// Where the pixels of one image sit in patient space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingGrid {
    /// Rows (0028,0010).
    pub rows: u16,
    /// Columns (0028,0011).
    pub columns: u16,
    /// Centre of pixel (0,0), mm, patient coordinates (LPS): Image Position (Patient).
    pub origin: [f64; 3],
    /// Unit vector along a row (increasing column index): first triplet of Image Orientation
    /// (Patient) (PS3.3 C.7.6.2.1.1).
    pub row_dir: [f64; 3],
    /// Unit vector down a column (increasing row index): second triplet.
    pub col_dir: [f64; 3],
    /// Pixel Spacing (0028,0030): [between rows (vertical), between columns (horizontal)], mm.
    pub spacing: [f64; 2],
}

impl SamplingGrid {
    /// Patient-space centre of pixel (`row`, `col`), by the PS3.3 C.7.6.2.1.1 equation:
    /// `origin + col × Δc × row_dir + row × Δr × col_dir`.
    pub fn position(&self, row: u16, col: u16) -> [f64; 3] {
        let (i, j) = (
            f64::from(col) * self.spacing[1],
            f64::from(row) * self.spacing[0],
        );
        [0, 1, 2].map(|k| self.origin[k] + i * self.row_dir[k] + j * self.col_dir[k])
    }
}

/// Stored pixel values, in the integer type Bits Allocated and Pixel Representation call for.
#[derive(Debug, Clone, PartialEq)]
pub enum PixelValues {
    /// Bits Allocated 8 (a signed 8-bit value keeps its two's-complement bit pattern).
    U8(Vec<u8>),
    /// Bits Allocated 16, unsigned.
    U16(Vec<u16>),
    /// Bits Allocated 16, two's complement (sign-extended above High Bit).
    I16(Vec<i16>),
}

/// One image's stored pixels (frames × rows × columns, row-major) and how to read them.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelData {
    /// Rows (0028,0010).
    pub rows: u16,
    /// Columns (0028,0011).
    pub columns: u16,
    /// Number of Frames (0028,0008).
    pub frames: u32,
    /// The values.
    pub values: PixelValues,
    /// What the values mean.
    pub stored: StoredValues,
}

impl PixelData {
    /// Native little-endian Pixel Data bytes (PS3.5 §8.1.1, Annex D): 8-bit samples one byte
    /// each, 16-bit samples two bytes, low byte first.
    pub fn le_bytes(&self) -> Vec<u8> {
        match &self.values {
            PixelValues::U8(v) => v.clone(),
            PixelValues::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            PixelValues::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// Lowercase hex SHA-256 of [`PixelData::le_bytes`]: what a decoder must reproduce.
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(self.le_bytes()))
    }

    /// Stored value at (`frame`, `row`, `col`), sign-interpreted; `None` outside the image.
    pub fn get(&self, frame: u32, row: u16, col: u16) -> Option<i32> {
        if frame >= self.frames || row >= self.rows || col >= self.columns {
            return None;
        }
        let (rows, columns) = (usize::from(self.rows), usize::from(self.columns));
        let i = (frame as usize * rows + usize::from(row)) * columns + usize::from(col);
        match &self.values {
            PixelValues::U8(v) => v.get(i).map(|&x| {
                if self.stored.pixel_representation == 1 {
                    i32::from(x as i8)
                } else {
                    i32::from(x)
                }
            }),
            PixelValues::U16(v) => v.get(i).map(|&x| i32::from(x)),
            PixelValues::I16(v) => v.get(i).map(|&x| i32::from(x)),
        }
    }
}

/// Renders one cross-sectional image of `phantom` on `grid`.
///
/// When `stored.padding_value` is set, pixels outside the circular reconstruction field of view
/// (diameter = the smaller image side, centred) hold the padding value and no native pixel equals
/// it (PS3.3 C.7.5.1.1.2). The chest radiograph, a projection, is sampled at each pixel's
/// left–right and superior–inferior coordinates.
pub fn render_slice(
    phantom: &Phantom,
    grid: &SamplingGrid,
    stored: &StoredValues,
    noise: Noise,
    rng: &mut impl Rng,
) -> PixelData {
    render(phantom, grid, stored, noise, rng, true)
}

/// Renders a PA projection image `rows` × `columns` with `spacing` (row, column) mm, centred on
/// the patient: the chest radiograph as such; a volumetric phantom (head, flat) as its
/// mid-coronal section. No padding circle: projections have no reconstruction field of view.
pub fn render_projection(
    phantom: &Phantom,
    rows: u16,
    columns: u16,
    spacing: [f64; 2],
    stored: &StoredValues,
    noise: Noise,
    rng: &mut impl Rng,
) -> PixelData {
    // PA: patient left (+x) on the image right, superior (+z) at the top.
    let half = |n: u16, s: f64| (f64::from(n) - 1.0).max(0.0) / 2.0 * s;
    let grid = SamplingGrid {
        rows,
        columns,
        origin: [-half(columns, spacing[1]), 0.0, half(rows, spacing[0])],
        row_dir: [1.0, 0.0, 0.0],
        col_dir: [0.0, 0.0, -1.0],
        spacing,
    };
    render(phantom, &grid, stored, noise, rng, false)
}

fn render(
    phantom: &Phantom,
    grid: &SamplingGrid,
    stored: &StoredValues,
    noise: Noise,
    rng: &mut impl Rng,
    circular_fov: bool,
) -> PixelData {
    let job = Job {
        phantom,
        grid,
        stored,
        noise,
        circular_fov,
    };
    // The buffer type follows Bits Allocated and Pixel Representation (PS3.5 §8.1.1); values are
    // already inside the Bits Stored range, so the narrowing casts keep them (a signed 8-bit value
    // keeps its two's-complement pattern).
    let values = if stored.bits_allocated <= 8 {
        PixelValues::U8(job.render_into(rng, |v| v as u8))
    } else if stored.pixel_representation == 1 {
        PixelValues::I16(job.render_into(rng, |v| v as i16))
    } else {
        PixelValues::U16(job.render_into(rng, |v| v as u16))
    };
    PixelData {
        rows: grid.rows,
        columns: grid.columns,
        frames: 1,
        values,
        stored: *stored,
    }
}

/// One image to render.
struct Job<'a> {
    phantom: &'a Phantom,
    grid: &'a SamplingGrid,
    stored: &'a StoredValues,
    noise: Noise,
    circular_fov: bool,
}

impl Job<'_> {
    /// The render pipeline, one row at a time: phantom samples for three rows (the unsharp
    /// mask's neighbourhood) in a ring, then sharpening, inversion, noise, inverse rescale and
    /// padding straight into the output buffer. Scratch memory is four rows, so a slice costs one
    /// allocation besides its output and stays in cache.
    fn render_into<T>(&self, rng: &mut impl Rng, narrow: impl Fn(i32) -> T) -> Vec<T> {
        let Job {
            phantom,
            grid,
            stored,
            noise,
            circular_fov,
        } = *self;
        let (rows, columns) = (usize::from(grid.rows), usize::from(grid.columns));
        let mut out = Vec::with_capacity(rows * columns);
        if rows == 0 || columns == 0 {
            return out;
        }
        let (lo, hi) = stored.modality_range();
        let (slo, shi) = stored.stored_range();
        let padding = if circular_fov {
            stored.padding_value.map(|p| p.clamp(slo, shi))
        } else {
            None
        };
        // Reconstruction circle in pixel-centre coordinates relative to the image centre.
        let (cr, cc) = ((rows as f64 - 1.0) / 2.0, (columns as f64 - 1.0) / 2.0);
        let radius = (rows as f64 * grid.spacing[0]).min(columns as f64 * grid.spacing[1]) / 2.0;
        let (sigma, gain) = (noise.sigma(), noise.edge_gain());
        let mut normal = noise::Normal::new();
        let quantizer = stored.quantizer();
        let invert = match stored.photometric {
            // MONOCHROME1 displays high values dark (PS3.3 C.7.6.3.1.2): mirror the modality range
            // so the image looks the same once displayed.
            Photometric::Monochrome1 => true,
            Photometric::Monochrome2 => false,
        };

        // ring[k % 3] holds row k's modality values.
        let mut scratch = vec![0.0_f64; 4 * columns];
        let (ring, sharp) = scratch.split_at_mut(3 * columns);
        sample_row(phantom, grid, 0, lo, hi, &mut ring[..columns]);
        if rows > 1 {
            sample_row(phantom, grid, 1, lo, hi, &mut ring[columns..2 * columns]);
        }
        for r in 0..rows {
            if r >= 1 && r + 1 < rows {
                let slot = (r + 1) % 3;
                sample_row(
                    phantom,
                    grid,
                    r + 1,
                    lo,
                    hi,
                    &mut ring[slot * columns..(slot + 1) * columns],
                );
            }
            let row_of = |k: usize| &ring[(k % 3) * columns..(k % 3 + 1) * columns];
            let (prev, cur, next) = (
                row_of(r.saturating_sub(1)),
                row_of(r),
                row_of((r + 1).min(rows - 1)),
            );
            let values: &[f64] = if gain == 0.0 {
                cur
            } else {
                noise::sharpen_row(prev, cur, next, gain, sharp);
                sharp
            };
            let dy = (r as f64 - cr) * grid.spacing[0];
            for (c, &v) in values.iter().enumerate() {
                if let Some(pad) = padding {
                    let dx = (c as f64 - cc) * grid.spacing[1];
                    if dx * dx + dy * dy > radius * radius {
                        out.push(narrow(pad));
                        continue;
                    }
                }
                let mut v = if invert { lo + hi - v } else { v };
                if sigma > 0.0 {
                    v += sigma * normal.sample(rng);
                }
                let mut s = quantizer.quantize(v);
                if padding == Some(s) {
                    s = if s < shi { s + 1 } else { s - 1 };
                }
                out.push(narrow(s));
            }
        }
        out
    }
}

/// Evaluates the phantom at the pixel centres of row `r` of `grid`: a row start and a column
/// step, no per-pixel matrix product. The match on the phantom is per row, the inner loop
/// monomorphised per kind. Fractional phantoms (the radiograph) are scaled to `lo..hi`.
fn sample_row(phantom: &Phantom, grid: &SamplingGrid, r: usize, lo: f64, hi: f64, out: &mut [f64]) {
    fn fill(grid: &SamplingGrid, r: usize, out: &mut [f64], f: impl Fn([f64; 3]) -> f64) {
        let start = grid.position(u16::try_from(r).unwrap_or(u16::MAX), 0);
        let step = grid.row_dir.map(|d| d * grid.spacing[1]);
        for (c, o) in out.iter_mut().enumerate() {
            let cf = c as f64;
            *o = f([0, 1, 2].map(|k| start[k] + cf * step[k]));
        }
    }
    match *phantom {
        Phantom::HeadCt { lesion } => fill(grid, r, out, |p| phantom::head_ct(p, lesion)),
        Phantom::MrBrain { weighting } => fill(grid, r, out, |p| phantom::mr_brain(p, weighting)),
        Phantom::ChestRadiograph => fill(grid, r, out, |p| lo + phantom::chest_at(p) * (hi - lo)),
        Phantom::Flat { value } => out.fill(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn axial(z: f64, n: u16, px: f64) -> SamplingGrid {
        let half = (f64::from(n) - 1.0) / 2.0 * px;
        SamplingGrid {
            rows: n,
            columns: n,
            origin: [-half, -half, z],
            row_dir: [1.0, 0.0, 0.0],
            col_dir: [0.0, 1.0, 0.0],
            spacing: [px, px],
        }
    }

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    fn head() -> Phantom {
        Phantom::HeadCt { lesion: None }
    }

    #[test]
    fn position_follows_the_image_plane_equation() {
        let g = SamplingGrid {
            rows: 4,
            columns: 4,
            origin: [10.0, 20.0, 30.0],
            row_dir: [0.0, 1.0, 0.0],
            col_dir: [0.0, 0.0, -1.0],
            spacing: [2.0, 0.5],
        };
        assert_eq!(g.position(0, 0), [10.0, 20.0, 30.0]);
        // Columns step along row_dir by the column spacing, rows along col_dir by the row spacing.
        assert_eq!(g.position(3, 2), [10.0, 21.0, 24.0]);
    }

    #[test]
    fn rendered_head_ct_reads_air_bone_and_csf_in_hu() {
        let stored = StoredValues::ct_unsigned_12();
        // 1 mm pixels, pixel centres on odd half-millimetres: (0,0) sits at (-127.5, -127.5).
        let px = render_slice(
            &head(),
            &axial(16.0, 256, 1.0),
            &stored,
            Noise::None,
            &mut rng(1),
        );
        let hu = |x: f64, y: f64| {
            let (c, r) = ((x + 127.5) as u16, (y + 127.5) as u16);
            stored.to_modality(px.get(0, r, c).expect("inside the image"))
        };
        assert_eq!(hu(-120.5, 0.5), -1000.0);
        assert_eq!(hu(-8.5, 4.5), 5.0);
        // The skull along the left–right line: the first bone is a few mm inside the surface.
        let line: Vec<f64> = (0..60).map(|i| hu(-74.5 + f64::from(i), 0.5)).collect();
        assert!(line.contains(&1400.0), "{line:?}");
        assert!(line[40..].iter().all(|v| *v < 100.0), "{line:?}");
    }

    #[test]
    fn sagittal_and_axial_grids_agree_where_they_cross() {
        let stored = StoredValues::ct_unsigned_12();
        // Axial at z = 16 and sagittal at x = -8.5 (through a lateral ventricle) share the line
        // x = -8.5, z = 16: axial column 120, sagittal row 112.
        let ax = SamplingGrid {
            rows: 256,
            columns: 256,
            origin: [-128.5, -128.0, 16.0],
            row_dir: [1.0, 0.0, 0.0],
            col_dir: [0.0, 1.0, 0.0],
            spacing: [1.0, 1.0],
        };
        let sag = SamplingGrid {
            rows: 256,
            columns: 256,
            origin: [-8.5, -128.0, 128.0],
            row_dir: [0.0, 1.0, 0.0],
            col_dir: [0.0, 0.0, -1.0],
            spacing: [1.0, 1.0],
        };
        assert_eq!(ax.position(10, 120), sag.position(112, 10));
        let a = render_slice(&head(), &ax, &stored, Noise::None, &mut rng(1));
        let s = render_slice(&head(), &sag, &stored, Noise::None, &mut rng(2));
        let on_axial: Vec<_> = (0..256).map(|k| a.get(0, k, 120)).collect();
        let on_sagittal: Vec<_> = (0..256).map(|k| s.get(0, 112, k)).collect();
        assert_eq!(on_axial, on_sagittal);
        // The line crosses air, bone and a ventricle, so agreement is not trivially flat.
        for hu in [-1000.0, 1400.0, 5.0] {
            assert!(on_axial.contains(&Some(stored.to_stored(hu))), "{hu}");
        }
    }

    #[test]
    fn padding_fills_outside_the_reconstruction_circle_and_nowhere_else() {
        let stored = StoredValues::ct_signed_16_intercept_1024();
        let px = render_slice(
            &head(),
            &axial(0.0, 64, 4.0),
            &stored,
            Noise::for_kernel(CtKernel::Bone),
            &mut rng(3),
        );
        assert_eq!(px.get(0, 0, 0), Some(-2000));
        assert_eq!(px.get(0, 63, 63), Some(-2000));
        // Inside the circle but outside the head: air with noise, never the padding value.
        let PixelValues::I16(values) = &px.values else {
            panic!("signed 16-bit CT is stored as i16");
        };
        let padded = values.iter().filter(|v| **v == -2000).count();
        // 64² pixels minus a 64-pixel-diameter disc: about 21.5 % of them.
        assert!((800..960).contains(&padded), "{padded}");
        assert!(px.get(0, 32, 1).is_some_and(|v| v != -2000 && v < 200));
    }

    #[test]
    fn sharp_kernels_overshoot_at_the_skull_and_soft_ones_do_not() {
        let stored = StoredValues::ct_unsigned_12();
        let grid = axial(20.0, 128, 2.0);
        let max_hu = |edge_gain| {
            let noise = Noise::Kernel {
                sigma: 0.0,
                edge_gain,
            };
            let px = render_slice(&head(), &grid, &stored, noise, &mut rng(0));
            let PixelValues::U16(v) = px.values else {
                panic!("unsigned 12-bit CT is stored as u16");
            };
            stored.to_modality(v.iter().copied().max().map_or(0, i32::from))
        };
        assert_eq!(max_hu(0.0), 1400.0);
        assert!(max_hu(0.8) > 1500.0);
    }

    #[test]
    fn same_rng_seed_same_noise_other_seed_other_noise() {
        let stored = StoredValues::mr_unsigned(12);
        let phantom = Phantom::MrBrain {
            weighting: MrWeighting::T2,
        };
        let grid = axial(10.0, 32, 7.0);
        let noise = Noise::Gaussian { sigma: 8.0 };
        let a = render_slice(&phantom, &grid, &stored, noise, &mut rng(5));
        let b = render_slice(&phantom, &grid, &stored, noise, &mut rng(5));
        let c = render_slice(&phantom, &grid, &stored, noise, &mut rng(6));
        assert_eq!(a, b);
        assert_ne!(a.values, c.values);
    }

    #[test]
    fn monochrome1_mirrors_monochrome2_over_the_stored_range() {
        let mono2 = StoredValues::dx(12, Photometric::Monochrome2);
        let mono1 = StoredValues::dx(12, Photometric::Monochrome1);
        let render = |sv: &StoredValues| {
            render_projection(
                &Phantom::ChestRadiograph,
                48,
                40,
                [9.0, 9.0],
                sv,
                Noise::None,
                &mut rng(0),
            )
        };
        let (a, b) = (render(&mono2), render(&mono1));
        let mut distinct = std::collections::BTreeSet::new();
        for r in 0..48 {
            for c in 0..40 {
                let (x, y) = (a.get(0, r, c).unwrap_or(-1), b.get(0, r, c).unwrap_or(-1));
                assert_eq!(x + y, 4095, "({r}, {c})");
                distinct.insert(x);
            }
        }
        assert!(distinct.len() > 20, "{}", distinct.len());
    }

    #[test]
    fn chest_projection_is_dark_in_the_lungs_and_bright_at_the_spine() {
        let sv = StoredValues::dx(14, Photometric::Monochrome2);
        let px = render_projection(
            &Phantom::ChestRadiograph,
            430,
            430,
            [1.0, 1.0],
            &sv,
            Noise::None,
            &mut rng(0),
        );
        let at = |u: f64, v: f64| {
            px.get(0, (v + 214.5) as u16, (u + 214.5) as u16)
                .unwrap_or(-1)
        };
        assert!(at(-85.0, -20.0) < at(0.0, -60.0));
        assert!(at(85.0, -20.0) < at(0.0, -60.0));
    }

    #[test]
    fn projection_is_a_centred_pa_coronal_grid() {
        let sv = StoredValues::dx(12, Photometric::Monochrome2);
        let projection = render_projection(
            &Phantom::ChestRadiograph,
            9,
            7,
            [50.0, 60.0],
            &sv,
            Noise::None,
            &mut rng(0),
        );
        // Same pixels from render_slice on the PA grid: patient left to the image right,
        // superior at the top, pixel (0,0) at (−180, y, +200).
        let grid = SamplingGrid {
            rows: 9,
            columns: 7,
            origin: [-180.0, 55.0, 200.0],
            row_dir: [1.0, 0.0, 0.0],
            col_dir: [0.0, 0.0, -1.0],
            spacing: [50.0, 60.0],
        };
        let slice = render_slice(
            &Phantom::ChestRadiograph,
            &grid,
            &sv,
            Noise::None,
            &mut rng(0),
        );
        assert_eq!(projection, slice);
    }

    #[test]
    fn eight_bit_signed_and_unsigned_buffers_read_back() {
        let mut sv = StoredValues::dx(8, Photometric::Monochrome2);
        let flat = |sv: &StoredValues, value| {
            render_slice(
                &Phantom::Flat { value },
                &axial(0.0, 2, 1.0),
                sv,
                Noise::None,
                &mut rng(0),
            )
        };
        let px = flat(&sv, 300.0);
        assert_eq!(px.get(0, 1, 1), Some(255));
        assert_eq!(px.get(1, 0, 0), None);
        sv.pixel_representation = 1;
        let px = flat(&sv, -100.0);
        assert_eq!(px.le_bytes(), vec![0x9C; 4]);
        assert_eq!(px.get(0, 0, 0), Some(-100));
    }

    #[test]
    fn le_bytes_and_sha256_are_stable() {
        let px = PixelData {
            rows: 4,
            columns: 4,
            frames: 1,
            values: PixelValues::I16((0..16).map(|i| i * 300 - 2000).collect()),
            stored: StoredValues::ct_signed_16(),
        };
        let bytes = px.le_bytes();
        assert_eq!(&bytes[..4], &[0x30, 0xF8, 0x5C, 0xF9]);
        // Cross-checked with Python: hashlib.sha256(struct.pack("<16h", ...)).
        insta::assert_snapshot!(px.sha256_hex(), @"98650cad40196dee070a6959b054923a83ac3b962ac3e5bba087e9292f9be0aa");
    }
}

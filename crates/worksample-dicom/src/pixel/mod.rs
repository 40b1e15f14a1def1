//! Pixel data: analytic phantoms, stored-value conventions, noise and burned-in text.
//!
//! A slice is rendered by evaluating a 3D phantom ([`Phantom`]) at each pixel's patient-space
//! centre ([`SamplingGrid`]), so differently oriented series of the same patient agree where they
//! cross. Modality values (HU, MR units, detector units) get kernel noise ([`Noise`]), then become
//! stored values under a vendor convention ([`StoredValues`]): rescale, signedness, Bits Stored
//! clamping, Pixel Padding Value outside the reconstruction circle and MONOCHROME1 inversion.
//! Everything random comes from the rng passed in.
//!
//! Speed (a 300-slice 512×512 series is generated in well under a second): the head is painted
//! row by row as runs of constant tissue (its layers and structures are ellipsoids, so each row
//! crosses each at two analytic points, settled exactly with the per-point predicates), noise is
//! added from a fixed tile at one rng draw per row, and the per-pixel arithmetic is branch-free
//! loops the compiler vectorises (clamps as selects, rounding by adds and integer selects, one
//! loop per photometric, padding and sign case); pixels outside the reconstruction circle are
//! only filled, never sharpened.

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
    /// Length of the native Pixel Data value before padding, bytes: one per 8-bit sample, two
    /// per 16-bit one (PS3.5 §8.1.1).
    pub fn byte_len(&self) -> usize {
        match &self.values {
            PixelValues::U8(v) => v.len(),
            PixelValues::U16(v) => 2 * v.len(),
            PixelValues::I16(v) => 2 * v.len(),
        }
    }

    /// Native little-endian Pixel Data bytes (PS3.5 §8.1.1, Annex D): 8-bit samples one byte
    /// each, 16-bit samples two bytes, low byte first.
    pub fn le_bytes(&self) -> Vec<u8> {
        // Into a zeroed buffer two bytes at a time: a loop the compiler turns into a copy, where
        // collecting a `flat_map` went byte by byte (3 % of a 512×512 synth profile).
        fn words<const N: usize, T: Copy>(v: &[T], bytes: impl Fn(T) -> [u8; N]) -> Vec<u8> {
            let mut out = vec![0u8; v.len() * N];
            for (o, x) in out.chunks_exact_mut(N).zip(v) {
                o.copy_from_slice(&bytes(*x));
            }
            out
        }
        match &self.values {
            PixelValues::U8(v) => v.clone(),
            PixelValues::U16(v) => words(v, u16::to_le_bytes),
            PixelValues::I16(v) => words(v, i16::to_le_bytes),
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
    let job = Job::new(phantom, grid, stored, noise, rng, circular_fov);
    // The buffer type follows Bits Allocated and Pixel Representation (PS3.5 §8.1.1); values are
    // already inside the Bits Stored range, so the narrowing casts keep them (a signed 8-bit value
    // keeps its two's-complement pattern).
    let parallel = usize::from(grid.rows) * usize::from(grid.columns) >= PARALLEL_PIXELS;
    let values = if stored.bits_allocated <= 8 {
        PixelValues::U8(job.render_into(parallel, |v| v as u8))
    } else if stored.pixel_representation == 1 {
        PixelValues::I16(job.render_into(parallel, |v| v as i16))
    } else {
        PixelValues::U16(job.render_into(parallel, |v| v as u16))
    };
    PixelData {
        rows: grid.rows,
        columns: grid.columns,
        frames: 1,
        values,
        stored: *stored,
    }
}

/// Whether the CPU has the AVX-512 subsets the renderer's widest build uses.
#[cfg(target_arch = "x86_64")]
fn avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vl")
}

/// Images at least this many pixels render their rows on several threads (radiographs); smaller
/// ones are already one task among many in a series and would only pay the splitting.
const PARALLEL_PIXELS: usize = 1 << 20;
/// Rows per parallel chunk: each chunk re-samples the two rows around it for the unsharp mask.
const CHUNK_ROWS: usize = 64;

/// One image to render, with everything random already drawn, so rows can be rendered in any
/// order or in parallel with identical output.
struct Job<'a> {
    phantom: &'a Phantom,
    grid: &'a SamplingGrid,
    /// Modality range of the stored range, lowest first.
    range: (f64, f64),
    /// Inverse rescale and Bits Stored clamp.
    quantizer: stored::RowQuantizer,
    /// Pixel Padding Value, clamped to the stored range, when the circle applies.
    padding: Option<i32>,
    /// Largest stored value, for moving a native pixel off the padding value.
    stored_max: i32,
    /// MONOCHROME1 displays high values dark (PS3.3 C.7.6.3.1.2): the modality range is mirrored
    /// (`a + b × v` with b = −1) so the image looks the same once displayed. `None` for
    /// MONOCHROME2.
    mirror: Option<(f32, f32)>,
    sigma: f32,
    gain: f32,
    /// Per row: where its noise starts in the tile.
    offsets: Vec<u32>,
    /// The head's inner structures this image's plane meets.
    overlays: phantom::Overlays,
}

impl<'a> Job<'a> {
    fn new(
        phantom: &'a Phantom,
        grid: &'a SamplingGrid,
        stored: &StoredValues,
        noise: Noise,
        rng: &mut impl Rng,
        circular_fov: bool,
    ) -> Self {
        let (lo, hi) = stored.modality_range();
        let (slo, shi) = stored.stored_range();
        let sigma = noise.sigma();
        let offsets = if sigma > 0.0 {
            let mask = (noise::TILE_LEN - 1) as u32;
            (0..grid.rows).map(|_| rng.next_u32() & mask).collect()
        } else {
            Vec::new()
        };
        Job {
            phantom,
            grid,
            range: (lo, hi),
            quantizer: stored.quantizer().into(),
            padding: circular_fov
                .then_some(stored.padding_value)
                .flatten()
                .map(|p| p.clamp(slo, shi)),
            stored_max: shi,
            mirror: match stored.photometric {
                Photometric::Monochrome1 => Some(((lo + hi) as f32, -1.0)),
                Photometric::Monochrome2 => None,
            },
            sigma: sigma as f32,
            gain: noise.edge_gain() as f32,
            offsets,
            overlays: {
                let (u, v) = (grid.row_dir, grid.col_dir);
                let normal = [
                    u[1] * v[2] - u[2] * v[1],
                    u[2] * v[0] - u[0] * v[2],
                    u[0] * v[1] - u[1] * v[0],
                ];
                phantom::Overlays::meeting_plane(grid.origin, normal)
            },
        }
    }

    /// Renders every row into a new buffer, in parallel chunks of rows if asked.
    fn render_into<T: Copy + Default + Send>(
        &self,
        parallel: bool,
        narrow: impl Fn(i32) -> T + Sync,
    ) -> Vec<T> {
        let (rows, columns) = (usize::from(self.grid.rows), usize::from(self.grid.columns));
        let mut out = vec![T::default(); rows * columns];
        if rows == 0 || columns == 0 {
            return out;
        }
        let chunk = CHUNK_ROWS * columns;
        if parallel {
            use rayon::prelude::*;
            out.par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(i, part)| self.render_rows(i * CHUNK_ROWS, part, &narrow));
        } else {
            self.render_rows(0, &mut out, &narrow);
        }
        out
    }

    /// [`Job::render_rows_portable`], compiled again for AVX-512 and for AVX2 and taken when the
    /// CPU has them. The same IEEE operations in wider registers give the same values bit for
    /// bit (Rust never contracts a multiply and an add into an FMA), so the output does not
    /// depend on the machine; a test holds every build the CPU runs to the portable one.
    /// Hand-written rather than a multiversioning crate: one function, and std's detection is
    /// cached after the first call.
    fn render_rows<T: Copy>(&self, first: usize, out: &mut [T], narrow: &impl Fn(i32) -> T) {
        #[cfg(target_arch = "x86_64")]
        if avx512() {
            // SAFETY: the CPU has these AVX-512 subsets, checked just above.
            unsafe { self.render_rows_avx512(first, out, narrow) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe { self.render_rows_avx2(first, out, narrow) };
            return;
        }
        self.render_rows_portable(first, out, narrow);
    }

    /// Sixteen pixels per operation in the finishing loop where AVX2 takes eight; BW and VL for
    /// the 16-bit narrowing and the half-width registers.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    fn render_rows_avx512<T: Copy>(&self, first: usize, out: &mut [T], narrow: &impl Fn(i32) -> T) {
        self.render_rows_portable(first, out, narrow);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn render_rows_avx2<T: Copy>(&self, first: usize, out: &mut [T], narrow: &impl Fn(i32) -> T) {
        self.render_rows_portable(first, out, narrow);
    }

    /// The pipeline for the rows from `first` that `out` holds: phantom samples for three rows
    /// (the unsharp mask's neighbourhood) in a ring, then sharpening, and, inside the
    /// reconstruction circle only, inversion, noise, inverse rescale and the padding check in one
    /// straight loop; outside it, the padding value. Scratch memory is five rows.
    #[inline(always)]
    fn render_rows_portable<T: Copy>(
        &self,
        first: usize,
        out: &mut [T],
        narrow: &impl Fn(i32) -> T,
    ) {
        let grid = self.grid;
        let (rows, columns) = (usize::from(grid.rows), usize::from(grid.columns));
        let count = out.len() / columns;
        let mut scratch = vec![0.0_f32; 5 * columns];
        let (ring, rest) = scratch.split_at_mut(3 * columns);
        let (sharp, sums) = rest.split_at_mut(columns);
        let slot = |k: usize| (k % 3) * columns..(k % 3 + 1) * columns;
        // Rows first − 1 (clamped) and first are sampled before the loop; row r + 1 in it.
        let before = first.saturating_sub(1);
        self.sample_row(before, &mut ring[slot(before)]);
        if first != before {
            self.sample_row(first, &mut ring[slot(first)]);
        }
        // Reconstruction circle in pixel-centre coordinates relative to the image centre.
        let (cr, cc) = ((rows as f64 - 1.0) / 2.0, (columns as f64 - 1.0) / 2.0);
        let radius = (rows as f64 * grid.spacing[0]).min(columns as f64 * grid.spacing[1]) / 2.0;
        let radius2 = radius * radius;
        for (i, out_row) in out.chunks_exact_mut(columns).take(count).enumerate() {
            let r = first + i;
            let below = (r + 1).min(rows - 1);
            if below != r {
                self.sample_row(below, &mut ring[slot(below)]);
            }
            let (prev, cur, next) = (
                &ring[slot(r.saturating_sub(1))],
                &ring[slot(r)],
                &ring[slot(below)],
            );
            let fov = match self.padding {
                Some(pad) => {
                    let dy = (r as f64 - cr) * grid.spacing[0];
                    let inside = |c: usize| {
                        let dx = (c as f64 - cc) * grid.spacing[1];
                        dx * dx + dy * dy <= radius2
                    };
                    let half = (radius2 - dy * dy).max(0.0).sqrt() / grid.spacing[1];
                    // The edges move by the rounding of `radius² − dy²` over the slope of the
                    // square root there: a million times that, in columns, and infinite (probe)
                    // at the circle's top and bottom rows.
                    let estimate = phantom::Estimate {
                        t0: cc - half,
                        t1: cc + half,
                        slack: 1e-9
                            * (1.0 + cc + radius2 / (grid.spacing[1] * grid.spacing[1] * half)),
                    };
                    let fov = phantom::span(0..columns, estimate, inside);
                    out_row[..fov.start].fill(narrow(pad));
                    out_row[fov.end..].fill(narrow(pad));
                    fov
                }
                None => 0..columns,
            };
            // Sharpened only where the pixels are kept: padding replaces the rest.
            let values: &[f32] = if self.gain == 0.0 {
                cur
            } else {
                noise::sharpen_row(prev, cur, next, self.gain, sums, sharp, fov.clone());
                sharp
            };
            self.finish_row(
                r,
                fov.start,
                &values[fov.clone()],
                &mut out_row[fov],
                narrow,
            );
        }
    }

    /// Mirror, noise, quantise and padding check for the run of row `r` starting at column
    /// `first`: no branch on the pixel value but the padding collision, which compiles to a
    /// select. The loop is instantiated with and without the mirror and the padding check, so
    /// MONOCHROME2 images (`0 + 1 × v` is `v` up to the sign of a zero, which quantises alike)
    /// and images without padding skip that work per pixel.
    #[inline(always)]
    fn finish_row<T: Copy>(
        &self,
        r: usize,
        first: usize,
        values: &[f32],
        out: &mut [T],
        narrow: &impl Fn(i32) -> T,
    ) {
        let top = self.stored_max;
        // No native pixel may equal the padding value (PS3.3 C.7.5.1.1.2).
        let avoid = |pad: i32| {
            move |s: i32| {
                narrow(if s == pad {
                    if s < top { s + 1 } else { s - 1 }
                } else {
                    s
                })
            }
        };
        match (self.mirror, self.padding) {
            (Some((a, b)), Some(pad)) => {
                self.finish_signed(r, first, values, out, |v| a + b * v, avoid(pad));
            }
            (Some((a, b)), None) => {
                self.finish_signed(r, first, values, out, |v| a + b * v, narrow);
            }
            (None, Some(pad)) => self.finish_signed(r, first, values, out, |v| v, avoid(pad)),
            (None, None) => self.finish_signed(r, first, values, out, |v| v, narrow),
        }
    }

    /// [`Job::finish_row`] with the quantiser for signed or non-negative stored values.
    #[inline(always)]
    fn finish_signed<T: Copy>(
        &self,
        r: usize,
        first: usize,
        values: &[f32],
        out: &mut [T],
        display: impl Fn(f32) -> f32,
        store: impl Fn(i32) -> T,
    ) {
        let q = self.quantizer;
        if q.non_negative() {
            let quantize = |v| q.quantize_non_negative(v);
            self.finish_run(r, first, values, out, display, quantize, store);
        } else {
            self.finish_run(r, first, values, out, display, |v| q.quantize(v), store);
        }
    }

    /// [`Job::finish_row`] with the mirror `display`, the `quantize` step and the check and
    /// narrowing `store` fixed: one straight loop per combination.
    #[expect(
        clippy::too_many_arguments,
        reason = "one loop body, monomorphised per closure"
    )]
    #[inline(always)]
    fn finish_run<T: Copy>(
        &self,
        r: usize,
        first: usize,
        values: &[f32],
        out: &mut [T],
        display: impl Fn(f32) -> f32,
        quantize: impl Fn(f32) -> i32,
        store: impl Fn(i32) -> T,
    ) {
        if self.sigma > 0.0 {
            let tile = noise::tile();
            let sigma = self.sigma;
            let mut at = (self.offsets[r] as usize + first) % noise::TILE_LEN;
            let (mut values, mut out) = (values, out);
            // The tile is circular: a run that reaches its end continues at its start.
            while !values.is_empty() {
                let n = values.len().min(noise::TILE_LEN - at);
                let (v_now, v_rest) = values.split_at(n);
                let (o_now, o_rest) = out.split_at_mut(n);
                for ((o, &v), &z) in o_now.iter_mut().zip(v_now).zip(&tile[at..at + n]) {
                    *o = store(quantize(display(v) + sigma * z));
                }
                (values, out, at) = (v_rest, o_rest, 0);
            }
        } else {
            for (o, &v) in out.iter_mut().zip(values) {
                *o = store(quantize(display(v)));
            }
        }
    }

    /// Evaluates the phantom at the pixel centres of row `r`: a row start and a column step, no
    /// per-pixel matrix product. The head is painted span by span; the radiograph is evaluated
    /// per pixel and scaled from its 0..1 fraction to the modality range.
    #[inline(always)]
    fn sample_row(&self, r: usize, out: &mut [f32]) {
        let grid = self.grid;
        let line = phantom::Line {
            start: grid.position(u16::try_from(r).unwrap_or(u16::MAX), 0),
            step: grid.row_dir.map(|d| d * grid.spacing[1]),
        };
        let (lo, hi) = self.range;
        match *self.phantom {
            Phantom::HeadCt { lesion } => phantom::head_row(
                &line,
                phantom::tissue_hu,
                lesion.map(|l| (l, phantom::PARENCHYMA_HU + l.contrast_hu)),
                self.overlays,
                out,
            ),
            Phantom::MrBrain { weighting } => {
                let mr = |t| phantom::tissue_mr(t, weighting);
                phantom::head_row(&line, mr, None, self.overlays, out);
            }
            Phantom::ChestRadiograph => {
                for (c, o) in out.iter_mut().enumerate() {
                    *o = (lo + phantom::chest_at(line.at(c)) * (hi - lo)) as f32;
                }
            }
            Phantom::Flat { value } => out.fill(value as f32),
        }
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
    fn every_simd_build_of_the_rows_equals_the_portable_one() {
        // Same operations in wider registers: bit-identical output is what keeps fixtures
        // independent of the machine. Every stored-value loop: signed, unsigned, padded, mirrored,
        // slope ½, sharpened and not, the chest projection and MR.
        let ct = axial(31.0, 160, 1.4);
        let cases: Vec<(Phantom, StoredValues, Noise, bool)> = vec![
            (
                head(),
                StoredValues::ct_signed_16_intercept_1024(),
                Noise::for_kernel(CtKernel::Bone),
                true,
            ),
            (
                head(),
                StoredValues::ct_unsigned_12(),
                Noise::for_kernel(CtKernel::Standard),
                true,
            ),
            (
                head(),
                StoredValues::ct_unsigned_16_slope_half(),
                Noise::for_kernel(CtKernel::Soft),
                false,
            ),
            (head(), StoredValues::ct_signed_16(), Noise::None, true),
            (
                Phantom::MrBrain {
                    weighting: MrWeighting::Flair,
                },
                StoredValues::mr_unsigned(12),
                Noise::Gaussian { sigma: 9.0 },
                false,
            ),
            (
                Phantom::ChestRadiograph,
                StoredValues::dx(14, Photometric::Monochrome1),
                Noise::Gaussian { sigma: 40.0 },
                false,
            ),
        ];
        for (i, (phantom, stored, noise, circle)) in cases.iter().enumerate() {
            let job = Job::new(phantom, &ct, stored, *noise, &mut rng(i as u64), *circle);
            let n = usize::from(ct.rows) * usize::from(ct.columns);
            let (mut portable, mut dispatched) = (vec![0_i32; n], vec![0_i32; n]);
            job.render_rows_portable(0, &mut portable, &|v| v);
            job.render_rows(0, &mut dispatched, &|v| v);
            assert_eq!(portable, dispatched, "case {i}");
            // The dispatch takes the widest build; each narrower one the CPU runs is held too.
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut avx2 = vec![0_i32; n];
                // SAFETY: the CPU has AVX2, checked just above.
                unsafe { job.render_rows_avx2(0, &mut avx2, &|v| v) };
                assert_eq!(portable, avx2, "case {i}, AVX2");
            }
            assert!(
                portable.iter().any(|v| *v != portable[0]),
                "case {i} is flat"
            );
        }
    }

    #[test]
    fn slices_skip_only_structures_their_plane_misses() {
        // Axial slices every 3 mm through the whole head and a tilted, oblique stack: looking
        // for every structure on every row gives the same pixels.
        let stored = StoredValues::ct_signed_16();
        let mut grids: Vec<SamplingGrid> = (0..70)
            .map(|k| axial(-104.0 + 3.0 * f64::from(k), 96, 2.0))
            .collect();
        for k in 0..30 {
            let mut g = axial(-50.0 + 3.3 * f64::from(k), 96, 2.0);
            g.row_dir = [0.96, 0.0, 0.28];
            g.col_dir = [0.1, 0.97, -0.22];
            grids.push(g);
        }
        let (phantom, mut skipped) = (head(), 0);
        for (i, grid) in grids.iter().enumerate() {
            let mut job = Job::new(&phantom, grid, &stored, Noise::None, &mut rng(1), true);
            let culled = job.render_into(false, |v| v);
            skipped += (phantom::Overlays::ALL != job.overlays) as usize;
            job.overlays = phantom::Overlays::ALL;
            assert_eq!(culled, job.render_into(false, |v| v), "grid {i}");
        }
        assert!(skipped > 40, "{skipped}");
    }

    #[test]
    fn row_chunks_in_parallel_equal_one_sequential_pass() {
        // Sharpening reads the rows around each chunk edge; noise offsets are drawn up front.
        let stored = StoredValues::ct_signed_16_intercept_1024();
        let grid = axial(12.0, 300, 0.8);
        let noise = Noise::for_kernel(CtKernel::Bone);
        let phantom = head();
        let job = |rng: &mut ChaCha8Rng| {
            let job = Job::new(&phantom, &grid, &stored, noise, rng, true);
            (
                job.render_into(false, |v| v as i16),
                job.render_into(true, |v| v as i16),
            )
        };
        let (sequential, parallel) = job(&mut rng(9));
        assert_eq!(sequential, parallel);
        let expected = render_slice(&head(), &grid, &stored, noise, &mut rng(9));
        assert_eq!(expected.values, PixelValues::I16(sequential));
    }

    #[test]
    fn noise_has_the_kernel_sigma_and_rows_are_independent() {
        let stored = StoredValues::ct_signed_16();
        let flat = Phantom::Flat { value: 40.0 };
        let grid = axial(0.0, 256, 1.0);
        let px = render_projection(
            &flat,
            grid.rows,
            grid.columns,
            grid.spacing,
            &stored,
            Noise::Gaussian { sigma: 18.0 },
            &mut rng(4),
        );
        let PixelValues::I16(v) = &px.values else {
            panic!("signed 16-bit CT is stored as i16");
        };
        let x: Vec<f64> = v.iter().map(|s| f64::from(*s) - 40.0).collect();
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.3, "{mean}");
        assert!((var.sqrt() - 18.0).abs() < 0.5, "{}", var.sqrt());
        // Neighbours along and across rows are uncorrelated.
        let corr = |d: usize| {
            let pairs = x.len() - d;
            (0..pairs).map(|i| x[i] * x[i + d]).sum::<f64>() / pairs as f64 / var
        };
        assert!(corr(1).abs() < 0.02, "{}", corr(1));
        assert!(corr(256).abs() < 0.02, "{}", corr(256));
        assert!(corr(257).abs() < 0.02, "{}", corr(257));
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

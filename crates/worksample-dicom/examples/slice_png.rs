//! Renders head-CT slices to one PNG for eyeballing the phantom after renderer changes: axial at
//! the ventricles in a brain window (standard kernel, with a lesion), the same slice in a bone
//! window (bone kernel), and a mid-sagittal slice in the brain window.
//!
//! Usage: `slice_png OUT.png [Z_MM]` (default z = 16 mm).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use worksample_dicom::pixel::{
    CtKernel, Lesion, Noise, Phantom, SamplingGrid, StoredValues, render_slice,
};
use worksample_dicom::preview::Thumbnail;

const N: u16 = 512;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().ok_or("usage: slice_png OUT.png [Z_MM]")?;
    let z: f64 = match args.next() {
        Some(z) => z.parse()?,
        None => 16.0,
    };
    let phantom = Phantom::HeadCt {
        lesion: Some(Lesion {
            centre: [30.0, -10.0, z],
            radius_mm: 8.0,
            contrast_hu: 60.0,
        }),
    };
    let stored = StoredValues::ct_signed_16_intercept_1024();
    let px = 250.0 / f64::from(N);
    let half = (f64::from(N) - 1.0) / 2.0 * px;
    let axial = SamplingGrid {
        rows: N,
        columns: N,
        origin: [-half, -half, z],
        row_dir: [1.0, 0.0, 0.0],
        col_dir: [0.0, 1.0, 0.0],
        spacing: [px, px],
    };
    let sagittal = SamplingGrid {
        origin: [-8.5, -half, half],
        row_dir: [0.0, 1.0, 0.0],
        col_dir: [0.0, 0.0, -1.0],
        ..axial
    };
    let panels = [
        (axial, CtKernel::Standard, (40.0, 80.0)),
        (axial, CtKernel::Bone, (500.0, 2500.0)),
        (sagittal, CtKernel::Standard, (40.0, 80.0)),
    ];
    let width = u32::from(N) * 3;
    let mut grey = vec![0u8; width as usize * usize::from(N)];
    for (i, (grid, kernel, (center, window))) in panels.into_iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(i as u64);
        let image = render_slice(
            &phantom,
            &grid,
            &stored,
            Noise::for_kernel(kernel),
            &mut rng,
        );
        for r in 0..N {
            for c in 0..N {
                let s = image.get(0, r, c).unwrap_or(0);
                let hu = stored.to_modality(s);
                let g = ((hu - (center - window / 2.0)) / window * 255.0).clamp(0.0, 255.0);
                let at = usize::from(r) * width as usize + i * usize::from(N) + usize::from(c);
                grey[at] = g as u8;
            }
        }
    }
    let png = Thumbnail {
        width,
        height: u32::from(N),
        grey,
    }
    .to_png()?;
    std::fs::write(out, png)?;
    Ok(())
}

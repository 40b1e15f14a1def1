//! Benchmark helper for `benches/engine.sh`: median wall time to render one 512×512 head-CT slice
//! (250 mm field, padding circle) per kernel preset, single-threaded, without any encoding or I/O.
//!
//! Usage: `render_slice [SLICES]` (default 100 slices per preset, spread over the head).

use std::io::Write;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use worksample_dicom::pixel::{
    CtKernel, Lesion, Noise, Phantom, SamplingGrid, StoredValues, render_slice,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let slices: u32 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 100,
    };
    let phantom = Phantom::HeadCt {
        lesion: Some(Lesion {
            centre: [20.0, 10.0, 10.0],
            radius_mm: 8.0,
            contrast_hu: 60.0,
        }),
    };
    let stored = StoredValues::ct_signed_16_intercept_1024();
    let px = 250.0 / 512.0;
    let mut out = std::io::stdout().lock();
    for kernel in [CtKernel::Soft, CtKernel::Standard, CtKernel::Bone] {
        let mut times = Vec::new();
        let mut checksum = 0i64;
        for i in 0..slices {
            let grid = SamplingGrid {
                rows: 512,
                columns: 512,
                origin: [
                    -125.0 + px / 2.0,
                    -125.0 + px / 2.0,
                    -90.0 + 180.0 * f64::from(i) / f64::from(slices.max(1)),
                ],
                row_dir: [1.0, 0.0, 0.0],
                col_dir: [0.0, 1.0, 0.0],
                spacing: [px, px],
            };
            let mut rng = ChaCha8Rng::seed_from_u64(u64::from(i));
            let start = Instant::now();
            let pixels = render_slice(
                &phantom,
                &grid,
                &stored,
                Noise::for_kernel(kernel),
                &mut rng,
            );
            times.push(start.elapsed().as_secs_f64() * 1e3);
            // Keeps the render from being optimised away.
            checksum += i64::from(pixels.get(0, 256, 256).unwrap_or(0));
        }
        times.sort_by(f64::total_cmp);
        let median = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
        writeln!(
            out,
            "render 512x512 {kernel:?}: median {median:.2} ms/slice over {slices} slices (checksum {checksum})"
        )?;
    }
    Ok(())
}

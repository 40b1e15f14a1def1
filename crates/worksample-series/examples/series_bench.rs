//! Generation and grading speed of the `series` task: `cargo run --release -p worksample-series
//! --example series_bench`. Prints files, bytes and timings per profile; not a test.

#![expect(clippy::print_stdout, reason = "a benchmark reports its figures")]

use std::time::Instant;

use worksample_series::generate::{Params, generate};
use worksample_series::grade::grade_output;
use worksample_series::output::{Excluded, ExclusionReason, Geometry, InstanceRef, Output, Volume};
use worksample_task::Task;
use worksample_task::TaskData;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = TaskData::from_embedded("series", &worksample_series::SeriesTask.embedded())?;
    for profile in ["standard", "hard"] {
        let params: Params = data.profile(Some(profile))?.parse()?;
        let dir = tempfile::tempdir()?;
        let start = Instant::now();
        let key = generate(1, &params, dir.path())?;
        let generated = start.elapsed();
        let digest = worksample_task::digest_folder(dir.path())?;
        // A perfect answer built from the key, so grading does full work.
        let mut volumes = Vec::new();
        for v in &key.volumes {
            volumes.push(Volume {
                id: v.name.clone(),
                series_instance_uid: None,
                split_by: None,
                instances: v
                    .instances
                    .iter()
                    .map(|i| InstanceRef::file(key.label(*i)))
                    .collect(),
                geometry: Geometry {
                    image_orientation_patient: v.geometry.iop,
                    rows: v.geometry.rows,
                    columns: v.geometry.columns,
                    pixel_spacing_mm: v.geometry.pixel_spacing,
                    slice_spacing_mm: v.geometry.slice_spacing,
                    first_position_mm: v.geometry.first_position,
                    regular: v.geometry.regular,
                },
                anomalies: Vec::new(),
            });
        }
        let excluded = key
            .files
            .keys()
            .filter(|f| key.instance_of(f).is_none())
            .map(|f| Excluded {
                file: f.clone(),
                reason: ExclusionReason::NotDicom,
                duplicate_of: None,
                detail: None,
            })
            .collect();
        let out = Output {
            schema_version: "1.0".into(),
            volumes,
            excluded,
        };
        let start = Instant::now();
        let rounds = 20;
        for _ in 0..rounds {
            std::hint::black_box(grade_output(&key, &out));
        }
        let graded = start.elapsed() / rounds;
        println!(
            "{profile:>8}: {} files, {:.1} MB generated in {:.2} s ({:.0} files/s); graded in {:.2} ms ({:.2} ms per 1,000 files)",
            digest.files,
            digest.bytes as f64 / 1e6,
            generated.as_secs_f64(),
            digest.files as f64 / generated.as_secs_f64(),
            graded.as_secs_f64() * 1e3,
            graded.as_secs_f64() * 1e6 / digest.files as f64,
        );
    }
    Ok(())
}

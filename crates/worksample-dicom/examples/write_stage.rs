//! Benchmark helper for the engine's writer: builds every image of `worksample synth --modality CT
//! --slices N --rows R --columns C --seed S` in memory first (untimed: patients, studies, series,
//! data sets and rendered pixels), then times writing them all to `OUT_DIR` exactly as `synth`
//! does (folders, encoding, the files, over every core with rayon). That is the like-for-like
//! counterpart of `pydicom_write.py`'s loop, which also writes objects it already holds; the
//! files are the bytes `synth` writes, which the benchmark scripts check with `diff -r`.
//!
//! Usage: `write_stage OUT_DIR SLICES ROWS COLUMNS SEED`; prints the file count and bytes, then
//! `loop_seconds` of the write alone.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use worksample_dicom::model::Modality;
use worksample_dicom::synth::{SynthPlan, SynthSpec};
use worksample_dicom::write::write_file;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, slices, rows, columns, seed] = args.as_slice() else {
        return Err("usage: write_stage OUT_DIR SLICES ROWS COLUMNS SEED".into());
    };
    let out = PathBuf::from(out);
    // The spec `worksample synth` resolves from these flags and its defaults.
    let mut spec = SynthSpec::new(seed.parse()?, Modality::Ct);
    spec.images_per_series = slices.parse()?;
    spec.rows = rows.parse()?;
    spec.columns = columns.parse()?;
    let opts = spec.write_options();

    let plan = SynthPlan::new(&spec)?;
    let built: Vec<_> = (0..plan.len())
        .into_par_iter()
        .map(|image| (plan.relative_path(image), plan.build(image)))
        .collect();

    let start = Instant::now();
    plan.create_folders(&out)?;
    let bytes = built
        .par_iter()
        .map(|(path, inst)| write_file(inst, &out.join(path), &opts))
        .try_reduce(|| 0, |a, b| Ok(a + b))?;
    let elapsed = start.elapsed().as_secs_f64();

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "files {} bytes {bytes}", built.len())?;
    writeln!(stdout, "loop_seconds {elapsed:.4}")?;
    Ok(())
}

//! Benchmark baseline for `benches/engine.sh`: writes, with plain `std::fs::write`, one file per
//! file found under a reference folder, each of the same size, so the bytes written equal a
//! `worksample synth` run's without any DICOM encoding or pixel rendering.
//!
//! Usage: `plain_write <reference-dir> <out-dir>`; prints the file count and bytes written, then
//! `loop_seconds` of the write loop alone (no process start-up or folder walk), the counterpart
//! of `write_stage`'s and `pydicom_write.py`'s.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn sizes(dir: &Path, out: &mut Vec<u64>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            sizes(&entry.path(), out)?;
        } else if kind.is_file() {
            out.push(entry.metadata()?.len());
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [reference, out] = args.as_slice() else {
        return Err("usage: plain_write <reference-dir> <out-dir>".into());
    };
    let mut lengths = Vec::new();
    sizes(reference, &mut lengths)?;
    lengths.sort_unstable();
    let largest = usize::try_from(lengths.last().copied().unwrap_or(0))?;
    // Non-zero, varying content so nothing along the way can special-case zero pages.
    let buffer: Vec<u8> = (0..largest).map(|i| (i % 251) as u8).collect();
    let start = Instant::now();
    std::fs::create_dir_all(out)?;
    let mut total = 0u64;
    for (i, len) in lengths.iter().enumerate() {
        let len = usize::try_from(*len)?;
        std::fs::write(out.join(format!("F{i:05}.bin")), &buffer[..len])?;
        total += len as u64;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "wrote {} files ({total} bytes)", lengths.len())?;
    writeln!(stdout, "loop_seconds {elapsed:.4}")?;
    Ok(())
}

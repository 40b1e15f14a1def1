//! How much memory grading a large `deid` set takes, apart from generating it (issue 4: grading
//! 1,000 CT files is streamed). For each CT series length it generates the `standard` profile
//! with that many slices, returns the generator's freed heap, resets the process's peak RSS
//! (`/proc/self/clear_refs`, Linux ≥ 4.0), grades a plain copy of the input (the worst case: every
//! file leaks), and prints the files, the RSS before grading (the key), what grading added at its
//! peak, and the time: `cargo run --release -p worksample-deid --example deid_grade_memory -- 40 400`.

#![expect(clippy::print_stdout, reason = "an example reports what it measured")]

use std::time::Instant;

use worksample_deid::params::Params;
use worksample_deid::{EMBEDDED, TASK_ID, generate, grade};
use worksample_task::{NoProgress, TaskData};

/// Peak resident set size of this process, in KiB (`VmHWM`).
fn peak_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

/// Resident set size of this process now, in KiB (`VmRSS`).
fn rss_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = TaskData::from_embedded(TASK_ID, &EMBEDDED)?;
    let mut lengths: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse().map_err(|_| format!("`{a}` is not a slice count")))
        .collect::<Result<_, _>>()?;
    if lengths.is_empty() {
        lengths = vec![40, 400];
    }
    println!("slices  files  before MiB  grading +MiB  grade s  cpu/wall");
    for slices in lengths {
        let mut params: Params = data.profile(Some("standard"))?.parse()?;
        params.slices = slices;
        let dir = tempfile::tempdir()?;
        let key = generate::generate(1, &params, dir.path())?;
        // Give the generator's freed heap back to the system and forget its peak: from here on
        // VmHWM is the key plus grading's own.
        // SAFETY: malloc_trim only releases free memory at the top of glibc's heaps.
        unsafe { libc::malloc_trim(0) };
        let baseline = rss_kib().ok_or("no VmRSS in /proc/self/status")?;
        std::fs::write("/proc/self/clear_refs", "5")?;
        let cpu_before = cpu_seconds();
        let start = Instant::now();
        let graded = grade::grade_submission(&key, dir.path(), dir.path(), &NoProgress)?;
        let wall = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu_before;
        let peak = peak_kib().ok_or("no VmHWM in /proc/self/status")?;
        println!(
            "{slices:>6}  {:>5}  {:>12.1}  {:>14.1}  {wall:>7.2}  {:>8.2}",
            key.files.len(),
            baseline as f64 / 1024.0,
            peak.saturating_sub(baseline) as f64 / 1024.0,
            cpu / wall,
        );
        drop(graded);
    }
    Ok(())
}

/// User + system CPU time of this process so far, from `/proc/self/stat` (fields 14 and 15, in
/// clock ticks of 1/100 s on Linux).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name may hold spaces; fields are counted after its closing parenthesis.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

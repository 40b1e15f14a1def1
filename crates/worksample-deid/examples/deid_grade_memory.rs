//! How much memory grading a large `deid` set takes, apart from generating it (issue 4: grading
//! 1,000 CT files is streamed). For each CT series length it generates the `standard` profile
//! with that many slices, grades a plain copy of the input (the worst case: every file leaks,
//! every check fails and finds something) and prints the files, the heap and RSS before grading
//! (the key), what grading added at its peak to each, and the time:
//! `cargo run --release -p worksample-deid --example deid_grade_memory -- 40 200 400`.
//!
//! Heap is counted exactly by a counting global allocator (live bytes requested): the peak
//! grading added, and what it still held when the last per-file pass finished (the
//! accumulators the cross-file checks use, reported through [`Progress`]). The key's leak
//! automata are built before the baseline: they belong to the key, built once however many
//! submissions are graded against it. Peak RSS (`VmHWM`, reset through `/proc/self/clear_refs`,
//! Linux ≥ 4.0) adds the allocator's per-thread arenas and what it has not returned yet. CPU
//! over wall time above 1 means more than one core worked at once; on a shared, loaded box it
//! stays lower, so the split of grading's CPU time over this process's threads
//! (`/proc/self/task`) is printed too: two threads with a similar share each is work spread
//! over two cores whenever the box has them free.

#![expect(clippy::print_stdout, reason = "an example reports what it measured")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use worksample_deid::params::Params;
use worksample_deid::{EMBEDDED, TASK_ID, generate, grade};
use worksample_task::{Figures, Progress, TaskData};

/// The system allocator, counting live bytes and their peak.
struct Counting;

/// Bytes allocated and not yet freed.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The highest [`LIVE`] since the last reset.
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    fn grew(by: usize) {
        let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `layout` is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            Counting::grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            Counting::grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`; `new_size` is the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            Counting::grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Records the live heap when each grading pass finishes; the last is what the per-file
/// passes left for the cross-file checks.
#[derive(Default)]
struct HeldAfterPasses(AtomicUsize);

impl Progress for HeldAfterPasses {
    fn start(&self, _label: &str, _total: u64) {}

    fn advance(&self, _n: u64) {}

    fn finish(&self) {
        self.0.store(LIVE.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

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

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = TaskData::from_embedded(TASK_ID, &EMBEDDED)?;
    let mut lengths: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse().map_err(|_| format!("`{a}` is not a slice count")))
        .collect::<Result<_, _>>()?;
    if lengths.is_empty() {
        lengths = vec![40, 200, 400];
    }
    println!(
        "slices  files  heap MiB  peak +MiB  held +KiB  held B/file  RSS MiB  peak RSS +MiB  grade s  cpu/wall  busiest threads' CPU share"
    );
    for slices in lengths {
        let mut params: Params = data.profile(Some("standard"))?.parse()?;
        params.slices = slices;
        let dir = tempfile::tempdir()?;
        let key = generate::generate(1, &params, dir.path())?;
        // Builds the key's leak automata (a path scan is the cheapest call that needs them).
        let _ = worksample_deid::leak::scan_path("warm-up", &key.registry);
        // Give the generator's freed heap back to the system and forget its peak: from here on
        // VmHWM is the key plus grading's own.
        // SAFETY: malloc_trim only releases free memory at the top of glibc's heaps.
        unsafe { libc::malloc_trim(0) };
        let baseline = rss_kib().ok_or("no VmRSS in /proc/self/status")?;
        std::fs::write("/proc/self/clear_refs", "5")?;
        let heap = LIVE.load(Ordering::SeqCst);
        PEAK.store(heap, Ordering::SeqCst);
        let threads_before = thread_ticks();
        let cpu_before = cpu_seconds();
        let start = Instant::now();
        let progress = HeldAfterPasses::default();
        let graded =
            grade::grade_submission(&key, dir.path(), dir.path(), &progress, Figures::Draw)?;
        let wall = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu_before;
        let shares = thread_shares(&threads_before, &thread_ticks());
        let heap_peak = PEAK.load(Ordering::SeqCst);
        let peak = peak_kib().ok_or("no VmHWM in /proc/self/status")?;
        let held = progress.0.load(Ordering::SeqCst).saturating_sub(heap);
        println!(
            "{slices:>6}  {:>5}  {:>8.1}  {:>9.2}  {:>9.0}  {:>11.0}  {:>7.1}  {:>13.1}  {wall:>7.2}  {:>8.2}  {shares}",
            key.files.len(),
            mib(heap as f64),
            mib(heap_peak.saturating_sub(heap) as f64),
            held as f64 / 1024.0,
            held as f64 / key.files.len().max(1) as f64,
            baseline as f64 / 1024.0,
            peak.saturating_sub(baseline) as f64 / 1024.0,
            cpu / wall,
        );
        drop(graded);
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average (1, 5, 15 min): {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(())
}

/// User + system clock ticks of each thread of this process so far, by thread id.
fn thread_ticks() -> std::collections::BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        out.insert(
            task.file_name().to_string_lossy().into_owned(),
            tick(11) + tick(12),
        );
    }
    out
}

/// The two largest shares of the CPU time spent between two [`thread_ticks`], as percentages.
fn thread_shares(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
) -> String {
    let mut spent: Vec<u64> = after
        .iter()
        .map(|(id, t)| t.saturating_sub(before.get(id).copied().unwrap_or(0)))
        .collect();
    let total: u64 = spent.iter().sum();
    if total == 0 {
        return "-".to_owned();
    }
    spent.sort_unstable_by(|a, b| b.cmp(a));
    spent
        .iter()
        .take(2)
        .map(|t| format!("{:.0}%", *t as f64 * 100.0 / total as f64))
        .collect::<Vec<_>>()
        .join(" + ")
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

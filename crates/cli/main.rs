//! The `worksample` command line: parses arguments, resolves settings, runs one verb and maps
//! the result to a documented exit code. It is the only code in the workspace that prints.

#![expect(
    clippy::print_stderr,
    reason = "the CLI is the one place that prints; stdout goes through output::print_stdout"
)]

mod args;
mod commands;
mod env;
mod exit;
mod output;
mod progress;
mod safe_fs;
mod tasks;

use clap::Parser;

fn main() -> std::process::ExitCode {
    tune_allocator();
    let cli = args::Cli::parse();
    exit::finish(commands::dispatch(cli))
}

/// Keeps glibc's malloc from handing freed memory back to the kernel after every image.
///
/// Generation and grading allocate and free a few buffers of 0.1–2 MB per image on each rayon
/// thread. With glibc's defaults those went to `mmap` or were trimmed off the thread's arena as
/// soon as they were freed, so every image faulted its pages in afresh: 30,000 page faults for a
/// shift generation, half of them avoidable, about a tenth of its CPU. Below 4 MiB buffers now
/// come from the arenas, and an arena keeps up to 64 MiB of free memory at its top. Peak memory
/// still tracks the largest working set, not the number of files (the suite's memory rows).
/// Written with `mallopt` rather than a replacement allocator: two settings, no C to build.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    const MMAP_THRESHOLD: libc::c_int = 4 << 20;
    const TRIM_THRESHOLD: libc::c_int = 64 << 20;
    // SAFETY: glibc's mallopt is thread-safe (it takes the arena lock) and only changes tuning
    // parameters, never memory already handed out. A call that fails (returns 0) leaves that
    // one setting at glibc's default, which is correct, only slower.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

/// Other platforms' allocators keep their own defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

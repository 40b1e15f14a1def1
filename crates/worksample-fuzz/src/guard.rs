//! Per-input resource caps: a counting global allocator that refuses to grow the heap more than
//! a set number of bytes while one input runs, and the bookkeeping of each input's peak.
//!
//! A refused allocation makes Rust abort the worker ("memory allocation of N bytes failed");
//! the supervisor sees the abort, names it a memory-cap crash and keeps the input. Counting the
//! heap, rather than sampling RSS, catches the allocation before the pages are touched, so a
//! 4 GB length field is reported, not swapped.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes currently allocated through [`CountingAlloc`].
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Refuse any allocation that would take [`LIVE`] above this.
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Highest [`LIVE`] seen since the last [`Budget::start`].
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counted and capped. Install it in a binary with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

impl CountingAlloc {
    /// Reserves `size` bytes against the cap; false when they would exceed it.
    fn reserve(size: usize) -> bool {
        let limit = LIMIT.load(Ordering::Relaxed);
        let before = LIVE.fetch_add(size, Ordering::Relaxed);
        let after = before.saturating_add(size);
        if after > limit {
            LIVE.fetch_sub(size, Ordering::Relaxed);
            return false;
        }
        PEAK.fetch_max(after, Ordering::Relaxed);
        true
    }
}

// SAFETY: every method forwards to `System` with the caller's layout unchanged; the counters only
// decide whether to forward, and a refusal returns null, which `GlobalAlloc` allows.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller upholds `alloc`'s contract (non-zero size), passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Self::reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout (see `alloc`).
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !Self::reserve(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `System` with `layout`; the caller vouches for `new_size`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > old {
                LIVE.fetch_sub(new_size - old, Ordering::Relaxed);
            }
        } else if new_size < old {
            LIVE.fetch_sub(old - new_size, Ordering::Relaxed);
        }
        p
    }
}

/// The heap budget of one input.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Live bytes when the input started.
    base: usize,
}

impl Budget {
    /// Starts an input: from now on the heap may grow by at most `cap` bytes.
    pub fn start(cap: usize) -> Self {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        LIMIT.store(base.saturating_add(cap), Ordering::Relaxed);
        Budget { base }
    }

    /// Ends the input, lifts the cap, and returns how far the heap grew above its start.
    pub fn finish(self) -> usize {
        LIMIT.store(usize::MAX, Ordering::Relaxed);
        PEAK.load(Ordering::Relaxed).saturating_sub(self.base)
    }
}

//! Bounded capture of the candidate's stdout and stderr: one reader thread per pipe keeps only
//! the last `capture_bytes` in a ring buffer, counts every byte, and raises a shared flag once
//! stdout+stderr together exceed `max_output_bytes` so the watchdog can kill the tree.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::outcome::Captured;

/// Keeps the last `capacity` bytes pushed into it.
#[derive(Debug)]
pub(crate) struct Tail {
    buf: VecDeque<u8>,
    capacity: usize,
    total: u64,
}

impl Tail {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            // Allocate lazily: most candidates print far less than the cap.
            buf: VecDeque::new(),
            capacity,
            total: 0,
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        if chunk.len() >= self.capacity {
            self.buf.clear();
            self.buf.extend(&chunk[chunk.len() - self.capacity..]);
            return;
        }
        let overflow = (self.buf.len() + chunk.len()).saturating_sub(self.capacity);
        self.buf.drain(..overflow);
        self.buf.extend(chunk);
    }

    pub(crate) fn captured(&self) -> Captured {
        Captured {
            tail: self.buf.iter().copied().collect(),
            total_bytes: self.total,
        }
    }
}

/// State shared by both readers and the watchdog.
#[derive(Debug)]
pub(crate) struct OutputBudget {
    total: AtomicU64,
    limit: u64,
    exceeded: AtomicBool,
}

impl OutputBudget {
    pub(crate) fn new(limit: u64) -> Self {
        Self {
            total: AtomicU64::new(0),
            limit,
            exceeded: AtomicBool::new(false),
        }
    }

    fn add(&self, bytes: usize) {
        let total = self.total.fetch_add(bytes as u64, Ordering::Relaxed) + bytes as u64;
        if total > self.limit {
            self.exceeded.store(true, Ordering::Release);
        }
    }

    pub(crate) fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Acquire)
    }
}

/// One running reader.
#[derive(Debug)]
pub(crate) struct Reader {
    tail: Arc<Mutex<Tail>>,
    handle: JoinHandle<()>,
    /// Disconnected when the thread has pushed its last chunk (it drops the sender then).
    done: Receiver<()>,
}

impl Reader {
    /// Starts a thread draining `pipe` until end of file.
    pub(crate) fn spawn(
        stream: &'static str,
        mut pipe: impl Read + Send + 'static,
        capacity: usize,
        budget: Arc<OutputBudget>,
    ) -> std::io::Result<Self> {
        let tail = Arc::new(Mutex::new(Tail::new(capacity)));
        let shared = Arc::clone(&tail);
        let (finished, done) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name(format!("worksample-runner-{stream}"))
            .spawn(move || {
                let mut chunk = vec![0_u8; 64 << 10];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => {
                            budget.add(n);
                            shared
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push(&chunk[..n]);
                        }
                        Err(err) if err.kind() == ErrorKind::Interrupted => {}
                        // A broken pipe read ends the stream like EOF; nothing more can arrive.
                        Err(_) => break,
                    }
                }
                drop(finished);
            })?;
        Ok(Self { tail, handle, done })
    }

    /// Waits until the stream has ended or `deadline` has passed, whichever is first; woken by
    /// the end itself, not by polling.
    pub(crate) fn wait_until(&self, deadline: Instant) {
        let timeout = deadline.saturating_duration_since(Instant::now());
        // Nothing is ever sent: the call returns when the thread drops the sender, or at the
        // timeout.
        let _ = self.done.recv_timeout(timeout);
    }

    /// What was captured so far. If the thread has finished it is joined; otherwise (a writer
    /// outside the tree still holds the pipe) it is left to end on its own.
    pub(crate) fn finish(self) -> Captured {
        let captured = self
            .tail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .captured();
        if self.handle.is_finished() {
            // The thread only reads and pushes; a panic there would already be visible as a
            // poisoned lock, which `captured` tolerates.
            drop(self.handle.join());
        }
        captured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_bytes_and_counts_all() {
        let mut tail = Tail::new(4);
        tail.push(b"ab");
        tail.push(b"cde");
        assert_eq!(tail.captured().tail, b"bcde");
        tail.push(b"0123456789");
        let captured = tail.captured();
        assert_eq!(captured.tail, b"6789");
        assert_eq!(captured.total_bytes, 15);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut tail = Tail::new(0);
        tail.push(b"abc");
        assert_eq!(tail.captured().tail, b"");
        assert_eq!(tail.captured().total_bytes, 3);
    }

    #[test]
    fn reader_drains_and_flags_the_budget() {
        let budget = Arc::new(OutputBudget::new(10));
        let reader = Reader::spawn("stdout", &b"hello world, twice"[..], 5, Arc::clone(&budget))
            .expect("thread spawn works in tests");
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        reader.wait_until(deadline);
        assert!(Instant::now() < deadline, "woken by the end of the stream");
        let captured = reader.finish();
        assert_eq!(captured.tail, b"twice");
        assert_eq!(captured.total_bytes, 18);
        assert!(budget.exceeded());
    }
}

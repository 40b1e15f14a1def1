//! The fuzzing loop and its supervisor.
//!
//! A worker process runs inputs one after another until its deadline: each input is written to
//! `current.bin` first, runs under a heap budget ([`crate::guard`]) and a wall-clock cap (a
//! watchdog thread ends the process), and a panic is caught and saved. Inputs whose outcome
//! signature is new join the corpus. The supervisor restarts the worker after an abort, a stack
//! overflow or a hang, saving the input that caused it, until the time budget is spent — so one
//! bad input costs a restart, never the run.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::guard::Budget;
use crate::mutate::Mutator;
use crate::target::{Harness, Outcome, SetupError, TargetId};

/// Exit code of a worker whose watchdog saw an input run past the time cap.
pub const HANG_EXIT: i32 = 86;
/// Largest corpus kept in memory; new behaviours beyond it are counted, not kept.
const MAX_CORPUS: usize = 4096;
/// Supervisor gives up after this many worker restarts (something is broken beyond one input).
const MAX_RESTARTS: u32 = 200;

/// What to fuzz, for how long, and under which caps.
#[derive(Debug, Clone)]
pub struct Config {
    /// The target.
    pub target: TargetId,
    /// Time budget of the whole run.
    pub budget: Duration,
    /// Working folder: `corpus/`, `crashes/`, `current.bin`, `stats.json`.
    pub dir: PathBuf,
    /// Checked-in seeds (`fixtures/fuzz/<target>/`), read if present.
    pub seeds: PathBuf,
    /// Seed of the mutation generator.
    pub rng_seed: u64,
    /// Per-input wall-clock cap.
    pub input_timeout: Duration,
    /// Per-input heap growth cap, in bytes.
    pub input_memory: usize,
    /// Largest mutant, in bytes.
    pub max_len: usize,
}

/// Figures of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Inputs run.
    pub executions: u64,
    /// Corpus entries at the end (seeds plus inputs with a new outcome).
    pub corpus: u64,
    /// Distinct outcome signatures seen.
    pub behaviours: u64,
    /// Inputs that panicked, aborted (memory cap, stack overflow) or killed the worker.
    pub crashes: u64,
    /// Inputs that ran past the per-input time cap.
    pub hangs: u64,
    /// Inputs a grader turned into a harness fault.
    pub faults: u64,
    /// Slowest input, in milliseconds.
    pub slowest_ms: u64,
    /// Largest heap growth of one input, in bytes.
    pub peak_bytes: u64,
    /// Worker restarts.
    pub restarts: u64,
}

impl Stats {
    fn to_json(self) -> Value {
        json!({
            "executions": self.executions,
            "corpus": self.corpus,
            "behaviours": self.behaviours,
            "crashes": self.crashes,
            "hangs": self.hangs,
            "faults": self.faults,
            "slowest_ms": self.slowest_ms,
            "peak_bytes": self.peak_bytes,
            "restarts": self.restarts,
        })
    }

    fn from_json(v: &Value) -> Self {
        let n = |k: &str| v[k].as_u64().unwrap_or(0);
        Stats {
            executions: n("executions"),
            corpus: n("corpus"),
            behaviours: n("behaviours"),
            crashes: n("crashes"),
            hangs: n("hangs"),
            faults: n("faults"),
            slowest_ms: n("slowest_ms"),
            peak_bytes: n("peak_bytes"),
            restarts: n("restarts"),
        }
    }

    /// Adds a finished worker's figures to the run's.
    fn absorb(&mut self, w: Stats) {
        self.executions += w.executions;
        self.corpus = self.corpus.max(w.corpus);
        self.behaviours = self.behaviours.max(w.behaviours);
        self.crashes += w.crashes;
        self.hangs += w.hangs;
        self.faults += w.faults;
        self.slowest_ms = self.slowest_ms.max(w.slowest_ms);
        self.peak_bytes = self.peak_bytes.max(w.peak_bytes);
    }
}

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Setting the target up failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The working folder could not be written.
    #[error("failed to write `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The worker could not be started.
    #[error("failed to start the worker `{exe}`")]
    Spawn {
        /// The executable.
        exe: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The worker kept dying.
    #[error("the worker died {0} times; giving up (see crashes/)")]
    TooManyRestarts(u32),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Short content hash naming saved inputs.
pub fn input_name(input: &[u8]) -> String {
    hex::encode(&Sha256::digest(input)[..8])
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn read_dir_files(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Runs the worker loop in this process until the budget is spent; figures go to
/// `dir/stats.json` every second and at the end.
pub fn work(config: &Config) -> Result<Stats, EngineError> {
    let deadline = Instant::now() + config.budget;
    let corpus_dir = config.dir.join("corpus");
    let crash_dir = config.dir.join("crashes");
    for d in [&corpus_dir, &crash_dir] {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    let scratch = tempfile::Builder::new()
        .prefix("worksample-fuzz-")
        .tempdir()
        .map_err(io(&std::env::temp_dir()))?;
    let mut harness = Harness::new(config.target, scratch.path())?;

    let mut corpus: Vec<Vec<u8>> = read_dir_files(&config.seeds);
    corpus.extend(harness.seeds());
    corpus.extend(read_dir_files(&corpus_dir));
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let started = Arc::new(AtomicU64::new(0));
    let epoch = Instant::now();
    spawn_watchdog(Arc::clone(&started), epoch, config.input_timeout);

    let mut stats = Stats::default();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut mutator = Mutator::new(ChaCha8Rng::seed_from_u64(config.rng_seed), config.max_len);
    let current = config.dir.join("current.bin");
    let stats_path = config.dir.join("stats.json");
    let mut last_report = Instant::now();
    // Seeds run first, unmutated, so their behaviours count as known.
    let mut queue: Vec<Vec<u8>> = corpus.clone();
    queue.reverse();
    while Instant::now() < deadline {
        let input = match queue.pop() {
            Some(seed) => seed,
            None => {
                let a = mutator.below(corpus.len());
                let b = mutator.below(corpus.len());
                mutator.mutate(config.target.shape(), &corpus[a], &corpus[b])
            }
        };
        std::fs::write(&current, &input).map_err(io(&current))?;
        let budget = Budget::start(config.input_memory);
        let t0 = Instant::now();
        started.store(millis_since(epoch).max(1), Ordering::SeqCst);
        let result = catch_unwind(AssertUnwindSafe(|| harness.run(&input)));
        started.store(0, Ordering::SeqCst);
        let elapsed = t0.elapsed();
        let peak = budget.finish();
        stats.executions += 1;
        stats.slowest_ms = stats.slowest_ms.max(elapsed.as_millis() as u64);
        stats.peak_bytes = stats.peak_bytes.max(peak as u64);
        match result {
            Ok(Outcome::Handled(sig)) => {
                if seen.insert(sig) {
                    stats.behaviours += 1;
                    if corpus.len() < MAX_CORPUS && !corpus.contains(&input) {
                        let path = corpus_dir.join(input_name(&input));
                        if !path.exists() {
                            std::fs::write(&path, &input).map_err(io(&path))?;
                        }
                        corpus.push(input);
                    }
                }
            }
            Ok(Outcome::Fault(message)) => {
                stats.faults += 1;
                save_finding(&crash_dir, "fault", &input, &message)?;
            }
            Err(payload) => {
                stats.crashes += 1;
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic with a non-string payload".to_owned());
                save_finding(&crash_dir, "panic", &input, &message)?;
            }
        }
        stats.corpus = corpus.len() as u64;
        if last_report.elapsed() >= Duration::from_secs(1) {
            write_atomic(&stats_path, stats.to_json().to_string().as_bytes())?;
            last_report = Instant::now();
        }
    }
    write_atomic(&stats_path, stats.to_json().to_string().as_bytes())?;
    Ok(stats)
}

/// Runs saved inputs once each, under the same heap cap, for triage: the outcome, the time and
/// the heap growth of each.
pub fn replay(config: &Config, inputs: &[PathBuf]) -> Result<Vec<String>, EngineError> {
    let scratch = tempfile::Builder::new()
        .prefix("worksample-fuzz-")
        .tempdir()
        .map_err(io(&std::env::temp_dir()))?;
    let mut harness = Harness::new(config.target, scratch.path())?;
    let mut lines = Vec::new();
    for path in inputs {
        let input = std::fs::read(path).map_err(io(path))?;
        let budget = Budget::start(config.input_memory);
        let t0 = Instant::now();
        let outcome = harness.run(&input);
        let ms = t0.elapsed().as_millis();
        let peak = budget.finish();
        lines.push(format!(
            "{}: {} bytes, {ms} ms, heap +{} KiB: {outcome:?}",
            path.display(),
            input.len(),
            peak >> 10
        ));
    }
    Ok(lines)
}

fn millis_since(epoch: Instant) -> u64 {
    epoch.elapsed().as_millis() as u64
}

/// Ends the process with [`HANG_EXIT`] when an input has run longer than `cap`.
fn spawn_watchdog(started: Arc<AtomicU64>, epoch: Instant, cap: Duration) {
    let cap_ms = cap.as_millis() as u64;
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(50));
                let at = started.load(Ordering::SeqCst);
                if at != 0 && millis_since(epoch).saturating_sub(at) > cap_ms {
                    std::process::exit(HANG_EXIT);
                }
            }
        })
        .map(drop)
        .unwrap_or(());
}

/// Saves an input that broke an invariant, with a note saying how.
fn save_finding(dir: &Path, kind: &str, input: &[u8], note: &str) -> Result<(), EngineError> {
    let name = format!("{kind}-{}", input_name(input));
    let bin = dir.join(format!("{name}.bin"));
    std::fs::write(&bin, input).map_err(io(&bin))?;
    let txt = dir.join(format!("{name}.txt"));
    std::fs::write(&txt, note).map_err(io(&txt))
}

/// Runs workers (`exe --worker …`) until the budget is spent, restarting after each death and
/// saving the input that caused it; returns the summed figures.
#[expect(
    clippy::disallowed_methods,
    reason = "the supervisor re-runs the fuzzer's own binary, never candidate code"
)]
pub fn supervise(config: &Config, exe: &Path) -> Result<Stats, EngineError> {
    let deadline = Instant::now() + config.budget;
    let crash_dir = config.dir.join("crashes");
    std::fs::create_dir_all(&crash_dir).map_err(io(&crash_dir))?;
    let stats_path = config.dir.join("stats.json");
    let stderr_path = config.dir.join("worker.stderr");
    let mut total = Stats::default();
    let mut restarts: u32 = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(500) {
            break;
        }
        let _ = std::fs::remove_file(&stats_path);
        let stderr = std::fs::File::create(&stderr_path).map_err(io(&stderr_path))?;
        let status = Command::new(exe)
            .arg("--worker")
            .arg(config.target.name())
            .arg(format!("{}", left.as_millis()))
            .arg("--dir")
            .arg(&config.dir)
            .arg("--seeds")
            .arg(&config.seeds)
            .arg("--seed")
            .arg((config.rng_seed + u64::from(restarts)).to_string())
            .arg("--timeout-ms")
            .arg(config.input_timeout.as_millis().to_string())
            .arg("--memory-mb")
            .arg((config.input_memory >> 20).to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .status()
            .map_err(|source| EngineError::Spawn {
                exe: exe.to_path_buf(),
                source,
            })?;
        let worker = std::fs::read_to_string(&stats_path)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .map(|v| Stats::from_json(&v))
            .unwrap_or_default();
        total.absorb(worker);
        if status.success() {
            break;
        }
        let input = std::fs::read(config.dir.join("current.bin")).unwrap_or_default();
        let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let tail: String = log
            .chars()
            .rev()
            .take(4000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if status.code() == Some(HANG_EXIT) {
            total.hangs += 1;
            save_finding(&crash_dir, "hang", &input, &tail)?;
        } else {
            total.crashes += 1;
            let kind = if log.contains("memory allocation of") {
                "memory"
            } else if log.contains("overflowed its stack") {
                "stack"
            } else {
                "abort"
            };
            save_finding(&crash_dir, kind, &input, &format!("{status}\n{tail}"))?;
        }
        restarts += 1;
        total.restarts = u64::from(restarts);
        if restarts >= MAX_RESTARTS {
            return Err(EngineError::TooManyRestarts(restarts));
        }
    }
    Ok(total)
}

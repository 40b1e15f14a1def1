//! The loop every command shares: generate fixtures from a seed, run the candidate's command
//! under limits, grade the output, score it against the rubric.
//!
//! The CLI only resolves settings and prints; `run`, `grade`, `demo` and `check` all go through
//! these functions so that they grade identically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use worksample_rubric::{Report, ReportContext, RunSummary, SeedInfo, TaskRef};
use worksample_runner::{EnvPolicy, Limits, RunSpec};

use crate::sink::CompareSink;
use crate::{
    AnswerKey, CandidateId, Figures, FolderDigest, FolderSink, GenerateContext, GradeContext,
    LimitsSpec, LoadedTask, MANIFEST_FILE, Manifest, Profile, Progress, PublicSeed, ResolvedSeed,
    Secret, SeedSource, Sink, TaskError,
    manifest::{MANIFEST_SCHEMA, holds_exactly},
};

/// Fixtures that were just generated, with the key that grades them.
#[derive(Debug)]
pub struct Generated {
    /// The answer key, in memory only.
    pub key: AnswerKey,
    /// The manifest written beside the fixtures.
    pub manifest: Manifest,
    /// The seed (secret for hidden runs).
    pub seed: ResolvedSeed,
    /// The profile used.
    pub profile: Profile,
}

/// Generates a task's fixtures into `out`, which must be empty or absent, and writes the
/// manifest. `figures` says whether the key will grade with figures shown.
pub fn generate(
    t: &LoadedTask,
    profile: Option<&str>,
    seed: &SeedSource,
    out: &Path,
    harness_version: &str,
    figures: Figures,
    progress: &dyn Progress,
) -> Result<Generated, TaskError> {
    prepare_empty_dir(out)?;
    let sink = FolderSink::new(out);
    let (key, resolved, profile) = produce(t, profile, seed, &sink, figures, progress)?;
    let manifest = describe(t, &profile, &resolved, sink.finish(), harness_version);
    manifest.write(out)?;
    Ok(Generated {
        key,
        manifest,
        seed: resolved,
        profile,
    })
}

/// Runs the task's generator into `sink`.
fn produce(
    t: &LoadedTask,
    profile: Option<&str>,
    seed: &SeedSource,
    sink: &dyn Sink,
    figures: Figures,
    progress: &dyn Progress,
) -> Result<(AnswerKey, ResolvedSeed, Profile), TaskError> {
    let profile = t.data.profile(profile)?;
    let spec = &t.data.spec;
    let resolved = seed.resolve(&spec.id, spec.version, &profile.name);
    let ctx = GenerateContext {
        seed: resolved.seed,
        profile: &profile,
        data: &t.data,
        progress,
        figures,
    };
    let key = t.task.generate(&ctx, sink)?;
    Ok((key, resolved, profile))
}

/// The manifest of a generated set.
fn describe(
    t: &LoadedTask,
    profile: &Profile,
    seed: &ResolvedSeed,
    digest: FolderDigest,
    harness_version: &str,
) -> Manifest {
    let spec = &t.data.spec;
    Manifest {
        schema: MANIFEST_SCHEMA.to_owned(),
        task: spec.id.clone(),
        task_version: spec.version,
        profile: profile.name.clone(),
        seed: seed.public.clone(),
        harness_version: harness_version.to_owned(),
        files: digest.files,
        bytes: digest.bytes,
        fixtures_digest: digest.digest,
    }
}

/// Fixtures a grader may read: the folder it was given, checked, or a private copy.
#[derive(Debug)]
pub enum Fixtures {
    /// The given folder, whose digest is the manifest's.
    Given(PathBuf),
    /// Generated afresh into a folder only the harness can open, removed on drop.
    Private(tempfile::TempDir),
}

impl Fixtures {
    /// Where the fixtures are.
    pub fn path(&self) -> &Path {
        match self {
            Fixtures::Given(path) => path,
            Fixtures::Private(dir) => dir.path(),
        }
    }
}

/// Fixtures and key regenerated from a manifest.
#[derive(Debug)]
pub struct Regenerated {
    /// The regenerated key and manifest.
    pub generated: Generated,
    /// The fixtures to grade against.
    pub fixtures: Fixtures,
    /// Said in the report when the given folder had changed since generation.
    pub note: Option<String>,
}

/// Given `manifest`, read from `fixtures/worksample.json` ([`Manifest::read`]; the caller may
/// need its seed kind first), regenerates the key and the digest of the fixtures it describes
/// (writing nothing) and checks that they are the ones described; the folder itself is compared
/// with the regenerated files as they are made. Hidden seeds need the secret; `figures` says
/// which figures the grade will show.
pub fn regenerate(
    t: &LoadedTask,
    fixtures: &Path,
    manifest: Manifest,
    secret: Option<&Secret>,
    harness_version: &str,
    figures: Figures,
    progress: &dyn Progress,
) -> Result<Regenerated, TaskError> {
    let spec = &t.data.spec;
    manifest.expect_task(fixtures, &spec.id, spec.version)?;
    let manifest_path = fixtures.join(MANIFEST_FILE);
    let source = match &manifest.seed {
        PublicSeed::Public { value } => SeedSource::Public(crate::Seed(*value)),
        PublicSeed::Hidden { candidate, .. } => SeedSource::Hidden {
            candidate: candidate.clone(),
            secret: secret.cloned().ok_or(TaskError::MissingSecret)?,
        },
    };
    let sink = CompareSink::new(fixtures);
    let (key, resolved, profile) = produce(
        t,
        Some(&manifest.profile),
        &source,
        &sink,
        figures,
        progress,
    )?;
    let (digest, intact) = sink.finish();
    let generated = Generated {
        manifest: describe(t, &profile, &resolved, digest, harness_version),
        key,
        seed: resolved,
        profile,
    };
    if generated.seed.public != manifest.seed {
        return Err(TaskError::Manifest {
            path: manifest_path,
            message: "the seed commitment does not match this secret and candidate".into(),
        });
    }
    if generated.manifest.fixtures_digest != manifest.fixtures_digest {
        return Err(TaskError::Manifest {
            path: manifest_path,
            message: format!(
                "it does not describe the fixtures its seed generates (digest {} expected, {} recorded); \
                 the manifest was edited, or the fixtures come from another harness build",
                short(&generated.manifest.fixtures_digest),
                short(&manifest.fixtures_digest)
            ),
        });
    }
    // The counts are the digest's summary: a manifest whose digest is right but whose counts
    // are not was edited, and would describe the fixtures wrongly in every report.
    let counts = |m: &Manifest| (m.files, m.bytes);
    if counts(&generated.manifest) != counts(&manifest) {
        return Err(TaskError::Manifest {
            path: manifest_path,
            message: format!(
                "it records {} files of {} bytes, but its seed generates {} files of {} bytes; \
                 the manifest was edited",
                manifest.files, manifest.bytes, generated.manifest.files, generated.manifest.bytes
            ),
        });
    }
    let (fixtures, note) = if intact {
        (Fixtures::Given(fixtures.to_path_buf()), None)
    } else {
        fresh(t, &generated, &source, fixtures, harness_version, progress)?
    };
    Ok(Regenerated {
        generated,
        fixtures,
        note,
    })
}

/// The fixtures to grade against: `dir` when it holds exactly what was generated (the check
/// walks it once and reads every file once, over both cores), otherwise the set generated afresh
/// into a private folder, with a note saying so.
fn checked_or_fresh(
    t: &LoadedTask,
    generated: &Generated,
    seed: &SeedSource,
    dir: &Path,
    harness_version: &str,
    progress: &dyn Progress,
) -> Result<(Fixtures, Option<String>), TaskError> {
    if holds_exactly(dir, &generated.manifest.fixtures_digest) {
        return Ok((Fixtures::Given(dir.to_path_buf()), None));
    }
    fresh(t, generated, seed, dir, harness_version, progress)
}

/// The set generated afresh into a folder only the harness can open, for a fixtures folder
/// `dir` that no longer holds what was generated; with the note saying so.
fn fresh(
    t: &LoadedTask,
    generated: &Generated,
    seed: &SeedSource,
    dir: &Path,
    harness_version: &str,
    progress: &dyn Progress,
) -> Result<(Fixtures, Option<String>), TaskError> {
    let expected = &generated.manifest.fixtures_digest;
    let private = private_tempdir("worksample-trusted-")?;
    // Only the digest of this set is compared; its key is not used.
    let again = generate(
        t,
        Some(&generated.profile.name),
        seed,
        private.path(),
        harness_version,
        Figures::Skip,
        progress,
    )?;
    if &again.manifest.fixtures_digest != expected {
        return Err(TaskError::Grader {
            task: t.data.spec.id.to_string(),
            message: "two generations from one seed differ; the generator is not deterministic"
                .into(),
        });
    }
    let note = format!(
        "the fixtures folder `{}` was changed after generation ({}); graded against the \
         fixtures generated afresh",
        dir.display(),
        changes(dir, private.path())
    );
    Ok((Fixtures::Private(private), Some(note)))
}

/// What differs between a changed fixtures folder and the set generated afresh, in words: the
/// first few paths edited, added and removed. A rare path (the fixtures were tampered with), so
/// it reads both folders rather than keeping per-file digests around for it.
fn changes(dir: &Path, fresh: &Path) -> String {
    use crate::manifest::{Others, list};
    let files = |d: &Path| list(d, Others::Skip).map(|l| l.files.into_iter().collect());
    let (given, made): (BTreeMap<String, PathBuf>, BTreeMap<String, PathBuf>) =
        match (files(dir), files(fresh)) {
            (Ok(given), Ok(made)) => (given, made),
            (Err(e), _) | (_, Err(e)) => {
                return format!("`{}` could not be listed: {}", e.path.display(), e.source);
            }
        };
    let differs = |a: &Path, b: &Path| match (std::fs::read(a), std::fs::read(b)) {
        (Ok(a), Ok(b)) => a != b,
        _ => true,
    };
    let edited: Vec<&String> = given
        .iter()
        .filter(|(rel, path)| made.get(*rel).is_some_and(|m| differs(path, m)))
        .map(|(rel, _)| rel)
        .collect();
    let added: Vec<&String> = given.keys().filter(|r| !made.contains_key(*r)).collect();
    let removed: Vec<&String> = made.keys().filter(|r| !given.contains_key(*r)).collect();
    // The listing leaves out links, devices and FIFOs, which the digest does not cover: name
    // them here, or the note could only say that something is there.
    let odd: Vec<String> = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir() && !e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap_or(e.path())
                .display()
                .to_string()
        })
        .collect();
    let said: Vec<String> = [
        ("edited", edited),
        ("added", added),
        ("removed", removed),
        ("has links or special files", odd.iter().collect()),
    ]
    .into_iter()
    .filter(|(_, paths)| !paths.is_empty())
    .map(|(what, paths)| {
        let shown: Vec<String> = paths.iter().take(3).map(|p| format!("`{p}`")).collect();
        let more = match paths.len().saturating_sub(3) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        format!("{what} {}{more}", shown.join(", "))
    })
    .collect();
    if said.is_empty() {
        // Every regular file reads the same and nothing else is there: a file the digest could
        // not read, or one changed and put back meanwhile.
        "no entry differs now; a file could not be read, or changed and was put back".to_owned()
    } else {
        said.join("; ")
    }
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// Who and how, for the report.
#[derive(Debug, Clone)]
pub struct GradeInputs {
    /// How the candidate's command ran ([`RunSummary::not_run`] for `grade`).
    pub run: RunSummary,
    /// `--fail-under`, in percent.
    pub threshold: Option<f64>,
    /// The harness version.
    pub harness_version: String,
    /// Which figures some report will show.
    pub figures: Figures,
}

/// Grades a submission against generated fixtures and scores it. The report is the assessor
/// view; the caller redacts it for candidates.
pub fn grade(
    t: &LoadedTask,
    generated: &Generated,
    fixtures: &Path,
    submission: &Path,
    inputs: GradeInputs,
    progress: &dyn Progress,
) -> Result<Report, TaskError> {
    let ctx = GradeContext {
        profile: &generated.profile,
        data: &t.data,
        fixtures,
        submission,
        progress,
        figures: inputs.figures,
    };
    let grade = t.task.grade(&ctx, &generated.key)?;
    let spec = &t.data.spec;
    let (seed, candidate) = match &generated.seed.public {
        PublicSeed::Public { value } => (SeedInfo::Public { value: *value }, None),
        PublicSeed::Hidden {
            commitment,
            candidate,
        } => (
            SeedInfo::Hidden {
                commitment: commitment.clone(),
            },
            Some(candidate.as_str().to_owned()),
        ),
    };
    let ctx = ReportContext {
        harness_version: inputs.harness_version,
        task: TaskRef {
            id: spec.id.to_string(),
            version: spec.version,
            title: spec.title.clone(),
        },
        profile: generated.profile.name.clone(),
        seed,
        candidate,
        run: inputs.run,
        threshold: inputs.threshold,
    };
    worksample_rubric::score(&t.data.rubric, grade, ctx).map_err(|e| TaskError::Grader {
        task: spec.id.to_string(),
        message: e.to_string(),
    })
}

/// Limits for a candidate's run: the task's, with any overrides.
pub fn limits(spec: &LimitsSpec, timeout: Option<Duration>, memory_mb: Option<u64>) -> Limits {
    let mb = |m: u64| m.saturating_mul(1024 * 1024);
    Limits {
        wall: timeout.unwrap_or(Duration::from_secs(spec.timeout_s)),
        memory_bytes: Some(mb(memory_mb.unwrap_or(spec.memory_mb))),
        max_processes: Some(spec.max_processes),
        max_file_bytes: Some(mb(spec.max_file_mb)),
        max_output_bytes: mb(spec.max_output_mb),
        ..Limits::default()
    }
}

/// A complete `run`: fixtures, the candidate's command, grading.
#[derive(Debug)]
pub struct RunRequest<'a> {
    /// The command, with `{input}` and `{output}` placeholders.
    pub argv: Vec<String>,
    /// Profile name, or the default.
    pub profile: Option<&'a str>,
    /// Seed source.
    pub seed: SeedSource,
    /// Limits.
    pub limits: Limits,
    /// Environment passed to the candidate.
    pub env: EnvPolicy,
    /// `--fail-under`.
    pub threshold: Option<f64>,
    /// The harness version.
    pub harness_version: String,
    /// Where to keep the candidate's output after grading (it is removed otherwise).
    pub keep_output: Option<PathBuf>,
    /// Folder the command starts in (the candidate's repository); by default a private one.
    pub cwd: Option<PathBuf>,
    /// Which figures some report will show.
    pub figures: Figures,
}

/// Generates fixtures into a private folder, gives the candidate a copy, runs the command under
/// limits and grades what it wrote. Candidate failures are graded outcomes, never errors.
pub fn run(
    t: &LoadedTask,
    req: RunRequest<'_>,
    progress: &dyn Progress,
) -> Result<Report, TaskError> {
    let root = private_tempdir("worksample-run-")?;
    let input = root.path().join("input");
    let output = match &req.keep_output {
        Some(dir) => {
            prepare_empty_dir(dir)?;
            dir.clone()
        }
        None => root.path().join("output"),
    };
    // The runner's one-time set-up (a forked probe of network isolation) overlaps generation,
    // and forks the process while it is small. If no thread can be started, the first run does
    // it instead.
    let _ = std::thread::Builder::new()
        .name("worksample-prepare".into())
        .spawn(worksample_runner::prepare);
    // The fixtures are generated straight into the candidate's input: a copy would double the
    // file creations, which dominate on many-file tasks (series: ~1,000 files).
    let generated = generate(
        t,
        req.profile,
        &req.seed,
        &input,
        &req.harness_version,
        req.figures,
        progress,
    )?;
    let ran_under = crate::outcome::limits_of(&req.limits);
    let loosened = loosened(&req.limits, &limits(&t.data.spec.limits, None, None));
    let mut spec = RunSpec::new(req.argv, input.clone(), output.clone());
    spec.limits = req.limits;
    spec.env = req.env;
    spec.cwd = req.cwd;
    let outcome = worksample_runner::run(&spec).map_err(TaskError::from)?;
    // The runner made the input read-only; give its folders their write bits back so the
    // temporary folder can be removed when the harness does not run as root (removing a file
    // needs write permission on its folder only).
    restore_write_bits(&input);
    let mut summary = crate::outcome::summarize(&outcome);
    summary.limits = Some(ran_under);
    let failed = crate::outcome::failure_note(&summary);
    // Grading must see the fixtures as generated. A candidate running as the harness's own user
    // may set the read-only modes back (and root ignores them), so unless the runner sealed the
    // input from a demoted candidate, it is checked against the digest taken at generation
    // (every process of the run is gone by now) and, if the candidate changed it, the fixtures
    // are generated afresh into a folder only the harness can open.
    let (fixtures, note) = if outcome.isolation.input.may_have_changed() {
        checked_or_fresh(
            t,
            &generated,
            &req.seed,
            &input,
            &req.harness_version,
            progress,
        )?
    } else {
        (Fixtures::Given(input.clone()), None)
    };
    let mut report = grade(
        t,
        &generated,
        fixtures.path(),
        &output,
        GradeInputs {
            run: summary,
            threshold: req.threshold,
            harness_version: req.harness_version,
            figures: req.figures,
        },
        progress,
    )?;
    // How the command failed comes before what the grader found in what it left.
    if let Some(failed) = failed {
        report.notes.insert(0, failed);
    }
    report.notes.extend(note);
    report.notes.extend(loosened);
    Ok(report)
}

/// A note when `given` is looser than the task's own limits `task` in wall time or memory: a
/// practice run may loosen them, and its report says so, since its run resources do not compare
/// with runs under the task's limits.
fn loosened(given: &Limits, task: &Limits) -> Option<String> {
    let mut said = Vec::new();
    if given.wall > task.wall {
        said.push(format!(
            "{} s wall (the task's: {} s)",
            given.wall.as_secs(),
            task.wall.as_secs()
        ));
    }
    let mib =
        |b: Option<u64>| b.map_or_else(|| "no limit".to_owned(), |b| format!("{} MiB", b >> 20));
    let unlimited = |b: Option<u64>| b.unwrap_or(u64::MAX);
    if unlimited(given.memory_bytes) > unlimited(task.memory_bytes) {
        said.push(format!(
            "{} memory (the task's: {})",
            mib(given.memory_bytes),
            mib(task.memory_bytes)
        ));
    }
    (!said.is_empty()).then(|| {
        format!(
            "ran under looser limits than the task's: {}; its time and memory do not compare with \
             runs under the task's limits",
            said.join(", ")
        )
    })
}

/// A new temporary folder, removed on drop, with mode 0700: only the harness's user can open
/// it (the runner lends what the candidate needs inside it, for the run only). tempfile's own
/// default is 0777 less the umask, which let a concurrent run's candidate into this one.
fn private_tempdir(prefix: &str) -> Result<tempfile::TempDir, TaskError> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(|e| {
            TaskError::io(
                "failed to create a temporary folder in",
                std::env::temp_dir(),
                e,
            )
        })
}

/// Creates `dir`, or accepts it when it exists and is empty. `dir` is a folder the user named,
/// so a path that cannot be one (a file, a folder without write permission, a read-only file
/// system) is the user's to fix: a usage error naming it.
pub fn prepare_empty_dir(dir: &Path) -> Result<(), TaskError> {
    let unusable = |action: &str, e: std::io::Error| {
        TaskError::Usage(format!(
            "cannot {action} the folder `{}`: {e}; give a new or empty folder",
            dir.display()
        ))
    };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(TaskError::Usage(format!(
                    "`{}` is not empty; give a new or empty folder so nothing is overwritten",
                    dir.display()
                )));
            }
            writable(dir).map_err(|e| unusable("write into", e))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| unusable("create", e))
        }
        Err(e) => Err(unusable("open", e)),
    }
}

/// Whether this process may create files in `dir`, by access(2): a folder without write
/// permission, or on a read-only file system, is the user's to fix before anything is written.
fn writable(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: a NUL-terminated path and a flag; access reads nothing else.
    if unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Gives every folder under `dir` (and `dir`) its owner's write bit back. Files keep their
/// modes: unlinking a file needs write permission on its folder, not on the file.
fn restore_write_bits(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        // Links are not followed, so a link to a folder elsewhere is not a folder here.
        if !entry.file_type().is_dir() {
            continue;
        }
        if let Ok(meta) = entry.metadata() {
            let mut perms = meta.permissions();
            perms.set_mode(perms.mode() | 0o200);
            // Best effort: a failure leaves a read-only temporary file, nothing worse.
            let _ = std::fs::set_permissions(entry.path(), perms);
        }
    }
}

/// The candidate id of a hidden run, for callers that need it without the seed.
pub fn candidate_of(seed: &SeedSource) -> Option<&CandidateId> {
    match seed {
        SeedSource::Public(_) => None,
        SeedSource::Hidden { candidate, .. } => Some(candidate),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The run's and the trusted fixtures' folders are the harness's alone whatever the umask:
    /// a concurrent run's candidate must not enter them (README, Reliability).
    #[test]
    fn private_folders_are_closed_to_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = private_tempdir("worksample-test-").expect("a temporary folder");
        let mode = std::fs::metadata(dir.path())
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

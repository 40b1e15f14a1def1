//! The `worksample.json` manifest written beside every generated fixture set, and the digest
//! that ties it to the files.
//!
//! `grade` trusts nothing in a fixtures folder but this manifest, and checks even that: it
//! regenerates the fixtures from the seed (the answer key is never on disk) and compares their
//! digest with the one recorded here, so an edited seed, task or profile is caught rather than
//! graded against the wrong answers; then it grades against the folder only if the folder's own
//! digest is that one too.

use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::sink::{FileDigest, combine};
use crate::{PublicSeed, TaskError, TaskId};

/// The manifest's schema tag. v2: the digest combines per-file hashes (see `sink::combine`), so
/// a v1 manifest's digest cannot be compared and is refused by its schema instead.
pub const MANIFEST_SCHEMA: &str = "worksample.manifest/v2";
/// The manifest's file name inside a fixtures folder.
pub const MANIFEST_FILE: &str = "worksample.json";
/// Manifests are small; anything larger is not one of ours.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// What a fixtures folder holds and how it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_SCHEMA`].
    pub schema: String,
    /// Task id.
    pub task: TaskId,
    /// Task version the fixtures were made by.
    pub task_version: u32,
    /// Fixture profile.
    pub profile: String,
    /// The seed, or its commitment.
    pub seed: PublicSeed,
    /// Harness version that wrote the fixtures.
    pub harness_version: String,
    /// Number of fixture files (the manifest excluded).
    pub files: u64,
    /// Total bytes of the fixture files.
    pub bytes: u64,
    /// SHA-256 over every fixture file's relative path and content, in path order.
    pub fixtures_digest: String,
}

impl Manifest {
    /// Writes the manifest into `dir`.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, TaskError> {
        let path = dir.join(MANIFEST_FILE);
        let mut text = serde_json::to_string_pretty(self).map_err(|e| TaskError::Generate {
            task: self.task.to_string(),
            message: format!("cannot serialise the manifest: {e}"),
        })?;
        text.push('\n');
        std::fs::write(&path, text).map_err(|e| TaskError::io("failed to write", &path, e))?;
        Ok(path)
    }

    /// Reads and checks the manifest of a fixtures folder.
    pub fn read(dir: &Path) -> Result<Self, TaskError> {
        let path = dir.join(MANIFEST_FILE);
        let bad = |message: String| TaskError::Manifest {
            path: path.clone(),
            message,
        };
        let text = crate::textfile::read_text(&path, MAX_MANIFEST_BYTES).map_err(|p| match p {
            crate::textfile::TextProblem::Open(e) => bad(format!(
                "cannot open it ({e}); is `{}` a folder made by `worksample generate`?",
                dir.display()
            )),
            crate::textfile::TextProblem::TooLarge(cap) => bad(format!("larger than {cap} bytes")),
            p @ (crate::textfile::TextProblem::NotRegular
            | crate::textfile::TextProblem::Read(_)) => bad(p.to_string()),
        })?;
        let m: Manifest =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a valid manifest: {e}")))?;
        if m.schema != MANIFEST_SCHEMA {
            return Err(bad(format!(
                "schema is `{}`, this harness reads `{MANIFEST_SCHEMA}`",
                m.schema
            )));
        }
        Ok(m)
    }

    /// Refuses a manifest of another task or task version.
    pub fn expect_task(&self, path: &Path, task: &TaskId, version: u32) -> Result<(), TaskError> {
        let bad = |message: String| TaskError::Manifest {
            path: path.join(MANIFEST_FILE),
            message,
        };
        if &self.task != task {
            return Err(bad(format!(
                "these fixtures are for task `{}`, not `{task}`",
                self.task
            )));
        }
        if self.task_version != version {
            return Err(bad(format!(
                "these fixtures were made by `{task}` version {}, but this harness grades version {version}; \
                 regenerate them with `worksample generate {task}`",
                self.task_version
            )));
        }
        Ok(())
    }
}

/// Digest, file count and bytes of a fixtures folder (the manifest excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderDigest {
    /// Hex SHA-256.
    pub digest: String,
    /// Files hashed.
    pub files: u64,
    /// Bytes hashed.
    pub bytes: u64,
}

/// A folder that could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("failed to list `{}`", path.display())]
pub struct ListError {
    /// The entry that could not be read.
    pub path: PathBuf,
    /// The system's reason.
    #[source]
    pub source: std::io::Error,
}

/// Every regular file under `dir` (links not followed) except the manifest, as its POSIX path
/// relative to `dir` and its full path, sorted by the former: what a fixture set consists of.
pub fn fixture_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, ListError> {
    list(dir, Others::Skip).map(|listing| listing.files)
}

/// What a walk does with an entry that is neither a regular file nor a folder (a link, a FIFO, a
/// device).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Others {
    /// Leaves it out, as a fixture set's digest does.
    Skip,
    /// Stops at it: a fixtures folder that must hold exactly the generated set may not hold one,
    /// since the digest would not see it.
    Refuse,
}

/// The outcome of [`list`].
#[derive(Debug)]
pub(crate) struct Listing {
    /// The fixture files, as [`fixture_files`] gives them; incomplete when `other` is set.
    pub(crate) files: Vec<(String, PathBuf)>,
    /// The entry a refusing walk stopped at, neither a regular file nor a folder.
    pub(crate) other: Option<PathBuf>,
}

/// One walk of `dir` (links not followed) for [`fixture_files`], or for the intact check, which
/// also refuses any entry that is not a regular file or folder.
pub(crate) fn list(dir: &Path, others: Others) -> Result<Listing, ListError> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false) {
        let entry = entry.map_err(|e| ListError {
            path: e
                .path()
                .map_or_else(|| dir.to_path_buf(), Path::to_path_buf),
            source: e.into(),
        })?;
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            match others {
                Others::Skip => continue,
                Others::Refuse => {
                    return Ok(Listing {
                        files,
                        other: Some(entry.into_path()),
                    });
                }
            }
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("walkdir yields paths under its root")
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if rel != MANIFEST_FILE {
            files.push((rel, entry.into_path()));
        }
    }
    files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(Listing { files, other: None })
}

/// Hashes every regular file under `dir` except the manifest, each streamed, over both cores:
/// the same digest a [`Sink`](crate::Sink) computes while the files are generated.
pub fn digest_folder(dir: &Path) -> Result<FolderDigest, TaskError> {
    let files =
        fixture_files(dir).map_err(|e| TaskError::io("failed to list", e.path, e.source))?;
    digest_files(files)
}

/// Whether `dir` holds exactly the fixture set with digest `expected` and nothing but regular
/// files and folders besides the manifest (the digest covers regular files only, so a link or
/// device left in the folder would otherwise go unnoticed). One walk, then every file hashed
/// over both cores.
pub(crate) fn holds_exactly(dir: &Path, expected: &str) -> bool {
    match list(dir, Others::Refuse) {
        Ok(Listing { files, other: None }) => {
            digest_files(files).is_ok_and(|d| d.digest == expected)
        }
        Ok(Listing { other: Some(_), .. }) | Err(_) => false,
    }
}

fn digest_files(files: Vec<(String, PathBuf)>) -> Result<FolderDigest, TaskError> {
    let files = files
        .into_par_iter()
        .map(|(rel, path)| hash_file(rel, &path))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(combine(files))
}

fn hash_file(rel: String, path: &Path) -> Result<FileDigest, TaskError> {
    let mut f = std::fs::File::open(path).map_err(|e| TaskError::io("failed to open", path, e))?;
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| TaskError::io("failed to read", path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok(FileDigest {
        rel,
        len,
        sha256: hasher.finalize().into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            schema: MANIFEST_SCHEMA.into(),
            task: TaskId::new("series").expect("id"),
            task_version: 2,
            profile: "standard".into(),
            seed: PublicSeed::Public { value: 9 },
            harness_version: "0.1.0".into(),
            files: 0,
            bytes: 0,
            fixtures_digest: String::new(),
        }
    }

    #[test]
    fn round_trips_and_refuses_other_versions() {
        let dir = tempfile::tempdir().expect("tempdir");
        manifest().write(dir.path()).expect("written");
        let m = Manifest::read(dir.path()).expect("read");
        assert_eq!(m, manifest());
        let series = TaskId::new("series").expect("id");
        m.expect_task(dir.path(), &series, 2).expect("same version");
        let err = m.expect_task(dir.path(), &series, 3).expect_err("version");
        assert!(err.to_string().contains("version 2"), "{err}");
        let err = m
            .expect_task(dir.path(), &TaskId::new("deid").expect("id"), 2)
            .expect_err("task");
        assert!(err.to_string().contains("not `deid`"), "{err}");
    }

    #[test]
    fn tampering_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(MANIFEST_FILE);
        for bad in [
            "{",
            r#"{"schema":"worksample.manifest/v0"}"#,
            &"x".repeat(70_000),
        ] {
            std::fs::write(&path, bad).expect("write");
            let err = Manifest::read(dir.path()).expect_err("bad");
            assert!(err.to_string().contains("worksample.json"), "{err}");
        }
        let mut extra = serde_json::to_value(manifest()).expect("json");
        extra["answers"] = serde_json::json!([1, 2]);
        std::fs::write(&path, extra.to_string()).expect("write");
        assert!(
            Manifest::read(dir.path()).is_err(),
            "unknown fields refused"
        );
    }

    #[test]
    fn digest_covers_names_and_content_but_not_the_manifest() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("a")).expect("mkdir");
        std::fs::write(dir.path().join("a/x.dcm"), b"one").expect("write");
        std::fs::write(dir.path().join("y.dcm"), b"two").expect("write");
        let d1 = digest_folder(dir.path()).expect("digest");
        assert_eq!((d1.files, d1.bytes), (2, 6));
        manifest().write(dir.path()).expect("manifest");
        assert_eq!(digest_folder(dir.path()).expect("digest"), d1);
        std::fs::rename(dir.path().join("y.dcm"), dir.path().join("z.dcm")).expect("mv");
        assert_ne!(digest_folder(dir.path()).expect("digest"), d1);
    }

    #[test]
    fn an_intact_folder_holds_the_digest_and_only_files_and_folders() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("a")).expect("mkdir");
        std::fs::write(dir.path().join("a/x.dcm"), b"one").expect("write");
        manifest().write(dir.path()).expect("manifest");
        let digest = digest_folder(dir.path()).expect("digest").digest;
        assert!(holds_exactly(dir.path(), &digest));
        assert!(!holds_exactly(dir.path(), "0"), "another digest");
        std::fs::create_dir(dir.path().join("empty")).expect("mkdir");
        assert!(
            holds_exactly(dir.path(), &digest),
            "an empty folder holds no file"
        );
        std::os::unix::fs::symlink("a/x.dcm", dir.path().join("link")).expect("symlink");
        assert_eq!(digest_folder(dir.path()).expect("digest").digest, digest);
        assert!(!holds_exactly(dir.path(), &digest), "a link is refused");
        assert!(!holds_exactly(&dir.path().join("missing"), &digest));
    }
}

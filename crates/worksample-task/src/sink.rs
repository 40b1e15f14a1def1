//! Where a task's generator puts its fixture files, and the digest that identifies a fixture set.
//!
//! A generator hands every file to a [`Sink`]: [`FolderSink`] writes it under a folder (for
//! `generate` and `run`), [`DigestSink`] keeps only its hash, and `CompareSink` keeps its hash and
//! compares it with the file of the same name in a given folder (for `grade`, which regenerates a
//! set only to learn its key, check the manifest and check the folder it was given, and needs
//! none of the files written again: on many-file tasks, creating files is most of generation's
//! cost). All record the same per-file hashes, so the set's digest is known without reading the
//! files back, and [`digest_folder`](crate::digest_folder) computes the identical digest from a
//! folder on disk.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use crate::manifest::{FolderDigest, Listing, Others, list};

/// A file the sink could not store.
#[derive(Debug, thiserror::Error)]
#[error("failed to write `{}`", path.display())]
pub struct SinkError {
    /// The file (or the folder that could not be created for it).
    pub path: PathBuf,
    /// The system's reason.
    #[source]
    pub source: std::io::Error,
}

/// Receives a generator's files. Generators may call [`Sink::put`] from several threads and in
/// any order: the digest does not depend on either.
pub trait Sink: Sync {
    /// Stores the file at `rel`, a relative path with `/` separators.
    fn put(&self, rel: &str, bytes: &[u8]) -> Result<(), SinkError>;
}

/// One file's entry in a set's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileDigest {
    /// Relative path, `/`-separated.
    pub rel: String,
    /// Length in bytes.
    pub len: u64,
    /// SHA-256 of the content.
    pub sha256: [u8; 32],
}

impl FileDigest {
    pub(crate) fn of(rel: &str, bytes: &[u8]) -> Self {
        FileDigest {
            rel: rel.to_owned(),
            len: bytes.len() as u64,
            sha256: Sha256::digest(bytes).into(),
        }
    }
}

/// Combines per-file hashes into the set's digest: SHA-256 over (name length, name, length,
/// content hash) of every file in byte order of the names, so it is independent of the order
/// files were written or read in.
pub(crate) fn combine(mut files: Vec<FileDigest>) -> FolderDigest {
    files.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    for f in &files {
        hasher.update((f.rel.len() as u64).to_be_bytes());
        hasher.update(f.rel.as_bytes());
        hasher.update(f.len.to_be_bytes());
        hasher.update(f.sha256);
        bytes += f.len;
    }
    FolderDigest {
        digest: hex::encode(hasher.finalize()),
        files: files.len() as u64,
        bytes,
    }
}

/// Keeps only the hashes of what it is given.
#[derive(Debug, Default)]
pub struct DigestSink {
    files: Mutex<Vec<FileDigest>>,
}

impl DigestSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The digest of everything put so far.
    pub fn finish(self) -> FolderDigest {
        combine(self.into_files())
    }

    fn into_files(self) -> Vec<FileDigest> {
        self.files.into_inner().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, rel: &str, bytes: &[u8]) {
        let entry = FileDigest::of(rel, bytes);
        // A panic elsewhere while holding the lock leaves the list itself intact.
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(entry);
    }
}

impl Sink for DigestSink {
    fn put(&self, rel: &str, bytes: &[u8]) -> Result<(), SinkError> {
        self.record(rel, bytes);
        Ok(())
    }
}

/// Writes files under a folder, creating subfolders as needed, and keeps their hashes.
#[derive(Debug)]
pub struct FolderSink {
    root: PathBuf,
    digest: DigestSink,
}

impl FolderSink {
    /// A sink writing under `root` (which should exist and be empty).
    pub fn new(root: &Path) -> Self {
        FolderSink {
            root: root.to_path_buf(),
            digest: DigestSink::new(),
        }
    }

    /// The digest of everything written.
    pub fn finish(self) -> FolderDigest {
        self.digest.finish()
    }
}

impl Sink for FolderSink {
    fn put(&self, rel: &str, bytes: &[u8]) -> Result<(), SinkError> {
        let path = self.root.join(rel);
        // A stat first: `create_dir_all` of a folder that exists is a failing mkdir, which takes
        // the parent folder's lock exclusively, and the workers writing one flat set of files
        // then queue on it for every file.
        if let Some(parent) = path.parent().filter(|p| !p.is_dir()) {
            std::fs::create_dir_all(parent).map_err(|source| SinkError {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(&path, bytes).map_err(|source| SinkError { path, source })?;
        self.digest.record(rel, bytes);
        Ok(())
    }
}

/// Keeps the hashes of what it is given, like [`DigestSink`], and compares every file with the
/// file at the same path under a folder. `grade` learns this way whether the folder it was given
/// holds exactly the regenerated set by reading each given file once and comparing bytes, where
/// hashing the folder would be a second pass over every byte.
#[derive(Debug)]
pub(crate) struct CompareSink {
    root: PathBuf,
    digest: DigestSink,
    /// Set at the first file that is missing, unreadable or not the same.
    differs: AtomicBool,
}

impl CompareSink {
    /// A sink comparing with the files under `root`.
    pub(crate) fn new(root: &Path) -> Self {
        CompareSink {
            root: root.to_path_buf(),
            digest: DigestSink::new(),
            differs: AtomicBool::new(false),
        }
    }

    /// The digest of everything put, and whether the folder holds exactly those files: each
    /// with the same bytes, no other file besides the manifest, and nothing but regular files
    /// and folders (the digest covers regular files only, so a link or device left in the folder
    /// would otherwise go unnoticed).
    pub(crate) fn finish(self) -> (FolderDigest, bool) {
        let mut files = self.digest.into_files();
        let same = !self.differs.into_inner()
            && match list(&self.root, Others::Refuse) {
                Ok(Listing {
                    files: found,
                    other: None,
                }) => {
                    files.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
                    found.len() == files.len()
                        && found.iter().zip(&files).all(|((rel, _), f)| *rel == f.rel)
                }
                Ok(Listing { other: Some(_), .. }) | Err(_) => false,
            };
        (combine(files), same)
    }
}

impl Sink for CompareSink {
    fn put(&self, rel: &str, bytes: &[u8]) -> Result<(), SinkError> {
        self.digest.record(rel, bytes);
        // One difference settles it; the remaining files need only their hashes.
        if !self.differs.load(Ordering::Relaxed) && !holds(&self.root.join(rel), bytes) {
            self.differs.store(true, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Whether `path` is a regular file holding exactly `expected`. A link is refused (`O_NOFOLLOW`)
/// and the open does not wait on a FIFO (`O_NONBLOCK`; reads of a regular file ignore it).
fn holds(path: &Path, expected: &[u8]) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(mut file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    else {
        return false;
    };
    let regular_of_length = file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() == expected.len() as u64);
    if !regular_of_length {
        return false;
    }
    let mut buf = vec![0u8; expected.len().clamp(1, 64 * 1024)];
    for chunk in expected.chunks(buf.len()) {
        let part = &mut buf[..chunk.len()];
        if file.read_exact(part).is_err() || part != chunk {
            return false;
        }
    }
    // Nothing past the expected end.
    file.read(&mut buf[..1]).is_ok_and(|n| n == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest_folder;

    #[test]
    fn the_digest_ignores_write_order_and_matches_the_folder_on_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files: [(&str, &[u8]); 4] = [
            ("b.dcm", b"second"),
            ("a/b.dcm", b"nested"),
            ("a-b.dcm", b"dash sorts before slash"),
            ("empty", b""),
        ];
        let sink = FolderSink::new(dir.path());
        for (rel, bytes) in files {
            sink.put(rel, bytes).expect("writes");
        }
        let written = sink.finish();
        let memory = DigestSink::new();
        for (rel, bytes) in files.iter().rev() {
            memory.put(rel, bytes).expect("records");
        }
        let on_disk = digest_folder(dir.path()).expect("digest");
        assert_eq!(written, memory.finish());
        assert_eq!(written, on_disk);
        assert_eq!((written.files, written.bytes), (4, 35));
    }

    #[test]
    fn any_change_of_name_or_content_changes_the_digest() {
        let base = || {
            let s = DigestSink::new();
            s.put("x.dcm", b"abc").expect("records");
            s
        };
        let same = base().finish();
        assert_eq!(same, base().finish());
        let renamed = DigestSink::new();
        renamed.put("y.dcm", b"abc").expect("records");
        let edited = DigestSink::new();
        edited.put("x.dcm", b"abd").expect("records");
        let extra = base();
        extra.put("z", b"").expect("records");
        for other in [renamed.finish(), edited.finish(), extra.finish()] {
            assert_ne!(other.digest, same.digest);
        }
    }

    /// What a test does to a written folder, and what it is called.
    type Change = (&'static str, fn(&Path));

    #[test]
    fn comparing_finds_a_folder_identical_or_not() {
        let files: [(&str, &[u8]); 3] = [("a/x.dcm", b"one"), ("y.dcm", b""), ("z.dcm", b"three")];
        let compare = |dir: &Path| {
            let sink = CompareSink::new(dir);
            for (rel, bytes) in files.iter().rev() {
                sink.put(rel, bytes).expect("records");
            }
            sink.finish()
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let written = FolderSink::new(dir.path());
        for (rel, bytes) in files {
            written.put(rel, bytes).expect("writes");
        }
        let written = written.finish();
        std::fs::write(dir.path().join(crate::MANIFEST_FILE), b"{}").expect("manifest");
        assert_eq!(compare(dir.path()), (written.clone(), true));

        let changes: [Change; 7] = [
            ("edited", |d| {
                std::fs::write(d.join("z.dcm"), b"thrEe").expect("write")
            }),
            ("longer", |d| {
                std::fs::write(d.join("z.dcm"), b"three!").expect("write")
            }),
            ("removed", |d| {
                std::fs::remove_file(d.join("y.dcm")).expect("rm")
            }),
            ("added", |d| {
                std::fs::write(d.join("a/extra"), b"").expect("write")
            }),
            ("linked", |d| {
                std::fs::remove_file(d.join("y.dcm")).expect("rm");
                std::os::unix::fs::symlink("a/x.dcm", d.join("y.dcm")).expect("link");
            }),
            ("a link beside", |d| {
                std::os::unix::fs::symlink("z.dcm", d.join("w")).expect("link");
            }),
            // Opening a FIFO for reading would wait for a writer forever without O_NONBLOCK.
            ("a FIFO in place", |d| {
                use std::os::unix::ffi::OsStrExt;
                std::fs::remove_file(d.join("y.dcm")).expect("rm");
                let path = std::ffi::CString::new(d.join("y.dcm").as_os_str().as_bytes())
                    .expect("no NUL in a temporary path");
                // SAFETY: a valid NUL-terminated path.
                assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0, "mkfifo");
            }),
        ];
        for (what, change) in changes {
            let copy = tempfile::tempdir().expect("tempdir");
            let sink = FolderSink::new(copy.path());
            for (rel, bytes) in files {
                sink.put(rel, bytes).expect("writes");
            }
            change(copy.path());
            let (digest, same) = compare(copy.path());
            assert_eq!(
                digest, written,
                "{what}: the digest is of the generated bytes"
            );
            assert!(!same, "{what}");
        }
    }

    #[test]
    fn a_folder_that_cannot_be_created_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("file"), b"").expect("writes");
        let err = FolderSink::new(dir.path())
            .put("file/inner.dcm", b"x")
            .expect_err("a file is in the way");
        assert!(err.to_string().contains("file"), "{err}");
    }
}

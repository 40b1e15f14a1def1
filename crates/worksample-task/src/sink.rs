//! Where a task's generator puts its fixture files, and the digest that identifies a fixture set.
//!
//! A generator hands every file to a [`Sink`]: [`FolderSink`] writes it under a folder (for
//! `generate` and `run`), [`DigestSink`] keeps only its hash (for `grade`, which regenerates a
//! set only to learn its key and check the manifest, and needs none of the files written again:
//! on many-file tasks, creating files is most of generation's cost). Both record the same
//! per-file hashes, so the set's digest is known without reading the files back, and
//! [`digest_folder`](crate::digest_folder) computes the identical digest from a folder on disk.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::manifest::FolderDigest;

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
        combine(self.files.into_inner().unwrap_or_else(|p| p.into_inner()))
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
        if let Some(parent) = path.parent() {
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

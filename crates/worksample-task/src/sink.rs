//! Where a task's generator puts its fixture files, and the digest that identifies a fixture set.
//!
//! A generator hands every file to a [`Sink`]: [`FolderSink`] writes it under a folder (for
//! `generate` and `run`), [`DigestSink`] keeps only its hash, and `CompareSink` keeps its hash and
//! compares it with the file of the same name in a given folder (for `grade`, which regenerates a
//! set only to learn its key, check the manifest and check the folder it was given, and needs
//! none of the files written again: on many-file tasks, creating files is most of generation's
//! cost). All record the same per-file hashes, so the set's digest is known without reading the
//! files back, and [`digest_folder`](crate::digest_folder) computes the identical digest from a
//! folder on disk. A generator that learns only after streaming a draw's files that the draw
//! fails its self-checks takes them back with [`Sink::discard`].

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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

    /// Takes back the file put at `rel`, as if it had never been put: its digest entry and, for
    /// a folder, the file (a folder `put` created stays, empty; digests cover files only). A
    /// generator that streams a draw's files as it makes them, and only then learns that the
    /// draw fails its self-checks, discards them instead of holding the whole draw in memory
    /// until it knows. Call it only after the `put` of `rel` has returned; discarding a path
    /// never put is not an error.
    fn discard(&self, rel: &str) -> Result<(), SinkError>;
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
        self.files().push(entry);
    }

    /// Forgets `rel`'s entry; whether there was one.
    fn forget(&self, rel: &str) -> bool {
        let mut files = self.files();
        match files.iter().position(|f| f.rel == rel) {
            Some(i) => {
                files.swap_remove(i);
                true
            }
            None => false,
        }
    }

    fn files(&self) -> std::sync::MutexGuard<'_, Vec<FileDigest>> {
        // A panic elsewhere while holding the lock leaves the list itself intact.
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Sink for DigestSink {
    fn put(&self, rel: &str, bytes: &[u8]) -> Result<(), SinkError> {
        self.record(rel, bytes);
        Ok(())
    }

    fn discard(&self, rel: &str) -> Result<(), SinkError> {
        self.forget(rel);
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

    fn discard(&self, rel: &str) -> Result<(), SinkError> {
        if self.digest.forget(rel) {
            let path = self.root.join(rel);
            std::fs::remove_file(&path).map_err(|source| SinkError { path, source })?;
        }
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
    /// The files put and not discarded that are missing, unreadable or not the same. Every file
    /// is compared, even after one differs, since that one may yet be discarded: a changed
    /// folder is read whole before `grade` generates a fresh copy (rare, and no slower than
    /// the read of an intact one).
    differing: Mutex<BTreeSet<String>>,
}

impl CompareSink {
    /// A sink comparing with the files under `root`.
    pub(crate) fn new(root: &Path) -> Self {
        CompareSink {
            root: root.to_path_buf(),
            digest: DigestSink::new(),
            differing: Mutex::new(BTreeSet::new()),
        }
    }

    /// The digest of everything put, and whether the folder holds exactly those files: each
    /// with the same bytes, no other file besides the manifest, and nothing but regular files
    /// and folders (the digest covers regular files only, so a link or device left in the folder
    /// would otherwise go unnoticed).
    pub(crate) fn finish(self) -> (FolderDigest, bool) {
        let mut files = self.digest.into_files();
        let differing = self
            .differing
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        let same = differing.is_empty()
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

    fn differing(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        // A panic elsewhere while holding the lock leaves the set itself intact.
        self.differing.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Sink for CompareSink {
    fn put(&self, rel: &str, bytes: &[u8]) -> Result<(), SinkError> {
        self.digest.record(rel, bytes);
        if !holds(&self.root.join(rel), bytes) {
            self.differing().insert(rel.to_owned());
        }
        Ok(())
    }

    fn discard(&self, rel: &str) -> Result<(), SinkError> {
        self.digest.forget(rel);
        self.differing().remove(rel);
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

    #[test]
    fn a_discarded_file_is_as_if_never_put() {
        let kept: [(&str, &[u8]); 2] = [("a/x.dcm", b"one"), ("y.dcm", b"two")];
        let dropped: [(&str, &[u8]); 2] = [("a/z.dcm", b"three"), ("y2.dcm", b"")];
        let dir = tempfile::tempdir().expect("tempdir");
        let only_kept = FolderSink::new(dir.path());
        for (rel, bytes) in kept {
            only_kept.put(rel, bytes).expect("writes");
        }
        let expected = only_kept.finish();

        // Kept and dropped files are put in turn, then the dropped ones are discarded.
        let put_all = |sink: &dyn Sink| {
            for ((k, kb), (d, db)) in kept.iter().zip(&dropped) {
                sink.put(d, db).expect("puts");
                sink.put(k, kb).expect("puts");
            }
            for (d, _) in dropped {
                sink.discard(d).expect("discards");
            }
            sink.discard("never/put.dcm")
                .expect("a path never put is no error");
        };
        let memory = DigestSink::new();
        put_all(&memory);
        assert_eq!(memory.finish(), expected);

        let other = tempfile::tempdir().expect("tempdir");
        let folder = FolderSink::new(other.path());
        put_all(&folder);
        assert_eq!(folder.finish(), expected);
        assert_eq!(digest_folder(other.path()).expect("digest"), expected);
        assert!(!other.path().join("y2.dcm").exists());

        // The discarded files are not in `dir`, so they differ while they are held.
        let compare = CompareSink::new(dir.path());
        put_all(&compare);
        assert_eq!(compare.finish(), (expected.clone(), true));
        let compare = CompareSink::new(dir.path());
        put_all(&compare);
        compare.put("y2.dcm", b"").expect("puts");
        let (digest, same) = compare.finish();
        assert_ne!(digest, expected);
        assert!(!same, "a file put again after its discard counts");
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

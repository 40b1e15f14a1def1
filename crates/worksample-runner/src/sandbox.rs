//! Who the candidate runs as. A harness running as root never hands root to a candidate: root
//! ignores mode bits (so a read-only input is not read-only), may kill any process and may write
//! anywhere on the machine. Instead the candidate runs as the unprivileged [`SANDBOX_ID`], as
//! isolate runs each box under its own uid (research/harness.md §3).
//!
//! For that user to do its job, the harness gives it, for the length of the run only: ownership
//! of the output folder and of the private home, temporary and working folders; and search (`x`)
//! permission on every ancestor folder of the paths it needs (a `tempfile` folder is `0700`).
//! Read access to the input tree is given by the walk that makes it read-only (the runner's
//! `seal_input`; the input is the harness's copy for this run, and it stays readable). Dropping
//! the [`Access`] puts back every ancestor's mode and hands the output back to the harness, so
//! nothing outside the run's own folders stays loosened.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The uid and gid a root harness runs candidates as: 65534 is `nobody` / `nogroup` on Debian
/// and most distributions, an account that owns nothing.
pub const SANDBOX_ID: u32 = 65534;

/// The credentials the child switches to between fork and exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Demotion {
    pub(crate) uid: libc::uid_t,
    pub(crate) gid: libc::gid_t,
}

impl Demotion {
    /// The demotion for this harness: `Some` exactly when it runs as root.
    pub(crate) fn for_harness() -> Option<Self> {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        root.then_some(Self {
            uid: SANDBOX_ID,
            gid: SANDBOX_ID,
        })
    }

    /// Switches the calling (forked, single-threaded) process to these credentials, dropping
    /// every supplementary group first. Only raw syscalls: this runs between fork and exec.
    pub(crate) fn apply(self) -> io::Result<()> {
        // SAFETY: plain syscalls on values; a null list with size 0 is what setgroups documents
        // for "no supplementary groups".
        unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(self.gid) != 0
                || libc::setuid(self.uid) != 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

/// What the harness loosened for one run; dropping it puts everything back.
#[derive(Debug)]
pub(crate) struct Access {
    /// Folders that got `o+x`, with their mode before.
    searchable: Vec<(PathBuf, u32)>,
    /// Trees handed to the sandbox user, to hand back.
    owned: Vec<PathBuf>,
    /// Whether every change succeeded.
    pub(crate) complete: bool,
}

impl Access {
    fn empty() -> Self {
        Self {
            searchable: Vec::new(),
            owned: Vec::new(),
            complete: true,
        }
    }

    /// Grants the sandbox user what a run needs: `owned` trees become its own, and every
    /// ancestor of `reachable` paths (and of the owned trees) becomes searchable.
    pub(crate) fn grant(demotion: Demotion, owned: &[&Path], reachable: &[&Path]) -> Self {
        let mut access = Self::empty();
        for path in owned.iter().chain(reachable) {
            access.make_reachable(path);
        }
        for tree in owned {
            access.complete &= chown_tree(tree, demotion.uid, demotion.gid);
            access.owned.push(tree.to_path_buf());
        }
        access
    }

    /// Adds `o+x` to every ancestor folder of `path` that lacks it (the path itself when it is
    /// a folder).
    fn make_reachable(&mut self, path: &Path) {
        for dir in path.ancestors() {
            let Ok(meta) = fs::metadata(dir) else {
                continue;
            };
            if !meta.is_dir() || meta.mode() & 0o001 != 0 {
                continue;
            }
            if self.searchable.iter().any(|(p, _)| p == dir) {
                continue;
            }
            let before = meta.mode() & 0o7777;
            if fs::set_permissions(dir, fs::Permissions::from_mode(before | 0o001)).is_ok() {
                self.searchable.push((dir.to_path_buf(), before));
            } else {
                self.complete = false;
            }
        }
    }
}

impl Drop for Access {
    /// Hands the owned trees back to the harness and puts back every mode it changed.
    fn drop(&mut self) {
        // SAFETY: geteuid/getegid have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        for tree in &self.owned {
            // Best effort: a tree the candidate made unreadable is still removable by root.
            chown_tree(tree, uid, gid);
        }
        for (dir, mode) in self.searchable.iter().rev() {
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(*mode));
        }
    }
}

/// `lchown` on every entry of `root` (links themselves, never their targets).
fn chown_tree(root: &Path, uid: u32, gid: u32) -> bool {
    let mut ok = true;
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        ok &= std::os::unix::fs::lchown(&path, Some(uid), Some(gid)).is_ok();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            ok = false;
            continue;
        };
        if meta.is_dir() {
            match fs::read_dir(&path) {
                Ok(entries) => stack.extend(entries.flatten().map(|entry| entry.path())),
                Err(_) => ok = false,
            }
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reachability_is_granted_and_put_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let closed = dir.path().join("closed");
        let inner = closed.join("inner");
        fs::create_dir_all(&inner).expect("mkdir");
        fs::set_permissions(&closed, fs::Permissions::from_mode(0o700)).expect("chmod");
        let mut access = Access::empty();
        access.make_reachable(&inner);
        let mode = |p: &Path| fs::metadata(p).expect("metadata").mode() & 0o7777;
        assert_eq!(mode(&closed), 0o701);
        drop(access);
        assert_eq!(mode(&closed), 0o700);
    }
}

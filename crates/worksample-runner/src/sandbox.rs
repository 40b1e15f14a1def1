//! Who the candidate runs as. A harness running as root never hands root to a candidate: root
//! ignores mode bits (so a read-only input is not read-only), may kill any process and may write
//! anywhere on the machine. Instead each run's candidate gets a uid and gid of its own from
//! [`SANDBOX_IDS`], as isolate runs each box under its own uid (research/harness.md §3): two
//! runs at once (a cohort graded two at a time) cannot read or write each other's output,
//! signal or trace each other's processes. A run holds its id by an exclusive `flock` on a slot
//! file in the [`Ledger`]'s folder for as long as it lives; without a ledger it falls back to
//! the shared [`SANDBOX_ID`], `nobody`.
//!
//! For that user to do its job, the harness gives it, for the length of the run only: ownership
//! of the output folder and of the private home, temporary and working folders; and search (`x`)
//! permission on every ancestor folder of the paths it needs (a `tempfile` folder is `0700`).
//! Read access to the input tree is given by the walk that makes it read-only (the runner's
//! `seal_input`; the input is the harness's copy for this run, and it stays readable). Dropping
//! the [`Access`] hands the output back to the harness and, once no other run is using them,
//! puts back every ancestor's mode, so nothing outside the runs' own folders stays loosened.
//!
//! Runs may overlap (an assessor grading a cohort two at a time, CI jobs on one machine), and
//! ancestors are shared: a run that finds `/root` already searchable because another run opened
//! it must not lose it when that run ends. So the modes changed are kept in a [`Ledger`] shared
//! by every root harness on the machine, and only the last run to end puts them back: each run
//! holds a shared `flock` on the ledger's `active` file while it lives, and a run ending puts the
//! modes back only if it can then lock that file exclusively. flock locks go with the process, so
//! a harness killed mid-run never leaves the others waiting; its loosened modes are put back by
//! the next run to end.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The uid and gid a root harness runs a candidate as when it cannot take an id of its own:
/// 65534 is `nobody` / `nogroup` on Debian and most distributions, an account that owns nothing.
pub const SANDBOX_ID: u32 = 65534;

/// The uids (each also the gid) a root harness gives its runs, one per live run: 256 ids from
/// 0x7A000000, in the range systemd's UIDS-GIDS.md leaves unassigned (above the container range
/// 524288–1879048191, below the foreign range from 2147352576 and the 2³¹ of signed-int
/// trouble), so they belong to no account and own nothing.
pub const SANDBOX_IDS: std::ops::Range<u32> = 0x7A00_0000..0x7A00_0100;

/// The id a root harness runs one candidate as, held while this lives: an exclusive lock on its
/// slot file, which the next run to start finds taken. Dropped after everything the run lent
/// has been handed back, so a slot is free only once nothing of its run is left.
pub(crate) struct Identity {
    pub(crate) demotion: Demotion,
    /// The slot's locked file; `None` for the shared fallback.
    _slot: Option<File>,
}

impl Identity {
    /// The first free slot of [`SANDBOX_IDS`], or `nobody` when no ledger folder can be had.
    pub(crate) fn take() -> Self {
        let shared = Self {
            demotion: Demotion {
                uid: SANDBOX_ID,
                gid: SANDBOX_ID,
            },
            _slot: None,
        };
        let Ok(dir) = Ledger::folder() else {
            return shared;
        };
        for id in SANDBOX_IDS {
            let Ok(file) = open_private(&dir.join(format!("slot-{id}"))) else {
                continue;
            };
            if flock(&file, libc::LOCK_EX | libc::LOCK_NB).is_ok() {
                return Self {
                    demotion: Demotion { uid: id, gid: id },
                    _slot: Some(file),
                };
            }
        }
        shared
    }
}

/// The credentials the child switches to between fork and exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Demotion {
    pub(crate) uid: libc::uid_t,
    pub(crate) gid: libc::gid_t,
}

impl Demotion {
    /// Switches the calling (forked, single-threaded) process to these credentials, dropping
    /// every supplementary group first, and makes sure no capability survives (a container's
    /// securebits could keep them across `setuid`, capabilities(7)); the runner then forbids
    /// any exec to grant new ones. Only raw syscalls: this runs between fork and exec.
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
        if holds_capabilities()? {
            return Err(io::Error::from_raw_os_error(libc::EPERM));
        }
        Ok(())
    }
}

/// Whether the calling process holds any effective or permitted capability, by the raw
/// `capget` syscall (async-signal-safe; the libc crate has no wrapper). Version 3 of the
/// interface, two 32-bit words per set (linux/capability.h).
fn holds_capabilities() -> io::Result<bool> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: both pointers are to live locals of the layout capget(2) documents for version 3.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(data.iter().any(|d| d.effective != 0 || d.permitted != 0))
}

/// What the harness loosened for one run; dropping it puts everything back.
pub(crate) struct Access {
    /// Where the loosened ancestor modes are recorded; `None` when the ledger could not be
    /// opened, and this run puts back what it changed itself.
    ledger: Option<Ledger>,
    /// Folders this run gave `o+x`, with their mode before (kept here only without a ledger).
    searchable: Vec<(PathBuf, u32)>,
    /// Trees handed to the sandbox user, with their modes before, to hand back.
    owned: Vec<(PathBuf, u32)>,
    /// Whether every change succeeded.
    pub(crate) complete: bool,
}

impl Access {
    fn empty(ledger: Option<Ledger>) -> Self {
        Self {
            ledger,
            searchable: Vec::new(),
            owned: Vec::new(),
            complete: true,
        }
    }

    /// Grants the sandbox user what a run needs: `owned` trees become its own, and every
    /// ancestor of `reachable` paths (and of the owned trees) becomes searchable.
    pub(crate) fn grant(demotion: Demotion, owned: &[&Path], reachable: &[&Path]) -> Self {
        let mut access = Self::empty(Ledger::for_harness().ok());
        access.make_reachable(owned.iter().chain(reachable).copied());
        for tree in owned {
            // Closed to others while the candidate has it: another run's candidate (another
            // uid) must not read this one's output or scratch files.
            let before = fs::symlink_metadata(tree).map_or(0o755, |m| m.mode() & 0o7777);
            access.complete &= chown_tree(tree, demotion.uid, demotion.gid)
                && fs::set_permissions(tree, fs::Permissions::from_mode(before & !0o077)).is_ok();
            access.owned.push((tree.to_path_buf(), before));
        }
        access
    }

    /// Adds `o+x` to every ancestor folder of `paths` that lacks it (a path itself when it is a
    /// folder), recording each change in the ledger (locked meanwhile, so two runs never record
    /// one folder twice) or, without one, in this run.
    fn make_reachable<'p>(&mut self, paths: impl Iterator<Item = &'p Path>) {
        let mut record = match &self.ledger {
            Some(ledger) => match ledger.lock() {
                Ok(record) => Some(record),
                Err(_) => {
                    self.complete = false;
                    return;
                }
            },
            None => None,
        };
        for dir in paths.flat_map(Path::ancestors) {
            let Ok(meta) = fs::metadata(dir) else {
                continue;
            };
            if !meta.is_dir() || meta.mode() & 0o001 != 0 {
                continue;
            }
            let before = meta.mode() & 0o7777;
            if fs::set_permissions(dir, fs::Permissions::from_mode(before | 0o001)).is_err() {
                self.complete = false;
                continue;
            }
            match &mut record {
                Some(record) => self.complete &= record.append(dir, before).is_ok(),
                None => self.searchable.push((dir.to_path_buf(), before)),
            }
        }
    }
}

impl Drop for Access {
    /// Hands the owned trees back to the harness and puts back every mode changed, this run's
    /// own or, if it is the last run on the machine, the ledger's.
    fn drop(&mut self) {
        // SAFETY: geteuid/getegid have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        for (tree, mode) in &self.owned {
            // Best effort: a tree the candidate made unreadable is still removable by root.
            chown_tree(tree, uid, gid);
            let _ = fs::set_permissions(tree, fs::Permissions::from_mode(*mode));
        }
        for (dir, mode) in self.searchable.iter().rev() {
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(*mode));
        }
        if let Some(ledger) = self.ledger.take() {
            ledger.release();
        }
    }
}

/// The record, shared by every root harness on the machine, of the ancestor folders runs made
/// searchable, and the liveness of those runs. A folder of the harness user's own, mode `0700`,
/// under `/run` or the temporary folder ([`Ledger::folder`]): `ledger` holds `mode path` entries, NUL-terminated (paths may hold
/// any byte but NUL), and its lock guards them; `active` is share-locked by every live run.
pub(crate) struct Ledger {
    dir: PathBuf,
    /// This run's open `active` file, share-locked until [`Ledger::release`].
    active: File,
}

/// The ledger file, exclusively locked while held.
struct Record {
    file: File,
}

impl Ledger {
    /// The machine's ledger for this user, created on first use.
    fn for_harness() -> io::Result<Self> {
        Self::open_in(Self::folder()?)
    }

    /// The ledger's folder for this user, made and checked (see [`Ledger::open_in`]): under
    /// `/run` when this user may write there (root, on any system with a `/run`), which every
    /// harness on the machine shares whatever its `TMPDIR`, so two harnesses with different
    /// temporary folders still take distinct ids and keep each other's ancestors open; under
    /// the temporary folder otherwise.
    fn folder() -> io::Result<PathBuf> {
        let name = format!("worksample-access-{}", euid());
        let shared = Path::new("/run").join(&name);
        if private_folder(&shared).is_ok() {
            return Ok(shared);
        }
        let dir = std::env::temp_dir().join(name);
        private_folder(&dir)?;
        Ok(dir)
    }

    /// The ledger in `dir`, joined as a live run. The folder must be this user's own and closed
    /// to others, and is never followed through a symbolic link: root writes in it, and the
    /// temporary folder is everyone's.
    fn open_in(dir: PathBuf) -> io::Result<Self> {
        private_folder(&dir)?;
        let active = open_private(&dir.join("active"))?;
        // Shared: blocks only while a run ending holds it exclusively to put modes back.
        flock(&active, libc::LOCK_SH)?;
        Ok(Self { dir, active })
    }

    /// The ledger's entries, locked exclusively while the record lives.
    fn lock(&self) -> io::Result<Record> {
        Record::lock(&self.dir)
    }

    /// Leaves the live runs and, if no other run is live, puts every recorded mode back (the
    /// most recently loosened first, so a child is closed before its parent) and empties the
    /// ledger. The ledger is locked first; then this run's shared lock on `active` is turned
    /// into an exclusive one without waiting, which succeeds only when no other run holds it. A
    /// starting run share-locks `active` before it locks the ledger, so either it is seen as live
    /// here or it waits and then loosens afresh what was just put back. (A failed conversion may
    /// drop the shared lock, flock(2); this run is leaving anyway.)
    fn release(self) {
        let Ok(mut record) = self.lock() else {
            return;
        };
        if flock(&self.active, libc::LOCK_EX | libc::LOCK_NB).is_err() {
            return;
        }
        let entries = record.entries().unwrap_or_default();
        for (dir, mode) in entries.iter().rev() {
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(*mode));
        }
        let _ = record.clear();
    }
}

impl Record {
    fn lock(dir: &Path) -> io::Result<Record> {
        let file = open_private(&dir.join("ledger"))?;
        flock(&file, libc::LOCK_EX)?;
        Ok(Record { file })
    }

    fn append(&mut self, dir: &Path, mode: u32) -> io::Result<()> {
        let mut entry = format!("{mode:o} ").into_bytes();
        entry.extend_from_slice(dir.as_os_str().as_bytes());
        entry.push(0);
        self.file.seek(io::SeekFrom::End(0))?;
        self.file.write_all(&entry)
    }

    fn entries(&mut self) -> io::Result<Vec<(PathBuf, u32)>> {
        let mut bytes = Vec::new();
        self.file.seek(io::SeekFrom::Start(0))?;
        self.file.read_to_end(&mut bytes)?;
        Ok(bytes
            .split(|b| *b == 0)
            .filter_map(|entry| {
                let space = entry.iter().position(|b| *b == b' ')?;
                let mode = std::str::from_utf8(&entry[..space]).ok()?;
                let mode = u32::from_str_radix(mode, 8).ok()?;
                Some((PathBuf::from(OsStr::from_bytes(&entry[space + 1..])), mode))
            })
            .collect())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.file.set_len(0)
    }
}

/// Creates `dir` (`0700`) or accepts it if it is already a folder of this user's closed to
/// others; never through a symbolic link.
fn private_folder(dir: &Path) -> io::Result<()> {
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = fs::symlink_metadata(dir)?;
    if !meta.is_dir() || meta.uid() != euid() || meta.mode() & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} is not a private folder of this user", dir.display()),
        ));
    }
    Ok(())
}

/// Opens (creating, `0600`) a file of the ledger, never through a symbolic link.
fn open_private(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// The harness's effective user id.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

fn flock(file: &File, operation: libc::c_int) -> io::Result<()> {
    // SAFETY: flock on a descriptor this File owns.
    if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
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

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).expect("metadata").mode() & 0o7777
    }

    /// A folder closed to others with a folder inside.
    fn closed_tree(root: &Path) -> (PathBuf, PathBuf) {
        let closed = root.join("closed");
        let inner = closed.join("inner");
        fs::create_dir_all(&inner).expect("mkdir");
        fs::set_permissions(&closed, fs::Permissions::from_mode(0o700)).expect("chmod");
        (closed, inner)
    }

    #[test]
    fn reachability_is_granted_and_put_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (closed, inner) = closed_tree(dir.path());
        for ledger in [None, Some(dir.path().join("ledger"))] {
            let ledger = ledger.map(|l| Ledger::open_in(l).expect("ledger"));
            let mut access = Access::empty(ledger);
            access.make_reachable([inner.as_path()].into_iter());
            assert!(access.complete);
            assert_eq!(mode(&closed), 0o701);
            drop(access);
            assert_eq!(mode(&closed), 0o700);
        }
    }

    #[test]
    fn overlapping_runs_keep_what_the_other_still_uses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (closed, inner) = closed_tree(dir.path());
        let ledger = dir.path().join("ledger");
        let run = || Access::empty(Some(Ledger::open_in(ledger.clone()).expect("ledger")));
        // The first run opens the folder; the second finds it open and changes nothing.
        let (mut first, mut second) = (run(), run());
        first.make_reachable([inner.as_path()].into_iter());
        second.make_reachable([inner.as_path()].into_iter());
        // The first ends while the second still runs: the folder stays open for it.
        drop(first);
        assert_eq!(mode(&closed), 0o701);
        // The last run to end closes it.
        drop(second);
        assert_eq!(mode(&closed), 0o700);
        // A killed harness: its lock goes with the process, its entries stay; the next run to
        // end puts them back.
        let mut killed = run();
        killed.make_reachable([inner.as_path()].into_iter());
        drop(killed.ledger.take().map(|l| l.active));
        drop(killed);
        assert_eq!(mode(&closed), 0o701);
        drop(run());
        assert_eq!(mode(&closed), 0o700);
    }

    /// Each live run holds an id of its own; a dropped one is free again.
    #[test]
    fn live_runs_hold_distinct_ids() {
        let first = Identity::take();
        let second = Identity::take();
        assert!(
            SANDBOX_IDS.contains(&first.demotion.uid),
            "a slot, not the fallback"
        );
        assert_ne!(first.demotion.uid, second.demotion.uid);
        assert_eq!(first.demotion.uid, first.demotion.gid);
        let uid = first.demotion.uid;
        drop(first);
        let third = Identity::take();
        assert_eq!(third.demotion.uid, uid, "the freed slot is taken again");
    }

    #[test]
    fn a_ledger_folder_open_to_others_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shared = dir.path().join("shared");
        fs::create_dir(&shared).expect("mkdir");
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).expect("chmod");
        assert!(Ledger::open_in(shared).is_err());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path(), &link).expect("symlink");
        assert!(Ledger::open_in(link).is_err());
    }
}

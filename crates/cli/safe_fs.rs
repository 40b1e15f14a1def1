//! Reading and writing files where a candidate may have planted symbolic links.
//!
//! `worksample check` runs in the candidate's repository, often as root on the assessor's side:
//! a `worksample-reports/junit.xml` committed as a link to `/etc/passwd`, or a `worksample.toml`
//! linked to a root-readable secret, must not make the harness write or print through the
//! link; nor may `report.json` planted as a link in a submission folder an assessor reuses as
//! `run --out`. So report files are never written through a link (the one file an assessor
//! names may be a link to a device, `/dev/stdout`), regular files are replaced whole through a
//! temporary file and a rename (a full disk leaves the earlier file, never a cut-off one),
//! report folders are made one component at a time refusing links below the repository and are
//! then held open, every file in them created and renamed relative to that descriptor, and the
//! manifest is read only when it is itself a regular file.
//!
//! Every destination is also probed before anything runs, so a report that cannot be written
//! is found out before a candidate's command spends its time limit, not after.

use std::io::{Read as _, Write as _};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// `O_NOFOLLOW` refuses a link as the last component; `O_NONBLOCK` keeps a FIFO planted in
/// place of a file from blocking the open (it fails with ENXIO instead).
const NO_LINKS: libc::c_int = libc::O_NOFOLLOW | libc::O_NONBLOCK;

/// Reads `path` (at most `limit` bytes and one more, so a caller can tell it is too long) when
/// it is a regular file, refusing a symbolic link, a folder, a FIFO or a device by name.
pub(crate) fn read_regular(path: &Path, limit: usize) -> anyhow::Result<String> {
    let meta = std::fs::symlink_metadata(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    if meta.file_type().is_symlink() {
        bail!(
            "`{}` is a symbolic link; it must be a regular file in the repository (a link is \
             not followed, so the harness reads nothing outside it)",
            path.display()
        );
    }
    if !meta.is_file() {
        bail!("`{}` is not a regular file", path.display());
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(NO_LINKS)
        .open(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    // The path may have been swapped between the check and the open: judge what was opened.
    let opened = file
        .metadata()
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    if !opened.is_file() {
        bail!("`{}` is not a regular file", path.display());
    }
    let mut text = String::new();
    file.take(limit as u64 + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read `{}` as UTF-8", path.display()))?;
    Ok(text)
}

/// Flags of every folder opened on the way to a report folder: a folder or nothing, held only as
/// a place (`O_PATH`), so search permission is enough, as it is for a path.
const DIR_FLAGS: OFlags = OFlags::PATH.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);

/// A report folder held open by descriptor. Its files are judged, created, renamed and removed
/// relative to the descriptor (`openat`, `renameat`), never by path: a folder on the way swapped
/// for a link after it was checked (by a process the runner did not start, so did not kill)
/// changes nothing, since every write lands in the folder that was checked or fails. Written by
/// hand on rustix's safe calls: tempfile and std name files by path only.
pub(crate) struct Folder {
    fd: OwnedFd,
    /// The folder as named, for messages.
    path: PathBuf,
}

impl Folder {
    /// Opens the existing folder `dir`; links in its path are followed (an assessor's `--out`).
    pub(crate) fn open(dir: &Path) -> anyhow::Result<Folder> {
        let fd = rustix::fs::open(dir, DIR_FLAGS, Mode::empty())
            .map_err(std::io::Error::from)
            .with_context(|| format!("cannot use report folder `{}`", dir.display()))?;
        Ok(Folder {
            fd,
            path: dir.to_path_buf(),
        })
    }

    /// Makes the folder `dir` and any missing parents, one component at a time, each opened
    /// from the one before. A component at or below `guarded` (the candidate's repository,
    /// canonical) that is a symbolic link is refused; links above it are the assessor's own and
    /// are followed. A component that exists but is not a folder is refused too.
    pub(crate) fn create_guarded(dir: &Path, guarded: &Path) -> anyhow::Result<Folder> {
        let usable = || format!("cannot use report folder `{}`", dir.display());
        let through_link = |link: &Path| {
            anyhow!(
                "refusing to write reports through the symbolic link `{}` in the repository \
                 (--out `{}`): remove it or choose another --out",
                link.display(),
                dir.display()
            )
        };
        let not_folder = |what: &Path| {
            anyhow!(
                "the report folder `{}` is not a folder (`{}` is not one)",
                dir.display(),
                what.display()
            )
        };
        let (mut at, start) = if dir.is_absolute() {
            (PathBuf::from("/"), "/")
        } else {
            // The kernel's working folder is already free of links, so `at` stays a physical
            // path and `..` can be taken lexically, as the descriptor takes it physically.
            let cwd = std::env::current_dir().context("cannot find the current folder")?;
            (cwd, ".")
        };
        let mut fd = rustix::fs::open(start, DIR_FLAGS, Mode::empty())
            .map_err(std::io::Error::from)
            .with_context(usable)?;
        for component in dir.components() {
            let name = match component {
                Component::Prefix(_) | Component::RootDir | Component::CurDir => continue,
                Component::ParentDir => {
                    at.pop();
                    fd = rustix::fs::openat(&fd, "..", DIR_FLAGS, Mode::empty())
                        .map_err(std::io::Error::from)
                        .with_context(usable)?;
                    continue;
                }
                Component::Normal(name) => name,
            };
            let next = at.join(name);
            let inside = next.starts_with(guarded);
            let kind = match rustix::fs::statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => Some(FileType::from_raw_mode(st.st_mode)),
                Err(Errno::NOENT) => None,
                Err(e) => return Err(std::io::Error::from(e)).with_context(usable),
            };
            let follow = match kind {
                Some(FileType::Symlink) if inside => return Err(through_link(&next)),
                Some(FileType::Symlink) => true,
                Some(FileType::Directory) => false,
                Some(_) => return Err(not_folder(&next)),
                None => {
                    match rustix::fs::mkdirat(&fd, name, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => {
                            return Err(std::io::Error::from(e)).with_context(|| {
                                format!("failed to create report folder `{}`", dir.display())
                            });
                        }
                    }
                    false
                }
            };
            let flags = if follow {
                DIR_FLAGS
            } else {
                DIR_FLAGS | OFlags::NOFOLLOW
            };
            // Judged again by the open itself: a folder swapped for a link or a file since the
            // look above fails here instead of being entered.
            fd = match rustix::fs::openat(&fd, name, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    let link = rustix::fs::statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW)
                        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink);
                    return Err(if link && inside {
                        through_link(&next)
                    } else {
                        not_folder(&next)
                    });
                }
                Err(e) => return Err(std::io::Error::from(e)).with_context(usable),
            };
            at = if follow {
                next.canonicalize().with_context(usable)?
            } else {
                next
            };
        }
        Ok(Folder {
            fd,
            path: dir.to_path_buf(),
        })
    }

    /// What the file `name` is: `None` when there is none yet, what a replacement keeps when it
    /// is a regular file, refused when it is a link, a folder or anything else.
    fn judge(&self, name: &str) -> anyhow::Result<Option<Kept>> {
        let path = self.path.join(name);
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                FileType::RegularFile => Ok(Some(Kept::of(st.st_mode))),
                FileType::Directory => Err(is_folder(&path)),
                FileType::Symlink => Err(is_link(&path)),
                _ => Err(not_regular(&path)),
            },
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(std::io::Error::from(e))
                .with_context(|| format!("cannot write report `{}`", path.display())),
        }
    }

    /// Refuses `name` when it is there and the rename that replaces it would fail: in a folder
    /// with the sticky bit (S_ISVTX, as /tmp has), only the file's owner, the folder's owner or
    /// a process with CAP_FOWNER (taken to be root) may replace or remove a file (POSIX
    /// rename(); Linux fs/namei.c, check_sticky). Found after a candidate's run, the report
    /// could only be printed instead.
    fn replaceable(&self, name: &str) -> anyhow::Result<()> {
        let Ok(file) = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) else {
            return Ok(());
        };
        let Ok(dir) = rustix::fs::fstat(&self.fd) else {
            return Ok(());
        };
        let me = rustix::process::geteuid();
        let sticky = Mode::from_raw_mode(dir.st_mode).contains(Mode::SVTX);
        if sticky && !me.is_root() && file.st_uid != me.as_raw() && dir.st_uid != me.as_raw() {
            bail!(
                "cannot replace report `{}`: another user owns it, in a folder with the sticky \
                 bit where only its owner may replace it; name another file",
                self.path.join(name).display()
            );
        }
        Ok(())
    }

    /// A new file beside `name` to write it into: created exclusively and never through a link,
    /// with the mode a plain create would give it (0666 less the umask).
    fn temporary(&self, name: &str) -> anyhow::Result<(String, std::fs::File)> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        for attempt in 0..100 {
            let suffix = format!(".{}.{attempt}.partial", std::process::id());
            // A name near the file system's limit still gets a temporary: its start, cut at a
            // character boundary so the whole fits NAME_MAX (255 bytes on Linux file systems).
            let room = NAME_MAX - 1 - suffix.len();
            let stem = match name.char_indices().find(|(i, c)| i + c.len_utf8() > room) {
                Some((cut, _)) => &name[..cut],
                None => name,
            };
            let temp = format!(".{stem}{suffix}");
            match rustix::fs::openat(&self.fd, temp.as_str(), flags, Mode::from_raw_mode(0o666)) {
                Ok(fd) => return Ok((temp, std::fs::File::from(fd))),
                // Left by another run, or planted: another name.
                Err(Errno::EXIST) => {}
                Err(e) => {
                    return Err(std::io::Error::from(e)).with_context(|| {
                        format!("cannot write report `{}`", self.path.join(name).display())
                    });
                }
            }
        }
        bail!(
            "cannot write report `{}`: every temporary name beside it is taken",
            self.path.join(name).display()
        )
    }

    /// Checks that `name` could be written as a report, leaving it as it was.
    pub(crate) fn probe(&self, name: &str) -> anyhow::Result<()> {
        self.judge(name)?;
        self.replaceable(name)?;
        let (temp, file) = self.temporary(name)?;
        drop(file);
        rustix::fs::unlinkat(&self.fd, temp.as_str(), AtFlags::empty())
            .map_err(std::io::Error::from)
            .with_context(|| format!("cannot write report `{}`", self.path.join(name).display()))
    }

    /// Writes `text` as the file `name`: into a temporary file beside it, renamed over it, so a
    /// failed write (a full disk) leaves the earlier file whole and no cut-off one. A replaced
    /// file's mode is kept ([`Kept`]), given before the text is written, so a report locked down
    /// to its owner is never readable by others in its temporary file.
    pub(crate) fn write(&self, name: &str, text: &str) -> anyhow::Result<()> {
        let kept = self.judge(name)?;
        let (temp, mut file) = self.temporary(name)?;
        let written = kept
            .map_or(Ok(()), |k| k.apply(&file))
            .and_then(|()| file.write_all(text.as_bytes()))
            .and_then(|()| file.flush())
            .and_then(|()| {
                rustix::fs::renameat(&self.fd, temp.as_str(), &self.fd, name)
                    .map_err(std::io::Error::from)
            });
        if written.is_err() {
            // Best effort: what is left is named `.NAME.….partial`, never a report's name.
            let _unlinked = rustix::fs::unlinkat(&self.fd, temp.as_str(), AtFlags::empty());
        }
        written.with_context(|| {
            format!(
                "failed to write report `{}`",
                self.path.join(name).display()
            )
        })
    }

    /// Removes `name` when it is a regular file; whether it did.
    pub(crate) fn remove_file(&self, name: &str) -> bool {
        matches!(self.judge(name), Ok(Some(_)))
            && rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()).is_ok()
    }
}

/// What the one report file an assessor names (`--out FILE`) is, once its links are judged.
enum Destination {
    /// A regular file or nothing yet: written to a temporary file beside it and renamed over
    /// it, so a failed write (a full disk) leaves the earlier file whole and no cut-off one.
    /// Its mode is kept ([`Folder::write`]).
    Replace,
    /// A character device or FIFO: written in place.
    Stream,
    /// The process's own standard output or error, whatever it is (`/dev/stdout` with stdout
    /// redirected to a file names that file): written through the descriptor.
    Stdout,
    /// The same for standard error (`/dev/stderr`).
    Stderr,
}

/// What a replaced report file passes on to the file that replaces it: its permission bits (an
/// assessor may have made a hidden report readable by nobody else), less the set-id, sticky and
/// write-for-others bits, since the file replaced may be one a candidate planted in a folder the
/// assessor reuses, and its mode must not make the new report editable by them. Its owner is
/// not passed on, for the same reason: the new report is the writer's.
#[derive(Debug, Clone, Copy)]
struct Kept {
    mode: u32,
}

impl Kept {
    fn of(mode: u32) -> Kept {
        Kept { mode: mode & 0o775 }
    }

    fn apply(self, file: &std::fs::File) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(self.mode))
    }
}

fn is_folder(path: &Path) -> anyhow::Error {
    anyhow!(
        "cannot write report `{}`: it is a folder, where a file is to be written",
        path.display()
    )
}

/// The longest file name Linux file systems take, in bytes.
const NAME_MAX: usize = 255;

fn is_link(path: &Path) -> anyhow::Error {
    anyhow!(
        "refusing to write report `{}`: it is a symbolic link (remove it, or name the file it \
         points to)",
        path.display()
    )
}

fn not_regular(path: &Path) -> anyhow::Error {
    anyhow!(
        "refusing to write report `{}`: it is not a regular file",
        path.display()
    )
}

/// Whether `meta` is the file open as descriptor `fd` of this process.
fn is_descriptor(meta: &std::fs::Metadata, fd: impl AsFd) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    rustix::fs::fstat(fd).is_ok_and(|st| st.st_dev == meta.dev() && st.st_ino == meta.ino())
}

/// Whether `meta` is a file this process holds open for writing as one of its descriptors
/// other than standard input and `besides` (one just opened to it, which would always match):
/// a report may go where the harness already writes (`/dev/fd/3` of a shell redirection,
/// `>(…)`), never to its input (a link to `/dev/null` or `/proc/self/fd/0` would swallow the
/// report, or block once a pipe's buffer filled).
fn held_open(meta: &std::fs::Metadata, besides: Option<&std::fs::File>) -> bool {
    use std::os::fd::AsRawFd as _;
    use std::os::unix::fs::MetadataExt as _;
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return false;
    };
    let besides = besides.map(|f| f.as_raw_fd().to_string());
    fds.flatten()
        .filter_map(|fd| fd.file_name().into_string().ok())
        .filter(|fd| fd != "0" && besides.as_deref() != Some(fd.as_str()))
        .filter(|fd| writable(fd))
        .any(|fd| {
            std::fs::metadata(format!("/proc/self/fd/{fd}"))
                .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
        })
}

/// Whether `meta` is a file this process already holds open for writing (not as its input).
pub(crate) fn held_for_writing(meta: &std::fs::Metadata) -> bool {
    held_open(meta, None)
}

/// Whether this process's descriptor `fd` (a number) is open for writing, from the access mode
/// in its `/proc/self/fdinfo` flags (octal; `O_RDONLY` is 0).
fn writable(fd: &str) -> bool {
    let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else {
        return false;
    };
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|flags| flags & 0o3 != 0)
}

/// A character device or FIFO: what an assessor may name as a report file besides a file.
fn is_stream(kind: std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    kind.is_char_device() || kind.is_fifo()
}

/// Judges the file an assessor named: a regular file or nothing yet, or, through links, a
/// character device or FIFO (`/dev/stdout` is a link to `/proc/self/fd/1`). A link to a file,
/// a folder or a disk is refused: a candidate can plant links wherever they control a folder
/// the harness writes into, and `report.json → ~/.bashrc`, written as root, would replace the
/// assessor's file.
fn destination(path: &Path) -> anyhow::Result<Destination> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Destination::Replace);
        }
        Err(e) => return Err(anyhow!("cannot write report `{}`: {e}", path.display())),
    };
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(is_folder(path));
    }
    if kind.is_file() {
        return Ok(Destination::Replace);
    }
    // Its target, links followed.
    let Ok(target) = std::fs::metadata(path) else {
        // A dangling link would be created through: refused like any link to a file.
        return Err(is_link(path));
    };
    if is_descriptor(&target, std::io::stdout()) {
        return Ok(Destination::Stdout);
    }
    if is_descriptor(&target, std::io::stderr()) {
        return Ok(Destination::Stderr);
    }
    // A device or FIFO named directly is the assessor's choice. Through a link, only one this
    // process already holds (`/dev/fd/3` of a shell redirection, `>(…)`): a candidate can plant
    // `report.json → /dev/pts/1` (another user's terminal) or a link to a device node in a
    // folder an assessor reuses, and root would write there.
    if is_stream(target.file_type()) && (!kind.is_symlink() || held_open(&target, None)) {
        return Ok(Destination::Stream);
    }
    // A link to a file, a folder or a block device (a disk), or a socket.
    Err(if kind.is_symlink() {
        is_link(path)
    } else {
        not_regular(path)
    })
}

/// Opens a character device or FIFO for writing, judging what was opened (the name may have
/// been swapped since [`destination`]): first without following a link, so whether the name was
/// a link is told by the open itself, not by a look before or after it; through a link, the
/// opened file must be one this process holds. `O_NONBLOCK` so a FIFO nobody reads fails
/// instead of waiting forever, cleared again before writing.
fn open_stream(path: &Path) -> anyhow::Result<std::fs::File> {
    let cannot = || format!("cannot write report `{}`", path.display());
    let open = |flags: libc::c_int| {
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK | flags)
            .open(path)
    };
    let (file, linked) = match open(libc::O_NOFOLLOW) {
        Ok(file) => (file, false),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => (open(0).with_context(cannot)?, true),
        Err(e) => return Err(e).with_context(cannot),
    };
    let meta = file.metadata().with_context(cannot)?;
    if !is_stream(meta.file_type()) || (linked && !held_open(&meta, Some(&file))) {
        bail!(
            "refusing to write report `{}`: it changed since it was checked",
            path.display()
        );
    }
    worksample_task::textfile::blocking(&file).with_context(cannot)?;
    Ok(file)
}

/// The folder of the file an assessor named, open, and the file's name in it.
fn folder_of(path: &Path) -> anyhow::Result<(Folder, String)> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("cannot write report `{}`: it names no file", path.display()))?
        .to_str()
        .ok_or_else(|| {
            anyhow!(
                "cannot write report `{}`: its name is not UTF-8",
                path.display()
            )
        })?;
    let folder = Folder::open(folder)
        .with_context(|| format!("cannot write report `{}`", path.display()))?;
    Ok((folder, name.to_owned()))
}

/// Checks that the file an assessor named could be written as a report, leaving it as it was:
/// its links and kind are judged as [`write_report`] judges them, and a file is created beside
/// it and removed.
pub(crate) fn probe_report(path: &Path) -> anyhow::Result<()> {
    match destination(path)? {
        Destination::Replace => {
            let (folder, name) = folder_of(path)?;
            folder.probe(&name)
        }
        Destination::Stream | Destination::Stdout | Destination::Stderr => Ok(()),
    }
}

/// Writes `text` to the file an assessor named: a regular file (or a new one) is replaced whole
/// through a temporary file and a rename in its folder, which never follows a link planted
/// meanwhile; a device is written in place.
pub(crate) fn write_report(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut stream: Box<dyn std::io::Write> = match destination(path)? {
        Destination::Replace => {
            let (folder, name) = folder_of(path)?;
            return folder.write(&name, text);
        }
        Destination::Stream => Box::new(open_stream(path)?),
        Destination::Stdout => Box::new(std::io::stdout().lock()),
        Destination::Stderr => Box::new(std::io::stderr().lock()),
    };
    stream
        .write_all(text.as_bytes())
        .and_then(|()| stream.flush())
        .with_context(|| format!("failed to write report `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report folder swapped for a link after it was checked and opened still receives the
    /// reports: they land in the folder that was checked, never where the link points.
    #[test]
    fn a_folder_swapped_for_a_link_after_the_check_is_still_the_one_written() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = tmp.path().canonicalize().expect("canonical").join("repo");
        let victim = tmp.path().join("victim");
        std::fs::create_dir_all(&victim).expect("mkdir");
        let folder = Folder::create_guarded(&repo.join("reports/ci"), &repo).expect("folder");
        assert!(repo.join("reports/ci").is_dir());

        std::fs::rename(repo.join("reports"), repo.join("moved")).expect("rename");
        std::os::unix::fs::symlink(&victim, repo.join("reports")).expect("symlink");
        std::fs::create_dir(victim.join("ci")).expect("mkdir");
        folder.probe("junit.xml").expect("probe");
        folder.write("junit.xml", "<testsuites/>").expect("write");

        assert_eq!(
            std::fs::read_to_string(repo.join("moved/ci/junit.xml")).expect("read"),
            "<testsuites/>"
        );
        let planted: Vec<_> = std::fs::read_dir(victim.join("ci")).expect("ls").collect();
        assert!(planted.is_empty(), "{planted:?}");
        // Checked again (as `check` does before writing), the link is refused.
        let again = Folder::create_guarded(&repo.join("reports/ci"), &repo)
            .err()
            .expect("refused");
        assert!(again.to_string().contains("symbolic link"), "{again}");
    }

    /// Inside a held folder a link, a folder or a FIFO named like a report is refused, a regular
    /// file is replaced and keeps its mode, and nothing temporary is left behind.
    #[test]
    fn files_in_a_held_folder_are_judged_without_following_links() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("out");
        std::fs::create_dir(&dir).expect("mkdir");
        let target = tmp.path().join("target.txt");
        std::fs::write(&target, "KEEP").expect("write");
        std::os::unix::fs::symlink(&target, dir.join("report.json")).expect("symlink");
        std::fs::create_dir(dir.join("report.md")).expect("mkdir");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.join("junit.xml"),
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .expect("mkfifo");
        std::fs::write(dir.join("report.txt"), "old").expect("write");
        std::fs::set_permissions(
            dir.join("report.txt"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod");

        let folder = Folder::open(&dir).expect("open");
        for (name, says) in [
            ("report.json", "symbolic link"),
            ("report.md", "folder"),
            ("junit.xml", "not a regular file"),
        ] {
            let e = folder.write(name, "new").expect_err("refused");
            assert!(e.to_string().contains(says), "{name}: {e}");
            assert!(folder.probe(name).is_err(), "{name}");
        }
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "KEEP");

        folder.write("report.txt", "new").expect("write");
        let meta = std::fs::metadata(dir.join("report.txt")).expect("stat");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::read_to_string(dir.join("report.txt")).expect("read"),
            "new"
        );
        assert!(folder.remove_file("report.txt") && !folder.remove_file("report.json"));
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["junit.xml", "report.json", "report.md"]);
    }
}

//! Reading and writing files where a candidate may have planted symbolic links.
//!
//! `worksample check` runs in the candidate's repository, often as root on the assessor's side:
//! a `worksample-reports/junit.xml` committed as a link to `/etc/passwd`, or a `worksample.toml`
//! linked to a root-readable secret, must not make the harness write or print through the
//! link; nor may `report.json` planted as a link in a submission folder an assessor reuses as
//! `run --out`. So report files are never written through a link (the one file an assessor
//! names may be a link to a device, `/dev/stdout`), regular files are replaced whole through a
//! temporary file and a rename (a full disk leaves the earlier file, never a cut-off one),
//! report folders are made one component at a time refusing links below the repository, and the
//! manifest is read only when it is itself a regular file.
//!
//! Every destination is also probed before anything runs, so a report that cannot be written
//! is found out before a candidate's command spends its time limit, not after.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, anyhow, bail};

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

/// Makes the folder `dir` and any missing parents, one component at a time. A component at or
/// below `guarded` (the candidate's repository, canonical) that is a symbolic link is refused;
/// links above it are the assessor's own and are followed. A component that exists but is not
/// a folder is refused too.
pub(crate) fn create_dir_guarded(dir: &Path, guarded: &Path) -> anyhow::Result<()> {
    let mut at = if dir.is_absolute() {
        PathBuf::new()
    } else {
        // The kernel's working folder is already free of links, so `at` stays a physical path
        // and `..` can be taken lexically.
        std::env::current_dir().context("cannot find the current folder")?
    };
    for component in dir.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => at.push(component),
            Component::CurDir => {}
            Component::ParentDir => {
                at.pop();
            }
            Component::Normal(name) => {
                let next = at.join(name);
                match std::fs::symlink_metadata(&next) {
                    Ok(m) if m.file_type().is_symlink() => {
                        if next.starts_with(guarded) {
                            bail!(
                                "refusing to write reports through the symbolic link `{}` in the \
                                 repository (--out `{}`): remove it or choose another --out",
                                next.display(),
                                dir.display()
                            );
                        }
                        at = next
                            .canonicalize()
                            .with_context(|| format!("cannot resolve `{}`", next.display()))?;
                        if !at.is_dir() {
                            bail!(
                                "the report folder `{}` is not a folder (`{}` is not one)",
                                dir.display(),
                                next.display()
                            );
                        }
                    }
                    Ok(m) if m.is_dir() => at = next,
                    Ok(_) => bail!(
                        "the report folder `{}` is not a folder (`{}` is not one)",
                        dir.display(),
                        next.display()
                    ),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        std::fs::create_dir(&next).with_context(|| {
                            format!("failed to create report folder `{}`", dir.display())
                        })?;
                        at = next;
                    }
                    Err(e) => {
                        return Err(anyhow!(e)).with_context(|| {
                            format!("cannot use report folder `{}`", dir.display())
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// Which symbolic links a report destination may be. A candidate can plant a link wherever
/// they control a folder the harness writes into (a repository for `check`, a submission folder
/// an assessor reuses as `--out`): `report.json → ~/.bashrc`, written as root, would replace
/// the assessor's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Links {
    /// No link at all (`check`'s reports, and every file inside a report folder).
    Refuse,
    /// The one file an assessor names with `--out`: a link is followed only to a device or a
    /// FIFO (`/dev/stdout` is a link to `/proc/self/fd/1`); a link to a file or a folder is
    /// refused like any other.
    ToDevicesOnly,
}

/// What a report destination is, once its links are judged.
enum Destination {
    /// A regular file or nothing yet: written to a temporary file beside it and renamed over
    /// it, so a failed write (a full disk) leaves the earlier file whole and no cut-off one.
    /// `mode`: the permission bits of the file replaced, which the new one keeps (an assessor
    /// may have made a hidden report readable by nobody else).
    Replace { mode: Option<u32> },
    /// A character device or FIFO the assessor named: written in place.
    Stream,
    /// The process's own standard output or error, whatever it is (`/dev/stdout` with stdout
    /// redirected to a file names that file): written through the descriptor.
    Stdout,
    /// The same for standard error (`/dev/stderr`).
    Stderr,
}

/// Whether `meta` is the file open as descriptor `fd` of this process.
fn is_descriptor(meta: &std::fs::Metadata, fd: libc::c_int) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `struct stat` into memory this function owns; on success it is
    // fully initialised.
    if unsafe { libc::fstat(fd, st.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstat returned 0, so `st` is initialised.
    let st = unsafe { st.assume_init() };
    st.st_dev == meta.dev() && st.st_ino == meta.ino()
}

/// A character device or FIFO: what an assessor may name as a report file besides a file.
fn is_stream(kind: std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt as _;
    kind.is_char_device() || kind.is_fifo()
}

fn destination(path: &Path, links: Links) -> anyhow::Result<Destination> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Destination::Replace { mode: None });
        }
        Err(e) => return Err(anyhow!("cannot write report `{}`: {e}", path.display())),
    };
    let folder = || {
        anyhow!(
            "cannot write report `{}`: it is a folder (several --format values write into a \
             folder; one writes a file)",
            path.display()
        )
    };
    let link = || {
        anyhow!(
            "refusing to write report `{}`: it is a symbolic link (remove it, or name the file \
             it points to)",
            path.display()
        )
    };
    let not_regular = || {
        anyhow!(
            "refusing to write report `{}`: it is not a regular file",
            path.display()
        )
    };
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(folder());
    }
    if kind.is_file() {
        return Ok(Destination::Replace {
            mode: Some(meta.mode() & 0o7777),
        });
    }
    if links == Links::Refuse {
        return Err(if kind.is_symlink() {
            link()
        } else {
            not_regular()
        });
    }
    // The one file an assessor names: its target, links followed.
    let Ok(target) = std::fs::metadata(path) else {
        // A dangling link would be created through: refused like any link to a file.
        return Err(link());
    };
    if is_descriptor(&target, libc::STDOUT_FILENO) {
        return Ok(Destination::Stdout);
    }
    if is_descriptor(&target, libc::STDERR_FILENO) {
        return Ok(Destination::Stderr);
    }
    if is_stream(target.file_type()) {
        return Ok(Destination::Stream);
    }
    // A link to a file, a folder or a block device (a disk), or a socket.
    Err(if kind.is_symlink() {
        link()
    } else {
        not_regular()
    })
}

/// Opens a character device or FIFO for writing, judging what was opened (the name may have
/// been swapped since [`destination`]): `O_NONBLOCK` so a FIFO nobody reads fails instead of
/// waiting forever, cleared again before writing.
fn open_stream(path: &Path) -> anyhow::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(|| format!("cannot write report `{}`", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot write report `{}`", path.display()))?;
    if !is_stream(meta.file_type()) {
        bail!(
            "refusing to write report `{}`: it changed into something other than a device or FIFO",
            path.display()
        );
    }
    worksample_task::textfile::blocking(&file)
        .with_context(|| format!("cannot write report `{}`", path.display()))?;
    Ok(file)
}

/// The folder a report file is written in, and a temporary file there to write it into.
fn temporary_beside(path: &Path) -> anyhow::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt as _;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "report".to_owned(), |n| n.to_string_lossy().into_owned());
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        // As a plain create would make it (0666 less the umask), not tempfile's 0600.
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(folder)
        .with_context(|| format!("cannot write report `{}`", path.display()))
}

/// Checks that `path` could be written as a report, leaving it as it was: its links and kind
/// are judged as [`write_report`] judges them, and a file is created beside it and removed.
pub(crate) fn probe_report(path: &Path, links: Links) -> anyhow::Result<()> {
    match destination(path, links)? {
        Destination::Replace { .. } => temporary_beside(path).map(drop),
        Destination::Stream | Destination::Stdout | Destination::Stderr => Ok(()),
    }
}

/// Writes `text` to the report file `path`: a regular file (or a new one) is replaced whole
/// through a temporary file and a rename, which never follows a link planted meanwhile; a
/// device the assessor named is written in place.
pub(crate) fn write_report(path: &Path, text: &str, links: Links) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let failed = || format!("failed to write report `{}`", path.display());
    let mut stream: Box<dyn std::io::Write> = match destination(path, links)? {
        Destination::Replace { mode } => {
            let mut file = temporary_beside(path)?;
            file.write_all(text.as_bytes())
                .and_then(|()| file.flush())
                .with_context(failed)?;
            if let Some(mode) = mode {
                file.as_file()
                    .set_permissions(std::fs::Permissions::from_mode(mode))
                    .with_context(failed)?;
            }
            file.persist(path)
                .map_err(|e| anyhow!(e.error))
                .with_context(failed)?;
            return Ok(());
        }
        Destination::Stream => Box::new(open_stream(path)?),
        Destination::Stdout => Box::new(std::io::stdout().lock()),
        Destination::Stderr => Box::new(std::io::stderr().lock()),
    };
    stream
        .write_all(text.as_bytes())
        .and_then(|()| stream.flush())
        .with_context(failed)
}

//! Reading and writing files where a candidate may have planted symbolic links.
//!
//! `worksample check` runs in the candidate's repository, often as root on the assessor's side:
//! a `worksample-reports/junit.xml` committed as a link to `/etc/passwd`, or a `worksample.toml`
//! linked to a root-readable secret, must not make the harness write or print through the
//! link. So report files are opened with `O_NOFOLLOW` and written only when they are regular
//! files, report folders are made one component at a time refusing links below the repository,
//! and the manifest is read only when it is itself a regular file.
//!
//! Every destination is also probed before anything runs, so a report that cannot be written
//! is found out before a candidate's command spends its time limit, not after.

use std::fs::File;
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

/// Opens `path` for writing: created when absent, truncated only when it is a regular file,
/// never through a symbolic link (`follow_links` false) nor into a FIFO or device.
fn open_for_report(path: &Path, follow_links: bool, truncate: bool) -> anyhow::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    if !follow_links {
        options.custom_flags(NO_LINKS);
    }
    let file = options.open(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            anyhow!(
                "refusing to write report `{}`: it is a symbolic link (remove it)",
                path.display()
            )
        } else {
            anyhow!("cannot write report `{}`: {e}", path.display())
        }
    })?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot write report `{}`", path.display()))?;
    // An assessor may name a device (`/dev/stdout`) on purpose; a candidate's folder may not.
    let writable = meta.is_file() || (follow_links && !meta.is_dir());
    if !writable {
        bail!(
            "refusing to write report `{}`: it is not a regular file",
            path.display()
        );
    }
    if truncate && meta.is_file() {
        file.set_len(0)
            .with_context(|| format!("cannot write report `{}`", path.display()))?;
    }
    Ok(file)
}

/// Checks that `path` could be written as a report, leaving it as it was: an existing file is
/// opened without truncating it, a new one is created and removed again.
pub(crate) fn probe_report(path: &Path, follow_links: bool) -> anyhow::Result<()> {
    let existed = std::fs::symlink_metadata(path).is_ok();
    if path.is_dir() {
        bail!(
            "cannot write report `{}`: it is a folder (several --format values write into a \
             folder; one writes a file)",
            path.display()
        );
    }
    drop(open_for_report(path, follow_links, false)?);
    if !existed {
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove the probe of `{}`", path.display()))?;
    }
    Ok(())
}

/// Writes `text` to the report file `path` (see [`probe_report`] for `follow_links`).
pub(crate) fn write_report(path: &Path, text: &str, follow_links: bool) -> anyhow::Result<()> {
    let mut file = open_for_report(path, follow_links, true)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .with_context(|| format!("failed to write report `{}`", path.display()))
}

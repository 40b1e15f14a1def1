//! Reading the small text files an assessor hands the harness: task data under `--tasks-dir`,
//! a fixtures manifest, reports given to `cohort`. Only a regular file is read, the open never
//! waits on a FIFO, and at most a cap of bytes is taken, so a FIFO or `/dev/zero` where a file
//! should be is an error naming it, never a hang or exhausted memory.

use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Why a text file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TextProblem {
    /// It could not be opened (absent, no permission).
    #[error("cannot open it: {0}")]
    Open(std::io::Error),
    /// It is a folder, FIFO, socket or device.
    #[error("it is not a regular file")]
    NotRegular,
    /// It holds more than the cap, in bytes.
    #[error("it is larger than {0} bytes")]
    TooLarge(u64),
    /// Reading failed, or it is not UTF-8.
    #[error("cannot read it as UTF-8 text: {0}")]
    Read(std::io::Error),
}

/// Reads `path` as UTF-8 when it is a regular file (links followed) of at most `max_bytes`.
pub fn read_text(path: &Path, max_bytes: u64) -> Result<String, TextProblem> {
    use std::os::unix::fs::MetadataExt as _;
    // Judged before opening: opening some devices has effects of its own.
    let named = std::fs::metadata(path).map_err(TextProblem::Open)?;
    if !named.is_file() {
        return Err(TextProblem::NotRegular);
    }
    // O_NONBLOCK: should the name be swapped for a FIFO after the check, the open does not wait
    // for a writer; it is cleared again before reading (a FUSE file system may honour it).
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(TextProblem::Open)?;
    let meta = file.metadata().map_err(TextProblem::Open)?;
    if !meta.is_file() || (meta.dev(), meta.ino()) != (named.dev(), named.ino()) {
        return Err(TextProblem::NotRegular);
    }
    blocking(&file).map_err(TextProblem::Open)?;
    if meta.len() > max_bytes {
        return Err(TextProblem::TooLarge(max_bytes));
    }
    let mut text = String::new();
    file.take(max_bytes + 1)
        .read_to_string(&mut text)
        .map_err(TextProblem::Read)?;
    if text.len() as u64 > max_bytes {
        return Err(TextProblem::TooLarge(max_bytes));
    }
    Ok(text)
}

/// Clears `O_NONBLOCK` on an open file (opened with it so a FIFO could not block the open).
pub fn blocking(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function borrows open; F_GETFL/F_SETFL touch only its
    // status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_regular_file_within_the_cap_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.toml");
        std::fs::write(&file, "x = 1\n").expect("write");
        assert_eq!(read_text(&file, 64).expect("read"), "x = 1\n");
        assert!(matches!(read_text(&file, 3), Err(TextProblem::TooLarge(3))));
        assert!(matches!(
            read_text(dir.path(), 64),
            Err(TextProblem::NotRegular)
        ));
        assert!(matches!(
            read_text(Path::new("/dev/zero"), 64),
            Err(TextProblem::NotRegular)
        ));
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().expect("utf-8")).expect("no NUL");
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(read_text(&fifo, 64), Err(TextProblem::NotRegular)));
        let missing = dir.path().join("missing");
        assert!(matches!(read_text(&missing, 64), Err(TextProblem::Open(_))));
        std::fs::write(&file, [0xff, 0xfe]).expect("write");
        assert!(matches!(read_text(&file, 64), Err(TextProblem::Read(_))));
    }
}

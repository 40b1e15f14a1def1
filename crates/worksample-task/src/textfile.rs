//! Reading the small text files an assessor hands the harness: task data under `--tasks-dir`,
//! a fixtures manifest, reports given to `cohort`. Only a regular file is read, the open never
//! waits on a FIFO, and at most a cap of bytes is taken, so a FIFO or `/dev/zero` where a file
//! should be is an error naming it, never a hang or exhausted memory.

use std::fmt;
use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Why a text file could not be read.
#[derive(Debug)]
pub enum TextProblem {
    /// It could not be opened (absent, no permission).
    Open(std::io::Error),
    /// It is a folder, FIFO, socket or device.
    NotRegular,
    /// It holds more than the cap, in bytes.
    TooLarge(u64),
    /// Reading failed, or it is not UTF-8.
    Read(std::io::Error),
}

impl fmt::Display for TextProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextProblem::Open(e) => write!(f, "cannot open it: {e}"),
            TextProblem::NotRegular => f.write_str("it is not a regular file"),
            TextProblem::TooLarge(cap) => write!(f, "it is larger than {cap} bytes"),
            TextProblem::Read(e) => write!(f, "cannot read it as UTF-8 text: {e}"),
        }
    }
}

/// Reads `path` as UTF-8 when it is a regular file (links followed) of at most `max_bytes`.
pub fn read_text(path: &Path, max_bytes: u64) -> Result<String, TextProblem> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever; reads
    // of a regular file ignore the flag.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(TextProblem::Open)?;
    // Judged on what was opened, not on a name that could change in between.
    let meta = file.metadata().map_err(TextProblem::Open)?;
    if !meta.is_file() {
        return Err(TextProblem::NotRegular);
    }
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

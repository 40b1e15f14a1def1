//! Harness faults: the only failures [`crate::run`] returns as `Err`. Anything the candidate does
//! wrong is a [`crate::RunStatus`] instead.

use std::io;
use std::path::PathBuf;

/// The runner itself could not do its job; the candidate is not to blame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// The input directory is missing or unreadable.
    #[error("cannot read input directory `{path}`")]
    Input {
        /// The input directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The output directory could not be created.
    #[error("cannot create output directory `{path}`")]
    OutputDir {
        /// The output directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The working directory (or its `home`/`tmp` subdirectories) could not be created.
    #[error("cannot create working directory `{path}`")]
    Workdir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// No temporary working directory could be created.
    #[error("cannot create a temporary working directory in `{path}`")]
    TempDir {
        /// The system temporary directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A path could not be made absolute, or the harness's current directory is unknown.
    #[error("cannot make `{path}` absolute")]
    Absolute {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `/proc` is unreadable, so the process tree cannot be watched.
    #[error("cannot read `{path}`: the process tree cannot be watched without procfs")]
    Procfs {
        /// The path that failed.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A capture thread could not be started.
    #[error("cannot start the output capture thread for {stream}")]
    CaptureThread {
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The harness was asked to stop (SIGINT, SIGTERM or SIGHUP: Ctrl-C, a cancelled CI job)
    /// while the candidate ran; every process of the run was killed and reaped first.
    #[error("stopped by {name} while the candidate ran; its processes were killed")]
    Interrupted {
        /// The signal number.
        signal: i32,
        /// Its name, e.g. `SIGINT`.
        name: String,
    },
}

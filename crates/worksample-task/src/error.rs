//! The errors of the task layer, split by who must act: the user (bad task data, flags,
//! manifest or secret: exit 2) or us (a grader or generator fault: exit 3).

use std::path::PathBuf;

/// An error while loading, generating or grading a task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// A file could not be read or written.
    #[error("{action} `{}`: {source}", path.display())]
    Io {
        /// What we were doing, e.g. "failed to read".
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Task data (task.toml, rubric.toml, brief.md, profile parameters) or a repository's
    /// worksample.toml is invalid. The origin names which, so the message does not say "task
    /// data" of a candidate's own file.
    #[error("invalid `{origin}`: {message}")]
    Spec {
        /// The file, and the table inside it where that helps.
        origin: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// The user asked for something that does not exist or does not fit.
    #[error("{0}")]
    Usage(String),
    /// A fixtures manifest is missing, malformed, tampered with or of another task version.
    #[error("fixtures manifest `{}`: {message}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A hidden seed was requested without the secret.
    #[error(
        "hidden seeds need the assessor's secret: set WORKSAMPLE_SECRET (at least 16 characters) in the environment"
    )]
    MissingSecret,
    /// Generating fixtures failed inside the harness.
    #[error("generating `{task}` fixtures failed: {message}")]
    Generate {
        /// Task id.
        task: String,
        /// The cause.
        message: String,
    },
    /// The grader failed inside the harness (never because of what the candidate wrote).
    #[error("grading `{task}` failed inside the harness: {message}")]
    Grader {
        /// Task id.
        task: String,
        /// The cause.
        message: String,
    },
    /// Running the candidate failed inside the harness (not a candidate failure).
    #[error("running the candidate failed inside the harness: {0}")]
    Runner(String),
    /// The harness was asked to stop (Ctrl-C, a cancelled CI job) while the candidate ran; the
    /// run's processes were killed first.
    #[error("stopped by {name} while the candidate ran; its processes were killed")]
    Stopped {
        /// The signal number.
        signal: i32,
        /// Its name, e.g. `SIGINT`.
        name: String,
    },
}

impl From<worksample_runner::RunnerError> for TaskError {
    /// A stop request is passed on as [`TaskError::Stopped`] (exit 128 + the signal); any other
    /// runner failure is the harness's.
    fn from(e: worksample_runner::RunnerError) -> Self {
        match e {
            worksample_runner::RunnerError::Interrupted { signal, name } => {
                TaskError::Stopped { signal, name }
            }
            other => TaskError::Runner(other.to_string()),
        }
    }
}

/// Who has to act on an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// Bad input from the user: flags, task data, manifest, environment.
    User,
    /// A fault of the harness itself.
    Harness,
    /// Nobody's: the harness was asked to stop by this signal.
    Stopped {
        /// The signal number.
        signal: i32,
    },
}

impl TaskError {
    /// Who has to act on this error; the CLI maps it to exit 2 or 3.
    pub fn blame(&self) -> Blame {
        match self {
            TaskError::Spec { .. }
            | TaskError::Usage(_)
            | TaskError::Manifest { .. }
            | TaskError::MissingSecret => Blame::User,
            TaskError::Io { .. }
            | TaskError::Generate { .. }
            | TaskError::Grader { .. }
            | TaskError::Runner(_) => Blame::Harness,
            TaskError::Stopped { signal, .. } => Blame::Stopped { signal: *signal },
        }
    }

    /// A generator fault of task `task`, its message the whole chain of `cause`.
    pub fn generate(task: &str, cause: &dyn std::error::Error) -> Self {
        TaskError::Generate {
            task: task.to_owned(),
            message: error_chain(cause),
        }
    }

    /// Shorthand for [`TaskError::Io`].
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TaskError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// `cause` and every source under it, joined by `: `, so a one-line message keeps the file and
/// field an inner error names.
pub fn error_chain(cause: &dyn std::error::Error) -> String {
    let mut message = cause.to_string();
    let mut source = cause.source();
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

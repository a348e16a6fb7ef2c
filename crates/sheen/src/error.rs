//! The engine's error type. Every message names the file and the problem in
//! one line.

use std::path::PathBuf;

/// Errors of the sheen engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing an audio file failed (the message names the file).
    #[error(transparent)]
    Io(#[from] sheen_io::Error),
    /// A session file is wrong (the message gives `file:line:col`).
    #[error(transparent)]
    Session(#[from] crate::mixing::SessionError),
    /// A file decoded but its content cannot be used for the job.
    #[error("{}: {problem}", path.display())]
    Content { path: PathBuf, problem: String },
}

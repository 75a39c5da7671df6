//! Typed errors of the snapshot engine. Each variant has a stable code that the
//! bindings expose as `err.code`, so callers can branch without parsing text.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    #[error("cannot read snapshot: {0}")]
    Io(String),
    #[error("snapshot is empty")]
    Empty,
    #[error("not a heap snapshot: {message} (at byte {offset})")]
    Syntax { offset: u64, message: String },
    #[error("snapshot is truncated at byte {offset}: {message}")]
    Truncated { offset: u64, message: String },
    #[error("snapshot meta is invalid: {0}")]
    Meta(String),
    #[error("snapshot is inconsistent: {0}")]
    Inconsistent(String),
    #[error("number out of range at byte {offset}: {message}")]
    NumberRange { offset: u64, message: String },
    #[error("snapshot is too large: {0}")]
    TooLarge(String),
    #[error("operation was aborted")]
    Aborted,
    #[error("no node with id {0} in this snapshot")]
    UnknownNode(u64),
    #[error("invalid argument: {0}")]
    InvalidArg(String),
    #[error("{0}")]
    SnapshotOrder(String),
    #[error("{0}")]
    SnapshotMismatch(String),
}

impl SnapshotError {
    pub fn code(&self) -> &'static str {
        match self {
            SnapshotError::Io(_) => "ERR_SNAPSHOT_IO",
            SnapshotError::Empty => "ERR_SNAPSHOT_EMPTY",
            SnapshotError::Syntax { .. } => "ERR_SNAPSHOT_SYNTAX",
            SnapshotError::Truncated { .. } => "ERR_SNAPSHOT_TRUNCATED",
            SnapshotError::Meta(_) => "ERR_SNAPSHOT_META",
            SnapshotError::Inconsistent(_) => "ERR_SNAPSHOT_INCONSISTENT",
            SnapshotError::NumberRange { .. } => "ERR_SNAPSHOT_NUMBER",
            SnapshotError::TooLarge(_) => "ERR_SNAPSHOT_TOO_LARGE",
            SnapshotError::Aborted => "ERR_ABORTED",
            SnapshotError::UnknownNode(_) => "ERR_UNKNOWN_NODE",
            SnapshotError::InvalidArg(_) => "ERR_INVALID_ARG",
            SnapshotError::SnapshotOrder(_) => "ERR_SNAPSHOT_ORDER",
            SnapshotError::SnapshotMismatch(_) => "ERR_SNAPSHOT_MISMATCH",
        }
    }
}

pub type Result<T> = std::result::Result<T, SnapshotError>;

//! What an evaluation returns: merged properties, a denial or a skip, and the log entries.

use crate::error::MappingError;
use crate::properties::{GroupProperties, UserProperties};
use serde::Serialize;

/// Severity of a log entry written by a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// `debug(...)` or `log("debug", ...)`.
    Debug,
    /// `log(...)`, `print(...)` or `log("info", ...)`.
    Info,
    /// `log("warning", ...)`.
    Warning,
    /// `log("error", ...)`.
    Error,
}

impl LogLevel {
    pub(crate) fn parse(level: &str) -> Option<Self> {
        match level.to_ascii_lowercase().as_str() {
            "debug" => Some(Self::Debug),
            "info" => Some(Self::Info),
            "warn" | "warning" => Some(Self::Warning),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

/// One entry written by a script, for the server's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    /// Name of the mapping that wrote it.
    pub mapping: String,
    /// Severity.
    pub level: LogLevel,
    /// The message (at most 1,000 characters).
    pub message: String,
}

/// A mapping called `deny(message)`: the login must be refused with `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denial {
    /// Name of the mapping that denied.
    pub mapping: String,
    /// Message for the user.
    pub message: String,
}

/// Result of the user mappings of a source.
#[derive(Debug, Clone, PartialEq)]
pub enum UserOutcome {
    /// All mappings ran; these are the merged properties.
    Mapped(UserProperties),
    /// A mapping refused the login; later mappings did not run.
    Denied(Denial),
}

/// Result of the group mappings of a source for one group.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupOutcome {
    /// All mappings ran; these are the merged properties.
    Mapped(GroupProperties),
    /// A mapping returned `()`: the group is not created, linked or synced.
    Skipped {
        /// Name of the mapping that skipped the group.
        mapping: String,
    },
    /// A mapping called `deny()`: the login must be refused.
    Denied(Denial),
}

/// Result of an evaluation plus the log entries written on the way, which are returned even
/// when the evaluation failed so that the server can record them next to the error.
#[derive(Debug, Clone)]
pub struct Evaluation<T> {
    /// The outcome, or the first error.
    pub result: Result<T, MappingError>,
    /// Entries written by `log()`, `print()` and `debug()`, in order.
    pub logs: Vec<LogEntry>,
}

impl<T> Evaluation<T> {
    /// Drops the log entries.
    pub fn into_result(self) -> Result<T, MappingError> {
        self.result
    }
}

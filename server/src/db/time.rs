//! Timestamps are stored as UTC `NaiveDateTime` with microsecond precision (PostgreSQL's), so a
//! value reads back identically from either backend.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// The current time, truncated to what the database keeps.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Formats a stored timestamp as RFC 3339 UTC for the API.
pub fn to_utc(value: NaiveDateTime) -> DateTime<Utc> {
    value.and_utc()
}

/// Converts an API timestamp to the stored form.
pub fn from_utc(value: DateTime<Utc>) -> NaiveDateTime {
    value.naive_utc().trunc_subsecs(6)
}

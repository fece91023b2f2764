//! How a [`Row`]'s values are kept in SQLite's types: times as Unix
//! milliseconds, the source and the tier as their protocol names (so the
//! file reads plainly in `sqlite3`), the caps and extra usage as one JSON
//! text kept once however many rows share it.

use chrono::{DateTime, Utc};
use claude_quota_proto::{ExtraUsage, ScopedCap};
use serde::{Deserialize, Serialize};

use crate::Row;

/// A moment as Unix milliseconds.
pub fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// Unix milliseconds as a moment; `None` outside chrono's range.
pub fn moment(millis: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(millis)
}

/// The parts of a reading that change slowly, kept as one JSON text.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Details {
    /// The per-model weekly caps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekly_scoped: Vec<ScopedCap>,
    /// Extra usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_usage: Option<ExtraUsage>,
}

impl Details {
    /// The JSON text of `row`'s details; `None` when it has none.
    pub fn encode(row: &Row) -> Option<String> {
        if row.weekly_scoped.is_empty() && row.extra_usage.is_none() {
            return None;
        }
        let details = Details {
            weekly_scoped: row.weekly_scoped.clone(),
            extra_usage: row.extra_usage.clone(),
        };
        Some(serde_json::to_string(&details).expect("details serialize"))
    }

    /// The details of a JSON text (none for `None`).
    pub fn decode(json: Option<&str>) -> Result<Details, serde_json::Error> {
        json.map_or_else(|| Ok(Details::default()), serde_json::from_str)
    }
}

//! The usage endpoint's reply as it is found in the field, read into one
//! [`Reading`]: the flat form (`five_hour`, `seven_day`,
//! `seven_day_<family>`), the 2026 `limits` form, or both at once, with
//! `extra_usage` and `spend`. Each part is read on its own
//! (docs/decisions.md, "The usage API in the field"): one that cannot be
//! read is dropped and named in [`Parsed::dropped`], and the reply is
//! refused only when nothing usable is left.
//!
//! A Messages API response's `anthropic-ratelimit-unified-*` headers,
//! pushed raw by a router, are read here too ([`read_headers`]), by the
//! same lenient leaves.

mod headers;
mod lenient;
mod money;
mod report;
mod shapes;
mod windows;

#[cfg(test)]
mod header_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use claude_quota_proto::{ReadingSource, ReplyShape};
use serde::Deserialize;
use serde_json::Value;

use crate::reading::Reading;
pub use headers::{HeaderReading, TooLarge, read_headers};
use report::{Dropped, Ignored};
use shapes::Reply;
use windows::Sources;

/// A reply read: the reading, the form it came in, and what was left out.
#[derive(Debug)]
pub struct Parsed {
    /// The reading, taken at the `now` given to [`parse`].
    pub reading: Reading,
    /// Which form the reply had.
    pub shape: ReplyShape,
    /// Keys and limit kinds this daemon does not use, for a debug line.
    pub ignored: BTreeSet<String>,
    /// The parts that could not be read and were dropped, each with why
    /// (`limits[2] (session): percent "lots" is not a number`); bounded
    /// in count and length, for the status and the log.
    pub dropped: Vec<String>,
}

/// Why a reply gave no reading; shown as `bad_response`.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// The body is not JSON.
    #[error("the reply is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    /// The body is JSON, but not an object.
    #[error("the reply is not a JSON object: {0}")]
    NotAnObject(String),
    /// Nothing in it could decide a tier.
    #[error(
        "nothing usable in the reply (no 5-hour or 7-day window, per-model cap or spend limit); it had: {keys}{}",
        dropped_suffix(dropped)
    )]
    NothingUsable {
        /// The keys it had (bounded).
        keys: String,
        /// What could not be read (bounded).
        dropped: Vec<String>,
    },
}

/// How many dropped parts a refusal names; the status lists them all.
const DROPPED_IN_ERROR: usize = 3;

/// `"; dropped: …"` naming the first few dropped parts, if any.
fn dropped_suffix(dropped: &[String]) -> String {
    if dropped.is_empty() {
        return String::new();
    }
    let shown: Vec<&str> = dropped
        .iter()
        .take(DROPPED_IN_ERROR)
        .map(String::as_str)
        .collect();
    format!("; dropped: {}", shown.join("; "))
}

/// Reads a reply body taken at `now`.
pub fn parse(body: &[u8], now: DateTime<Utc>) -> Result<Parsed, ReplyError> {
    // Through a `Value` first: duplicate keys then keep the last, as in
    // every JSON reader the API's other clients use, instead of failing.
    let value: Value = serde_json::from_slice(body)?;
    let reply =
        Reply::deserialize(&value).map_err(|err| ReplyError::NotAnObject(err.to_string()))?;
    let mut dropped = Dropped::default();
    let mut ignored = Ignored::default();
    let has_flat = [&reply.five_hour, &reply.seven_day]
        .iter()
        .any(|window| window.is_some());
    let limits = match reply.limits {
        None => None,
        Some(field) => field.or_drop(|| "limits:".into(), &mut dropped),
    };
    let shape = match (has_flat, limits.is_some()) {
        (true, true) => ReplyShape::Mixed,
        (false, true) => ReplyShape::Limits,
        _ => ReplyShape::Flat,
    };
    let windows = windows::gather(
        Sources {
            five_hour: reply.five_hour,
            seven_day: reply.seven_day,
            limits: limits.unwrap_or_default(),
            other: reply.other,
        },
        &mut dropped,
        &mut ignored,
    );
    let windows_read = windows.five_hour.is_some() || windows.seven_day.is_some();
    let spending = money::read_spending(reply.extra_usage, reply.spend, &mut dropped)
        .alone_is_the_limit(windows_read);
    let usable = windows.five_hour.is_some()
        || windows.seven_day.is_some()
        || !windows.weekly_scoped.is_empty()
        || spending.is_usable_limit();
    let dropped = dropped.into_lines();
    if !usable {
        let keys = value
            .as_object()
            .map(report::described_keys)
            .unwrap_or_default();
        return Err(ReplyError::NothingUsable { keys, dropped });
    }
    Ok(Parsed {
        reading: Reading {
            five_hour: windows.five_hour,
            seven_day: windows.seven_day,
            weekly_scoped: windows.weekly_scoped,
            extra_usage: spending.extra_usage,
            spend_limit: spending.spend_limit,
            representative_claim: None,
            as_of: now,
            source: ReadingSource::Api,
            received: Default::default(),
        }
        .arrived(now),
        shape,
        ignored: ignored.into_names(),
        dropped,
    })
}

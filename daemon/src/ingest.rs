//! `ingest`: readings pushed by clients (Claude Code's status line, a
//! router's response headers), checked before they can move the tier.
//!
//! A push with a 5-hour or 7-day window is a reading of its own and becomes
//! current when it is newer than the one held; the per-model caps and the
//! extra usage it lacks are carried over from the held reading, since they
//! change slowly and a status-line push never has them. A push with only
//! caps or extra usage (some response headers) updates those parts of the
//! held reading and nothing else: it says nothing about the windows.
//!
//! A push of raw response headers (`headers`) is read first, by
//! [`usage_reply::read_headers`], into those same parts; headers that hold
//! no reading are answered `ok` and change nothing, since a router must
//! not fail a model call over an odd header.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_proto::{Ingest, ReadingSource};

use crate::reading::Reading;
use crate::state::{AccountCell, Snapshot};
use crate::usage_reply::{self, HeaderReading, TooLarge};

/// Why a push was refused (a `bad_request`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    /// Only clients' sources may be pushed.
    #[error("ingest source must be \"statusline\" or \"headers\", not {0:?}")]
    NotPushed(&'static str),
    /// Nothing to take.
    #[error(
        "ingest needs headers, a five_hour or seven_day window, a weekly_scoped cap or extra_usage"
    )]
    Empty,
    /// A utilization that is no percentage.
    #[error("{name}.utilization {value} is not a percentage")]
    NotAPercentage {
        /// The window.
        name: String,
        /// What was sent.
        value: f64,
    },
    /// A reset too old to belong to the window now.
    #[error("{0}.resets_at is more than a window in the past")]
    StaleReset(String),
    /// More than a status frame could carry.
    #[error("{0} is too long (at most {MAX_CAPS} caps, names of at most {MAX_NAME} bytes)")]
    TooLong(&'static str),
    /// Raw headers with a source other than `headers`.
    #[error("ingest headers come with source \"headers\", not {0:?}")]
    HeadersFrom(&'static str),
    /// Raw headers beside a reading of their own: which would count?
    #[error("ingest carries either headers or windows, caps, extra_usage and a claim, not both")]
    HeadersBesideReading,
    /// Past the bounds on raw headers.
    #[error(transparent)]
    Headers(#[from] TooLarge),
}

/// The most caps a push may carry, and the longest name (a model family,
/// a currency, a reason, a claim): every status frame carries them.
const MAX_CAPS: usize = 32;
const MAX_NAME: usize = 64;

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// It became the current reading.
    Reading,
    /// It updated the caps or extra usage of the reading held.
    Parts,
    /// The reading held is newer (or there is none to update): nothing.
    Nothing,
}

/// Checks `pushed`, received at `now`, and applies it to its account's
/// `state`.
pub fn apply(
    state: &AccountCell,
    mut pushed: Ingest,
    now: DateTime<Utc>,
) -> Result<Taken, Refused> {
    if let Some(headers) = pushed.headers.take() {
        let read = read_headers(&pushed, &headers)?;
        if !read.dropped.is_empty() {
            tracing::debug!(dropped = ?read.dropped, "pushed headers: values dropped");
        }
        if !read.is_reading() {
            tracing::debug!("pushed headers hold no reading");
            return Ok(Taken::Nothing);
        }
        pushed = Ingest {
            five_hour: read.five_hour,
            seven_day: read.seven_day,
            weekly_scoped: read.weekly_scoped,
            extra_usage: read.extra_usage,
            representative_claim: read.representative_claim,
            ..pushed
        };
    }
    check(&pushed, now)?;
    let mut taken = Taken::Nothing;
    state.modify_if(|s| {
        s.last_push_at = Some(now);
        taken = if pushed.five_hour.is_some() || pushed.seven_day.is_some() {
            take_reading(s, &pushed, now)
        } else {
            take_parts(s, &pushed)
        };
        true
    });
    tracing::debug!(?taken, source = pushed.source.as_str(), "pushed reading");
    Ok(taken)
}

/// A push with a window: a reading of its own.
fn take_reading(s: &mut Snapshot, pushed: &Ingest, now: DateTime<Utc>) -> Taken {
    let mut reading = Reading {
        five_hour: pushed.five_hour,
        seven_day: pushed.seven_day,
        weekly_scoped: pushed.weekly_scoped.clone(),
        extra_usage: pushed.extra_usage.clone(),
        spend_limit: false,
        representative_claim: pushed.representative_claim.clone(),
        as_of: pushed.as_of.unwrap_or(now),
        source: pushed.source,
        received: Default::default(),
    }
    .arrived(now);
    if let Some(held) = &s.reading {
        if reading.weekly_scoped.is_empty() {
            reading.weekly_scoped.clone_from(&held.weekly_scoped);
        }
        if reading.extra_usage.is_none() {
            reading.extra_usage.clone_from(&held.extra_usage);
            reading.spend_limit = held.spend_limit;
        }
    }
    if s.offer(reading) {
        Taken::Reading
    } else {
        Taken::Nothing
    }
}

/// A push with only caps, extra usage or a claim: those parts of the
/// reading held, which keeps its age.
fn take_parts(s: &mut Snapshot, pushed: &Ingest) -> Taken {
    let Some(held) = s.reading.as_mut() else {
        return Taken::Nothing;
    };
    if !pushed.weekly_scoped.is_empty() {
        held.weekly_scoped.clone_from(&pushed.weekly_scoped);
    }
    if let Some(extra) = &pushed.extra_usage {
        held.extra_usage = Some(extra.clone());
        held.spend_limit = false;
    }
    if pushed.representative_claim.is_some() {
        held.representative_claim
            .clone_from(&pushed.representative_claim);
    }
    Taken::Parts
}

/// The reading in `headers`, pushed raw with `pushed`'s other fields,
/// which must then carry no reading of their own.
fn read_headers(
    pushed: &Ingest,
    headers: &BTreeMap<String, String>,
) -> Result<HeaderReading, Refused> {
    if pushed.source != ReadingSource::Headers {
        return Err(Refused::HeadersFrom(pushed.source.as_str()));
    }
    let beside = pushed.five_hour.is_some()
        || pushed.seven_day.is_some()
        || !pushed.weekly_scoped.is_empty()
        || pushed.extra_usage.is_some()
        || pushed.representative_claim.is_some();
    if beside {
        return Err(Refused::HeadersBesideReading);
    }
    Ok(usage_reply::read_headers(headers)?)
}

/// Refuses what no window could be: a negative or non-finite percentage,
/// a reset more than a window in the past.
fn check(pushed: &Ingest, now: DateTime<Utc>) -> Result<(), Refused> {
    if !pushed.source.is_pushed() {
        return Err(Refused::NotPushed(pushed.source.as_str()));
    }
    let empty = pushed.five_hour.is_none()
        && pushed.seven_day.is_none()
        && pushed.weekly_scoped.is_empty()
        && pushed.extra_usage.is_none();
    if empty {
        return Err(Refused::Empty);
    }
    let long = |text: Option<&str>| text.is_some_and(|t| t.len() > MAX_NAME);
    let extra = pushed.extra_usage.as_ref();
    if pushed.weekly_scoped.len() > MAX_CAPS
        || pushed
            .weekly_scoped
            .iter()
            .any(|cap| long(Some(&cap.model)) || long(cap.severity.as_deref()))
    {
        return Err(Refused::TooLong("weekly_scoped"));
    }
    if long(extra.and_then(|e| e.currency.as_deref()))
        || long(extra.and_then(|e| e.disabled_reason.as_deref()))
    {
        return Err(Refused::TooLong("extra_usage"));
    }
    if long(pushed.representative_claim.as_deref()) {
        return Err(Refused::TooLong("representative_claim"));
    }
    let week = TimeDelta::days(7);
    let windows = [
        ("five_hour", pushed.five_hour, TimeDelta::hours(5)),
        ("seven_day", pushed.seven_day, week),
    ]
    .into_iter()
    .filter_map(|(name, window, length)| {
        window.map(|w| (name.to_owned(), w.utilization, w.resets_at, length))
    });
    let caps = pushed
        .weekly_scoped
        .iter()
        .map(|cap| (cap.model.clone(), cap.utilization, cap.resets_at, week));
    for (name, utilization, resets_at, length) in windows.chain(caps) {
        if !utilization.is_finite() || utilization < 0.0 {
            return Err(Refused::NotAPercentage {
                name,
                value: utilization,
            });
        }
        if resets_at.is_some_and(|at| at < now - length) {
            return Err(Refused::StaleReset(name));
        }
    }
    Ok(())
}

//! The `anthropic-ratelimit-unified-*` headers of a Messages API response,
//! as a router pushes them raw (`ingest` with `headers`), read into the
//! parts of a reading (docs/protocol.md, "Rate-limit headers"). The
//! daemon is their one reader, so a new header is one change here instead
//! of one in every client.
//!
//! Values are read by the usage reply's own lenient leaves ([`Amount`],
//! [`ResetTime`]): a value that cannot be read drops that one field and is
//! noted in [`HeaderReading::dropped`], never the reading, and never with
//! an error. Only the bounds on what may be sent refuse the push.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use claude_quota_proto::{ExtraUsage, ScopedCap, Window, WindowStatus};
use serde::de::DeserializeOwned;
use serde::de::value::{Error as ValueError, StrDeserializer};

use super::lenient::{Amount, ResetTime, quoted};
use super::report::{Dropped, cut};

/// The prefix of the headers that carry the subscription's windows; other
/// names are ignored.
pub const PREFIX: &str = "anthropic-ratelimit-unified-";

/// The most headers one push may carry.
pub const MAX_HEADERS: usize = 64;
/// The longest header name, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// The longest header value, in bytes.
pub const MAX_VALUE_LEN: usize = 256;

/// The model family the `7d_oi` window caps. Claude Code names that window
/// `seven_day_overage_included` and labels it the "Fable limit"; the
/// daemon's `[models] cloud_family` decides whether it closes the cloud.
pub const OVERAGE_INCLUDED_FAMILY: &str = "Fable";

/// The longest claim or disabled reason kept, in bytes.
const MAX_TOKEN_LEN: usize = 64;

/// How much of an overlong name a refusal quotes.
const NAME_SHOWN: usize = 80;

/// Headers past the bounds a push may carry (a `bad_request`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TooLarge {
    /// More headers than [`MAX_HEADERS`].
    #[error("ingest headers: {0} given, at most {MAX_HEADERS}")]
    Count(usize),
    /// A name longer than [`MAX_NAME_LEN`].
    #[error("ingest headers: the name {0} is longer than {MAX_NAME_LEN} bytes")]
    Name(String),
    /// A value longer than [`MAX_VALUE_LEN`].
    #[error("ingest headers: the value of {0} is longer than {MAX_VALUE_LEN} bytes")]
    Value(String),
}

/// What a response's headers say, as the parts of an `ingest`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeaderReading {
    /// The 5-hour window, when the headers give it.
    pub five_hour: Option<Window>,
    /// The 7-day window, when the headers give it.
    pub seven_day: Option<Window>,
    /// The `7d_oi` window as a weekly cap of [`OVERAGE_INCLUDED_FAMILY`].
    pub weekly_scoped: Vec<ScopedCap>,
    /// Extra usage, from the `overage-*` headers.
    pub extra_usage: Option<ExtraUsage>,
    /// The binding window the rate limiter names (`five_hour`,
    /// `seven_day`, `seven_day_overage_included`, …).
    pub representative_claim: Option<String>,
    /// The values that could not be read, each with why, for a debug line.
    pub dropped: Vec<String>,
}

impl HeaderReading {
    /// Whether the headers held a reading (a window, the cap or extra
    /// usage); a claim alone is none.
    pub fn is_reading(&self) -> bool {
        self.five_hour.is_some()
            || self.seven_day.is_some()
            || !self.weekly_scoped.is_empty()
            || self.extra_usage.is_some()
    }
}

/// Reads the rate-limit headers of one response, names in any case.
/// Refuses only headers past the bounds; anything else unreadable is
/// dropped field by field.
pub fn read_headers(headers: &BTreeMap<String, String>) -> Result<HeaderReading, TooLarge> {
    if headers.len() > MAX_HEADERS {
        return Err(TooLarge::Count(headers.len()));
    }
    let mut values = BTreeMap::new();
    for (name, value) in headers {
        if name.len() > MAX_NAME_LEN {
            return Err(TooLarge::Name(quoted_name(name)));
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(TooLarge::Value(quoted_name(name)));
        }
        let name = name.to_ascii_lowercase();
        if let Some(field) = name.strip_prefix(PREFIX) {
            // Names that differ only in case (a client that did not merge
            // them) count by the first in the map's order.
            values
                .entry(field.to_owned())
                .or_insert_with(|| first_part(value).to_owned());
        }
    }
    let mut dropped = Dropped::default();
    let reading = Headers {
        values,
        dropped: &mut dropped,
    }
    .reading();
    Ok(HeaderReading {
        dropped: dropped.into_lines(),
        ..reading
    })
}

/// `name` in quotes, cut short, for a refusal.
fn quoted_name(name: &str) -> String {
    format!("{:?}", cut(name, NAME_SHOWN))
}

/// The first comma-separated part of a value (a header given twice and
/// joined, as fetch's `Headers` joins repeats), without spaces or tabs.
fn first_part(value: &str) -> &str {
    let first = value.split(',').next().unwrap_or_default();
    first.trim_matches([' ', '\t'])
}

/// The unified headers by the rest of their name (`5h-utilization`, …),
/// and where the values that cannot be read are noted.
struct Headers<'a> {
    values: BTreeMap<String, String>,
    dropped: &'a mut Dropped,
}

impl Headers<'_> {
    fn reading(mut self) -> HeaderReading {
        let mut five = self.window("5h");
        let mut seven = self.window("7d");
        let mut capped = self.window("7d_oi");
        let claim = self.token("representative-claim");
        let named = match claim.as_deref() {
            Some("five_hour") => Some(&mut five),
            Some("seven_day") => Some(&mut seven),
            Some("seven_day_overage_included") => Some(&mut capped),
            _ => None,
        };
        if let Some(window) = named {
            // The overall headers speak of the window the claim names.
            if window.resets_at.is_none() {
                window.resets_at = self.reset("reset");
            }
            if self.status("status") == Some(WindowStatus::Rejected) {
                window.status = Some(WindowStatus::Rejected);
            }
        }
        HeaderReading {
            five_hour: five.into_window(),
            seven_day: seven.into_window(),
            weekly_scoped: capped
                .into_window()
                .map(|window| ScopedCap {
                    model: OVERAGE_INCLUDED_FAMILY.to_owned(),
                    utilization: window.utilization,
                    resets_at: window.resets_at,
                    severity: None,
                    status: window.status,
                })
                .into_iter()
                .collect(),
            extra_usage: self.extra_usage(),
            representative_claim: claim,
            dropped: Vec::new(),
        }
    }

    /// One window's three headers, as far as they can be read.
    fn window(&mut self, window: &str) -> Found {
        Found {
            utilization: self.percent(&format!("{window}-utilization")),
            resets_at: self.reset(&format!("{window}-reset")),
            status: self.status(&format!("{window}-status")),
        }
    }

    /// Extra usage, when the headers say whether it may be spent: by
    /// `overage-status`, or by a disabled reason (then it may not).
    fn extra_usage(&mut self) -> Option<ExtraUsage> {
        let allowed = self.status("overage-status");
        let disabled_reason = self.token("overage-disabled-reason");
        let enabled = match (allowed, &disabled_reason) {
            (Some(status), _) => status != WindowStatus::Rejected,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        Some(ExtraUsage {
            enabled,
            utilization: self.percent("overage-utilization"),
            used: None,
            limit: None,
            currency: None,
            disabled_reason,
        })
    }

    /// A 0-1 fraction (which may exceed 1) as a percentage, when that is
    /// still a finite number.
    fn percent(&mut self, field: &str) -> Option<f64> {
        let Amount(fraction) = self.leaf(field)?;
        let percent = Some(fraction * 100.0).filter(|percent| percent.is_finite());
        if percent.is_none() {
            self.drop_value(field, "is too large a fraction");
        }
        percent
    }

    fn reset(&mut self, field: &str) -> Option<DateTime<Utc>> {
        self.leaf(field).map(|ResetTime(at)| at)
    }

    /// `allowed`, `allowed_warning` or `rejected`, in any case.
    fn status(&mut self, field: &str) -> Option<WindowStatus> {
        let value = self.values.get(field)?;
        let status = value.to_ascii_lowercase().parse().ok();
        if status.is_none() {
            self.drop_value(field, "is not a status");
        }
        status
    }

    /// A name such as a claim or a disabled reason, lowercased: letters,
    /// digits and underscores, at most [`MAX_TOKEN_LEN`] of them.
    fn token(&mut self, field: &str) -> Option<String> {
        let value = self.values.get(field)?.to_ascii_lowercase();
        let fits = !value.is_empty()
            && value.len() <= MAX_TOKEN_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !fits {
            self.drop_value(field, "is not a name");
        }
        fits.then_some(value)
    }

    /// `field` read by the usage reply's lenient leaf `T`, or noted as
    /// dropped.
    fn leaf<T: DeserializeOwned>(&mut self, field: &str) -> Option<T> {
        let value = self.values.get(field)?;
        match T::deserialize(StrDeserializer::<ValueError>::new(value)) {
            Ok(read) => Some(read),
            Err(why) => {
                self.dropped.note(format!("{PREFIX}{field}: {why}"));
                None
            }
        }
    }

    fn drop_value(&mut self, field: &str, why: &str) {
        let shown = quoted(&self.values[field]);
        self.dropped.note(format!("{PREFIX}{field}: {shown} {why}"));
    }
}

/// One window's headers as found.
struct Found {
    utilization: Option<f64>,
    resets_at: Option<DateTime<Utc>>,
    status: Option<WindowStatus>,
}

impl Found {
    /// The window, when its utilization is known: as sent, or 100 when the
    /// window refused requests and gave no utilization.
    fn into_window(self) -> Option<Window> {
        let rejected = self.status == Some(WindowStatus::Rejected);
        let utilization = self.utilization.or(rejected.then_some(100.0))?;
        Some(Window {
            status: self.status,
            ..Window::new(utilization, self.resets_at)
        })
    }
}

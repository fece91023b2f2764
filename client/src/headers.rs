//! Readings from a Messages API response's `anthropic-ratelimit-unified-*`
//! headers (docs/protocol.md, "ingest"): a router that calls Claude anyway
//! learns the windows for free and can keep the daemon fresh without a poll.
//!
//! Takes any iterator of name/value pairs, so `http::HeaderMap` (reqwest,
//! hyper, axum) fits without this library depending on `http`. The Python
//! and Node clients read the same headers by the same rules, and the
//! conformance suite (`tests/conformance/cases.json`) holds all three to
//! the same ingest message for the same headers.
//!
//! A value that cannot be read drops that one field, never the reading and
//! never with an error: a router must not fail a model call over an odd
//! header.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use claude_quota_proto::{
    ExtraUsage, Ingest, ReadingSource, Request, ScopedCap, Window, WindowStatus,
};

/// The prefix of the headers that carry the subscription's windows.
const PREFIX: &str = "anthropic-ratelimit-unified-";

/// The model family the `7d_oi` window caps. Claude Code names that window
/// `seven_day_overage_included` and labels it the "Fable limit"; the
/// daemon's `[models] cloud_family` decides whether it closes the cloud.
pub const OVERAGE_INCLUDED_FAMILY: &str = "Fable";

/// The last second of year 9999, the latest reset an RFC 3339 time carries.
const MAX_RESET: f64 = 253_402_300_799.0;

/// The longest claim or disabled reason kept, in characters.
const MAX_TOKEN_LEN: usize = 64;

/// What a response's headers say, as `ingest` carries it.
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
    /// The binding window the rate limiter names
    /// (`representative-claim`: `five_hour`, `seven_day`,
    /// `seven_day_overage_included`, …).
    pub representative_claim: Option<String>,
}

impl HeaderReading {
    /// Whether the headers held something the daemon takes as a reading
    /// (a window, the cap or extra usage); a claim alone is none.
    pub fn is_reading(&self) -> bool {
        self.five_hour.is_some()
            || self.seven_day.is_some()
            || !self.weekly_scoped.is_empty()
            || self.extra_usage.is_some()
    }
}

impl HeaderReading {
    /// The `ingest` request carrying this reading.
    pub(crate) fn into_ingest(
        self,
        source: ReadingSource,
        as_of: Option<DateTime<Utc>>,
    ) -> Request {
        Request::Ingest(Box::new(Ingest {
            five_hour: self.five_hour,
            seven_day: self.seven_day,
            as_of,
            weekly_scoped: self.weekly_scoped,
            extra_usage: self.extra_usage,
            representative_claim: self.representative_claim,
            ..Ingest::from(source)
        }))
    }
}

/// Reads the rate-limit headers, names in any case. A header given twice
/// counts by its first value, and a value joined with commas (as fetch's
/// `Headers` joins repeats) by its first part.
pub fn reading_from_headers<I, K, V>(headers: I) -> HeaderReading
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<[u8]>,
{
    let mut values = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_ref().to_ascii_lowercase();
        if let Some(field) = name.strip_prefix(PREFIX) {
            let value = String::from_utf8_lossy(value.as_ref());
            values
                .entry(field.to_owned())
                .or_insert_with(|| first_part(&value).to_owned());
        }
    }
    Headers(values).reading()
}

/// The first comma-separated part of a value, without spaces or tabs.
fn first_part(value: &str) -> &str {
    let first = value.split(',').next().unwrap_or_default();
    first.trim_matches([' ', '\t'])
}

/// The unified headers by the rest of their name (`5h-utilization`, …).
struct Headers(BTreeMap<String, String>);

impl Headers {
    fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    fn reading(&self) -> HeaderReading {
        let mut five = self.window("5h");
        let mut seven = self.window("7d");
        let mut capped = self.window("7d_oi");
        let claim = self.get("representative-claim").and_then(token);
        let named = match claim.as_deref() {
            Some("five_hour") => Some(&mut five),
            Some("seven_day") => Some(&mut seven),
            Some("seven_day_overage_included") => Some(&mut capped),
            _ => None,
        };
        if let Some(window) = named {
            // The overall headers speak of the window the claim names.
            window.resets_at = window.resets_at.or(self.reset("reset"));
            if self.get("status").and_then(status) == Some(WindowStatus::Rejected) {
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
        }
    }

    /// One window's three headers as far as they can be read.
    fn window(&self, window: &str) -> Found {
        Found {
            utilization: self.get(&format!("{window}-utilization")).and_then(percent),
            resets_at: self.reset(&format!("{window}-reset")),
            status: self.get(&format!("{window}-status")).and_then(status),
        }
    }

    fn reset(&self, field: &str) -> Option<DateTime<Utc>> {
        let seconds = self.get(field).and_then(plain_number)?;
        // Whole seconds within year 9999, so the cast cannot wrap.
        (seconds <= MAX_RESET).then(|| DateTime::from_timestamp(seconds.floor() as i64, 0))?
    }

    /// Extra usage, when the headers say whether it may be spent: by
    /// `overage-status`, or by a disabled reason (then it may not).
    fn extra_usage(&self) -> Option<ExtraUsage> {
        let allowed = self.get("overage-status").and_then(status);
        let disabled_reason = self.get("overage-disabled-reason").and_then(token);
        let enabled = match (allowed, &disabled_reason) {
            (Some(status), _) => status != WindowStatus::Rejected,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        Some(ExtraUsage {
            enabled,
            utilization: self.get("overage-utilization").and_then(percent),
            used: None,
            limit: None,
            currency: None,
            disabled_reason,
        })
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

/// A 0-1 fraction (which may exceed 1) as a percentage.
fn percent(value: &str) -> Option<f64> {
    plain_number(value).map(|fraction| fraction * 100.0)
}

fn status(value: &str) -> Option<WindowStatus> {
    value.to_ascii_lowercase().parse().ok()
}

/// A name such as a claim or a disabled reason: lowercase letters, digits
/// and underscores, at most [`MAX_TOKEN_LEN`] of them.
fn token(value: &str) -> Option<String> {
    let value = value.to_ascii_lowercase();
    let fits = !value.is_empty()
        && value.len() <= MAX_TOKEN_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    fits.then_some(value)
}

/// A finite number written as digits, an optional fraction and an
/// optional exponent, and nothing a language's own parser would read
/// differently (signs, hex, underscores, `inf`), so every client reads the
/// same headers alike.
fn plain_number(value: &str) -> Option<f64> {
    let bytes = value.as_bytes();
    let mut at = 0;
    let digits = |at: &mut usize| {
        let start = *at;
        while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
            *at += 1;
        }
        *at > start
    };
    if !digits(&mut at) {
        return None;
    }
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        if !digits(&mut at) {
            return None;
        }
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        if !digits(&mut at) {
            return None;
        }
    }
    if at != bytes.len() {
        return None;
    }
    value.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_header_map_fits() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut map = HeaderMap::new();
        map.insert(
            "anthropic-ratelimit-unified-5h-utilization",
            HeaderValue::from_static("0.5"),
        );
        let reading = reading_from_headers(&map);
        assert_eq!(reading.five_hour.unwrap().utilization, 50.0);
    }

    #[test]
    fn numbers_are_read_by_one_grammar() {
        for (text, read) in [
            ("0.83", Some(0.83)),
            ("1", Some(1.0)),
            ("1.02", Some(1.02)),
            ("5e-1", Some(0.5)),
            ("1E2", Some(100.0)),
            ("", None),
            (".5", None),
            ("5.", None),
            ("-0.5", None),
            ("+1", None),
            ("0x10", None),
            ("1_0", None),
            ("inf", None),
            ("NaN", None),
            ("1e999", None),
            ("1 2", None),
        ] {
            assert_eq!(plain_number(text), read, "{text:?}");
        }
    }

    #[test]
    fn first_values_count_and_spaces_go() {
        let reading = reading_from_headers([
            ("anthropic-ratelimit-unified-5h-utilization", " 0.5 , 0.9"),
            ("Anthropic-Ratelimit-Unified-5h-Utilization", "0.7"),
        ]);
        assert_eq!(reading.five_hour.unwrap().utilization, 50.0);
    }
}

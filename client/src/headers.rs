//! Readings from a Messages API response's `anthropic-ratelimit-unified-*`
//! headers (docs/protocol.md, "ingest"): a router that calls Claude anyway learns the
//! windows for free and can keep the daemon fresh without a poll.
//!
//! Takes any iterator of name/value pairs, so `http::HeaderMap` (reqwest,
//! hyper, axum) fits without this library depending on `http`.

use chrono::{DateTime, Utc};
use claude_quota_proto::Window;

use crate::Error;

/// The prefix of the headers that carry the subscription's windows.
const PREFIX: &str = "anthropic-ratelimit-unified-";

/// The last second of year 9999, the latest reset an RFC 3339 time carries.
const MAX_RESET: f64 = 253_402_300_799.0;

/// What a response's headers say about the two windows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HeaderReading {
    /// The 5-hour window, when the headers name it.
    pub five_hour: Option<Window>,
    /// The 7-day window, when the headers name it.
    pub seven_day: Option<Window>,
}

/// One window's three headers as found.
#[derive(Default)]
struct Found {
    utilization: Option<f64>,
    resets_at: Option<DateTime<Utc>>,
    rejected: bool,
}

impl Found {
    /// The window, in percent: the fraction ×100, or 100 when the window
    /// refused the request and gave no fraction.
    fn window(self) -> Option<Window> {
        let fraction = self.utilization.or(self.rejected.then_some(1.0))?;
        let utilization = fraction * 100.0;
        Some(Window::new(utilization, self.resets_at))
    }
}

/// Reads the windows from response headers, names in any case. A value
/// that is not a usable number (not numeric, negative, a reset past year
/// 9999) is [`Error::BadRequest`] naming the header, as in the Python and
/// Node clients: a guess is never sent.
pub fn reading_from_headers<I, K, V>(headers: I) -> Result<HeaderReading, Error>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<[u8]>,
{
    let (mut five, mut seven) = (Found::default(), Found::default());
    for (name, value) in headers {
        let name = name.as_ref().to_ascii_lowercase();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some((window, field)) = rest.split_once('-') else {
            continue;
        };
        let found = match window {
            "5h" => &mut five,
            "7d" => &mut seven,
            _ => continue,
        };
        let value = String::from_utf8_lossy(value.as_ref());
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match field {
            "utilization" => found.utilization = Some(number(&name, value, f64::MAX)?),
            "reset" => {
                // Whole seconds within year 9999, so the cast cannot wrap.
                let secs = number(&name, value, MAX_RESET)? as i64;
                found.resets_at = DateTime::from_timestamp(secs, 0);
            }
            "status" => found.rejected = value.eq_ignore_ascii_case("rejected"),
            _ => {}
        }
    }
    Ok(HeaderReading {
        five_hour: five.window(),
        seven_day: seven.window(),
    })
}

/// A header's number, from 0 to `largest`, or the `BadRequest` naming it;
/// at most 100 characters of the value are quoted.
fn number(name: &str, value: &str, largest: f64) -> Result<f64, Error> {
    value
        .parse::<f64>()
        .ok()
        .filter(|number| (0.0..=largest).contains(number))
        .ok_or_else(|| {
            let shown: String = value.chars().take(100).collect();
            Error::BadRequest(format!("header {name} is not a usable number: {shown:?}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fraction_becomes_a_percentage_with_its_reset() {
        let reading = reading_from_headers([
            ("Anthropic-Ratelimit-Unified-5h-Utilization", "0.83"),
            ("anthropic-ratelimit-unified-5h-reset", "1738425600"),
            ("anthropic-ratelimit-unified-5h-status", "allowed_warning"),
            ("ANTHROPIC-RATELIMIT-UNIFIED-7D-UTILIZATION", "0.412"),
            ("anthropic-ratelimit-unified-status", "allowed"),
        ])
        .unwrap();
        let five = reading.five_hour.unwrap();
        assert!((five.utilization - 83.0).abs() < 1e-9, "{five:?}");
        assert_eq!(five.resets_at.unwrap().timestamp(), 1_738_425_600);
        let seven = reading.seven_day.unwrap();
        assert!((seven.utilization - 41.2).abs() < 1e-9);
        assert_eq!(seven.resets_at, None);
    }

    #[test]
    fn an_http_header_map_fits() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut map = HeaderMap::new();
        map.insert(
            "anthropic-ratelimit-unified-5h-utilization",
            HeaderValue::from_static("0.5"),
        );
        let reading = reading_from_headers(&map).unwrap();
        assert_eq!(reading.five_hour.unwrap().utilization, 50.0);
    }

    #[test]
    fn rejected_without_a_fraction_is_full() {
        let reading = reading_from_headers(vec![(
            String::from("anthropic-ratelimit-unified-5h-status"),
            b"rejected".to_vec(),
        )])
        .unwrap();
        assert_eq!(reading.five_hour.unwrap().utilization, 100.0);
        assert_eq!(reading.seven_day, None);
    }

    #[test]
    fn unrelated_headers_give_nothing() {
        let reading = reading_from_headers([
            ("content-type", "application/json"),
            ("anthropic-ratelimit-requests-remaining", "10"),
            ("anthropic-ratelimit-unified-5h-utilization-x", "0.5"),
            ("anthropic-ratelimit-unified-1h-utilization", "0.5"),
            ("anthropic-ratelimit-unified-5h-utilization", " "),
        ])
        .unwrap();
        assert_eq!(reading, HeaderReading::default());
    }

    #[test]
    fn a_broken_value_is_a_bad_request_naming_the_header() {
        for (field, value) in [
            ("utilization", "lots"),
            ("utilization", "NaN"),
            ("utilization", "-0.5"),
            ("utilization", "inf"),
            ("reset", "soon"),
            ("reset", "1e13"),
        ] {
            let name = format!("anthropic-ratelimit-unified-5h-{field}");
            let err = reading_from_headers([(name.as_str(), value)]).unwrap_err();
            assert!(
                matches!(&err, Error::BadRequest(m) if m.contains(&name)),
                "{field}={value}: {err}"
            );
        }
    }
}

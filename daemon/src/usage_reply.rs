//! The usage endpoint's reply as it is found in the field: the flat form
//! (`five_hour`, `seven_day`, `seven_day_<family>`), the 2026 `limits`
//! form, or both at once, read into one [`Reading`]. Where both carry the
//! same quantity `limits` wins, as docs/decisions.md ("The usage API in the field") says.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use claude_quota_proto::{ReadingSource, ReplyShape, ScopedCap, Window};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::reading::Reading;

/// The flat keys that hold the two windows every tier is decided on.
const FIVE_HOUR: &str = "five_hour";
const SEVEN_DAY: &str = "seven_day";
const LIMITS: &str = "limits";

/// The prefix of a flat per-model weekly cap (`seven_day_sonnet`…).
const FLAT_CAP_PREFIX: &str = "seven_day_";

/// Flat `seven_day_*` keys that are not a model family: the week's usage
/// through third-party OAuth apps is no cap a router could run into.
const NOT_A_FAMILY: [&str; 1] = ["oauth_apps"];

/// At most this many per-model caps are kept, and a family name (or
/// severity) of at most this many bytes: a reply is hostile input, and
/// every cap travels in each status frame (64 KiB at most).
const MAX_CAPS: usize = 32;
const MAX_MODEL_NAME: usize = 64;

/// A reply read: the reading, the form it came in, and what was ignored
/// (top-level keys and `limits` kinds), for a debug line.
#[derive(Debug)]
pub struct Parsed {
    /// The reading, taken at the `now` given to [`parse`].
    pub reading: Reading,
    /// Which form the reply had.
    pub shape: ReplyShape,
    /// Keys and limit kinds this daemon does not use.
    pub ignored: BTreeSet<String>,
}

/// One window of the flat form: either field may be null.
#[derive(Deserialize)]
struct FlatWindow {
    utilization: Option<f64>,
    resets_at: Option<DateTime<Utc>>,
}

/// One entry of `limits`; fields this daemon does not use are ignored.
#[derive(Deserialize)]
struct Limit {
    percent: Option<f64>,
    resets_at: Option<DateTime<Utc>>,
    severity: Option<String>,
    scope: Option<LimitScope>,
}

#[derive(Deserialize)]
struct LimitScope {
    model: Option<ScopeModel>,
}

#[derive(Deserialize)]
struct ScopeModel {
    display_name: Option<String>,
    id: Option<String>,
}

/// What the `limits` array says.
#[derive(Default)]
struct LimitWindows {
    session: Option<Window>,
    weekly_all: Option<Window>,
    scoped: Vec<ScopedCap>,
}

/// Reads a reply body taken at `now`. The error is the `bad_response`
/// message: what was wrong, and for a reply without a 5-hour window the
/// keys it did have.
pub fn parse(body: &[u8], now: DateTime<Utc>) -> Result<Parsed, String> {
    let reply: Map<String, Value> = serde_json::from_slice(body).map_err(|err| err.to_string())?;
    let mut ignored = BTreeSet::new();
    let mut flat_caps = Vec::new();
    for (key, value) in &reply {
        match key.strip_prefix(FLAT_CAP_PREFIX) {
            // A key of this prefix is only probably a family's cap: one
            // that is not a window is skipped, never fatal.
            Some(family) if !NOT_A_FAMILY.contains(&family) => match flat_window(value, key) {
                Ok(Some(window)) => flat_caps.push(ScopedCap {
                    model: title_case(family),
                    utilization: window.utilization,
                    resets_at: window.resets_at,
                    severity: None,
                    status: None,
                }),
                Ok(None) => {}
                Err(_) => {
                    ignored.insert(key.clone());
                }
            },
            _ if [FIVE_HOUR, SEVEN_DAY, LIMITS].contains(&key.as_str()) => {}
            _ => {
                ignored.insert(key.clone());
            }
        }
    }
    let flat_five = reply
        .get(FIVE_HOUR)
        .map(|v| flat_window(v, FIVE_HOUR))
        .transpose()?
        .flatten();
    let flat_seven = reply
        .get(SEVEN_DAY)
        .map(|v| flat_window(v, SEVEN_DAY))
        .transpose()?
        .flatten();
    let limits = match reply.get(LIMITS) {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(limit_windows(items, &mut ignored)?),
        Some(_) => return Err("limits is not an array".into()),
    };
    let has_flat = [FIVE_HOUR, SEVEN_DAY]
        .iter()
        .any(|key| reply.get(*key).is_some_and(|v| !v.is_null()));
    let shape = match (has_flat, limits.is_some()) {
        (true, true) => ReplyShape::Mixed,
        (false, true) => ReplyShape::Limits,
        _ => ReplyShape::Flat,
    };
    let limits = limits.unwrap_or_default();
    let Some(five_hour) = limits.session.or(flat_five) else {
        return Err(format!(
            "no 5-hour window in the reply (neither five_hour nor a session limit); it had: {}",
            described_keys(&reply)
        ));
    };
    let mut weekly_scoped: Vec<ScopedCap> = Vec::new();
    for cap in limits.scoped.into_iter().chain(flat_caps) {
        let known = weekly_scoped
            .iter()
            .any(|held| held.model.eq_ignore_ascii_case(&cap.model));
        if known {
            continue;
        }
        if cap.model.len() > MAX_MODEL_NAME || weekly_scoped.len() == MAX_CAPS {
            ignored.insert(format!("the cap of {:.20}…", cap.model));
            continue;
        }
        weekly_scoped.push(cap);
    }
    Ok(Parsed {
        reading: Reading {
            five_hour: Some(five_hour),
            seven_day: limits.weekly_all.or(flat_seven),
            weekly_scoped,
            extra_usage: None,
            spend_limit: false,
            representative_claim: None,
            as_of: now,
            source: ReadingSource::Api,
            received: Default::default(),
        }
        .arrived(now),
        shape,
        ignored,
    })
}

/// A flat window; `None` when it or its utilization is null.
fn flat_window(value: &Value, key: &str) -> Result<Option<Window>, String> {
    if value.is_null() {
        return Ok(None);
    }
    let window = FlatWindow::deserialize(value).map_err(|err| format!("{key}: {err}"))?;
    window
        .utilization
        .map(|utilization| checked(utilization, window.resets_at, key))
        .transpose()
}

/// The windows and caps of the `limits` array. Entries of kinds this
/// daemon does not know are skipped whatever their shape; a known kind
/// that does not parse spoils the reply.
fn limit_windows(items: &[Value], ignored: &mut BTreeSet<String>) -> Result<LimitWindows, String> {
    let mut found = LimitWindows::default();
    for (at, item) in items.iter().enumerate() {
        let kind = item.get("kind").and_then(Value::as_str).unwrap_or_default();
        if !["session", "weekly_all", "weekly_scoped"].contains(&kind) {
            ignored.insert(format!("limits kind {kind:?}"));
            continue;
        }
        let name = format!("limits[{at}] ({kind})");
        let limit = Limit::deserialize(item).map_err(|err| format!("{name}: {err}"))?;
        let Some(percent) = limit.percent else {
            continue;
        };
        let window = checked(percent, limit.resets_at, &name)?;
        match kind {
            "session" => found.session = Some(window),
            "weekly_all" => found.weekly_all = Some(window),
            _ => {
                let model = limit
                    .scope
                    .and_then(|scope| scope.model)
                    .and_then(|model| model.display_name.or(model.id));
                let Some(model) = model else {
                    ignored.insert(format!("{name} without a model"));
                    continue;
                };
                found.scoped.push(ScopedCap {
                    model,
                    utilization: window.utilization,
                    resets_at: window.resets_at,
                    severity: limit.severity.filter(|word| word.len() <= MAX_MODEL_NAME),
                    status: None,
                });
            }
        }
    }
    Ok(found)
}

/// A window whose percentage is a number a tier can rest on.
fn checked(
    utilization: f64,
    resets_at: Option<DateTime<Utc>>,
    name: &str,
) -> Result<Window, String> {
    if !utilization.is_finite() || utilization < 0.0 {
        return Err(format!("{name} utilization is {utilization}"));
    }
    Ok(Window::new(utilization, resets_at))
}

/// `sonnet` → `Sonnet`, the way the `limits` form names families.
fn title_case(family: &str) -> String {
    let mut chars = family.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The reply's top-level keys, and the kinds in `limits`, for a message:
/// at most [`NAMES_SHOWN`] of each, each cut to [`NAME_SHOWN_LEN`]
/// characters, since the message travels in every status frame.
fn described_keys(reply: &Map<String, Value>) -> String {
    if reply.is_empty() {
        return "no keys at all".into();
    }
    let keys = reply.iter().map(|(key, value)| match value.as_array() {
        Some(items) if key == LIMITS => {
            let kinds = items
                .iter()
                .filter_map(|item| item.get("kind").and_then(Value::as_str));
            format!("limits (kinds: {})", listed(kinds))
        }
        _ => key.clone(),
    });
    listed(keys)
}

/// How many names a message lists, and how long each may be.
const NAMES_SHOWN: usize = 20;
const NAME_SHOWN_LEN: usize = 80;

/// Names joined by commas, bounded as [`described_keys`] says.
fn listed<S: AsRef<str>>(names: impl Iterator<Item = S>) -> String {
    let mut shown = Vec::with_capacity(NAMES_SHOWN + 1);
    let mut more = 0usize;
    for name in names {
        if shown.len() < NAMES_SHOWN {
            shown.push(
                name.as_ref()
                    .chars()
                    .take(NAME_SHOWN_LEN)
                    .collect::<String>(),
            );
        } else {
            more += 1;
        }
    }
    if more > 0 {
        shown.push(format!("and {more} more"));
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(body: &str) -> Result<Parsed, String> {
        parse(body.as_bytes(), Utc::now())
    }

    fn cap<'a>(parsed: &'a Parsed, family: &str) -> Option<&'a ScopedCap> {
        parsed.reading.cap(family)
    }

    #[test]
    fn parses_the_flat_contract_example() {
        let parsed = parse_str(
            r#"{"five_hour": {"utilization": 61.0, "resets_at": "2026-01-28T07:59:59.571404+00:00"},
 "seven_day": {"utilization": 22.0, "resets_at": "2026-02-03T09:59:59.571468+00:00"},
 "seven_day_opus": null, "seven_day_sonnet": {"utilization": 1.0, "resets_at": null},
 "extra_usage": {"is_enabled": false, "monthly_limit": null, "used_credits": null, "utilization": null}}"#,
        )
        .unwrap();
        let reading = &parsed.reading;
        assert_eq!(parsed.shape, ReplyShape::Flat);
        assert_eq!(reading.five_hour.unwrap().utilization, 61.0);
        assert_eq!(
            reading.five_hour.unwrap().resets_at.unwrap().to_rfc3339(),
            "2026-01-28T07:59:59.571404+00:00"
        );
        assert_eq!(reading.seven_day.unwrap().utilization, 22.0);
        assert!(cap(&parsed, "opus").is_none());
        let sonnet = cap(&parsed, "sonnet").unwrap();
        assert_eq!((sonnet.model.as_str(), sonnet.utilization), ("Sonnet", 1.0));
        assert_eq!(sonnet.resets_at, None);
        assert!(parsed.ignored.contains("extra_usage"));
    }

    #[test]
    fn parses_the_limits_contract_example_with_integers() {
        let parsed = parse_str(
            r#"{"limits": [
  {"kind": "session", "group": "session", "percent": 62, "severity": "normal", "resets_at": "2026-01-28T07:59:59Z", "scope": null, "is_active": true},
  {"kind": "weekly_all", "group": "weekly", "percent": 30, "severity": "normal", "resets_at": null, "scope": null},
  {"kind": "weekly_scoped", "group": "weekly", "percent": 97, "severity": "critical", "resets_at": null,
   "scope": {"model": {"id": null, "display_name": "Sonnet"}, "surface": null}},
  {"kind": "daily_mystery", "percent": "lots"}],
 "extra_usage": {}, "spend": {"used": {"amount_minor": 120, "currency": "USD", "exponent": 2}}}"#,
        )
        .unwrap();
        assert_eq!(parsed.shape, ReplyShape::Limits);
        assert_eq!(parsed.reading.five_hour.unwrap().utilization, 62.0);
        assert_eq!(parsed.reading.seven_day.unwrap().utilization, 30.0);
        let sonnet = cap(&parsed, "SONNET").unwrap();
        assert_eq!(sonnet.utilization, 97.0);
        assert_eq!(sonnet.severity.as_deref(), Some("critical"));
        assert!(parsed.ignored.contains("limits kind \"daily_mystery\""));
    }

    #[test]
    fn limits_win_over_flat_keys_and_caps_merge() {
        let parsed = parse_str(
            r#"{"five_hour": {"utilization": 10.5, "resets_at": null},
                "seven_day": {"utilization": 5, "resets_at": null},
                "seven_day_opus": {"utilization": 40, "resets_at": null},
                "seven_day_sonnet": {"utilization": 1, "resets_at": null},
                "seven_day_oauth_apps": {"utilization": 3, "resets_at": null},
                "limits": [{"kind": "session", "percent": 55.5},
                           {"kind": "weekly_scoped", "percent": 88, "scope": {"model": {"display_name": "Sonnet"}}}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.shape, ReplyShape::Mixed);
        let reading = &parsed.reading;
        assert_eq!(reading.five_hour.unwrap().utilization, 55.5, "limits win");
        assert_eq!(reading.seven_day.unwrap().utilization, 5.0, "flat fills in");
        assert_eq!(cap(&parsed, "sonnet").unwrap().utilization, 88.0);
        assert_eq!(cap(&parsed, "opus").unwrap().utilization, 40.0);
        assert_eq!(reading.weekly_scoped.len(), 2, "oauth_apps is no family");
    }

    #[test]
    fn the_keys_named_in_an_error_are_bounded() {
        let keys: Vec<String> = (0..500)
            .map(|i| format!(r#""k{i:03}{}":1"#, "y".repeat(200)))
            .collect();
        let err = parse_str(&format!("{{{}}}", keys.join(","))).unwrap_err();
        assert!(err.contains("and 480 more"), "{err}");
        assert!(err.len() < 3000, "{}", err.len());
    }

    #[test]
    fn caps_are_bounded_in_number_and_name() {
        let many: Vec<String> = (0..100)
            .map(|i| format!(r#"{{"kind":"weekly_scoped","percent":1,"scope":{{"model":{{"display_name":"M{i}"}}}}}}"#))
            .collect();
        let long = "x".repeat(65);
        let body = format!(
            r#"{{"five_hour":{{"utilization":1,"resets_at":null}},"seven_day_{long}":{{"utilization":1,"resets_at":null}},"limits":[{}]}}"#,
            many.join(",")
        );
        let parsed = parse_str(&body).unwrap();
        assert_eq!(parsed.reading.weekly_scoped.len(), MAX_CAPS);
        assert!(parsed.reading.cap(&long).is_none());
    }

    #[test]
    fn a_seven_day_key_that_is_no_window_is_skipped() {
        let parsed = parse_str(
            r#"{"five_hour": {"utilization": 1, "resets_at": null},
                "seven_day_policy": "rolling", "seven_day_fable": {"utilization": -3}}"#,
        )
        .unwrap();
        assert!(parsed.reading.weekly_scoped.is_empty());
        assert!(parsed.ignored.contains("seven_day_policy"));
        assert!(parsed.ignored.contains("seven_day_fable"));
    }

    #[test]
    fn nulls_are_allowed_wherever_the_field_has_them() {
        let parsed = parse_str(
            r#"{"five_hour": {"utilization": 3, "resets_at": null}, "seven_day": null,
                "seven_day_fable": {"utilization": null, "resets_at": null},
                "limits": [{"kind": "weekly_all", "percent": null, "resets_at": null, "severity": null, "scope": null},
                           {"kind": "weekly_scoped", "percent": 12, "scope": null}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.reading.five_hour.unwrap().utilization, 3.0);
        assert!(parsed.reading.seven_day.is_none());
        assert!(parsed.reading.weekly_scoped.is_empty());
    }

    #[test]
    fn a_reply_without_a_five_hour_window_names_its_keys() {
        let err = parse_str(
            r#"{"seven_day": {"utilization": 1, "resets_at": null},
                "limits": [{"kind": "weekly_all", "percent": 3}]}"#,
        )
        .unwrap_err();
        assert!(err.contains("five_hour"), "{err}");
        assert!(
            err.contains("limits (kinds: weekly_all), seven_day"),
            "{err}"
        );
        for body in [
            r#"{}"#,
            r#"{"five_hour":null}"#,
            r#"{"five_hour":{"utilization":-1,"resets_at":null}}"#,
            r#"{"five_hour":{"utilization":"high"}}"#,
            r#"{"limits":[{"kind":"session","percent":"high"}]}"#,
            r#"{"limits":{"kind":"session"}}"#,
            "<html>",
            "[]",
        ] {
            assert!(parse_str(body).is_err(), "{body}");
        }
    }
}

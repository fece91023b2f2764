//! The usage replies recorded from the field (`tests/fixtures/usage/`),
//! served as if recorded just now: a window past its reset counts as 0 %,
//! so a reply recorded months ago would show nothing but idle windows.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

/// Epoch numbers above this are milliseconds, as the daemon reads them.
const MILLIS_ABOVE: i64 = 1_000_000_000_000;

/// The zoneless ISO form (read as UTC).
const ZONELESS: &str = "%Y-%m-%dT%H:%M:%S%.f";

/// The reply in `tests/fixtures/usage/NAME.json`, every `resets_at` moved
/// by the same whole number of hours so that the earliest lies at least an
/// hour ahead; each keeps the form it was written in (RFC 3339, ISO
/// without a zone, epoch seconds or milliseconds, as a number or as text),
/// and one that is no time stays as it was.
pub fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/usage")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let mut reply: Value =
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let mut earliest = None::<DateTime<Utc>>;
    visit_resets(&mut reply, &mut |value| {
        if let Some((at, _)) = Written::read(value) {
            earliest = Some(earliest.map_or(at, |held| held.min(at)));
        }
    });
    if let Some(earliest) = earliest {
        let by = TimeDelta::hours((Utc::now() - earliest).num_hours().max(0) + 2);
        visit_resets(&mut reply, &mut |value| {
            if let Some((at, form)) = Written::read(value) {
                *value = form.write(at + by);
            }
        });
    }
    reply
}

/// Calls `each` on every value of a `resets_at` key in `value`.
fn visit_resets(value: &mut Value, each: &mut impl FnMut(&mut Value)) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "resets_at" {
                    each(child);
                } else {
                    visit_resets(child, each);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| visit_resets(item, each)),
        _ => {}
    }
}

/// How a time was written.
#[derive(Debug, Clone, Copy)]
enum Written {
    Rfc3339 { zulu: bool },
    Zoneless,
    Epoch { millis: bool, text: bool },
}

impl Written {
    /// The time `value` holds, and its form.
    fn read(value: &Value) -> Option<(DateTime<Utc>, Written)> {
        let epoch = |epoch: i64, text: bool| {
            let millis = epoch > MILLIS_ABOVE;
            let at = if millis {
                DateTime::from_timestamp_millis(epoch)
            } else {
                DateTime::from_timestamp(epoch, 0)
            };
            Some((at?, Written::Epoch { millis, text }))
        };
        match value {
            Value::Number(number) => epoch(number.as_i64()?, false),
            Value::String(text) => {
                if let Ok(number) = text.parse::<i64>() {
                    return epoch(number, true);
                }
                if let Ok(at) = DateTime::parse_from_rfc3339(text) {
                    let zulu = text.ends_with('Z');
                    return Some((at.with_timezone(&Utc), Written::Rfc3339 { zulu }));
                }
                let at = NaiveDateTime::parse_from_str(text, ZONELESS).ok()?;
                Some((at.and_utc(), Written::Zoneless))
            }
            _ => None,
        }
    }

    /// `at` written in this form.
    fn write(self, at: DateTime<Utc>) -> Value {
        match self {
            Written::Rfc3339 { zulu } => json!(at.to_rfc3339_opts(SecondsFormat::AutoSi, zulu)),
            Written::Zoneless => json!(at.naive_utc().format(ZONELESS).to_string()),
            Written::Epoch { millis, text } => {
                let epoch = if millis {
                    at.timestamp_millis()
                } else {
                    at.timestamp()
                };
                if text {
                    json!(epoch.to_string())
                } else {
                    json!(epoch)
                }
            }
        }
    }
}

//! Properties of the reader over real-shaped replies mutated the ways the
//! field mutates them: keys dropped, numbers sent as strings, nulls or
//! garbage, unknown keys and `limits` kinds added, reset times written in
//! another accepted form. Whatever is done, the reader does not panic,
//! does not refuse a reply that still holds a readable 5-hour or 7-day
//! window, reads every such window (and no other), and reports no
//! utilization it was not sent.
//!
//! The seeds are every reply in `tests/fixtures/usage/`.

use chrono::{DateTime, SecondsFormat, Utc};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Value, json};

use super::parse;

/// Every fixture reply, parsed as JSON.
fn seeds() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/usage");
    let mut seeds: Vec<Value> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        })
        .collect();
    assert!(seeds.len() >= 10, "the fixtures are the seeds");
    seeds.sort_by_key(Value::to_string);
    seeds
}

/// One step from a value to a part of it.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    At(usize),
}

/// Every path in `value` (the root included), depth first.
fn paths(value: &Value) -> Vec<Vec<Step>> {
    fn walk(value: &Value, here: &mut Vec<Step>, all: &mut Vec<Vec<Step>>) {
        all.push(here.clone());
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    here.push(Step::Key(key.clone()));
                    walk(child, here, all);
                    here.pop();
                }
            }
            Value::Array(items) => {
                for (at, child) in items.iter().enumerate() {
                    here.push(Step::At(at));
                    walk(child, here, all);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    let mut all = Vec::new();
    walk(value, &mut Vec::new(), &mut all);
    all
}

/// The part of `value` at `path`.
fn at_mut<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Key(key) => value.get_mut(key.as_str()),
        Step::At(at) => value.get_mut(*at),
    })
}

/// The paths of `value` whose part passes `pick`.
fn picked(value: &Value, pick: impl Fn(&Value) -> bool) -> Vec<Vec<Step>> {
    paths(value)
        .into_iter()
        .filter(|path| {
            let mut copy = value.clone();
            at_mut(&mut copy, path).is_some_and(|part| pick(part))
        })
        .collect()
}

/// The forms a reset time may be written in.
#[derive(Debug, Clone, Copy)]
enum TimeForm {
    Rfc3339Offset,
    Zoneless,
    EpochSeconds,
    EpochSecondsText,
    EpochMillis,
    EpochMillisText,
}

impl TimeForm {
    fn write(self, at: DateTime<Utc>) -> Value {
        match self {
            TimeForm::Rfc3339Offset => {
                let east = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
                json!(
                    at.with_timezone(&east)
                        .to_rfc3339_opts(SecondsFormat::Micros, false)
                )
            }
            TimeForm::Zoneless => json!(at.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
            TimeForm::EpochSeconds => json!(at.timestamp()),
            TimeForm::EpochSecondsText => json!(at.timestamp().to_string()),
            TimeForm::EpochMillis => json!(at.timestamp_millis()),
            TimeForm::EpochMillisText => json!(at.timestamp_millis().to_string()),
        }
    }
}

/// One thing the field does to a reply; the index picks where.
#[derive(Debug, Clone)]
enum Mutation {
    DropKey(Index),
    NumberToText(Index),
    ToNull(Index),
    NumberToGarbage(Index, Value),
    AddKey(Index, String, Value),
    AddKind(String, Value),
    ShiftTime(Index, TimeForm),
}

fn garbage() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("lots")),
        Just(json!("NaN")),
        Just(json!("-inf")),
        Just(json!(-1)),
        Just(json!(-0.5)),
        Just(json!(true)),
        Just(json!([])),
        Just(json!({})),
        Just(json!("")),
        "[ -~]{0,12}".prop_map(Value::String),
    ]
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "[ -~]{0,12}".prop_map(Value::String),
        (any::<f64>(), any::<i64>())
            .prop_map(|(u, at)| json!({"utilization": u, "resets_at": at, "percent": u})),
        garbage(),
    ]
}

fn time_form() -> impl Strategy<Value = TimeForm> {
    prop_oneof![
        Just(TimeForm::Rfc3339Offset),
        Just(TimeForm::Zoneless),
        Just(TimeForm::EpochSeconds),
        Just(TimeForm::EpochSecondsText),
        Just(TimeForm::EpochMillis),
        Just(TimeForm::EpochMillisText),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let key = prop_oneof![
        "[a-z_]{1,16}",
        Just("iguana_necktie".to_owned()),
        Just("seven_day_cowork".to_owned()),
        Just("seven_day_omelette".to_owned()),
        Just("kind".to_owned()),
    ];
    let kind = prop_oneof!["[a-z_]{1,16}", Just("monthly_surface".to_owned())];
    prop_oneof![
        any::<Index>().prop_map(Mutation::DropKey),
        any::<Index>().prop_map(Mutation::NumberToText),
        any::<Index>().prop_map(Mutation::ToNull),
        (any::<Index>(), garbage()).prop_map(|(at, v)| Mutation::NumberToGarbage(at, v)),
        (any::<Index>(), key, any_value()).prop_map(|(at, k, v)| Mutation::AddKey(at, k, v)),
        (kind, any_value()).prop_map(|(kind, v)| Mutation::AddKind(kind, v)),
        (any::<Index>(), time_form()).prop_map(|(at, form)| Mutation::ShiftTime(at, form)),
    ]
}

/// The reply with `mutation` done to it (or unchanged where it finds no
/// place to act).
fn mutated(mut reply: Value, mutation: &Mutation) -> Value {
    let numbers = |v: &Value| v.is_number();
    match mutation {
        Mutation::DropKey(at) => {
            let members: Vec<_> = paths(&reply)
                .into_iter()
                .filter(|path| matches!(path.last(), Some(Step::Key(_))))
                .collect();
            if !members.is_empty() {
                let path = at.get(&members);
                let (Some(Step::Key(key)), parent) = (path.last(), &path[..path.len() - 1]) else {
                    unreachable!("filtered above")
                };
                if let Some(Value::Object(map)) = at_mut(&mut reply, parent) {
                    map.remove(key);
                }
            }
        }
        Mutation::NumberToText(at) => replace(&mut reply, at, numbers, |n| json!(n.to_string())),
        Mutation::ToNull(at) => replace(&mut reply, at, |_| true, |_| Value::Null),
        Mutation::NumberToGarbage(at, garbage) => {
            replace(&mut reply, at, numbers, |_| garbage.clone());
        }
        Mutation::AddKey(at, key, value) => {
            let objects = picked(&reply, Value::is_object);
            if !objects.is_empty()
                && let Some(Value::Object(map)) =
                    at_mut(&mut reply, at.get(objects.as_slice()).as_slice())
            {
                map.insert(key.clone(), value.clone());
            }
        }
        Mutation::AddKind(kind, value) => {
            if let Some(Value::Array(limits)) = reply.get_mut("limits") {
                limits.push(json!({"kind": kind, "percent": value, "resets_at": value}));
            }
        }
        Mutation::ShiftTime(at, form) => replace(
            &mut reply,
            at,
            |v| {
                v.as_str()
                    .is_some_and(|t| t.parse::<DateTime<Utc>>().is_ok())
            },
            |t| form.write(t.as_str().unwrap().parse().unwrap()),
        ),
    }
    reply
}

/// Replaces the part picked by `at` among those passing `pick` with
/// `with` of it.
fn replace(
    reply: &mut Value,
    at: &Index,
    pick: impl Fn(&Value) -> bool,
    with: impl FnOnce(&Value) -> Value,
) {
    let candidates = picked(reply, pick);
    if candidates.is_empty() {
        return;
    }
    if let Some(part) = at_mut(reply, at.get(candidates.as_slice()).as_slice()) {
        *part = with(part);
    }
}

/// A number the reader must accept as a utilization: a JSON number or a
/// numeric string, finite and not negative. Written apart from the
/// reader, as the rule docs/decisions.md states.
fn readable_number(value: &Value) -> Option<f64> {
    let number = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    (number.is_finite() && number >= 0.0).then_some(number)
}

/// Which of the 5-hour and 7-day windows `reply` still holds with a
/// readable utilization, in either form (`five_hour` or a `session`
/// entry; `seven_day` or a `weekly_all` entry).
fn readable_windows(reply: &Value) -> [bool; 2] {
    let readable = |flat: &str, kind: &str| {
        let in_flat = reply
            .get(flat)
            .and_then(|window| window.get("utilization"))
            .and_then(readable_number)
            .is_some();
        let in_limits = reply
            .get("limits")
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items.iter().any(|item| {
                    item.get("kind").and_then(Value::as_str) == Some(kind)
                        && item.get("percent").and_then(readable_number).is_some()
                })
            });
        reply.is_object() && (in_flat || in_limits)
    };
    [
        readable("five_hour", "session"),
        readable("seven_day", "weekly_all"),
    ]
}

/// Every number the reply sends, as a number or as text.
fn sent_numbers(value: &Value, into: &mut Vec<f64>) {
    match value {
        Value::Object(map) => map.values().for_each(|v| sent_numbers(v, into)),
        Value::Array(items) => items.iter().for_each(|v| sent_numbers(v, into)),
        other => into.extend(readable_number(other)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_mutated_reply_is_read_and_never_invents_a_utilization(
        seed in select(seeds()),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let reply = mutations.iter().fold(seed, mutated);
        let body = serde_json::to_vec(&reply).unwrap();
        let result = parse(&body, Utc::now());
        let [five_readable, seven_readable] = readable_windows(&reply);
        if five_readable || seven_readable {
            prop_assert!(result.is_ok(), "refused {reply}: {:?}", result.err());
        }
        if let Ok(parsed) = result {
            let mut sent = Vec::new();
            sent_numbers(&reply, &mut sent);
            let reading = &parsed.reading;
            prop_assert_eq!(reading.five_hour.is_some(), five_readable, "5-hour window of {}", reply);
            prop_assert_eq!(reading.seven_day.is_some(), seven_readable, "7-day window of {}", reply);
            let shown = [reading.five_hour, reading.seven_day]
                .into_iter()
                .flatten()
                .map(|w| w.utilization)
                .chain(reading.weekly_scoped.iter().map(|cap| cap.utilization));
            for utilization in shown {
                prop_assert!(
                    sent.contains(&utilization),
                    "{utilization} was not sent in {reply}"
                );
            }
        }
    }

    #[test]
    fn a_cut_or_garbled_body_is_refused_without_a_panic(
        seed in select(seeds()),
        cut in any::<Index>(),
        flip in any::<Index>(),
        byte in any::<u8>(),
    ) {
        let mut body = serde_json::to_vec(&seed).unwrap();
        let at = flip.index(body.len());
        body[at] = byte;
        body.truncate(cut.index(body.len() + 1));
        let _ = parse(&body, Utc::now());
    }
}

//! The header reader on its own: the bounds, names in any case, and the
//! usage reply's lenient leaves. (Every recorded response in
//! `tests/fixtures/headers/` is read by the real daemon in
//! `tests/tests/ingest_headers.rs`.)

use std::collections::BTreeMap;

use chrono::DateTime;
use claude_quota_proto::WindowStatus;

use super::headers::{MAX_HEADERS, MAX_NAME_LEN, MAX_VALUE_LEN, PREFIX};
use super::{HeaderReading, TooLarge, read_headers};

fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| (format!("{PREFIX}{name}"), (*value).to_owned()))
        .collect()
}

fn read(pairs: &[(&str, &str)]) -> HeaderReading {
    read_headers(&headers(pairs)).expect("within the bounds")
}

fn five_hour(pairs: &[(&str, &str)]) -> Option<f64> {
    read(pairs).five_hour.map(|window| window.utilization)
}

#[test]
fn numbers_and_resets_are_read_as_leniently_as_a_usage_reply() {
    for (text, read) in [
        ("0.83", Some(83.0)),
        ("1.02", Some(102.0)),
        ("5e-1", Some(50.0)),
        (" 0.5\t", Some(50.0)),
        ("+0.5", Some(50.0)),
        ("-0.5", None),
        ("0x10", None),
        ("1_0", None),
        ("inf", None),
        ("NaN", None),
        ("1e999", None),
        ("1e307", None),
        ("lots", None),
    ] {
        assert_eq!(five_hour(&[("5h-utilization", text)]), read, "{text:?}");
    }
    let reset = |text: &str| {
        read(&[("5h-utilization", "0.1"), ("5h-reset", text)])
            .five_hour
            .and_then(|window| window.resets_at)
    };
    let at = DateTime::from_timestamp(1_790_871_000, 0);
    assert_eq!(reset("1790871000"), at, "epoch seconds");
    assert_eq!(reset("1790871000000"), at, "epoch milliseconds");
    assert_eq!(reset("2026-10-01T16:10:00Z"), at, "RFC 3339");
    assert_eq!(
        reset("1790871000.5"),
        DateTime::from_timestamp(1_790_871_000, 500_000_000),
        "a fraction is kept"
    );
    assert_eq!(reset("soon"), None);
    assert_eq!(reset("-1"), None);
}

#[test]
fn an_unreadable_value_drops_its_field_and_is_named() {
    let reading = read(&[
        ("5h-utilization", "0.5"),
        ("5h-status", "maybe"),
        ("7d-utilization", "lots"),
        ("representative-claim", "five hour!"),
    ]);
    assert_eq!(reading.five_hour.unwrap().status, None);
    assert_eq!(reading.seven_day, None);
    assert_eq!(reading.representative_claim, None);
    assert_eq!(reading.dropped.len(), 3, "{:?}", reading.dropped);
    assert!(
        reading
            .dropped
            .iter()
            .any(|line| line.contains("7d-utilization") && line.contains("\"lots\"")),
        "{:?}",
        reading.dropped
    );
}

#[test]
fn names_in_any_case_count_once_and_values_by_their_first_part() {
    let mut sent = BTreeMap::new();
    sent.insert(format!("{PREFIX}5H-UTILIZATION"), "0.2".to_owned());
    sent.insert(format!("{PREFIX}5h-utilization"), "0.9".to_owned());
    sent.insert(format!("{PREFIX}5h-Status"), "Rejected, allowed".to_owned());
    let reading = read_headers(&sent).unwrap();
    let five = reading.five_hour.unwrap();
    assert_eq!(five.utilization, 20.0, "the first name in the map's order");
    assert_eq!(five.status, Some(WindowStatus::Rejected));
}

#[test]
fn other_headers_are_ignored() {
    let mut sent = headers(&[("5h-utilization", "0.5")]);
    sent.insert("content-type".into(), "application/json".into());
    sent.insert("anthropic-ratelimit-tokens-remaining".into(), "0.1".into());
    assert_eq!(
        read_headers(&sent).unwrap().five_hour.unwrap().utilization,
        50.0
    );
    assert!(!read(&[("1h-utilization", "0.5")]).is_reading());
}

#[test]
fn a_claim_alone_is_no_reading() {
    let reading = read(&[("status", "allowed"), ("representative-claim", "five_hour")]);
    assert!(!reading.is_reading(), "{reading:?}");
}

#[test]
fn more_headers_than_the_bounds_are_refused_with_what_was_wrong() {
    let many: BTreeMap<String, String> = (0..=MAX_HEADERS)
        .map(|n| (format!("{PREFIX}unknown-{n}"), "1".to_owned()))
        .collect();
    assert_eq!(read_headers(&many), Err(TooLarge::Count(MAX_HEADERS + 1)));
    let at_most: BTreeMap<String, String> = many.into_iter().take(MAX_HEADERS).collect();
    assert!(read_headers(&at_most).is_ok());

    let long_name = format!("{PREFIX}{}", "x".repeat(MAX_NAME_LEN));
    let refused = read_headers(&BTreeMap::from([(long_name, "1".to_owned())])).unwrap_err();
    assert!(matches!(refused, TooLarge::Name(_)), "{refused}");
    assert!(
        refused.to_string().contains("longer than 128 bytes"),
        "{refused}"
    );

    let long_value = "1".repeat(MAX_VALUE_LEN + 1);
    let refused = read_headers(&headers(&[("5h-utilization", &long_value)])).unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!("ingest headers: the value of \"{PREFIX}5h-utilization\" is longer than 256 bytes")
    );
    let longest = "1".repeat(MAX_VALUE_LEN);
    assert!(read_headers(&headers(&[("5h-utilization", &longest)])).is_ok());
}

//! The reader against hand-written replies: each rule of
//! docs/decisions.md ("The usage API in the field") on its own.

use chrono::{DateTime, TimeZone, Utc};
use claude_quota_proto::{ExtraUsage, ReplyPart, ReplyShape, ScopedCap, Window};

use super::{Parsed, ReplyError, parse};

fn parse_str(body: &str) -> Result<Parsed, ReplyError> {
    parse(body.as_bytes(), Utc::now())
}

fn parsed(body: &str) -> Parsed {
    parse_str(body).unwrap_or_else(|err| panic!("{err}: {body}"))
}

fn cap<'a>(parsed: &'a Parsed, family: &str) -> Option<&'a ScopedCap> {
    parsed.reading.cap(family)
}

fn five(parsed: &Parsed) -> Window {
    parsed.reading.five_hour.expect("a 5-hour window")
}

/// Money that may be spent: `utilization` percent, `used` of `limit`
/// in `currency`.
fn spendable(utilization: f64, used: f64, limit: f64, currency: &str) -> ExtraUsage {
    ExtraUsage {
        enabled: true,
        utilization: Some(utilization),
        used: Some(used),
        limit: Some(limit),
        currency: Some(currency.into()),
        disabled_reason: None,
    }
}

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[test]
fn parses_the_flat_contract_example() {
    let parsed = parsed(
        r#"{"five_hour": {"utilization": 61.0, "resets_at": "2026-01-28T07:59:59.571404+00:00"},
 "seven_day": {"utilization": 22.0, "resets_at": "2026-02-03T09:59:59.571468+00:00"},
 "seven_day_opus": null, "seven_day_sonnet": {"utilization": 1.0, "resets_at": null},
 "extra_usage": {"is_enabled": false, "monthly_limit": null, "used_credits": null, "utilization": null}}"#,
    );
    let reading = &parsed.reading;
    assert_eq!(parsed.shape, ReplyShape::Flat);
    assert_eq!(five(&parsed).utilization, 61.0);
    assert_eq!(
        five(&parsed).resets_at,
        Some(utc("2026-01-28T07:59:59.571404Z"))
    );
    assert_eq!(five(&parsed).from, None, "only one part carried it");
    assert_eq!(reading.seven_day.unwrap().utilization, 22.0);
    assert!(cap(&parsed, "opus").is_none());
    let sonnet = cap(&parsed, "sonnet").unwrap();
    assert_eq!((sonnet.model.as_str(), sonnet.utilization), ("Sonnet", 1.0));
    assert_eq!(sonnet.resets_at, None);
    let extra = reading.extra_usage.as_ref().unwrap();
    assert!(!extra.enabled);
    assert!(!reading.spend_limit);
    assert!(parsed.dropped.is_empty(), "{:?}", parsed.dropped);
}

#[test]
fn parses_the_limits_contract_example_with_integers() {
    let parsed = parsed(
        r#"{"limits": [
  {"kind": "session", "group": "session", "percent": 62, "severity": "normal", "resets_at": "2026-01-28T07:59:59Z", "scope": null, "is_active": true},
  {"kind": "weekly_all", "group": "weekly", "percent": 30, "severity": "normal", "resets_at": null, "scope": null},
  {"kind": "weekly_scoped", "group": "weekly", "percent": 97, "severity": "critical", "resets_at": null,
   "scope": {"model": {"id": null, "display_name": "Sonnet"}, "surface": null}},
  {"kind": "daily_mystery", "percent": "lots"}],
 "extra_usage": {}}"#,
    );
    assert_eq!(parsed.shape, ReplyShape::Limits);
    assert_eq!(five(&parsed).utilization, 62.0);
    assert_eq!(parsed.reading.seven_day.unwrap().utilization, 30.0);
    let sonnet = cap(&parsed, "SONNET").unwrap();
    assert_eq!(sonnet.utilization, 97.0);
    assert_eq!(sonnet.severity.as_deref(), Some("critical"));
    assert!(parsed.ignored.contains("limits kind \"daily_mystery\""));
    assert!(parsed.dropped.is_empty(), "an unknown kind is no fault");
    assert_eq!(
        parsed.reading.extra_usage, None,
        "an empty object says nothing"
    );
}

#[test]
fn numbers_may_be_numeric_strings_and_over_100_is_kept() {
    let parsed = parsed(
        r#"{"five_hour": {"utilization": "35.4", "resets_at": null},
            "seven_day": {"utilization": 104.5, "resets_at": null},
            "limits": [{"kind": "weekly_scoped", "percent": " 12 ", "scope": {"model": {"display_name": "Opus"}}}]}"#,
    );
    assert_eq!(five(&parsed).utilization, 35.4);
    assert_eq!(parsed.reading.seven_day.unwrap().utilization, 104.5);
    let negative_zero =
        five(&parse_str(r#"{"five_hour": {"utilization": -0.0}}"#).unwrap()).utilization;
    assert!(negative_zero.is_sign_positive(), "{negative_zero}");
    assert_eq!(cap(&parsed, "opus").unwrap().utilization, 12.0);
}

#[test]
fn an_unreadable_number_drops_its_field_and_says_why() {
    let parsed = parsed(
        r#"{"seven_day": {"utilization": 40, "resets_at": null},
            "limits": [{"kind": "weekly_all", "percent": 41},
                       {"kind": "weekly_all", "percent": -1},
                       {"kind": "session", "percent": "lots"},
                       {"kind": "session", "percent": "NaN"},
                       {"kind": "session", "percent": true}]}"#,
    );
    assert_eq!(parsed.reading.five_hour, None, "no session could be read");
    assert_eq!(parsed.reading.seven_day.unwrap().utilization, 41.0);
    assert_eq!(
        parsed.dropped,
        [
            "limits[1] (weekly_all): percent -1 is negative",
            r#"limits[2] (session): percent "lots" is not a number"#,
            r#"limits[3] (session): percent "NaN" is not a finite number"#,
            "limits[4] (session): percent invalid type: boolean `true`, expected a number",
        ]
    );
}

#[test]
fn every_accepted_time_form_reads_as_the_same_instant() {
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 17, 0, 0).unwrap();
    for form in [
        r#""2026-03-02T17:00:00+00:00""#,
        r#""2026-03-02T17:00:00Z""#,
        r#""2026-03-02T19:00:00+02:00""#,
        r#""2026-03-02T19:00:00+0200""#,
        r#""2026-03-02T17:00:00""#,
        r#""2026-03-02 17:00:00""#,
        r#""2026-03-02T17:00:00.000""#,
        "1772470800",
        r#""1772470800""#,
        "1772470800000",
        r#""1772470800000""#,
        "1772470800.0",
    ] {
        let body = format!(r#"{{"five_hour": {{"utilization": 1, "resets_at": {form}}}}}"#);
        let parsed = parsed(&body);
        assert_eq!(five(&parsed).resets_at, Some(at), "{form}");
        assert!(parsed.dropped.is_empty(), "{form}: {:?}", parsed.dropped);
    }
    let fraction = parsed(r#"{"five_hour": {"utilization": 1, "resets_at": 1772470800.25}}"#);
    let expected = at + chrono::TimeDelta::milliseconds(250);
    assert_eq!(five(&fraction).resets_at, Some(expected));
}

#[test]
fn an_unreadable_reset_is_unknown_and_the_utilization_is_kept() {
    for form in [r#""next tuesday""#, "-5", "1e300", r#"{"at": 1}"#, r#""""#] {
        let body = format!(r#"{{"five_hour": {{"utilization": 77, "resets_at": {form}}}}}"#);
        let parsed = parsed(&body);
        assert_eq!(five(&parsed), Window::new(77.0, None), "{form}");
        assert_eq!(parsed.dropped.len(), 1, "{form}");
        assert!(
            parsed.dropped[0].starts_with("five_hour: resets_at "),
            "{:?}",
            parsed.dropped
        );
    }
}

#[test]
fn where_both_forms_carry_a_window_the_higher_counts_and_from_says_which() {
    let parsed = parsed(
        r#"{"five_hour": {"utilization": 40, "resets_at": "2026-03-02T17:00:00Z"},
            "seven_day": {"utilization": 70, "resets_at": null},
            "seven_day_opus": {"utilization": 40, "resets_at": null},
            "seven_day_sonnet": {"utilization": 1, "resets_at": null},
            "seven_day_oauth_apps": {"utilization": 3, "resets_at": null},
            "seven_day_cowork": {"utilization": 9, "resets_at": null},
            "limits": [{"kind": "session", "percent": 55.5},
                       {"kind": "weekly_all", "percent": 60, "resets_at": "2026-03-06T09:00:00Z"},
                       {"kind": "weekly_scoped", "percent": 88, "severity": "warning",
                        "scope": {"model": {"display_name": "Sonnet"}}}]}"#,
    );
    assert_eq!(parsed.shape, ReplyShape::Mixed);
    let reading = &parsed.reading;
    let five_hour = five(&parsed);
    assert_eq!(five_hour.utilization, 55.5, "limits is higher");
    assert_eq!(five_hour.from, Some(ReplyPart::Limits));
    assert_eq!(
        five_hour.resets_at,
        Some(utc("2026-03-02T17:00:00Z")),
        "a reset only the other part knew is kept"
    );
    let seven = reading.seven_day.unwrap();
    assert_eq!(seven.utilization, 70.0, "flat is higher");
    assert_eq!(seven.from, Some(ReplyPart::Flat));
    assert_eq!(seven.resets_at, Some(utc("2026-03-06T09:00:00Z")));
    let sonnet = cap(&parsed, "sonnet").unwrap();
    assert_eq!(sonnet.utilization, 88.0);
    assert_eq!(sonnet.severity.as_deref(), Some("warning"));
    assert_eq!(cap(&parsed, "opus").unwrap().utilization, 40.0);
    assert_eq!(
        reading.weekly_scoped.len(),
        2,
        "oauth_apps and cowork are no families"
    );
    assert!(parsed.ignored.contains("seven_day_cowork"));
}

#[test]
fn a_tie_between_the_forms_is_read_from_limits() {
    let parsed = parsed(
        r#"{"five_hour": {"utilization": 20, "resets_at": null},
            "limits": [{"kind": "session", "percent": 20}]}"#,
    );
    assert_eq!(five(&parsed).from, Some(ReplyPart::Limits));
}

#[test]
fn a_reply_without_a_five_hour_window_is_a_reading_without_one() {
    for body in [
        r#"{"five_hour": null, "seven_day": {"utilization": 12, "resets_at": null}, "iguana_necktie": null}"#,
        r#"{"seven_day": {"utilization": 12, "resets_at": null}}"#,
        r#"{"five_hour": {"utilization": null, "resets_at": null}, "seven_day": {"utilization": 12}}"#,
        r#"{"five_hour": {"utilization": "high"}, "seven_day": {"utilization": 12}}"#,
        r#"{"limits": [{"kind": "weekly_all", "percent": 12}]}"#,
        r#"{"limits": [{"kind": "weekly_scoped", "percent": 12, "scope": {"model": {"display_name": "Opus"}}}]}"#,
    ] {
        let parsed = parsed(body);
        assert_eq!(parsed.reading.five_hour, None, "{body}");
    }
}

#[test]
fn extra_usage_in_cents_becomes_major_units() {
    let parsed = parsed(
        r#"{"five_hour": {"utilization": 10, "resets_at": null},
            "extra_usage": {"is_enabled": true, "monthly_limit": 500, "used_credits": 244,
                            "utilization": 48.8, "currency": "EUR"}}"#,
    );
    assert_eq!(
        parsed.reading.extra_usage,
        Some(spendable(48.8, 2.44, 5.0, "EUR"))
    );
    assert!(!parsed.reading.spend_limit);
}

#[test]
fn extra_usage_decimal_places_are_honoured_and_the_percent_computed() {
    let parsed = parsed(
        r#"{"five_hour": {"utilization": 10},
            "extra_usage": {"is_enabled": true, "monthly_limit": 3000, "used_credits": 750,
                            "currency": "JPY", "decimal_places": 0}}"#,
    );
    let extra = parsed.reading.extra_usage.unwrap();
    assert_eq!((extra.used, extra.limit), (Some(750.0), Some(3000.0)));
    assert_eq!(extra.utilization, Some(25.0));
    let named_exponent = parse_str(
        r#"{"five_hour": {"utilization": 10},
            "extra_usage": {"is_enabled": true, "used_credits": 1234, "exponent": 3}}"#,
    )
    .unwrap();
    assert_eq!(
        named_exponent.reading.extra_usage.unwrap().used,
        Some(1.234)
    );
}

#[test]
fn an_absurd_exponent_drops_the_amounts_it_would_scale() {
    let parsed = parsed(
        r#"{"five_hour": {"utilization": 10},
            "extra_usage": {"is_enabled": true, "monthly_limit": 500, "used_credits": 244,
                            "utilization": 48.8, "decimal_places": 400},
            "spend": {"used": {"amount_minor": 100, "currency": "USD", "exponent": 99}, "enabled": true}}"#,
    );
    let extra = parsed.reading.extra_usage.as_ref().unwrap();
    assert_eq!((extra.used, extra.limit), (None, None));
    assert_eq!(extra.utilization, Some(48.8), "the percent needs no unit");
    assert!(
        !parsed.reading.spend_limit,
        "a spend with nothing to decide on"
    );
    assert_eq!(parsed.dropped.len(), 3, "{:?}", parsed.dropped);
    assert!(
        parsed.dropped[0].starts_with("spend: used"),
        "{:?}",
        parsed.dropped
    );
}

#[test]
fn spend_is_preferred_and_alone_is_a_reading() {
    let parsed = parsed(
        r#"{"five_hour": null, "seven_day": null,
            "extra_usage": {"is_enabled": true, "monthly_limit": 5000, "used_credits": 1},
            "spend": {"used": {"amount_minor": 760, "currency": "EUR", "exponent": 2},
                      "limit": {"amount_minor": "2000", "currency": "EUR", "exponent": 2},
                      "percent": 38.0, "enabled": true, "disabled_reason": null}}"#,
    );
    assert!(parsed.reading.spend_limit);
    assert_eq!(
        parsed.reading.extra_usage,
        Some(spendable(38.0, 7.6, 20.0, "EUR"))
    );
    assert_eq!(parsed.reading.five_hour, None);
    assert_eq!(parsed.reading.seven_day, None);
}

#[test]
fn extra_usage_alone_is_a_spend_only_plan() {
    // An Enterprise login with a spend limit, as its reply was recorded.
    let body = include_str!("../../../tests/fixtures/usage/extra-usage-enterprise.json");
    let parsed = parsed(body);
    assert!(parsed.reading.spend_limit);
    assert_eq!(
        parsed.reading.extra_usage,
        Some(spendable(38.15, 7.63, 20.0, "EUR"))
    );
    assert_eq!(parsed.reading.five_hour, None);
    // Beside a window it is money beyond the windows, not the limit.
    let beside = parsed_with_window(body);
    assert!(!beside.reading.spend_limit);
}

/// `body` (an object) with a 5-hour window added.
fn parsed_with_window(body: &str) -> Parsed {
    let mut value: serde_json::Value = serde_json::from_str(body).unwrap();
    value["five_hour"] = serde_json::json!({"utilization": 10, "resets_at": null});
    parsed(&value.to_string())
}

#[test]
fn spend_out_of_credits_is_a_spend_limit_without_a_percent() {
    let parsed = parsed(
        r#"{"spend": {"used": {"amount_minor": 2000, "currency": "USD", "exponent": 2},
                      "limit": null, "percent": null, "enabled": false,
                      "disabled_reason": "out_of_credits"}}"#,
    );
    let extra = parsed.reading.extra_usage.unwrap();
    assert!(parsed.reading.spend_limit);
    assert!(!extra.enabled);
    assert_eq!(extra.disabled_reason.as_deref(), Some("out_of_credits"));
    assert_eq!(extra.used, Some(20.0));
    assert_eq!(extra.utilization, None);
}

#[test]
fn spend_amounts_in_two_currencies_keep_only_what_was_spent() {
    let parsed = parsed(
        r#"{"spend": {"used": {"amount_minor": 500, "currency": "USD", "exponent": 2},
                      "limit": {"amount_minor": 2000, "currency": "EUR", "exponent": 2},
                      "enabled": true, "percent": 25}}"#,
    );
    let extra = parsed.reading.extra_usage.unwrap();
    assert_eq!((extra.used, extra.limit), (Some(5.0), None));
    assert_eq!(extra.currency.as_deref(), Some("USD"));
    assert_eq!(
        parsed.dropped,
        [r#"spend: limit is in "EUR", used in "USD""#]
    );
}

#[test]
fn nothing_usable_is_refused_naming_the_keys_and_what_was_dropped() {
    let err = parse_str(
        r#"{"five_hour": null, "limits": [{"kind": "weekly_all", "percent": "lots"}],
            "extra_usage": {"is_enabled": false, "monthly_limit": null, "used_credits": null}}"#,
    )
    .unwrap_err();
    assert!(matches!(err, ReplyError::NothingUsable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("it had: five_hour, limits (kinds: weekly_all), extra_usage")
            || message.contains("it had: extra_usage, five_hour, limits (kinds: weekly_all)"),
        "{message}"
    );
    assert!(
        message.contains(r#"dropped: limits[0] (weekly_all): percent "lots" is not a number"#),
        "{message}"
    );
    for body in [
        r#"{}"#,
        r#"{"five_hour":null}"#,
        r#"{"five_hour":{"utilization":-1,"resets_at":null}}"#,
        r#"{"limits":[{"kind":"session","percent":"high"}]}"#,
        r#"{"limits":{"kind":"session"}}"#,
        r#"{"extra_usage":{"is_enabled":false,"utilization":null}}"#,
        r#"{"extra_usage":{"is_enabled":true,"utilization":null}}"#,
        r#"{"spend":{"enabled":true}}"#,
    ] {
        let err = parse_str(body).unwrap_err();
        assert!(
            matches!(err, ReplyError::NothingUsable { .. }),
            "{body}: {err:?}"
        );
    }
    assert!(matches!(parse_str("<html>"), Err(ReplyError::NotJson(_))));
    // serde_json reads no number beyond f64's range, wherever it stands.
    let huge = r#"{"five_hour": {"utilization": 1}, "iguana_necktie": 1e400}"#;
    assert!(matches!(parse_str(huge), Err(ReplyError::NotJson(_))));
    assert!(matches!(parse_str("[]"), Err(ReplyError::NotAnObject(_))));
    assert!(matches!(
        parse_str("\"ok\""),
        Err(ReplyError::NotAnObject(_))
    ));
}

#[test]
fn the_keys_named_in_an_error_are_bounded() {
    let keys: Vec<String> = (0..500)
        .map(|i| format!(r#""k{i:03}{}":1"#, "y".repeat(200)))
        .collect();
    let err = parse_str(&format!("{{{}}}", keys.join(","))).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("and 480 more"), "{message}");
    assert!(message.len() < 3000, "{}", message.len());
}

#[test]
fn what_is_dropped_is_bounded_in_count_and_length() {
    let entries: Vec<String> = (0..100)
        .map(|_| format!(r#"{{"kind": "session", "percent": "{}"}}"#, "z".repeat(500)))
        .collect();
    let body = format!(
        r#"{{"seven_day": {{"utilization": 1}}, "limits": [{}]}}"#,
        entries.join(",")
    );
    let dropped = parsed(&body).dropped;
    assert_eq!(dropped.len(), 17);
    assert_eq!(dropped[16], "and 84 more");
    assert!(
        dropped.iter().all(|line| line.chars().count() <= 161),
        "{dropped:?}"
    );
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
    let parsed = parsed(&body);
    assert_eq!(parsed.reading.weekly_scoped.len(), 32);
    assert!(parsed.reading.cap(&long).is_none());
}

#[test]
fn a_seven_day_key_that_is_no_window_is_ignored_and_a_broken_one_dropped() {
    let parsed = parsed(
        r#"{"five_hour": {"utilization": 1, "resets_at": null},
            "seven_day_policy": "rolling", "seven_day_fable": {"utilization": -3}}"#,
    );
    assert!(parsed.reading.weekly_scoped.is_empty());
    assert!(parsed.ignored.contains("seven_day_policy"));
    assert_eq!(
        parsed.dropped,
        ["seven_day_fable: utilization -3 is negative"]
    );
}

#[test]
fn a_limits_entry_that_cannot_be_read_is_dropped_alone() {
    let parsed = parsed(
        r#"{"limits": [{"kind": "session", "percent": 30},
                       "session",
                       {"percent": 99},
                       {"kind": "weekly_scoped", "percent": 50, "scope": null},
                       {"kind": "weekly_scoped", "percent": 50,
                        "scope": {"model": {"display_name": 7, "id": "claude-fable"}}}]}"#,
    );
    assert_eq!(five(&parsed).utilization, 30.0);
    assert_eq!(cap(&parsed, "claude-fable").unwrap().utilization, 50.0);
    assert_eq!(parsed.dropped.len(), 4, "{:?}", parsed.dropped);
    assert!(
        parsed.dropped[0].starts_with("limits[1]: invalid type"),
        "{:?}",
        parsed.dropped
    );
    assert_eq!(parsed.dropped[1], "limits[2]: missing field `kind`");
    assert_eq!(
        parsed.dropped[2],
        "limits[3] (weekly_scoped): no model named"
    );
    assert!(
        parsed.dropped[3].starts_with("limits[4] (weekly_scoped): display_name invalid type"),
        "{:?}",
        parsed.dropped
    );
}

#[test]
fn limits_that_is_no_list_is_dropped_and_the_flat_form_read() {
    let parsed = parsed(
        r#"{"five_hour": {"utilization": 9}, "limits": {"kind": "session", "percent": 80}}"#,
    );
    assert_eq!(parsed.shape, ReplyShape::Flat);
    assert_eq!(five(&parsed).utilization, 9.0);
    assert_eq!(parsed.dropped.len(), 1);
    assert!(
        parsed.dropped[0].starts_with("limits: invalid type: map"),
        "{:?}",
        parsed.dropped
    );
}

#[test]
fn a_duplicated_key_counts_once_as_its_last_value() {
    let parsed = parsed(
        r#"{"five_hour": {"utilization": 5}, "five_hour": {"utilization": 6, "utilization": 7}}"#,
    );
    assert_eq!(five(&parsed).utilization, 7.0);
}

#[test]
fn nulls_are_allowed_wherever_the_field_has_them() {
    let parsed = parsed(
        r#"{"five_hour": {"utilization": 3, "resets_at": null}, "seven_day": null,
            "seven_day_fable": {"utilization": null, "resets_at": null},
            "limits": [{"kind": "weekly_all", "percent": null, "resets_at": null, "severity": null, "scope": null},
                       {"kind": "weekly_scoped", "percent": 12, "scope": null}],
            "extra_usage": null, "spend": null}"#,
    );
    assert_eq!(five(&parsed).utilization, 3.0);
    assert!(parsed.reading.seven_day.is_none());
    assert!(parsed.reading.weekly_scoped.is_empty());
    assert_eq!(parsed.reading.extra_usage, None);
}

//! Raw rate-limit headers against the real daemon, which reads them: every
//! recorded response in `tests/fixtures/headers/` gives its reading, pushes
//! past the bounds are refused, older clients' mapped windows still count,
//! and the Rust client (async and blocking) hands headers over. (What each
//! client sends for each fixture is the conformance suite's:
//! `tests/conformance/cases.json`, `header_fixtures`.)

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use claude_quota::{
    ExtraUsage, Provider, ReadingSource, ScopedCap, Status, TaskComplexity, TaskValue, Tier,
    Window, WindowStatus,
};
use claude_quota_e2e::suites::repo_root;
use claude_quota_e2e::wire::RawConnection;
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};
use claude_quota_proto::{ErrorCode, Reply};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// The earliest reset in the fixtures (2026-10-01T16:10:00Z): every reset
/// is moved by the same amount, so that this one lies an hour ahead (a
/// reset more than a window in the past is refused).
const EARLIEST_RESET: i64 = 1_790_871_000;

/// A daemon whose API answered once and now fails, so only pushes move it.
async fn daemon_with_a_failing_api(api: &FakeApi) -> Daemon {
    failing_api_daemon(api, "").await
}

/// [`daemon_with_a_failing_api`] with `config`.
async fn failing_api_daemon(api: &FakeApi, config: &str) -> Daemon {
    let daemon = Daemon::builder()
        .api(&api.url(), 0.1)
        .credentials_file(TOKEN, None)
        .config(config)
        .start();
    daemon.wait_for(WAIT, |s| s.five_hour.is_some()).await;
    api.fail_with(Fault::Status(503));
    daemon
}

#[tokio::test]
async fn a_fraction_becomes_a_percentage_and_unrelated_headers_send_nothing() {
    let api = FakeApi::start();
    let daemon = daemon_with_a_failing_api(&api).await;
    let mut client = daemon.client().await;

    let unrelated = [("content-type", "application/json"), ("x-request-id", "r1")];
    assert!(!client.ingest_headers(unrelated).await.unwrap());
    assert_eq!(client.status().await.unwrap().last_push_at, None);

    let reset = (chrono::Utc::now() + chrono::TimeDelta::hours(2)).timestamp();
    let headers = [
        (
            "Anthropic-Ratelimit-Unified-5h-Utilization",
            "0.83".to_owned(),
        ),
        ("anthropic-ratelimit-unified-5h-reset", reset.to_string()),
        (
            "anthropic-ratelimit-unified-7d-utilization",
            "0.2".to_owned(),
        ),
    ];
    assert!(client.ingest_headers(headers).await.unwrap());
    let status = daemon
        .wait_for(WAIT, |s| s.source == Some(ReadingSource::Headers))
        .await;
    let five = status.five_hour.unwrap();
    assert!((five.utilization - 83.0).abs() < 1e-9, "{five:?}");
    assert_eq!(five.resets_at.unwrap().timestamp(), reset);
    assert_eq!(status.tier, Tier::Resting);
}

#[test]
fn the_blocking_client_takes_a_rejected_window_as_full() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let api = FakeApi::start();
    let daemon = runtime.block_on(daemon_with_a_failing_api(&api));
    let mut client = claude_quota::blocking::Client::connect_to(daemon.socket()).unwrap();
    let headers = vec![(
        "anthropic-ratelimit-unified-5h-status".to_owned(),
        b"rejected".to_vec(),
    )];
    assert!(client.ingest_headers(headers).unwrap());
    let status = client.status().unwrap();
    assert_eq!(status.source, Some(ReadingSource::Headers));
    assert_eq!(status.five_hour.unwrap().utilization, 100.0);
}

/// A response of a Fable turn with no 5-hour window open: the 7-day
/// window, the Fable cap (`7d_oi`, rejected), the overage headers and the
/// claim. The daemon takes it as a reading with an idle 5-hour window, and
/// with `cloud_family = "Fable"` the spent cap keeps every task local.
#[tokio::test]
async fn a_reading_without_a_five_hour_window_carries_the_fable_cap_and_extra_usage() {
    let api = FakeApi::start();
    let daemon = failing_api_daemon(&api, "[models]\ncloud_family = \"Fable\"\n").await;
    let mut client = daemon.client().await;
    let week = (chrono::Utc::now() + chrono::TimeDelta::days(3))
        .timestamp()
        .to_string();
    let headers = [
        ("anthropic-ratelimit-unified-status", "rejected"),
        (
            "anthropic-ratelimit-unified-representative-claim",
            "seven_day_overage_included",
        ),
        ("anthropic-ratelimit-unified-7d-utilization", "0.3"),
        ("anthropic-ratelimit-unified-7d-reset", &week),
        ("anthropic-ratelimit-unified-7d-status", "allowed"),
        ("anthropic-ratelimit-unified-7d_oi-utilization", "1.02"),
        ("anthropic-ratelimit-unified-7d_oi-reset", &week),
        ("anthropic-ratelimit-unified-overage-status", "rejected"),
        (
            "anthropic-ratelimit-unified-overage-disabled-reason",
            "out_of_credits",
        ),
    ];
    assert!(client.ingest_headers(headers).await.unwrap());
    let status = daemon
        .wait_for(WAIT, |s| s.source == Some(ReadingSource::Headers))
        .await;
    assert_eq!(
        status.five_hour.map_or(0.0, |w| w.utilization),
        0.0,
        "{status:?}"
    );
    assert!((status.seven_day.unwrap().utilization - 30.0).abs() < 1e-9);
    let fable = status
        .weekly_scoped
        .iter()
        .find(|cap| cap.model == "Fable")
        .expect("the Fable cap");
    assert!((fable.utilization - 102.0).abs() < 1e-9, "{fable:?}");
    assert_eq!(fable.status, Some(WindowStatus::Rejected));
    assert_eq!(status.cloud_capped_by.unwrap().model, "Fable");
    let extra = status.extra_usage.unwrap();
    assert!(!extra.enabled);
    assert_eq!(extra.disabled_reason.as_deref(), Some("out_of_credits"));
    assert_eq!(
        status.representative_claim.as_deref(),
        Some("seven_day_overage_included")
    );
    let route = client
        .route(TaskValue::Critical, TaskComplexity::High)
        .await;
    assert_eq!(route.provider, Provider::Ollama, "{route:?}");
}

/// Every recorded response's headers, as a client sends them (the
/// fixture's `sent`), pushed raw to a daemon of their own that holds a
/// polled reading of windows only: the daemon reads the fixture's
/// `reading`, the one the clients' own mapping gave before the daemon read
/// headers itself. A reading with a window becomes the current one; caps
/// or extra usage alone update the reading held; no reading changes
/// nothing, and is answered `ok` all the same.
#[tokio::test]
async fn every_recorded_response_gives_its_reading() {
    let api = FakeApi::start();
    let resets = Utc::now() + TimeDelta::hours(2);
    api.set_body(json!({
        "five_hour": {"utilization": 5.0, "resets_at": resets.to_rfc3339()},
        "seven_day": {"utilization": 6.0, "resets_at": resets.to_rfc3339()},
    }));
    let fixtures = header_fixtures();
    let mut daemons = Vec::new();
    for _ in &fixtures {
        let daemon = Daemon::builder()
            .api(&api.url(), 0.1)
            .credentials_file(TOKEN, None)
            .start();
        daemons.push(daemon);
    }
    let mut polled = Vec::new();
    for daemon in &daemons {
        polled.push(daemon.wait_for(WAIT, |s| s.five_hour.is_some()).await);
    }
    api.fail_with(Fault::Status(503));
    let shift = (Utc::now() + TimeDelta::hours(1)).timestamp() - EARLIEST_RESET;
    for (((name, fixture), daemon), polled) in fixtures.iter().zip(&daemons).zip(polled) {
        let sent = shifted(&fixture["sent"], shift);
        let mut raw = RawConnection::connect(daemon.socket()).await;
        let push = json!({"type": "ingest", "source": "headers", "headers": sent});
        assert_eq!(raw.ask(push).await, Reply::Ok, "{name}");
        let status = daemon.client().await.status().await.unwrap();
        check_reading(name, &fixture["reading"], shift, &polled, &status);
    }
}

/// The recorded responses that send anything, by name.
fn header_fixtures() -> Vec<(String, Value)> {
    let dir = repo_root().join("tests/fixtures/headers");
    let mut fixtures: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            (name, serde_json::from_str(&text).unwrap())
        })
        .filter(|(_, fixture): &(String, Value)| !fixture["sent"].is_null())
        .collect();
    fixtures.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(fixtures.len() >= 10, "the fixtures in {dir:?}");
    fixtures
}

/// `sent` with every reset (ten digits of Unix seconds, the first number
/// in the value of a `…reset` header) moved by `shift` seconds.
fn shifted(sent: &Value, shift: i64) -> BTreeMap<String, String> {
    let sent: BTreeMap<String, String> = serde_json::from_value(sent.clone()).unwrap();
    sent.into_iter()
        .map(|(name, value)| {
            let moved = if name.ends_with("reset") {
                moved_seconds(&value, shift)
            } else {
                value
            };
            (name, moved)
        })
        .collect()
}

fn moved_seconds(value: &str, shift: i64) -> String {
    let Some(start) = value.find(|c: char| c.is_ascii_digit()) else {
        return value.to_owned();
    };
    let end = value[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(value.len(), |len| start + len);
    match value[start..end].parse::<i64>() {
        Ok(at) if end - start == 10 => {
            format!("{}{}{}", &value[..start], at + shift, &value[end..])
        }
        _ => value.to_owned(),
    }
}

/// Asserts that `status` holds the fixture's `reading`, its resets moved
/// by `shift`, or, when the reading has no window, the `polled` windows
/// beside it; or that nothing changed when there is no reading.
fn check_reading(name: &str, reading: &Value, shift: i64, polled: &Status, status: &Status) {
    if reading.is_null() {
        assert_eq!(status.source, Some(ReadingSource::Api), "{name}");
        assert_eq!(status.last_push_at, None, "{name}: no reading, no push");
        assert_eq!(
            (status.five_hour, status.seven_day),
            (polled.five_hour, polled.seven_day),
            "{name}"
        );
        return;
    }
    let moved = |at: Option<chrono::DateTime<Utc>>| at.map(|at| at + TimeDelta::seconds(shift));
    let window = |key: &str| {
        serde_json::from_value::<Option<Window>>(reading[key].clone())
            .unwrap()
            .map(|window| Window {
                resets_at: moved(window.resets_at),
                ..window
            })
    };
    let (five_hour, seven_day) = (window("five_hour"), window("seven_day"));
    if five_hour.is_some() || seven_day.is_some() {
        assert_eq!(status.source, Some(ReadingSource::Headers), "{name}");
        assert_eq!(status.five_hour, five_hour, "{name}: five_hour");
        assert_eq!(status.seven_day, seven_day, "{name}: seven_day");
    } else {
        assert_eq!(
            status.source,
            Some(ReadingSource::Api),
            "{name}: parts only"
        );
        assert_eq!(status.five_hour, polled.five_hour, "{name}: five_hour");
    }
    let caps: Vec<ScopedCap> = serde_json::from_value(reading["weekly_scoped"].clone()).unwrap();
    let caps: Vec<ScopedCap> = caps
        .into_iter()
        .map(|cap| ScopedCap {
            resets_at: moved(cap.resets_at),
            ..cap
        })
        .collect();
    assert_eq!(status.weekly_scoped, caps, "{name}: weekly_scoped");
    let extra: Option<ExtraUsage> = serde_json::from_value(reading["extra_usage"].clone()).unwrap();
    assert_eq!(status.extra_usage, extra, "{name}: extra_usage");
    assert_eq!(
        status.representative_claim.as_deref(),
        reading["representative_claim"].as_str(),
        "{name}: representative_claim"
    );
}

/// A client of an older build maps the headers itself and sends windows,
/// the cap, extra usage and the claim: the daemon takes them as before.
#[tokio::test]
async fn mapped_windows_from_older_clients_still_count() {
    let api = FakeApi::start();
    let daemon = daemon_with_a_failing_api(&api).await;
    let reset = (Utc::now() + TimeDelta::hours(3)).to_rfc3339();
    let mut raw = RawConnection::connect(daemon.socket()).await;
    let push = json!({"type": "ingest", "source": "headers",
        "five_hour": {"utilization": 61.0, "resets_at": reset, "status": "allowed_warning"},
        "seven_day": {"utilization": 30.0, "resets_at": null},
        "weekly_scoped": [{"model": "Fable", "utilization": 99.0, "resets_at": null, "severity": null}],
        "extra_usage": {"enabled": false, "utilization": null, "used": null, "limit": null,
            "currency": null, "disabled_reason": "out_of_credits"},
        "representative_claim": "five_hour"});
    assert_eq!(raw.ask(push).await, Reply::Ok);
    let status = daemon.client().await.status().await.unwrap();
    assert_eq!(status.source, Some(ReadingSource::Headers));
    let five = status.five_hour.unwrap();
    assert_eq!(
        (five.utilization, five.status),
        (61.0, Some(WindowStatus::AllowedWarning))
    );
    assert_eq!(status.weekly_scoped[0].model, "Fable");
    assert_eq!(status.representative_claim.as_deref(), Some("five_hour"));
    assert_eq!(
        status.extra_usage.unwrap().disabled_reason.as_deref(),
        Some("out_of_credits")
    );
}

/// Headers past the bounds, from a source other than `headers`, or beside
/// windows of their own are a `bad_request` saying what was wrong; the
/// connection stays, and the reading held is untouched.
#[tokio::test]
async fn headers_out_of_bounds_are_a_bad_request_that_keeps_the_connection() {
    let api = FakeApi::start();
    let daemon = daemon_with_a_failing_api(&api).await;
    let before = daemon.client().await.status().await.unwrap();
    let many: BTreeMap<String, String> = (0..65)
        .map(|n| (format!("anthropic-ratelimit-unified-x{n}"), "1".to_owned()))
        .collect();
    let long_value = "1".repeat(257);
    let cases = [
        (
            json!({"type": "ingest", "source": "headers", "headers": many}),
            "ingest headers: 65 given, at most 64",
        ),
        (
            json!({"type": "ingest", "source": "headers",
                "headers": {"anthropic-ratelimit-unified-5h-utilization": long_value}}),
            "is longer than 256 bytes",
        ),
        (
            json!({"type": "ingest", "source": "headers",
                "headers": {format!("anthropic-ratelimit-unified-{}", "x".repeat(101)): "1"}}),
            "is longer than 128 bytes",
        ),
        (
            json!({"type": "ingest", "source": "statusline",
                "headers": {"anthropic-ratelimit-unified-5h-utilization": "0.9"}}),
            "source \"headers\", not \"statusline\"",
        ),
        (
            json!({"type": "ingest", "source": "headers",
                "five_hour": {"utilization": 90.0, "resets_at": null},
                "headers": {"anthropic-ratelimit-unified-5h-utilization": "0.9"}}),
            "either headers or windows",
        ),
    ];
    let mut raw = RawConnection::connect(daemon.socket()).await;
    for (push, says) in cases {
        match raw.ask(push).await {
            Reply::Error {
                code: ErrorCode::BadRequest,
                message,
            } => assert!(message.contains(says), "{message:?} should say {says:?}"),
            other => panic!("expected a bad_request saying {says:?}, got {other:?}"),
        }
    }
    let Reply::Status(after) = raw.ask(json!({"type": "status"})).await else {
        panic!("the connection answers on");
    };
    assert_eq!(
        (after.five_hour, after.source, after.last_push_at),
        (before.five_hour, before.source, None)
    );
}

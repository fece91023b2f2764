//! Readings pushed from Claude Code's status line: they move the tier at
//! once and spare the usage API while they keep coming.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use claude_quota::{ReadingSource, Tier, Window};
use claude_quota_e2e::daemon::cli_at;
use claude_quota_e2e::wire::RawConnection;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};
use claude_quota_proto::{ErrorCode, Reply};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

/// Claude Code's statusLine JSON with these rate limits.
fn statusline_input(five: f64, seven: f64) -> Vec<u8> {
    let resets = (Utc::now() + TimeDelta::hours(2)).timestamp();
    json!({
        "session_id": "abc", "model": {"id": "claude-opus-4-1", "display_name": "Opus"},
        "workspace": {"current_dir": "/tmp"},
        "rate_limits": {
            "five_hour": {"used_percentage": five, "resets_at": resets},
            "seven_day": {"used_percentage": seven, "resets_at": resets + 86400}
        }
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn a_push_moves_the_tier_at_once_without_an_api_request() {
    let api = FakeApi::start();
    api.set_usage(10.0, Some(10.0));
    let daemon = Daemon::builder()
        .api(&api.url(), 30.0)
        .credentials_file(TOKEN, None)
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let calls = api.requests();

    let output =
        daemon.cli_with_stdin(&["statusline", "--no-color"], &statusline_input(85.0, 30.0));
    assert_eq!(output.status.code(), Some(0));
    let line = String::from_utf8_lossy(&output.stdout);
    assert!(
        line.starts_with("RESTING · 5h 85% · 7d 30% · resets in 1h 59m"),
        "{line}"
    );

    let status = daemon.client().await.status().await.unwrap();
    assert_eq!(status.tier, Tier::Resting);
    assert_eq!(status.source, Some(ReadingSource::Statusline));
    assert!(status.last_push_at.is_some());
    assert_eq!(api.requests(), calls, "no API request for a push");

    let doctor = daemon.cli(&["doctor", "--no-color"]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.contains("pushed by the status line") && report.contains("the API is spared"),
        "{report}"
    );
}

#[tokio::test]
async fn steady_pushes_spare_the_api_and_polling_resumes_when_they_stop() {
    let api = FakeApi::start();
    let interval = 1.0;
    let daemon = Daemon::builder()
        .api(&api.url(), interval)
        .credentials_file(TOKEN, None)
        .start();
    daemon
        .wait_for(WAIT, |s| s.source == Some(ReadingSource::Api))
        .await;
    // Claude Code runs the status line every 250 ms or so while it works.
    let pushing = Arc::new(AtomicBool::new(true));
    let pusher = {
        let (socket, pushing) = (daemon.socket().to_owned(), Arc::clone(&pushing));
        std::thread::spawn(move || {
            let input = statusline_input(55.0, 20.0);
            while pushing.load(Ordering::Relaxed) {
                let output = cli_at(&socket, &["statusline"], &input);
                assert_eq!(output.status.code(), Some(0), "{output:?}");
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    // A poll already under way when the first push landed may still end;
    // every round of the poller from its first spared one on finds a fresh
    // push and spares the API. Five such rounds span four poll intervals.
    const SPARED: &str = "pushed reading is fresh; not polling";
    daemon.wait_for_log(SPARED, WAIT).await;
    let calls = api.requests();
    daemon.wait_for_nth_log(SPARED, 5, WAIT).await;
    pushing.store(false, Ordering::Relaxed);
    pusher.join().expect("the pushes");
    assert_eq!(
        api.requests(),
        calls,
        "four poll intervals of pushes without a request"
    );
    let status = daemon.client().await.status().await.unwrap();
    assert_eq!(
        (status.tier, status.source),
        (Tier::Active, Some(ReadingSource::Statusline))
    );

    let resumed = daemon
        .wait_for(Duration::from_secs(5), |s| {
            s.source == Some(ReadingSource::Api)
        })
        .await;
    assert!(api.requests() > calls);
    assert_eq!(resumed.tier, Tier::Burst, "the fake API's 10 %");
}

#[tokio::test]
async fn an_older_push_does_not_overwrite_a_newer_api_reading() {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&api.url(), 30.0)
        .credentials_file(TOKEN, None)
        .start();
    let polled = daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let mut client = daemon.client().await;
    let older = polled.as_of.unwrap() - TimeDelta::seconds(60);
    let window = Window::new(95.0, None);
    client.ingest(Some(window), None, older).await.unwrap();
    let status = client.status().await.unwrap();
    assert_eq!(status.as_of, polled.as_of);
    assert_eq!(
        (status.tier, status.source),
        (Tier::Burst, Some(ReadingSource::Api))
    );
}

#[tokio::test]
async fn malformed_pushes_are_refused_and_change_nothing() {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&api.url(), 30.0)
        .credentials_file(TOKEN, None)
        .start();
    let before = daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let mut raw = RawConnection::connect(daemon.socket()).await;
    let long_ago = (Utc::now() - TimeDelta::hours(6)).to_rfc3339();
    let window = |u: serde_json::Value| json!({"utilization": u, "resets_at": null});
    let refused = [
        json!({"type": "ingest", "source": "statusline", "five_hour": window(json!(-1.0))}),
        json!({"type": "ingest", "source": "statusline", "five_hour": window(json!("lots"))}),
        json!({"type": "ingest", "source": "statusline", "five_hour": {"utilization": 20.0, "resets_at": long_ago}}),
        json!({"type": "ingest", "source": "api", "five_hour": window(json!(20.0))}),
        json!({"type": "ingest", "source": "carrier-pigeon", "five_hour": window(json!(20.0))}),
        json!({"type": "ingest", "source": "statusline"}),
        json!({"type": "ingest", "source": "headers", "weekly_scoped": [{"model": "x".repeat(65), "utilization": 1.0, "resets_at": null, "severity": null}]}),
    ];
    for request in refused {
        match raw.ask(request.clone()).await {
            Reply::Error {
                code: ErrorCode::BadRequest,
                ..
            } => {}
            other => panic!("{request} was not refused: {other:?}"),
        }
    }
    let after = daemon.client().await.status().await.unwrap();
    assert_eq!(
        (after.as_of, after.tier, after.source),
        (before.as_of, before.tier, before.source)
    );
    assert_eq!(after.last_push_at, None);
}

/// Claude Code hands the status line only a 7-day window when no 5-hour
/// session is open: that is a reading whose 5-hour window is idle.
#[tokio::test]
async fn a_push_with_only_the_seven_day_window_is_an_idle_five_hour_window() {
    let api = FakeApi::start();
    api.set_usage(70.0, Some(20.0));
    let daemon = Daemon::builder()
        .api(&api.url(), 30.0)
        .credentials_file(TOKEN, None)
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Active).await;
    let input = json!({"rate_limits": {"seven_day": {"used_percentage": 41.0, "resets_at": null}}});
    let output = daemon.cli_with_stdin(&["statusline", "--no-color"], input.to_string().as_bytes());
    assert_eq!(output.status.code(), Some(0));
    let status = daemon.client().await.status().await.unwrap();
    assert_eq!(
        (status.tier, status.reason.as_str(), status.five_hour),
        (Tier::Burst, "no 5-hour window open", None)
    );
    assert_eq!(status.seven_day.unwrap().utilization, 41.0);
    assert_eq!(status.source, Some(ReadingSource::Statusline));
}

#[test]
fn the_statusline_always_prints_a_line_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("no-daemon.sock");
    let cases: [(&[u8], &str); 4] = [
        (b"", "claude-quotad down"),
        (b"\x00garbage{{", "claude-quotad down"),
        (
            br#"{"model":{"id":"x"},"rate_limits":null}"#,
            "claude-quotad down",
        ),
        (
            &statusline_input(23.0, 41.0),
            "5h 23% · 7d 41% · resets in 1h 59m · claude-quotad down",
        ),
    ];
    for (input, expected) in cases {
        let output = cli_at(&absent, &["statusline", "--no-color"], input);
        assert_eq!(output.status.code(), Some(0));
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
        assert!(stdout.trim_end().ends_with(expected), "{stdout:?}");
    }
    let output = cli_at(&absent, &["statusline", "--prefix", "~/src | "], b"");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "~/src | claude-quotad down\n"
    );
}

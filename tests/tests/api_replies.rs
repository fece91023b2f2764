//! Odd but valid replies from the usage API parse; broken ones become a
//! `bad_response` in status while the last good reading is kept.

use std::time::Duration;

use claude_quota::{LastErrorKind, Tier};
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn nulls_unknown_keys_and_missing_windows_parse() {
    let api = FakeApi::start();
    api.set_body(json!({
        "five_hour": {"utilization": 42.5, "resets_at": null},
        "seven_day": null,
        "brand_new_window": {"utilization": 99.0},
        "extra_usage": null
    }));
    let daemon = Daemon::builder()
        .api(&api.url(), 0.1)
        .credentials_file(TOKEN, None)
        .start();
    let status = daemon.wait_for(WAIT, |s| s.five_hour.is_some()).await;
    assert_eq!(status.tier, Tier::Burst);
    assert_eq!(status.five_hour.unwrap().utilization, 42.5);
    assert!(status.seven_day.is_none() && status.seven_day_opus.is_none());
    assert!(status.last_error.is_none());
}

#[tokio::test]
async fn a_reply_with_nothing_usable_is_a_bad_response_and_the_reading_is_kept() {
    let api = FakeApi::start();
    api.set_usage(61.0, Some(22.0));
    let daemon = Daemon::builder()
        .api(&api.url(), 0.1)
        .credentials_file(TOKEN, None)
        .start();
    let good = daemon.wait_for(WAIT, |s| s.tier == Tier::Active).await;

    // Nothing a tier could rest on: no window, no cap, no spend limit.
    api.fail_with(Fault::Body(
        r#"{"five_hour": null, "iguana_necktie": {"utilization": 1.0}}"#.into(),
    ));
    let status = daemon
        .wait_for_error(WAIT, LastErrorKind::BadResponse)
        .await;
    assert_eq!(status.tier, Tier::Active, "last good reading still serves");
    assert_eq!(status.as_of, good.as_of);
    assert!(status.last_error.unwrap().message.contains("five_hour"));

    api.fail_with(Fault::Body("<html>gateway</html>".into()));
    daemon
        .wait_for(WAIT, |s| {
            s.last_error
                .as_ref()
                .is_some_and(|e| e.message.contains("expected value"))
        })
        .await;

    api.clear_fault();
    let recovered = daemon.wait_for(WAIT, |s| s.last_error.is_none()).await;
    assert!(recovered.as_of > good.as_of);
}

#[tokio::test]
async fn the_status_names_what_the_last_reply_lost_until_one_reads_whole() {
    let api = FakeApi::start();
    api.set_body(json!({
        "five_hour": {"utilization": "12.5", "resets_at": "soon"},
        "seven_day": {"utilization": 30.0, "resets_at": null},
        "limits": [{"kind": "session", "percent": {"value": 12.5}}]
    }));
    let daemon = Daemon::builder()
        .api(&api.url(), 0.1)
        .credentials_file(TOKEN, None)
        .start();
    let status = daemon.wait_for(WAIT, |s| s.as_of.is_some()).await;
    assert_eq!(
        status.five_hour.map(|w| (w.utilization, w.resets_at)),
        Some((12.5, None))
    );
    assert_eq!(
        status.last_reply_dropped,
        [
            "limits[0] (session): percent invalid type: map, expected a number",
            r#"five_hour: resets_at "soon" is not a time"#,
        ]
    );
    assert!(status.last_error.is_none());

    api.set_usage(20.0, Some(30.0));
    let status = daemon
        .wait_for(WAIT, |s| s.five_hour.map(|w| w.utilization) == Some(20.0))
        .await;
    assert!(
        status.last_reply_dropped.is_empty(),
        "{:?}",
        status.last_reply_dropped
    );
}

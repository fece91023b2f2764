//! `ingest_headers` of the Rust client (async and blocking) against the
//! real daemon: a Messages API response's rate-limit headers become a
//! pushed reading, and headers without one send nothing.

use std::time::Duration;

use claude_quota::{ReadingSource, Tier};
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};

const WAIT: Duration = Duration::from_secs(10);

/// A daemon whose API answered once and now fails, so only pushes move it.
async fn daemon_with_a_failing_api(api: &FakeApi) -> Daemon {
    let daemon = Daemon::builder()
        .api(&api.url(), 0.1)
        .credentials_file(TOKEN, None)
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

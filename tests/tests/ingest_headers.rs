//! `ingest_headers` of the Rust client (async and blocking) against the
//! real daemon: a Messages API response's rate-limit headers become a
//! pushed reading, and headers without one send nothing. (What each
//! client sends for each header fixture is the conformance suite's:
//! `tests/conformance/cases.json`.)

use std::time::Duration;

use claude_quota::{Provider, ReadingSource, TaskComplexity, TaskValue, Tier, WindowStatus};
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};

const WAIT: Duration = Duration::from_secs(10);

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
        .find(|cap| cap.model == claude_quota::OVERAGE_INCLUDED_FAMILY)
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

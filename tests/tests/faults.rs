//! Faults of the usage API: the daemon backs off as docs/decisions.md ("Polling") says,
//! keeps serving its last good reading with its true age, turns `unknown`
//! once that reading is stale, logs each fault once, and recovers.

use std::time::{Duration, Instant};

use claude_quota::{LastErrorKind, Status, Tier};
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};

const WAIT: Duration = Duration::from_secs(15);

fn daemon(api_url: &str, poll: f64, config: &str) -> Daemon {
    Daemon::builder()
        .api(api_url, poll)
        .credentials_file(TOKEN, None)
        .config(config)
        .start()
}

fn error_kind(status: &Status) -> Option<LastErrorKind> {
    status.last_error.as_ref().map(|e| e.kind)
}

/// Gaps between consecutive API requests, in seconds.
fn gaps(times: &[Instant]) -> Vec<f64> {
    times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect()
}

#[tokio::test]
async fn a_positive_retry_after_is_honored_in_seconds_and_as_a_date() {
    let in_seconds = |secs: u64| secs.to_string();
    let as_date =
        |secs| httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(secs));
    let forms: [&dyn Fn(u64) -> String; 2] = [&in_seconds, &as_date];
    for form in forms {
        // An HTTP date has whole seconds: 4 s ahead is at least 3 s away.
        let (retry_after, at_least) = (form(4), 2.9);
        let api = FakeApi::start();
        api.fail_with(Fault::RateLimited(Some(retry_after.clone())));
        let daemon = daemon(&api.url(), 0.2, "");
        let status = daemon
            .wait_for(WAIT, |s| error_kind(s) == Some(LastErrorKind::RateLimited))
            .await;
        assert_eq!(status.tier, Tier::Unknown);
        assert!(status.next_poll_at.is_some());
        api.clear_fault();
        daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
        let gap = gaps(&api.request_times())[0];
        assert!(
            gap >= at_least,
            "Retry-After {retry_after}: polled again after {gap:.2}s"
        );
    }
}

#[tokio::test]
async fn persistent_429_with_retry_after_zero_backs_off_to_the_cap() {
    let api = FakeApi::start();
    api.fail_with(Fault::RateLimited(Some("0".into())));
    let _daemon = daemon(&api.url(), 0.1, "backoff_cap = 1.6\n");
    tokio::time::sleep(Duration::from_secs(8)).await;
    let gaps = gaps(&api.request_times());
    assert!(gaps.len() >= 5, "{gaps:?}");
    assert!(
        gaps.len() <= 10,
        "backing off, not polling every 0.1 s: {gaps:?}"
    );
    for pair in gaps.windows(2) {
        assert!(pair[1] >= pair[0] * 0.75, "gaps grow: {gaps:?}");
    }
    assert!(gaps.iter().all(|&g| g <= 1.6 + 0.15), "capped: {gaps:?}");
    assert!(
        *gaps.last().unwrap() >= 1.6 * 0.8 - 0.05,
        "reached the cap: {gaps:?}"
    );
}

#[tokio::test]
async fn server_errors_keep_the_reading_until_stale_then_recover() {
    let api = FakeApi::start();
    let daemon = daemon(&api.url(), 0.1, "stale_after = 1.5\nbackoff_cap = 0.3\n");
    let good = daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;

    api.fail_with(Fault::Status(503));
    let failing = daemon
        .wait_for(WAIT, |s| error_kind(s) == Some(LastErrorKind::Network))
        .await;
    assert!(failing.last_error.unwrap().message.contains("503"));
    let kept = daemon.wait_for(WAIT, |s| s.age_s >= Some(1)).await;
    assert_eq!(
        (kept.tier, kept.stale),
        (Tier::Burst, false),
        "last good reading serves"
    );
    assert_eq!(kept.five_hour, good.five_hour);

    let stale = daemon.wait_for(WAIT, |s| s.stale).await;
    assert_eq!(stale.tier, Tier::Unknown);
    assert!(stale.five_hour.is_some(), "the old numbers are still shown");
    let mut client = daemon.client().await;
    assert!(
        !client
            .should_use_cloud(claude_quota::TaskValue::Critical)
            .await
            .unwrap()
    );

    api.clear_fault();
    let recovered = daemon
        .wait_for(WAIT, |s| s.tier == Tier::Burst && s.last_error.is_none())
        .await;
    assert!(!recovered.stale);

    let warnings = daemon
        .log()
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("poll failed") && l.contains("503"))
        .count();
    assert_eq!(warnings, 1, "each fault is logged once:\n{}", daemon.log());
}

#[tokio::test]
async fn refused_connections_and_tls_failures_are_network_errors() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let plain_http = FakeApi::start();
    let tls_to_plain = plain_http.url().replace("http://", "https://");
    for url in [closed_url, tls_to_plain] {
        let daemon = daemon(&url, 0.2, "");
        let status = daemon
            .wait_for(WAIT, |s| error_kind(s) == Some(LastErrorKind::Network))
            .await;
        assert_eq!(status.tier, Tier::Unknown, "{url}");
        assert!(!status.last_error.unwrap().message.contains(TOKEN));
    }
}

#[tokio::test]
async fn a_hung_api_times_out_after_ten_seconds() {
    let api = FakeApi::start();
    api.fail_with(Fault::Delay(Duration::from_secs(30)));
    let started = Instant::now();
    let daemon = daemon(&api.url(), 0.2, "");
    let status = daemon
        .wait_for(Duration::from_secs(20), |s| {
            error_kind(s) == Some(LastErrorKind::Network)
        })
        .await;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(9), "{waited:?}");
    assert!(status.last_error.unwrap().message.contains("timed out"));
    // The socket kept answering while the poll hung.
    assert!(daemon.client().await.status().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_are_coalesced_and_rate_limited() {
    let api = FakeApi::start();
    let daemon = daemon(&api.url(), 30.0, "refresh_min_interval = 1.0\n");
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    assert_eq!(api.requests(), 1);

    let mut client = daemon.client().await;
    client.refresh().await.unwrap();
    assert_eq!(api.requests(), 1, "too soon after the start-up poll");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut askers = Vec::new();
    for _ in 0..20 {
        let mut client = daemon.client().await;
        askers.push(tokio::spawn(async move { client.refresh().await.unwrap() }));
    }
    for asker in askers {
        asker.await.unwrap();
    }
    assert_eq!(api.requests(), 2, "20 refreshes at once = one poll");
    client.refresh().await.unwrap();
    assert_eq!(api.requests(), 2);
}

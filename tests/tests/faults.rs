//! Faults of the usage API: the daemon backs off as docs/decisions.md ("Polling") says,
//! keeps serving its last good reading with its true age, turns `unknown`
//! once that reading is stale, logs each fault once, and recovers.

use std::time::{Duration, Instant, SystemTime};

use claude_quota::{LastErrorKind, Status, Tier};
use claude_quota_e2e::fake_api::gaps;
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

#[tokio::test]
async fn a_positive_retry_after_is_honored_in_seconds_and_as_a_date() {
    for as_date in [false, true] {
        // 4 s from the reply, or the HTTP date 4 s from now (whole seconds,
        // so 3 to 4 s away, less however long the daemon takes to start).
        let date = SystemTime::now() + Duration::from_secs(4);
        let retry_after = if as_date {
            httpdate::fmt_http_date(date)
        } else {
            "4".to_owned()
        };
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
        let times = api.request_times();
        let not_before = if as_date {
            // The date, as the wall clock read when the request came.
            let date = httpdate::parse_http_date(&retry_after).unwrap();
            let polled_at = SystemTime::now() - times[1].elapsed();
            times[1] + date.duration_since(polled_at).unwrap_or_default()
        } else {
            times[0] + Duration::from_secs(4)
        };
        assert!(
            times[1] + Duration::from_millis(50) >= not_before,
            "Retry-After {retry_after}: polled again {:?} early",
            not_before - times[1]
        );
    }
}

#[tokio::test]
async fn persistent_429_with_retry_after_zero_backs_off_to_the_cap() {
    let api = FakeApi::start();
    api.fail_with(Fault::RateLimited(Some("0".into())));
    let (interval, cap) = (0.1, 0.8);
    let _daemon = daemon(&api.url(), interval, &format!("backoff_cap = {cap}\n"));
    // Eight requests take 4.6 s at most when the backoff is capped, and
    // at least 20 s were it not (the deadline); each gap is at least what
    // the backoff asks for, 0.2 s doubling up to the cap, less 20 % of
    // jitter. (The exact cadence is schedule.rs's unit tests'.)
    let gaps = gaps(&api.wait_for_calls(8, WAIT).await);
    for (faults, &gap) in (1..).zip(&gaps) {
        let ceiling = (interval * f64::from(1 << faults)).min(cap);
        assert!(
            gap >= ceiling * 0.8 - 0.02,
            "backing off, not polling every {interval} s: {gaps:?}"
        );
    }
    assert!(
        *gaps.last().unwrap() >= cap * 0.8 - 0.02,
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

    api.wait_past_last_call(Duration::from_secs(1)).await;
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

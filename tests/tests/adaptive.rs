//! Polls that follow the information need (issue 22): with `[policy]
//! adaptive = true` a quiet reading far from every threshold is polled
//! only as often as `adaptive_max_interval`, a pushed reading that says
//! the model was wrong brings the next poll forward, and `adaptive =
//! false` restores polling every `poll_interval` while someone asks.

use std::time::{Duration, Instant};

use chrono::Utc;
use claude_quota::{TaskValue, Tier, Window};
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

const WAIT: Duration = Duration::from_secs(10);

/// A daemon polling every 0.2 s, adaptive or not, its longest wait 3 s.
fn daemon(api: &FakeApi, adaptive: bool) -> Daemon {
    Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config(&format!(
            "stale_after = 10\n[policy]\nadaptive = {adaptive}\nadaptive_max_interval = 3\n"
        ))
        .start()
}

/// How many API calls `daemon` makes in `span` while a router asks every
/// 50 ms.
async fn calls_while_asked(api: &FakeApi, daemon: &Daemon, span: Duration) -> usize {
    let before = api.requests();
    let mut client = daemon.client().await;
    let until = Instant::now() + span;
    while Instant::now() < until {
        client.should_use_cloud(TaskValue::High).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    api.requests() - before
}

#[tokio::test]
async fn the_fixed_schedule_polls_every_interval_while_someone_asks() {
    let api = FakeApi::start();
    api.set_usage(10.0, Some(10.0));
    let daemon = daemon(&api, false);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let calls = calls_while_asked(&api, &daemon, Duration::from_secs(3)).await;
    assert!(
        (10..=16).contains(&calls),
        "{calls} calls in 3 s at one per 0.2 s"
    );
}

#[tokio::test]
async fn a_quiet_reading_far_from_every_threshold_is_polled_at_the_longest_wait() {
    let api = FakeApi::start();
    api.set_usage(10.0, Some(10.0));
    let daemon = daemon(&api, true);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let calls = calls_while_asked(&api, &daemon, Duration::from_secs(4)).await;
    assert!(
        (1..=2).contains(&calls),
        "{calls} calls in 4 s at one per 3 s"
    );
    let status = daemon.client().await.status().await.unwrap();
    assert!(!status.stale);
}

#[tokio::test]
async fn a_push_that_contradicts_the_model_brings_the_next_poll_forward() {
    let api = FakeApi::start();
    api.set_usage(10.0, Some(10.0));
    let daemon = daemon(&api, true);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let mut client = daemon.client().await;
    client.should_use_cloud(TaskValue::High).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = api.requests();
    // A router's response headers: 79 %, a step from resting, where the
    // model said 10 % and a poll in 3 s.
    api.set_usage(79.5, Some(10.0));
    let pushed = Window::new(79.0, None);
    client.ingest(Some(pushed), None, Utc::now()).await.unwrap();
    let asked = Instant::now();
    while api.requests() == before {
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "no poll brought forward"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = daemon
        .wait_for(WAIT, |s| s.five_hour.is_some_and(|w| w.utilization == 79.5))
        .await;
    assert_eq!(status.tier, Tier::Active);
}

//! Polls that follow the information need (issue 22): with `[policy]
//! adaptive = true` a quiet reading far from every threshold is polled
//! only as often as `adaptive_max_interval`, a pushed reading that says
//! the model was wrong brings the next poll forward, and `adaptive =
//! false` restores polling every `poll_interval` while someone asks.

use std::time::Duration;

use chrono::Utc;
use claude_quota::{TaskValue, Tier, Window};
use claude_quota_e2e::fake_api::gaps;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

const WAIT: Duration = Duration::from_secs(10);

/// A daemon polling every 0.2 s, adaptive or not, its longest wait
/// `longest_wait` seconds (its reading stale after three of them and a
/// second, so the longest wait is not cut short to keep it fresh).
fn daemon(api: &FakeApi, adaptive: bool, longest_wait: u32) -> Daemon {
    Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config(&format!(
            "stale_after = {}\n[policy]\nadaptive = {adaptive}\nadaptive_max_interval = {longest_wait}\n",
            longest_wait * 3 + 1
        ))
        .start()
}

#[tokio::test]
async fn the_fixed_schedule_polls_every_interval_while_someone_asks() {
    let api = FakeApi::start();
    api.set_usage(10.0, Some(10.0));
    let daemon = daemon(&api, false, 3);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    // Five polls take a second at one per 0.2 s; adaptive, at one per
    // 3 s, they would take twelve.
    let times = daemon
        .ask_until_polls(&api, 5, Duration::from_secs(6))
        .await;
    let gaps = gaps(&times);
    assert!(
        gaps.iter().all(|&gap| gap >= 0.2 * 0.9),
        "never more than one poll per 0.2 s: {gaps:?}"
    );
}

#[tokio::test]
async fn a_quiet_reading_far_from_every_threshold_is_polled_at_the_longest_wait() {
    let api = FakeApi::start();
    api.set_usage(10.0, Some(10.0));
    let daemon = daemon(&api, true, 3);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    // The next poll comes 3 s after the first, however often the router
    // asks, and not much later either (the deadline).
    let times = daemon
        .ask_until_polls(&api, 1, Duration::from_secs(6))
        .await;
    let gap = gaps(&times)[0];
    assert!(gap >= 3.0 * 0.9, "polled {gap:.2}s after the first poll");
    let status = daemon.client().await.status().await.unwrap();
    assert!(!status.stale);
}

#[tokio::test]
async fn a_push_that_contradicts_the_model_brings_the_next_poll_forward() {
    let api = FakeApi::start();
    api.set_usage(10.0, Some(10.0));
    // The model's next poll is half a minute away.
    let daemon = daemon(&api, true, 30);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let mut client = daemon.client().await;
    client.should_use_cloud(TaskValue::High).await.unwrap();
    let before = api.requests();
    // A router's response headers: 79 %, a step from resting, where the
    // model said 10 % and a poll in 30 s.
    api.set_usage(79.5, Some(10.0));
    let pushed = Window::new(79.0, None);
    client.ingest(Some(pushed), None, Utc::now()).await.unwrap();
    api.wait_for_calls(before + 1, WAIT).await;
    let status = daemon
        .wait_for(WAIT, |s| s.five_hour.is_some_and(|w| w.utilization == 79.5))
        .await;
    assert_eq!(status.tier, Tier::Active);
}

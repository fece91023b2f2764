//! The opt-in pace policy (docs/policy.md, "Pace"): in burst, a 5-hour window that
//! at the current pace passes the resting threshold before it resets keeps
//! high-value work local.

use chrono::{TimeDelta, Utc};
use claude_quota::{TaskComplexity, TaskValue, Tier, Window};
use claude_quota_e2e::Daemon;

/// A daemon without credentials (no polls: only pushes count) whose 5-hour
/// window rose from 10 % to 40 % over the last hour, resetting in 4 hours.
async fn daemon_after_a_busy_hour(config: &str) -> Daemon {
    let daemon = Daemon::builder().config(config).start();
    let mut client = daemon.client().await;
    let now = Utc::now();
    let resets_at = Some(now + TimeDelta::hours(4));
    for step in 0..=6 {
        let five_hour = Window::new(10.0 + 5.0 * f64::from(step), resets_at);
        let as_of = now - TimeDelta::minutes(60 - 10 * i64::from(step));
        client.ingest(Some(five_hour), None, as_of).await.unwrap();
    }
    daemon
}

#[tokio::test]
async fn pace_on_keeps_high_work_local_before_the_window_runs_out() {
    let daemon = daemon_after_a_busy_hour("[policy]\npace = true\n").await;
    let mut client = daemon.client().await;
    let decision = client.decide(TaskValue::High).await.unwrap();
    assert!(!decision.use_cloud, "{decision:?}");
    assert_eq!(decision.tier, Tier::Active);
    assert!(
        decision.reason.contains("pace: at 30 %/h RESTING in 1h")
            && decision.reason.contains("before the reset in 3h59m"),
        "{}",
        decision.reason
    );
    let model = client.select_model(TaskComplexity::High).await.unwrap();
    assert_eq!(model.model, "qwen3:14b");
    assert!(model.reason.contains("pace"), "{}", model.reason);
}

#[tokio::test]
async fn pace_off_leaves_the_thresholds_alone() {
    let daemon = daemon_after_a_busy_hour("").await;
    let decision = daemon.client().await.decide(TaskValue::High).await.unwrap();
    assert!(decision.use_cloud, "{decision:?}");
    assert_eq!(decision.tier, Tier::Burst);
}

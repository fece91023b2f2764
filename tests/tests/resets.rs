//! Windows reset on time (issue 19): once a window's `resets_at` has passed
//! it counts as 0 % until the next reading, from any source and even while
//! the usage API answers 429; subscribers and `[notify]` hear the tier
//! change, and a reset never revives a stale reading.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use claude_quota::{Client, LastErrorKind, TaskValue, Tier};
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

/// A reply at `five` % whose 5-hour window resets `in_secs` from now.
fn resetting_soon(five: f64, in_secs: i64) -> serde_json::Value {
    let at = |delta: TimeDelta| (Utc::now() + delta).to_rfc3339();
    json!({
        "five_hour": {"utilization": five, "resets_at": at(TimeDelta::seconds(in_secs))},
        "seven_day": {"utilization": 30.0, "resets_at": at(TimeDelta::days(3))},
    })
}

#[tokio::test]
async fn a_window_resets_on_time_during_a_429_cooldown() {
    let api = FakeApi::start();
    api.set_body(resetting_soon(92.0, 3));
    let daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config("stale_after = 30\nbackoff_cap = 3600\n")
        .start();
    let resting = daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
    assert!(
        resting.reason.starts_with("5-hour window at 92.0%"),
        "{}",
        resting.reason
    );
    // From now on the endpoint refuses for an hour.
    api.fail_with(Fault::RateLimited(Some("3600".into())));
    daemon
        .wait_for(WAIT, |s| {
            s.last_error
                .as_ref()
                .is_some_and(|e| e.kind == LastErrorKind::RateLimited)
        })
        .await;
    let calls = api.requests();
    let mut updates = daemon.client().await.subscribe().await.unwrap();
    assert_eq!(updates.next().await.unwrap().unwrap().tier, Tier::Resting);

    // The reset passes: the subscriber hears of it without a poll.
    let update = tokio::time::timeout(WAIT, updates.next())
        .await
        .expect("an update at the reset")
        .unwrap()
        .unwrap();
    assert_eq!(update.tier, Tier::Burst, "{}", update.reason);
    assert!(
        update.reason.contains("5-hour window reset at"),
        "{}",
        update.reason
    );
    assert_eq!(
        update.five_hour, None,
        "the window counts 0 % until the next reading"
    );
    assert_eq!(update.seven_day.unwrap().utilization, 30.0);
    let mut client: Client = daemon.client().await;
    assert!(client.should_use_cloud(TaskValue::High).await.unwrap());
    assert_eq!(api.requests(), calls, "the cooldown held: no API call");
}

#[tokio::test]
async fn someone_asking_gets_a_poll_right_after_a_reset() {
    let api = FakeApi::start();
    api.set_body(resetting_soon(85.0, 2));
    let daemon = Daemon::builder()
        .api(&api.url(), 1.0)
        .credentials_file(TOKEN, None)
        .config("stale_after = 60\n[policy]\nadaptive = true\nadaptive_max_interval = 30\n")
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
    let calls = api.requests();
    // The endpoint's numbers after the reset.
    api.set_usage(4.0, Some(30.0));
    let mut client = daemon.client().await;
    client.should_use_cloud(TaskValue::High).await.unwrap();
    let after = daemon
        .wait_for(WAIT, |s| s.five_hour.is_some_and(|w| w.utilization == 4.0))
        .await;
    assert_eq!(after.tier, Tier::Burst);
    assert_eq!(api.requests(), calls + 1, "one poll, right after the reset");
}

#[tokio::test]
async fn a_reset_does_not_revive_a_stale_reading() {
    let api = FakeApi::start();
    api.set_body(resetting_soon(92.0, 2));
    let daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config("stale_after = 1\nbackoff_cap = 3600\n")
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
    api.fail_with(Fault::RateLimited(Some("3600".into())));
    let stale = daemon.wait_for(WAIT, |s| s.stale).await;
    assert_eq!(stale.tier, Tier::Unknown);
    // The window resets (it counts 0 % from then on), and the reading is
    // still stale.
    let after = daemon.wait_for(WAIT, |s| s.five_hour.is_none()).await;
    assert_eq!(
        (after.tier, after.stale),
        (Tier::Unknown, true),
        "{after:#?}"
    );
}

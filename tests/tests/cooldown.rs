//! A cooldown (Retry-After or backoff) survives a restart, and nothing
//! overrides it: not a restart, not `refresh`, not SIGHUP.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use claude_quota::{LastErrorKind, Status};
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};

const WAIT: Duration = Duration::from_secs(15);

fn rate_limited(status: &Status) -> bool {
    status
        .last_error
        .as_ref()
        .is_some_and(|e| e.kind == LastErrorKind::RateLimited)
}

/// Seconds from now until the status's next poll.
fn next_poll_in(status: &Status) -> i64 {
    (status.next_poll_at.expect("next_poll_at") - Utc::now()).num_seconds()
}

#[tokio::test]
async fn a_retry_after_outlives_a_restart_and_refresh_and_sighup_wait_for_it() {
    let api = FakeApi::start();
    api.fail_with(Fault::RateLimited(Some("120".into())));
    let mut daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config("refresh_min_interval = 0.1\n")
        .start();
    daemon.wait_for(WAIT, rate_limited).await;
    assert_eq!(api.requests(), 1);
    api.clear_fault();

    // Before the restart: refresh does not poll during the cooldown, once
    // refresh_min_interval no longer stands in the way.
    api.wait_past_last_call(Duration::from_millis(100)).await;
    let refreshed = daemon.client().await.refresh().await.unwrap();
    assert_eq!(api.requests(), 1, "refresh polled during Retry-After");
    assert!(next_poll_in(&refreshed) > 100, "{refreshed:#?}");

    // A refresh is answered once the poller has settled it: had the
    // restart, or the reload before it, dropped the cooldown, the poller
    // would have polled first. (That nothing polls through the rest of
    // the cooldown is schedule.rs's unit tests', on a paused clock.)
    daemon.kill_and_restart();
    let status = daemon.client().await.status().await.unwrap();
    assert!(
        rate_limited(&status),
        "the error is shown again: {status:#?}"
    );
    assert!(next_poll_in(&status) > 100, "{status:#?}");
    let refreshed = daemon.client().await.refresh().await.unwrap();
    assert!(next_poll_in(&refreshed) > 100, "{refreshed:#?}");
    daemon.signal("HUP");
    daemon.wait_for_log("config reloaded", WAIT).await;
    let refreshed = daemon.client().await.refresh().await.unwrap();
    assert!(next_poll_in(&refreshed) > 100, "{refreshed:#?}");
    assert_eq!(
        api.requests(),
        1,
        "a restarted daemon polled before the Retry-After ran out:\n{}",
        daemon.log()
    );
}

#[tokio::test]
async fn an_absurd_saved_cooldown_is_clamped_and_a_past_one_is_over() {
    let api = FakeApi::start();
    let far = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .saved_state(&saved_cooldown(Utc::now() + TimeDelta::days(365 * 100)))
        .start();
    let status = far.client().await.status().await.unwrap();
    let wait = next_poll_in(&status);
    assert!((3000..=3601).contains(&wait), "clamped to an hour: {wait}s");
    assert_eq!(api.requests(), 0);
    drop(far);

    let past = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .saved_state(&saved_cooldown(Utc::now() - TimeDelta::hours(1)))
        .start();
    past.wait_for(WAIT, |s| s.last_error.is_none() && s.five_hour.is_some())
        .await;
    assert!(api.requests() >= 1);
}

/// A saved state that another user could have written (planted, say, to
/// stop polling for an hour) is ignored: the daemon polls at once.
#[tokio::test]
async fn a_saved_state_others_can_write_is_ignored() {
    use std::os::unix::fs::PermissionsExt;

    let api = FakeApi::start();
    let builder = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None);
    let saved = builder.saved_reading_path();
    std::fs::create_dir_all(saved.parent().unwrap()).unwrap();
    std::fs::write(&saved, saved_cooldown(Utc::now() + TimeDelta::hours(1))).unwrap();
    std::fs::set_permissions(&saved, std::fs::Permissions::from_mode(0o666)).unwrap();
    let daemon = builder.start();
    daemon
        .wait_for(WAIT, |s| s.last_error.is_none() && s.five_hour.is_some())
        .await;
    let line = daemon
        .wait_for_log("ignoring the saved reading", WAIT)
        .await;
    assert!(line.contains("writable by its group and others"), "{line}");
}

/// A state file as the daemon writes it, with a cooldown until `until`.
fn saved_cooldown(until: chrono::DateTime<Utc>) -> String {
    serde_json::json!({
        "reading": null,
        "cooldown": {"until": until, "faults": 3},
        "last_error": {"kind": "rate_limited", "message": "429 Too Many Requests", "at": Utc::now()}
    })
    .to_string()
}

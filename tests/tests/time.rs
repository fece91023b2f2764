//! Time from outside (docs/decisions.md, "Defences"): a `Retry-After` too long for a
//! clock is capped at an hour instead of panicking the poller.

use std::time::Duration;

use chrono::Utc;
use claude_quota::{LastErrorKind, Tier};
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test]
async fn a_retry_after_of_three_million_years_is_capped_at_an_hour() {
    let api = FakeApi::start();
    let mut daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config("refresh_min_interval = 0.1\n")
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    api.fail_with(Fault::RateLimited(Some("99999999999999".into())));
    let status = daemon
        .wait_for(WAIT, |s| {
            s.last_error.as_ref().map(|e| e.kind) == Some(LastErrorKind::RateLimited)
                && s.next_poll_at
                    .is_some_and(|at| at > Utc::now() + chrono::TimeDelta::minutes(1))
        })
        .await;
    let wait = status.next_poll_at.unwrap() - Utc::now();
    assert!(
        wait > chrono::TimeDelta::minutes(59) && wait <= chrono::TimeDelta::hours(1),
        "polls again within the hour, not never: {wait}"
    );
    let capped = daemon.wait_for_log("capped", WAIT).await;
    assert!(capped.contains("99999999999999"), "{capped}");
    // The poller lives on and honors the wait: it refuses a refresh that
    // only the cooldown stands against. The daemon keeps serving.
    let requests = api.requests();
    api.wait_past_last_call(Duration::from_millis(100)).await;
    let status = daemon.client().await.refresh().await.unwrap();
    assert_eq!(api.requests(), requests, "no poll during the hour");
    assert_eq!(
        status.five_hour.unwrap().utilization,
        10.0,
        "last reading kept"
    );
    assert!(daemon.wait_exit(Duration::ZERO).is_none(), "still running");
    assert!(!daemon.log().contains("panicked"), "{}", daemon.log());
}

/// Where Debian's `faketime` package puts the library, per architecture.
const LIBFAKETIME: [&str; 3] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
];

/// libfaketime, or `None` after a loud skip off Linux or on a developer's
/// machine without it (Linux CI installs it, and there the test fails
/// instead).
fn libfaketime() -> Option<&'static str> {
    if !cfg!(target_os = "linux") {
        eprintln!("SKIPPED: the clock-step test preloads libfaketime, which works on Linux only");
        return None;
    }
    let found = LIBFAKETIME
        .into_iter()
        .find(|path| std::path::Path::new(path).exists());
    if found.is_none() {
        let message = "the clock-step test needs libfaketime (Debian: apt-get install faketime)";
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("SKIPPED: {message}");
    }
    found
}

/// The daemon's wall clock steps back two hours while it runs (libfaketime
/// reads the offset from a file at every clock read; the monotonic clock is
/// left alone, as NTP or a VM restore leave it). The next reading must be
/// taken and the tier follow it: it used to be dropped as older than the
/// held one, which never turned stale, so `burst` was served at 90 %.
#[tokio::test]
async fn a_wall_clock_stepping_back_two_hours_does_not_freeze_the_tier() {
    let Some(library) = libfaketime() else { return };
    let api = FakeApi::start();
    let offset = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(offset.path(), "+0\n").unwrap();
    let daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config("stale_after = 3\n")
        .env("LD_PRELOAD", library)
        .env(
            "FAKETIME_TIMESTAMP_FILE",
            &offset.path().display().to_string(),
        )
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .start();
    let before = daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    std::fs::write(offset.path(), "-7200\n").unwrap();
    // The step took: the daemon's clock now reads two hours ago.
    let stepped = daemon
        .wait_for(WAIT, |s| {
            s.next_poll_at
                .is_some_and(|at| at < Utc::now() - chrono::TimeDelta::minutes(90))
        })
        .await;
    assert!(stepped.tier == Tier::Burst, "{stepped:#?}");
    api.set_usage(90.0, Some(20.0));
    let after = daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
    assert_eq!(after.five_hour.unwrap().utilization, 90.0);
    assert!(
        after.as_of.unwrap() < before.as_of.unwrap(),
        "as_of is the daemon's (stepped) wall clock, shown as is"
    );
    assert!(after.age_s.unwrap() < 3, "{after:#?}");
}

/// A saved reading whose `as_of` lies two hours ahead (written before the
/// clock stepped back) counts as taken at the restart: it turns stale after
/// `stale_after`, and the first reading from the API replaces it. It used to
/// hold its tier forever and block every newer reading.
#[tokio::test]
async fn a_saved_reading_from_the_future_does_not_freeze_the_tier_after_a_restart() {
    let api = FakeApi::start();
    api.fail_with(Fault::Status(500));
    let future = Utc::now() + chrono::TimeDelta::hours(2);
    let reading = serde_json::json!({
        "five_hour": {"utilization": 10.0, "resets_at": null},
        "seven_day": null, "seven_day_opus": null, "seven_day_sonnet": null,
        "as_of": future, "source": "api"
    });
    let daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config("stale_after = 1\n")
        .saved_state(&reading.to_string())
        .start();
    let restored = daemon.client().await.status().await.unwrap();
    assert_eq!(restored.tier, Tier::Burst, "{restored:#?}");
    assert!(restored.as_of.unwrap() <= Utc::now(), "clamped to now");
    let stale = daemon.wait_for(WAIT, |s| s.tier == Tier::Unknown).await;
    assert!(stale.stale);
    api.set_usage(90.0, None);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
}

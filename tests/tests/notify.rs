//! Notifications on tier changes: a hook command with the change in its
//! environment, desktop notifications through stand-ins on PATH, and a hook
//! that hangs never slows an answer.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use claude_quota::{TaskValue, Tier};
use claude_quota_e2e::fake_api::limits_body;
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};

const WAIT: Duration = Duration::from_secs(20);

/// Writes an executable shell script.
fn script(path: &Path, body: &str) {
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Lines the hook recorded so far.
fn recorded(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until `path` holds `line`.
async fn until_recorded(path: &Path, line: &str, daemon: &Daemon) {
    let deadline = Instant::now() + WAIT;
    while !recorded(path).iter().any(|l| l == line) {
        assert!(
            Instant::now() < deadline,
            "{line:?} not recorded: {:?}\nlog:\n{}",
            recorded(path),
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A daemon polling `api` every 0.1 s (a reading stale after 1 s) with
/// this `[notify]` table, its token in its environment (which hooks must
/// not inherit).
fn daemon(api: &FakeApi, notify: &str, path: Option<&Path>) -> Daemon {
    daemon_stale_after(api, notify, path, 1.0)
}

/// [`daemon`], its reading stale after `stale_after` seconds.
fn daemon_stale_after(
    api: &FakeApi,
    notify: &str,
    path: Option<&Path>,
    stale_after: f64,
) -> Daemon {
    let mut builder = Daemon::builder()
        .api(&api.url(), 0.1)
        .env("CLAUDE_CODE_OAUTH_TOKEN", TOKEN)
        .config(&format!(
            "stale_after = {stale_after}\nbackoff_cap = 0.2\n[notify]\n{notify}\n"
        ));
    if let Some(dir) = path {
        let path = format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        builder = builder.env("PATH", &path);
    }
    builder.start()
}

/// A daemon at 20 % whose hook records `TIER PREVIOUS FIVE_HOUR` (and the
/// token, were it passed on) per run, then runs `then`; returned once the hook heard the first reading, with
/// the record file (in `dir`).
async fn daemon_with_hook(dir: &Path, then: &str) -> (FakeApi, Daemon, PathBuf) {
    let (hook, record) = (dir.join("hook"), dir.join("record"));
    script(
        &hook,
        &format!(
            "echo \"$CLAUDE_QUOTA_TIER $CLAUDE_QUOTA_PREVIOUS_TIER $CLAUDE_QUOTA_FIVE_HOUR$CLAUDE_CODE_OAUTH_TOKEN\" >> {}\n{then}",
            record.display()
        ),
    );
    let api = FakeApi::start();
    api.set_usage(20.0, Some(10.0));
    // Tier changes only: thresholds are told apart (`threshold_reset_and_extra_usage_events`).
    let daemon = daemon(
        &api,
        &format!(
            "command = {:?}\nthresholds = []",
            hook.display().to_string()
        ),
        None,
    );
    until_recorded(&record, "burst unknown 20", &daemon).await;
    (api, daemon, record)
}

#[tokio::test]
async fn a_hook_hears_each_tier_change_with_its_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (api, daemon, record) =
        daemon_with_hook(dir.path(), "echo \"hook says $CLAUDE_QUOTA_REASON\"").await;
    let polls = api.requests();
    daemon
        .wait_for(WAIT, |s| s.api_calls as usize >= polls + 3)
        .await;
    assert_eq!(recorded(&record).len(), 1, "a reading alone is no change");

    api.set_usage(90.0, Some(10.0));
    until_recorded(&record, "resting burst 90", &daemon).await;
    daemon
        .wait_for_log("hook says 5-hour window at 90.0% (above 80%)", WAIT)
        .await;
}

#[tokio::test]
async fn a_hook_hears_the_cloud_models_cap_close_the_cloud_while_the_tier_stays() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, record) = (dir.path().join("hook"), dir.path().join("record"));
    script(
        &hook,
        &format!(
            "echo \"$CLAUDE_QUOTA_TIER $CLAUDE_QUOTA_PREVIOUS_TIER cap=$CLAUDE_QUOTA_CLOUD_CAPPED_BY\" >> {}",
            record.display()
        ),
    );
    let api = FakeApi::start();
    api.set_body(limits_body(20.0, 10.0, &[("Opus", 99.0)]));
    let command = format!("command = {:?}", hook.display().to_string());
    let daemon = daemon(&api, &command, None);
    until_recorded(&record, "burst unknown cap=", &daemon).await;

    // The cloud model (Sonnet) reaches its cap: the tier stays burst, the
    // cloud closes, and that is news.
    api.set_body(limits_body(20.0, 10.0, &[("Opus", 99.0), ("Sonnet", 97.0)]));
    until_recorded(&record, "burst burst cap=Sonnet", &daemon).await;
    // And again when the cap rolls over and the cloud opens.
    api.set_body(limits_body(20.0, 10.0, &[("Sonnet", 5.0)]));
    until_recorded(&record, "burst burst cap=", &daemon).await;
    assert_eq!(
        recorded(&record).len(),
        3,
        "another family's cap is no news: {:?}",
        recorded(&record)
    );
}

#[tokio::test]
async fn a_failing_hook_is_logged_once() {
    let dir = tempfile::tempdir().unwrap();
    let (api, daemon, record) = daemon_with_hook(dir.path(), "exit 3").await;
    for (five, line) in [
        (90.0, "resting burst 90"),
        (20.0, "burst resting 20"),
        (90.0, "resting burst 90"),
    ] {
        let runs = recorded(&record).len();
        api.set_usage(five, Some(10.0));
        daemon
            .wait_for(WAIT, |_| recorded(&record).len() > runs)
            .await;
        assert_eq!(recorded(&record)[runs..], [line]);
    }
    let warnings = daemon
        .log()
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("notification failed"))
        .count();
    assert_eq!(warnings, 1, "{}", daemon.log());
}

#[tokio::test]
async fn a_reading_turning_stale_is_no_news() {
    let dir = tempfile::tempdir().unwrap();
    let (api, daemon, record) = daemon_with_hook(dir.path(), "").await;
    api.fail_with(Fault::Status(503));
    daemon.wait_for(WAIT, |s| s.stale).await;
    api.clear_fault();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    api.set_usage(90.0, Some(10.0));
    until_recorded(&record, "resting burst 90", &daemon).await;
    assert_eq!(
        recorded(&record),
        ["burst unknown 20", "resting burst 90"],
        "stale and back is no change"
    );
}

#[tokio::test]
async fn a_hanging_hook_slows_no_answer_is_killed_and_changes_meanwhile_coalesce() {
    let dir = tempfile::tempdir().unwrap();
    // Hangs for a minute when RESTING starts; quick otherwise.
    let (api, daemon, record) = daemon_with_hook(
        dir.path(),
        "[ \"$CLAUDE_QUOTA_TIER\" = resting ] && sleep 60\nexit 0",
    )
    .await;
    api.set_usage(90.0, Some(10.0));
    until_recorded(&record, "resting burst 90", &daemon).await;
    let hung_at = Instant::now();

    let mut client = daemon.client().await;
    let mut worst = Duration::ZERO;
    for _ in 0..200 {
        let asked = Instant::now();
        assert!(!client.should_use_cloud(TaskValue::High).await.unwrap());
        worst = worst.max(asked.elapsed());
    }
    assert!(
        hung_at.elapsed() < Duration::from_secs(9) && !daemon.log().contains("killed"),
        "the hook still runs while the answers come"
    );
    eprintln!("worst of 200 answers while the hook hangs: {worst:?}");
    assert!(worst < Duration::from_millis(500), "{worst:?}");

    // Two changes while the hook hangs: only the latest is told.
    api.set_usage(60.0, Some(10.0));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Active).await;
    api.set_usage(10.0, Some(10.0));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    until_recorded(&record, "burst active 10", &daemon).await;
    let killed_after = hung_at.elapsed();
    assert!(
        killed_after >= Duration::from_secs(9),
        "killed after {killed_after:?}"
    );
    assert!(daemon.log().contains("killed"), "{}", daemon.log());
    assert_eq!(
        recorded(&record),
        ["burst unknown 20", "resting burst 90", "burst active 10"]
    );
}

#[tokio::test]
async fn desktop_notifications_go_through_the_platform_tool_on_path() {
    let dir = tempfile::tempdir().unwrap();
    let record: PathBuf = dir.path().join("record");
    for tool in ["notify-send", "osascript"] {
        script(
            &dir.path().join(tool),
            &format!("echo \"{tool} $*\" >> {}", record.display()),
        );
    }
    let api = FakeApi::start();
    api.set_usage(20.0, Some(10.0));
    let daemon = daemon(&api, "desktop = true", Some(dir.path()));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    api.set_usage(90.0, Some(10.0));
    let deadline = Instant::now() + WAIT;
    let expected = if cfg!(target_os = "macos") {
        "osascript -e display notification \"5-hour window at 90.0% (above 80%) (was burst)\" with title \"claude-quota: RESTING\""
    } else {
        "notify-send --app-name=claude-quota claude-quota: RESTING 5-hour window at 90.0% (above 80%) (was burst)"
    };
    while !recorded(&record).iter().any(|l| l == expected) {
        assert!(
            Instant::now() < deadline,
            "{:?}\n{}",
            recorded(&record),
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `[notify] thresholds`, a window's reset and extra usage starting: each
/// told once, with `CLAUDE_QUOTA_EVENT` (and the window and threshold).
#[tokio::test]
async fn threshold_reset_and_extra_usage_events() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, record) = (dir.path().join("hook"), dir.path().join("record"));
    script(
        &hook,
        &format!(
            "echo \"$CLAUDE_QUOTA_EVENT $CLAUDE_QUOTA_TIER $CLAUDE_QUOTA_PREVIOUS_TIER $CLAUDE_QUOTA_WINDOW $CLAUDE_QUOTA_THRESHOLD\" >> {}",
            record.display()
        ),
    );
    let api = FakeApi::start();
    api.set_usage(20.0, Some(10.0));
    // Fresh for 30 s: a stale reading is no news, and the reset comes in 3.
    let daemon = daemon_stale_after(
        &api,
        &format!(
            "command = {:?}\nthresholds = [50, 80]",
            hook.display().to_string()
        ),
        None,
        30.0,
    );
    until_recorded(&record, "tier burst unknown  ", &daemon).await;

    // 20 % → 85 %: the tier changes and 80 is the highest threshold passed.
    let resets_soon = (chrono::Utc::now() + chrono::TimeDelta::seconds(3)).to_rfc3339();
    api.set_body(serde_json::json!({
        "five_hour": {"utilization": 85.0, "resets_at": resets_soon},
        "seven_day": {"utilization": 10.0, "resets_at": null},
        "extra_usage": {"is_enabled": true, "monthly_limit": 500, "used_credits": 0, "utilization": 0.0, "currency": "EUR"}
    }));
    until_recorded(&record, "tier resting burst  ", &daemon).await;
    until_recorded(&record, "threshold resting burst five_hour 80", &daemon).await;

    // The endpoint now refuses; the window resets on time all the same.
    api.fail_with(Fault::RateLimited(Some("3600".into())));
    until_recorded(&record, "reset burst resting five_hour ", &daemon).await;

    // A header reading says extra usage is being spent.
    let mut raw = claude_quota_e2e::wire::RawConnection::connect(daemon.socket()).await;
    let push = serde_json::json!({"type": "ingest", "source": "headers",
        "extra_usage": {"enabled": true, "utilization": null, "used": 2.44, "limit": 5.0, "currency": "EUR", "disabled_reason": null}});
    assert_eq!(raw.ask(push).await, claude_quota_proto::Reply::Ok);
    until_recorded(&record, "extra_usage burst burst  ", &daemon).await;
    assert_eq!(
        recorded(&record),
        [
            "tier burst unknown  ",
            "tier resting burst  ",
            "threshold resting burst five_hour 80",
            "reset burst resting five_hour ",
            "extra_usage burst burst  ",
        ],
        "each told once"
    );
}

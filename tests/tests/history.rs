//! The history of readings with the real daemon: what is pushed is kept
//! (read back through the history crate, as `claude-quota history` does),
//! the forecast comes back from it after a restart, and a database that is
//! not SQLite, a read-only state directory, a lock held by another program
//! or a full disk are each survived, said, and never stop the answers.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota::{Client, ReadingSource, Status, TaskComplexity, TaskValue, Tier, Window};
use claude_quota_e2e::{Daemon, FakeApi};
use claude_quota_history::{Row, Store};

const WAIT: Duration = Duration::from_secs(15);

/// A daemon that never polls (no credentials), so only pushes make
/// readings, and their moments are the test's to choose.
fn daemon(
    configure: impl FnOnce(claude_quota_e2e::DaemonBuilder) -> claude_quota_e2e::DaemonBuilder,
) -> (FakeApi, Daemon) {
    let api = FakeApi::start();
    let builder = Daemon::builder().api(&api.url(), 3600.0);
    (api, configure(builder).start())
}

/// Pushes a status-line reading of `five` percent taken at `as_of`.
async fn push(client: &mut Client, five: f64, resets_at: DateTime<Utc>, as_of: DateTime<Utc>) {
    client
        .ingest(
            Some(Window::new(five, Some(resets_at))),
            Some(Window::new(20.0, None)),
            as_of,
        )
        .await
        .expect("ingest");
}

/// Pushes a status-line reading of `five` percent taken now, the window
/// resetting in an hour.
async fn push_fresh(client: &mut Client, five: f64) {
    push(client, five, Utc::now() + TimeDelta::hours(1), Utc::now()).await;
}

/// Waits until `status.history` shows a failure, and returns it.
async fn history_error(daemon: &Daemon) -> String {
    let status = daemon
        .wait_for(WAIT, |s| {
            s.history.as_ref().is_some_and(|h| h.last_error.is_some())
        })
        .await;
    status.history.unwrap().last_error.unwrap()
}

fn rows_in(path: &Path) -> Vec<Row> {
    let store = Store::open_read_only(path).expect("open the history read-only");
    store
        .rows(None, DateTime::UNIX_EPOCH, Utc::now() + TimeDelta::hours(1))
        .expect("read the history")
}

fn history_rows(status: &Status) -> Option<u64> {
    status.history.as_ref().map(|h| h.rows)
}

/// Whether the daemon still answers a router at once.
async fn answers(daemon: &Daemon) {
    let asked = Instant::now();
    let route = daemon
        .client()
        .await
        .route(TaskValue::High, TaskComplexity::High)
        .await;
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    assert!(
        route.tier.is_some_and(|tier| tier != Tier::Unknown),
        "{route:?}"
    );
}

#[tokio::test]
async fn the_history_keeps_what_was_pushed_and_the_forecast_comes_back_after_a_restart() {
    let (_api, mut daemon) = daemon(|b| b);
    let mut client = daemon.client().await;
    let now = Utc::now();
    let resets_at = now + TimeDelta::hours(3);
    // 60 % an hour over the last 25 minutes: 10, 15, … 35 %.
    let pushed: Vec<(DateTime<Utc>, f64)> = (0..6)
        .map(|i| (now - TimeDelta::minutes(25 - 5 * i), 10.0 + 5.0 * i as f64))
        .collect();
    for &(at, five) in &pushed {
        push(&mut client, five, resets_at, at).await;
    }
    let status = daemon.wait_for(WAIT, |s| history_rows(s) == Some(6)).await;
    let before = status.forecast.expect("a forecast from the pushes");
    assert!(
        (before.five_hour_pct_per_hour - 60.0).abs() < 1.0,
        "{before:?}"
    );

    let rows = rows_in(&daemon.history_path());
    let kept: Vec<(i64, f64)> = rows
        .iter()
        .map(|row| (row.at.timestamp_millis(), row.five_hour.unwrap()))
        .collect();
    let sent: Vec<(i64, f64)> = pushed
        .iter()
        .map(|&(at, five)| (at.timestamp_millis(), five))
        .collect();
    assert_eq!(kept, sent);
    for row in &rows {
        assert_eq!(row.account, "default");
        assert_eq!(row.source, ReadingSource::Statusline);
        assert_eq!(row.seven_day, Some(20.0));
        assert_eq!(
            row.five_hour_resets_at.map(|at| at.timestamp_millis()),
            Some(resets_at.timestamp_millis())
        );
    }
    let mode = fs::metadata(daemon.history_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // kill -9: the forecast is in memory only, but the rows are on disk.
    daemon.kill_and_restart();
    let status = daemon.wait_for(WAIT, |s| s.forecast.is_some()).await;
    let after = status.forecast.unwrap();
    assert!(
        (after.five_hour_pct_per_hour - 60.0).abs() < 1.0,
        "{after:?}"
    );
    // The rows keep milliseconds, the pushes had nanoseconds.
    let moved = after.exhausted_at.unwrap() - before.exhausted_at.unwrap();
    assert!(moved.abs() < TimeDelta::seconds(1), "{before:?} {after:?}");
    assert_eq!(
        history_rows(&status),
        Some(6),
        "the restored reading is no new row"
    );
    daemon
        .wait_for_log("the forecast starts from the stored history", WAIT)
        .await;
}

#[tokio::test]
async fn a_file_that_is_not_sqlite_is_moved_aside_and_said() {
    let (_api, daemon) = daemon(|b| {
        let path = b.history_path();
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "these are not the rows you are looking for").unwrap();
        b
    });
    let line = daemon.wait_for_log("moved it aside", WAIT).await;
    assert!(line.contains("history.sqlite3.corrupt-"), "{line}");
    let moved = claude_quota_history::moved_aside(&daemon.history_path());
    assert_eq!(moved.len(), 1);
    assert_eq!(
        fs::read_to_string(&moved[0]).unwrap(),
        "these are not the rows you are looking for"
    );

    let mut client = daemon.client().await;
    push_fresh(&mut client, 30.0).await;
    daemon.wait_for(WAIT, |s| history_rows(s) == Some(1)).await;
    answers(&daemon).await;

    let doctor = daemon.cli_at_home(&["doctor", "--no-color"]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    let line = report
        .lines()
        .find(|line| line.contains("history"))
        .unwrap_or_else(|| panic!("no history line:\n{report}"));
    assert!(
        line.starts_with("WARN") && line.contains("moved aside to") && line.contains(".corrupt-"),
        "{report}"
    );
}

#[tokio::test]
async fn a_read_only_state_directory_is_said_and_answers_go_on() {
    let (_api, daemon) = daemon(|b| {
        let dir = b.history_path().parent().unwrap().to_owned();
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).unwrap();
        b.honouring_permissions()
    });
    let error = history_error(&daemon).await;
    assert!(error.contains("history.sqlite3"), "{error}");
    daemon.wait_for_log("cannot write the history", WAIT).await;

    let mut client = daemon.client().await;
    push_fresh(&mut client, 30.0).await;
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    answers(&daemon).await;
    let dir = daemon.history_path().parent().unwrap().to_owned();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
}

#[tokio::test]
async fn a_locked_database_is_said_and_its_rows_are_written_once_it_is_free() {
    let (_api, daemon) = daemon(|b| b);
    let mut client = daemon.client().await;
    let resets_at = Utc::now() + TimeDelta::hours(2);
    push(&mut client, 10.0, resets_at, Utc::now()).await;
    daemon.wait_for(WAIT, |s| history_rows(s) == Some(1)).await;

    // Another program holds the write lock, as a `sqlite3` shell in a
    // transaction would.
    let holder = rusqlite::Connection::open(daemon.history_path()).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    // A change of tier makes a row at once.
    push(&mut client, 60.0, resets_at, Utc::now()).await;
    let error = history_error(&daemon).await;
    assert!(error.contains("locked"), "{error}");
    answers(&daemon).await;

    holder.execute_batch("ROLLBACK").unwrap();
    push(&mut client, 10.0, resets_at, Utc::now()).await;
    let status = daemon.wait_for(WAIT, |s| history_rows(s) == Some(3)).await;
    assert_eq!(status.history.unwrap().last_error, None);
    let kept: Vec<f64> = rows_in(&daemon.history_path())
        .iter()
        .map(|row| row.five_hour.unwrap())
        .collect();
    assert_eq!(
        kept,
        [10.0, 60.0, 10.0],
        "the row written while locked was held"
    );
    daemon.wait_for_log("writing the history again", WAIT).await;
}

/// A full disk, made by `RLIMIT_FSIZE` (no root or tmpfs needed): past
/// the limit every write fails with `EFBIG`, as it would with `ENOSPC`.
#[tokio::test]
async fn a_full_disk_is_said_and_answers_go_on() {
    let (_api, daemon) = daemon(|b| {
        b.file_size_limit(96 * 1024)
            .env("RUST_LOG", "claude_quotad=info,warn")
    });
    let mut client = daemon.client().await;
    let resets_at = Utc::now() + TimeDelta::hours(2);
    let started = Utc::now() - TimeDelta::hours(1);
    // Alternate the tier, so that each push makes a row, until a write fails.
    let deadline = Instant::now() + WAIT;
    let mut i = 0;
    let status = loop {
        let five = if i % 2 == 0 { 10.0 } else { 60.0 };
        push(
            &mut client,
            five,
            resets_at,
            started + TimeDelta::seconds(i),
        )
        .await;
        i += 1;
        let status = client.status().await.unwrap();
        if status
            .history
            .as_ref()
            .is_some_and(|h| h.last_error.is_some())
        {
            break status;
        }
        assert!(Instant::now() < deadline, "no write failed; {status:#?}");
    };
    let error = status.history.unwrap().last_error.unwrap();
    eprintln!("a full disk, as the status says it: {error}");
    assert!(
        error.contains("full") || error.contains("I/O") || error.contains("large"),
        "{error}"
    );
    push(&mut client, 30.0, resets_at, Utc::now()).await;
    answers(&daemon).await;
    daemon.wait_for_log("cannot write the history", WAIT).await;
}

#[tokio::test]
async fn a_forecast_of_100_percent_before_the_reset_is_told_once() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, record) = (dir.path().join("hook"), dir.path().join("record"));
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$CLAUDE_QUOTA_EVENT $CLAUDE_QUOTA_WINDOW $CLAUDE_QUOTA_EXHAUSTED_AT\" >> '{}'\n",
            record.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    let config = format!(
        "[notify]\ncommand = '{}'\nthresholds = []\n",
        hook.display()
    );
    let (_api, daemon) = daemon(|b| b.config(&config));
    let mut client = daemon.client().await;
    let now = Utc::now();
    let resets_at = now + TimeDelta::hours(2);
    // 60 % an hour for half an hour, to 60 % now: 100 % in 40 minutes.
    for i in 0..=6 {
        let at = now - TimeDelta::minutes(30 - 5 * i);
        push(&mut client, 24.0 + 6.0 * i as f64, resets_at, at).await;
    }
    let recorded = || fs::read_to_string(&record).unwrap_or_default();
    let deadline = Instant::now() + WAIT;
    told(&record, "forecast", deadline, &daemon).await;
    // Another reading of the same window, then one that moves the tier:
    // once the tier's notice is in, the forecast's has not come again.
    push(&mut client, 61.0, resets_at, Utc::now()).await;
    push(&mut client, 85.0, resets_at, Utc::now()).await;
    told(&record, "tier", deadline, &daemon).await;
    let forecasts: Vec<String> = recorded()
        .lines()
        .filter(|line| line.starts_with("forecast"))
        .map(str::to_owned)
        .collect();
    assert_eq!(forecasts.len(), 1, "{}", recorded());
    let exhausted_at: DateTime<Utc> = forecasts[0].split(' ').nth(2).unwrap().parse().unwrap();
    // Told at the first confident forecast, which may come before the
    // last push: from four readings on, 100 % some 48 minutes after the
    // newest of them, 33 to 40 minutes from now.
    let ahead = exhausted_at - now;
    assert!(
        ahead >= TimeDelta::minutes(33) && ahead <= TimeDelta::minutes(41),
        "{} against {now}",
        forecasts[0]
    );
    assert!(
        forecasts[0].starts_with("forecast five_hour "),
        "{}",
        forecasts[0]
    );
}

/// Waits until the notifier's `record` holds a notice of `kind`; panics
/// with the record and the daemon's log at `deadline`.
async fn told(record: &Path, kind: &str, deadline: Instant, daemon: &Daemon) {
    let recorded = || fs::read_to_string(record).unwrap_or_default();
    while !recorded().contains(kind) {
        assert!(
            Instant::now() < deadline,
            "{}\n{}",
            recorded(),
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

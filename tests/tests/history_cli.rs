//! `claude-quota history` against the history a real daemon kept: the rows
//! printed (`--json`, `--csv`) are the readings that were pushed; the
//! chart shows the daemon's forecast while it runs, and is still drawn
//! from the database once the daemon is gone; `--svg` writes an SVG
//! holding both windows.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota::{Status, Tier, Window};
use claude_quota_e2e::{Daemon, FakeApi};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(15);

/// A daemon that never polls (no credentials, an hour between polls), so
/// only the test's pushes make readings.
fn quiet_daemon() -> (FakeApi, Daemon) {
    let api = FakeApi::start();
    let daemon = Daemon::builder().api(&api.url(), 3600.0).start();
    (api, daemon)
}

fn history_rows(status: &Status) -> Option<u64> {
    status.history.as_ref().map(|h| h.rows)
}

/// Pushes a status-line reading every 5 minutes over the last 25 minutes,
/// 10 % to 85 % (burst, active, then resting); returns what was pushed.
async fn push_a_rising_window(daemon: &Daemon) -> Vec<(DateTime<Utc>, f64)> {
    let mut client = daemon.client().await;
    let now = Utc::now();
    let resets_at = now + TimeDelta::hours(2);
    let pushed: Vec<(DateTime<Utc>, f64)> = (0..6)
        .map(|i| (now - TimeDelta::minutes(25 - 5 * i), 10.0 + 15.0 * i as f64))
        .collect();
    for &(at, five) in &pushed {
        client
            .ingest(
                Some(Window::new(five, Some(resets_at))),
                Some(Window::new(30.0, None)),
                at,
            )
            .await
            .expect("ingest");
    }
    daemon
        .wait_for(WAIT, |s| history_rows(s) == Some(pushed.len() as u64))
        .await;
    pushed
}

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{:?}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

#[tokio::test]
async fn history_json_and_csv_print_the_rows_that_were_ingested() {
    let (_api, daemon) = quiet_daemon();
    let pushed = push_a_rising_window(&daemon).await;

    let json: Value = serde_json::from_str(&stdout(
        &daemon.cli_at_home(&["history", "--json", "--since", "5h"]),
    ))
    .expect("--json prints JSON");
    let rows = json.as_array().expect("an array of rows");
    let printed: Vec<(i64, f64, &str)> = rows
        .iter()
        .map(|row| {
            let at: DateTime<Utc> = row["at"].as_str().unwrap().parse().unwrap();
            (
                at.timestamp_millis(),
                row["five_hour"].as_f64().unwrap(),
                row["source"].as_str().unwrap(),
            )
        })
        .collect();
    let sent: Vec<(i64, f64, &str)> = pushed
        .iter()
        .map(|&(at, five)| (at.timestamp_millis(), five, "statusline"))
        .collect();
    assert_eq!(printed, sent);
    // The newest push is fresh, and 85 % is past the resting threshold.
    // (The older ones arrived late: the daemon judged them stale.)
    assert_eq!(rows.last().unwrap()["tier"], Tier::Resting.as_str());
    assert!(
        rows.iter()
            .all(|row| row["account"] == "default" && row["seven_day"] == 30.0)
    );

    let csv = stdout(&daemon.cli_at_home(&["history", "--csv", "--since", "5h"]));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("account,at,source,tier,five_hour,five_hour_resets_at,seven_day,seven_day_resets_at")
    );
    assert_eq!(lines.count(), pushed.len(), "{csv}");

    // A span that holds none of them prints none; another account too.
    let other = stdout(&daemon.cli_at_home(&["history", "--json", "--account", "work"]));
    assert_eq!(
        serde_json::from_str::<Value>(&other).unwrap(),
        Value::Array(Vec::new())
    );
}

#[tokio::test]
async fn the_chart_shows_the_forecast_while_the_daemon_runs_and_the_rows_after_it_is_gone() {
    let (_api, mut daemon) = quiet_daemon();
    push_a_rising_window(&daemon).await;
    daemon.wait_for(WAIT, |s| s.forecast.is_some()).await;

    // Not a terminal: plain text, no color.
    let chart = stdout(&daemon.cli_at_home(&["history", "--since", "5h"]));
    assert!(chart.starts_with("default, last 5h to "), "{chart}");
    assert!(chart.contains("at this pace ("), "{chart}");
    assert!(
        chart.contains(" resting") && chart.contains(" active"),
        "{chart}"
    );
    assert!(!chart.contains('\u{1b}'), "{chart}");
    assert!(
        chart.lines().all(|line| line.chars().count() <= 80),
        "{chart}"
    );
    assert!(
        chart.lines().any(|line| line.contains("85%")),
        "no day line with the peak:\n{chart}"
    );

    let svg_path = daemon.root().join("chart.svg");
    let svg_arg = svg_path.display().to_string();
    stdout(&daemon.cli_at_home(&["history", "--since", "5h", "--svg", &svg_arg]));
    let svg = std::fs::read_to_string(&svg_path).expect("the SVG was written");
    let document = roxmltree::Document::parse(&svg).expect("the SVG is XML");
    let texts: Vec<&str> = document
        .descendants()
        .filter_map(|node| node.text())
        .map(str::trim)
        .collect();
    for label in ["5-hour", "7-day", "forecast"] {
        assert!(texts.contains(&label), "{label} in {texts:?}");
    }
    let lines = document
        .descendants()
        .filter(|node| node.has_tag_name("polyline"))
        .count();
    assert!(lines >= 3, "both windows and the forecast: {svg}");

    daemon.signal("TERM");
    daemon.wait_exit(WAIT).expect("the daemon stops");
    let chart = stdout(&daemon.cli_at_home(&["history", "--since", "5h"]));
    assert!(chart.starts_with("default, last 5h to "), "{chart}");
    assert!(!chart.contains("at this pace"), "{chart}");
    assert!(
        chart.contains("the daemon did not answer: default thresholds, no forecast"),
        "{chart}"
    );
}

#[tokio::test]
async fn without_a_history_it_says_where_it_looked() {
    let (_api, daemon) = quiet_daemon();
    // A state directory no daemon ever ran with holds no history.
    let output = std::process::Command::new(claude_quota_e2e::daemon::bin("claude-quota"))
        .args(["history", "--socket"])
        .arg(daemon.socket())
        .env("XDG_STATE_HOME", daemon.root().join("nowhere"))
        .env("HOME", daemon.root().join("home"))
        .output()
        .expect("run claude-quota");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("there is no history at") && stderr.contains("nowhere"),
        "{stderr}"
    );
}

//! `claude-quota statusline`: Claude Code's statusLine command.
//!
//! Claude Code hands the command a JSON object on stdin; for subscribers it
//! carries `rate_limits` with the very numbers the usage endpoint would
//! give. Pushing them to the daemon spares the rate-limited endpoint. The
//! command must never break the status line: whatever happens it prints
//! one line and exits 0, quickly.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_quota::{Client, Status, Window};
use serde_json::Value;

use crate::style::{Palette, countdown};

/// The most the command waits on the daemon before printing what stdin
/// gave it; the daemon answers in microseconds when it is up.
const DAEMON_WAIT: Duration = Duration::from_millis(300);

/// The most of stdin that is read: Claude Code's statusLine JSON is a few
/// KiB.
const MAX_INPUT: u64 = 1024 * 1024;

/// The windows found in Claude Code's statusLine JSON.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Pushed {
    /// `rate_limits.five_hour`.
    pub five_hour: Option<Window>,
    /// `rate_limits.seven_day`.
    pub seven_day: Option<Window>,
}

/// Reads stdin (none when it is a terminal), pushes what it holds, and
/// returns the line to print.
pub async fn run(socket: &Path, prefix: Option<&str>, palette: Palette) -> String {
    let pushed = parse(&crate::stdin::read_bounded(MAX_INPUT));
    let read_at = Utc::now();
    let status = tokio::time::timeout(DAEMON_WAIT, exchange(socket, pushed, read_at))
        .await
        .ok()
        .flatten();
    let line = render(pushed, status.as_ref(), palette, Utc::now());
    match prefix {
        Some(prefix) => format!("{prefix}{line}"),
        None => line,
    }
}

/// Pushes the windows (Claude Code hands over only the 7-day one when no
/// session window is open) and fetches the status; `None` when the daemon
/// is not there or fails.
async fn exchange(socket: &Path, pushed: Pushed, read_at: DateTime<Utc>) -> Option<Status> {
    let mut client = Client::connect_to(socket)
        .await
        .ok()?
        .with_timeout(DAEMON_WAIT);
    if pushed.five_hour.is_some() || pushed.seven_day.is_some() {
        // A refused push (nonsense numbers) still leaves a status to show.
        let _ = client
            .ingest(pushed.five_hour, pushed.seven_day, read_at)
            .await;
    }
    client.status().await.ok()
}

/// Extracts the windows, tolerating any other shape: a field of the wrong
/// type is simply absent.
pub fn parse(input: &[u8]) -> Pushed {
    let Ok(json) = serde_json::from_slice::<Value>(input) else {
        return Pushed::default();
    };
    let limits = &json["rate_limits"];
    Pushed {
        five_hour: window(&limits["five_hour"]),
        seven_day: window(&limits["seven_day"]),
    }
}

fn window(value: &Value) -> Option<Window> {
    let utilization = value["used_percentage"].as_f64()?;
    let resets_at = value["resets_at"]
        .as_i64()
        .and_then(|secs| DateTime::from_timestamp(secs, 0));
    Some(Window::new(utilization, resets_at))
}

/// One short line: the tier from the daemon when it answered, else just
/// the numbers stdin gave.
pub fn render(
    pushed: Pushed,
    status: Option<&Status>,
    palette: Palette,
    now: DateTime<Utc>,
) -> String {
    let (five, seven) = match status {
        Some(s) if s.five_hour.is_some() => (s.five_hour, s.seven_day),
        _ => (pushed.five_hour, pushed.seven_day),
    };
    let mut parts = Vec::new();
    if let Some(status) = status {
        parts.push(palette.tier(status.tier));
    }
    if let Some(w) = five {
        parts.push(format!("5h {}", palette.percent(w.utilization)));
    }
    if let Some(w) = seven {
        parts.push(format!("7d {}", palette.percent(w.utilization)));
    }
    if let Some(at) = five.and_then(|w| w.resets_at) {
        parts.push(format!("resets in {}", countdown(at, now)));
    }
    if let Some((mark, at)) = status.and_then(|s| next_mark(s, now)) {
        parts.push(format!("{mark} in {}", countdown(at, now)));
    }
    if status.is_none() {
        parts.push("claude-quotad down".into());
    }
    if parts.is_empty() {
        parts.push("no usage data".into());
    }
    parts.join(" · ")
}

/// The forecast's next mark (RESTING, 100 %) when it falls before the
/// 5-hour window resets: worth a glance in the status line.
fn next_mark(status: &Status, now: DateTime<Utc>) -> Option<(&'static str, DateTime<Utc>)> {
    let forecast = status.forecast?;
    let reset = status.five_hour.and_then(|w| w.resets_at);
    crate::pace::marks(&forecast, reset).find(|(_, at)| *at > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_rate_limits_and_ignores_everything_else() {
        let input = br#"{"session_id":"x","model":{"id":"claude-opus"},"rate_limits":{
            "five_hour":{"used_percentage":23.5,"resets_at":1738425600},
            "seven_day":{"used_percentage":41.2,"resets_at":1738857600}},"other":[1,2]}"#;
        let pushed = parse(input);
        assert_eq!(pushed.five_hour.unwrap().utilization, 23.5);
        assert_eq!(
            pushed.five_hour.unwrap().resets_at.unwrap().timestamp(),
            1738425600
        );
        assert_eq!(pushed.seven_day.unwrap().utilization, 41.2);
    }

    #[test]
    fn anything_else_yields_no_windows() {
        for input in [
            &b""[..],
            b"garbage",
            br#"{"model":{}}"#,
            br#"{"rate_limits":null}"#,
            br#"{"rate_limits":{"five_hour":{"used_percentage":"high"}}}"#,
        ] {
            assert_eq!(parse(input), Pushed::default());
        }
    }

    #[test]
    fn without_a_daemon_the_line_shows_what_stdin_gave() {
        let now = DateTime::from_timestamp(1738425600 - 2 * 3600 - 13 * 60, 0).unwrap();
        let pushed = parse(br#"{"rate_limits":{"five_hour":{"used_percentage":23.5,"resets_at":1738425600},"seven_day":{"used_percentage":41.2}}}"#);
        assert_eq!(
            render(pushed, None, Palette::plain(), now),
            "5h 24% · 7d 41% · resets in 2h 13m · claude-quotad down"
        );
        assert_eq!(
            render(Pushed::default(), None, Palette::plain(), now),
            "claude-quotad down"
        );
    }

    #[test]
    fn the_forecast_shows_when_it_comes_before_the_reset() {
        let mut status = crate::history::fixture::status();
        let now = crate::history::fixture::now();
        assert_eq!(
            render(Pushed::default(), Some(&status), Palette::plain(), now),
            "BURST · 5h 25% · 7d 48% · resets in 4h 0m · RESTING in 2h 45m"
        );
        // A window that resets first says nothing of the pace.
        let soon = now + chrono::TimeDelta::hours(1);
        status.five_hour = Some(Window::new(25.0, Some(soon)));
        assert_eq!(
            render(Pushed::default(), Some(&status), Palette::plain(), now),
            "BURST · 5h 25% · 7d 48% · resets in 1h 0m"
        );
    }
}

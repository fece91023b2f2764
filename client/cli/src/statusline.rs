//! `claude-quota statusline`: Claude Code's statusLine command.
//!
//! Claude Code hands the command a JSON object on stdin; for subscribers it
//! carries `rate_limits` with the very numbers the usage endpoint would
//! give. Pushing them to the daemon spares the rate-limited endpoint.
//!
//! Each Claude Code session speaks for its own login: the push names the
//! account whose directory is the session's `CLAUDE_CONFIG_DIR` (unset:
//! the default login), and the line shows that account, named when the
//! daemon has several. A login that is no configured account pushes
//! nothing (its numbers belong to no account the daemon reads) and shows
//! what stdin gave. The command must never break the status line:
//! whatever happens it prints one line and exits 0, quickly.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_quota::{Client, Status, Window};
use serde_json::Value;

use crate::login::{self, Session};
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

/// What the daemon said to this session.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    /// Nothing: it is not there, or failed.
    Down,
    /// The session's login is no configured account.
    Stranger,
    /// The session's account, as its status describes it.
    Own(Box<Session>),
}

/// Reads stdin (none when it is a terminal), pushes what it holds for the
/// login of this process's `CLAUDE_CONFIG_DIR`, and returns the line to
/// print.
pub async fn run(socket: &Path, prefix: Option<&str>, palette: Palette) -> String {
    let pushed = parse(&crate::stdin::read_bounded(MAX_INPUT));
    let read_at = Utc::now();
    let dir = login::config_dir();
    let seen = tokio::time::timeout(
        DAEMON_WAIT,
        exchange(socket, pushed, read_at, dir.as_deref()),
    )
    .await
    .unwrap_or(Seen::Down);
    let line = render(pushed, &seen, palette, Utc::now());
    match prefix {
        Some(prefix) => format!("{prefix}{line}"),
        None => line,
    }
}

/// Finds the session's account (`dir` is its login), pushes the windows
/// to it (Claude Code hands over only the 7-day one when no session
/// window is open) and fetches its status after.
async fn exchange(
    socket: &Path,
    pushed: Pushed,
    read_at: DateTime<Utc>,
    dir: Option<&Path>,
) -> Seen {
    let Ok(client) = Client::connect_to(socket).await else {
        return Seen::Down;
    };
    let mut client = client.with_timeout(DAEMON_WAIT);
    let Ok(status) = client.status().await else {
        return Seen::Down;
    };
    let Some(session) = login::session(status, dir) else {
        return Seen::Stranger;
    };
    if pushed.five_hour.is_none() && pushed.seven_day.is_none() {
        return Seen::Own(Box::new(session));
    }
    client.set_account(session.account.clone());
    // A refused push (nonsense numbers) still leaves a status to show.
    let taken = client
        .ingest(pushed.five_hour, pushed.seven_day, read_at)
        .await
        .is_ok();
    let after = match taken {
        true => client.status().await.ok(),
        false => None,
    };
    let session = after
        .and_then(|status| login::session(status, dir))
        .unwrap_or(session);
    Seen::Own(Box::new(session))
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

/// One short line: the session's account (named when the daemon has
/// several) and its tier when the daemon answered, else just the numbers
/// stdin gave.
pub fn render(pushed: Pushed, seen: &Seen, palette: Palette, now: DateTime<Utc>) -> String {
    let mut parts = Vec::new();
    let status = match seen {
        Seen::Own(session) => {
            if let (true, Some(name)) = (session.several, &session.account) {
                parts.push(name.clone());
            }
            Some(&session.status)
        }
        Seen::Down | Seen::Stranger => None,
    };
    parts.extend(line(pushed, status, palette, now));
    match seen {
        Seen::Down => parts.push("claude-quotad down".into()),
        Seen::Stranger => parts.push("login not in claude-quotad's accounts".into()),
        Seen::Own(_) => {}
    }
    if parts.is_empty() {
        parts.push("no usage data".into());
    }
    parts.join(" · ")
}

/// The parts of the line for `status` (tier, windows, reset, the
/// forecast's next mark), or for the numbers stdin gave without one.
pub fn line(
    pushed: Pushed,
    status: Option<&Status>,
    palette: Palette,
    now: DateTime<Utc>,
) -> Vec<String> {
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
    parts
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
            render(pushed, &Seen::Down, Palette::plain(), now),
            "5h 24% · 7d 41% · resets in 2h 13m · claude-quotad down"
        );
        assert_eq!(
            render(Pushed::default(), &Seen::Down, Palette::plain(), now),
            "claude-quotad down"
        );
    }

    #[test]
    fn the_forecast_shows_when_it_comes_before_the_reset() {
        let mut status = crate::history::fixture::status();
        let now = crate::history::fixture::now();
        let own = |status: &Status| {
            Seen::Own(Box::new(Session {
                account: None,
                several: false,
                status: status.clone(),
            }))
        };
        assert_eq!(
            render(Pushed::default(), &own(&status), Palette::plain(), now),
            "BURST · 5h 25% · 7d 48% · resets in 4h 0m · RESTING in 2h 45m"
        );
        // A window that resets first says nothing of the pace.
        let soon = now + chrono::TimeDelta::hours(1);
        status.five_hour = Some(Window::new(25.0, Some(soon)));
        assert_eq!(
            render(Pushed::default(), &own(&status), Palette::plain(), now),
            "BURST · 5h 25% · 7d 48% · resets in 1h 0m"
        );
    }

    #[test]
    fn a_session_names_its_account_among_several_and_a_stranger_says_so() {
        let now = crate::history::fixture::now();
        let status = crate::history::fixture::status();
        let work = Seen::Own(Box::new(Session {
            account: Some("work".into()),
            several: true,
            status,
        }));
        assert_eq!(
            render(Pushed::default(), &work, Palette::plain(), now),
            "work · BURST · 5h 25% · 7d 48% · resets in 4h 0m · RESTING in 2h 45m"
        );
        let pushed = parse(br#"{"rate_limits":{"five_hour":{"used_percentage":23.5}}}"#);
        assert_eq!(
            render(pushed, &Seen::Stranger, Palette::plain(), now),
            "5h 24% · login not in claude-quotad's accounts"
        );
    }
}

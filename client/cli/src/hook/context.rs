//! The one line of context the hook adds to a conversation outside
//! `burst`: the tier and why, each window with its reset, and what
//! subagents run on, so the agent can plan its spending.

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota::{Status, SubagentModel, Window};

use crate::style::countdown;

/// The most of the daemon's reason that is quoted; reasons are a sentence.
const MAX_REASON: usize = 240;

/// The line for `status` at `now`; `subagents` is what subagents are moved
/// to in this tier (`keep`: they are not).
pub fn line(status: &Status, subagents: SubagentModel, now: DateTime<Utc>) -> String {
    let reason: String = status.reason.chars().take(MAX_REASON).collect();
    let mut parts = vec![format!(
        "claude-quota: the Claude subscription is in tier {} ({reason})",
        status.tier.as_str().to_uppercase()
    )];
    for (name, window) in [("5-hour", status.five_hour), ("7-day", status.seven_day)] {
        if let Some(window) = window {
            parts.push(window_text(name, window, now));
        }
    }
    if subagents != SubagentModel::Keep {
        parts.push(format!("subagents run on {subagents} or cheaper"));
    }
    let mut line = parts.join("; ");
    line.push('.');
    line
}

/// `5-hour window 63% used, resets 14:00 UTC (in 2h 13m)`.
fn window_text(name: &str, window: Window, now: DateTime<Utc>) -> String {
    let mut text = format!("{name} window {:.0}% used", window.utilization);
    if let Some(at) = window.resets_at {
        // Beyond a day the weekday tells which 14:00 it is.
        let format = if at - now < TimeDelta::days(1) {
            "%H:%M UTC"
        } else {
            "%a %H:%M UTC"
        };
        text.push_str(&format!(
            ", resets {} (in {})",
            at.format(format),
            countdown(at, now)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use claude_quota::Tier;

    use super::*;
    use crate::hook::status_fixture as status;

    #[test]
    fn one_line_with_the_tier_the_windows_and_their_resets() {
        let now: DateTime<Utc> = "2026-11-29T12:00:00Z".parse().unwrap();
        let five = Window::new(63.5, Some(now + TimeDelta::minutes(133)));
        let seven = Window::new(22.0, Some(now + TimeDelta::hours(76)));
        let status = status(
            Tier::Active,
            "5-hour window at 63.5% (50-80%)",
            Some(five),
            Some(seven),
        );
        assert_eq!(
            line(&status, SubagentModel::Sonnet, now),
            "claude-quota: the Claude subscription is in tier ACTIVE (5-hour window at 63.5% (50-80%)); \
             5-hour window 64% used, resets 14:13 UTC (in 2h 13m); \
             7-day window 22% used, resets Wed 16:00 UTC (in 3d 4h); \
             subagents run on sonnet or cheaper."
        );
    }

    #[test]
    fn without_a_reading_it_says_why_and_stays_short() {
        let now = Utc::now();
        let status = status(Tier::Unknown, &"x".repeat(20_000), None, None);
        let line = line(&status, SubagentModel::Keep, now);
        assert!(line.len() < 400, "{}", line.len());
        assert!(line.starts_with("claude-quota: the Claude subscription is in tier UNKNOWN (xxx"));
        assert!(!line.contains("subagents"));
    }
}

//! The one line of context the hook adds to a conversation: the tier and
//! why, each window with its reset, and what subagents run on, so the
//! agent can plan its spending. Outside `burst`, and once when the tier
//! comes back to `burst` after the session was told otherwise.

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota::{Status, SubagentModel, Tier, Window};

use super::subagent::Plan;
use crate::style::countdown;

/// The most of the daemon's reason that is quoted; reasons are a sentence.
const MAX_REASON: usize = 240;

/// The line for `status` at `now`, with what `plan` does to subagents.
/// Sentences, not nested parentheses: the daemon's reason has its own.
pub fn line(status: &Status, plan: &Plan, now: DateTime<Utc>) -> String {
    let reason: String = status.reason.chars().take(MAX_REASON).collect();
    let state = if status.tier == Tier::Burst {
        "is back in tier"
    } else {
        "is in tier"
    };
    let mut line = format!(
        "claude-quota: the Claude subscription {state} {}: {}.",
        status.tier.as_str().to_uppercase(),
        reason.trim_end_matches('.')
    );
    let windows: Vec<String> = [("5-hour", status.five_hour), ("7-day", status.seven_day)]
        .into_iter()
        .filter_map(|(name, window)| Some(window_text(name, window?, now)))
        .collect();
    if !windows.is_empty() {
        line.push_str(&format!(" {}.", windows.join("; ")));
    }
    line.push(' ');
    line.push_str(&subagents_text(plan));
    line
}

/// What subagents run on, as a sentence.
fn subagents_text(plan: &Plan) -> String {
    let spent: Vec<&str> = plan.spent.iter().map(|family| family.as_str()).collect();
    let caps = match spent.as_slice() {
        [] => String::new(),
        [one] => format!("; the weekly cap of {one} is spent"),
        more => format!("; the weekly caps of {} are spent", more.join(" and ")),
    };
    match plan.ceiling {
        SubagentModel::Keep if spent.is_empty() => {
            "Subagents run on the model they ask for.".into()
        }
        SubagentModel::Keep => {
            format!("Subagents run on the model they ask for, or cheaper{caps}.")
        }
        ceiling => format!("Subagents run on {ceiling} or cheaper{caps}."),
    }
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

    fn plan(ceiling: SubagentModel, spent: &[SubagentModel]) -> Plan {
        Plan {
            ceiling,
            spent: spent.to_vec(),
        }
    }

    #[test]
    fn sentences_with_the_tier_the_windows_and_their_resets() {
        let now: DateTime<Utc> = "2026-11-29T12:00:00Z".parse().unwrap();
        let five = Window::new(63.5, Some(now + TimeDelta::minutes(133)));
        let seven = Window::new(22.0, Some(now + TimeDelta::hours(76)));
        let status = status(
            Tier::Active,
            "5-hour window at 63.5% (from 50% to 80%)",
            Some(five),
            Some(seven),
        );
        let line = line(&status, &plan(SubagentModel::Sonnet, &[]), now);
        assert_eq!(
            line,
            "claude-quota: the Claude subscription is in tier ACTIVE: 5-hour window at 63.5% (from 50% to 80%). \
             5-hour window 64% used, resets 14:13 UTC (in 2h 13m); \
             7-day window 22% used, resets Wed 16:00 UTC (in 3d 4h). \
             Subagents run on sonnet or cheaper."
        );
        assert!(!line.contains("))"), "no nested parentheses: {line}");
    }

    #[test]
    fn without_a_reading_it_says_why_and_stays_short() {
        let now = Utc::now();
        let status = status(Tier::Unknown, &"x".repeat(20_000), None, None);
        let line = line(&status, &plan(SubagentModel::Haiku, &[]), now);
        assert!(line.len() < 400, "{}", line.len());
        assert!(line.starts_with("claude-quota: the Claude subscription is in tier UNKNOWN: xxx"));
        assert!(
            line.ends_with("x. Subagents run on haiku or cheaper."),
            "{line}"
        );
    }

    #[test]
    fn back_in_burst_subagents_keep_their_model_and_spent_caps_are_named() {
        let now = Utc::now();
        let status = status(
            Tier::Burst,
            "5-hour window at 10.0% (below 50%)",
            None,
            None,
        );
        assert_eq!(
            line(&status, &plan(SubagentModel::Keep, &[]), now),
            "claude-quota: the Claude subscription is back in tier BURST: 5-hour window at 10.0% (below 50%). \
             Subagents run on the model they ask for."
        );
        assert!(
            line(&status, &plan(SubagentModel::Keep, &[SubagentModel::Opus]), now)
                .ends_with("Subagents run on the model they ask for, or cheaper; the weekly cap of opus is spent.")
        );
        let spent = [SubagentModel::Sonnet, SubagentModel::Opus];
        assert!(
            line(&status, &plan(SubagentModel::Haiku, &spent), now).ends_with(
                "Subagents run on haiku or cheaper; the weekly caps of sonnet and opus are spent."
            )
        );
    }
}

//! The daemon's values in the Prometheus text format: one renderer, for
//! the socket's `metrics` request (`claude-quota metrics`) and for the
//! `[metrics] listen` endpoint alike, so both always say the same.
//! [`families`] decides what is shown, [`text`] writes it, [`endpoint`]
//! serves it over HTTP.

mod endpoint;
mod families;
mod text;

use chrono::{DateTime, Utc};
use claude_quota_proto::Status;

use crate::state::FaultCounts;

pub use endpoint::{Render, bind, serve};

/// The metrics of `status`, with the faults counted since start, as of
/// `now`, in the Prometheus text format.
pub fn render(status: &Status, faults: &FaultCounts, now: DateTime<Utc>) -> String {
    text::encode(families::families(status, faults, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_quota_proto::LastErrorKind;
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// A status as a daemon in burst sends it, with a forecast and a
    /// history, at 12:00 UTC.
    fn status() -> Status {
        serde_json::from_value(json!({
            "tier": "burst", "reason": "r",
            "five_hour": {"utilization": 42.5, "resets_at": "2026-03-01T14:30:00Z"},
            "seven_day": {"utilization": 20, "resets_at": null},
            "seven_day_opus": null, "seven_day_sonnet": null,
            "weekly_scoped": [{"model": "Sonnet", "utilization": 3, "resets_at": "2026-03-04T12:00:00Z", "severity": null}],
            "as_of": "2026-03-01T11:59:48Z", "source": "api", "age_s": 12, "stale": false,
            "credentials": "file", "last_error": null, "next_poll_at": null, "api_calls": 7,
            "daemon": {"version": "0.1.0", "pid": 1, "uptime_s": 60},
            "forecast": {"five_hour_pct_per_hour": 20, "resting_at": "2026-03-01T13:52:30Z",
                         "exhausted_at": null, "confidence": "medium"},
            "history": {"rows": 1234, "oldest": null, "last_error": null}
        }))
        .unwrap()
    }

    #[test]
    fn every_value_is_shown_with_its_labels() {
        let mut faults = FaultCounts::default();
        faults.count(LastErrorKind::RateLimited);
        faults.count(LastErrorKind::RateLimited);
        let text = render(&status(), &faults, at("2026-03-01T12:00:00Z"));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn names_from_outside_stay_inside_their_label() {
        let mut status = status();
        status.weekly_scoped[0].model = "Opus\"} 99\nclaude_quota_tier 1".into();
        status.accounts = vec![
            serde_json::from_value(json!({
                "name": "work\"\n", "claude_config_dir": "/x", "priority": 1,
                "tier": "resting", "reason": "r",
                "five_hour": {"utilization": 90, "resets_at": null}, "seven_day": null,
                "extra_usage": null, "as_of": "2026-03-01T11:00:00Z", "stale": false,
                "credentials": "file", "last_error": null, "next_poll_at": null
            }))
            .unwrap(),
        ];
        let text = render(&status, &FaultCounts::default(), at("2026-03-01T12:00:00Z"));
        assert!(
            text.contains(
                r#"claude_quota_utilization_percent{account="work\"\n",window="five_hour"} 90.0"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"claude_quota_reading_age_seconds{account="work\"\n"} 3600.0"#),
            "{text}"
        );
        let samples = text.lines().filter(|line| !line.starts_with('#'));
        assert!(
            samples
                .clone()
                .all(|line| line.starts_with("claude_quota_")),
            "{text}"
        );
        assert_eq!(
            samples
                .filter(|line| line.starts_with("claude_quota_tier{"))
                .count(),
            4
        );
    }
}

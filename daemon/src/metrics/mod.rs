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

use crate::state::State;

pub use endpoint::{Render, bind, serve};

/// The metrics of `status`, with each account's counters read off
/// `state`, as of `now`, in the Prometheus text format.
pub fn render(status: &Status, state: &State, now: DateTime<Utc>) -> String {
    text::encode(families::families(status, state, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{AccountState, Snapshot};
    use claude_quota_credentials::Account;
    use claude_quota_proto::LastErrorKind;
    use serde_json::json;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// One `status.accounts` entry named `name`, as of 11:00 UTC.
    fn account(name: &str, five_hour: f64) -> serde_json::Value {
        json!({
            "name": name, "claude_config_dir": null, "priority": 1,
            "tier": "burst", "reason": "r",
            "five_hour": {"utilization": five_hour, "resets_at": "2026-03-01T14:30:00Z"},
            "seven_day": {"utilization": 20, "resets_at": null},
            "weekly_scoped": [{"model": "Sonnet", "utilization": 3, "resets_at": "2026-03-04T12:00:00Z", "severity": null}],
            "extra_usage": null, "as_of": "2026-03-01T11:59:48Z", "stale": false,
            "credentials": "file", "last_error": null, "next_poll_at": null, "api_calls": 7,
            "forecast": {"five_hour_pct_per_hour": 20, "resting_at": "2026-03-01T13:52:30Z",
                         "exhausted_at": null, "confidence": "medium"}
        })
    }

    /// A status as a daemon in burst sends it for `accounts`, with a
    /// history.
    fn status(accounts: Vec<serde_json::Value>) -> Status {
        serde_json::from_value(json!({
            "tier": "burst", "reason": "r",
            "five_hour": null, "seven_day": null,
            "seven_day_opus": null, "seven_day_sonnet": null,
            "as_of": null, "source": "api", "age_s": 12, "stale": false,
            "credentials": "file", "last_error": null, "next_poll_at": null, "api_calls": 7,
            "daemon": {"version": "0.1.0", "pid": 1, "uptime_s": 60},
            "history": {"rows": 1234, "oldest": null, "last_error": null},
            "accounts": accounts
        }))
        .unwrap()
    }

    /// The daemon's state holding `name`, with two rate limits and a
    /// network fault counted.
    fn state(name: &str) -> State {
        let mut snapshot = Snapshot::default();
        snapshot.faults.count(LastErrorKind::RateLimited);
        snapshot.faults.count(LastErrorKind::RateLimited);
        snapshot.faults.count(LastErrorKind::Network);
        State {
            accounts: vec![AccountState {
                account: Account {
                    name: name.into(),
                    ..Account::implicit()
                },
                snapshot,
            }],
        }
    }

    #[test]
    fn every_value_is_shown_with_its_labels() {
        let status = status(vec![account("default", 42.5)]);
        let text = render(&status, &state("default"), at("2026-03-01T12:00:00Z"));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn every_account_has_its_own_samples() {
        let status = status(vec![account("work", 90.0), account("home", 10.0)]);
        let text = render(&status, &state("work"), at("2026-03-01T12:00:00Z"));
        for sample in [
            r#"claude_quota_utilization_percent{account="work",window="five_hour"} 90.0"#,
            r#"claude_quota_utilization_percent{account="home",window="five_hour"} 10.0"#,
            r#"claude_quota_forecast_burn_rate_percent_per_hour{account="home"} 20.0"#,
            r#"claude_quota_api_calls_total{account="home"} 7"#,
            r#"claude_quota_errors_total{account="work",kind="rate_limited"} 2"#,
            r#"claude_quota_errors_total{account="home",kind="rate_limited"} 0"#,
        ] {
            assert!(text.contains(sample), "{sample} missing from:\n{text}");
        }
    }

    #[test]
    fn names_from_outside_stay_inside_their_label() {
        let mut work = account("work\"\n", 90.0);
        work["weekly_scoped"][0]["model"] = json!("Opus\"} 99\nclaude_quota_tier 1");
        let status = status(vec![work]);
        let text = render(&status, &State::default(), at("2026-03-01T12:00:00Z"));
        assert!(
            text.contains(
                r#"claude_quota_utilization_percent{account="work\"\n",window="five_hour"} 90.0"#
            ),
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

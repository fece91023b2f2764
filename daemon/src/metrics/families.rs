//! What the metrics show: the daemon's status as metric families (a name,
//! a help text, a type and labelled samples), in a fixed order, before any
//! encoding. Every value is read off the same [`Status`] the socket
//! answers, so a dashboard never disagrees with `claude-quota status`.

use chrono::{DateTime, Utc};
use claude_quota_proto::{AccountStatus, LastErrorKind, ScopedCap, Status, Tier, Window};

use crate::state::FaultCounts;

/// The account label while no `[[accounts]]` are configured: the one
/// account the daemon then watches, Claude Code's default login.
pub const DEFAULT_ACCOUNT: &str = "default";

/// Whether a family's value only grows (a counter) or goes up and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Goes up and down.
    Gauge,
    /// Only grows while the daemon runs; Prometheus sees a restart as a reset.
    Counter,
}

/// One metric family: every sample of one name.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The name after the `claude_quota_` prefix (a counter's without `_total`).
    pub name: &'static str,
    /// What it means, for `# HELP`.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: Kind,
    /// The samples, each with its labels.
    pub samples: Vec<Sample>,
}

/// One labelled value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Label names and values, in order.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

/// One account's windows and tier as the metrics read them: the top-level
/// status while no accounts are configured, else each `accounts` entry.
struct Account<'a> {
    name: &'a str,
    tier: Tier,
    five_hour: Option<&'a Window>,
    seven_day: Option<&'a Window>,
    weekly_scoped: &'a [ScopedCap],
    /// Seconds since its reading was taken.
    age_s: Option<f64>,
    stale: bool,
}

impl<'a> Account<'a> {
    fn of(account: &'a AccountStatus, now: DateTime<Utc>) -> Self {
        Account {
            name: &account.name,
            tier: account.tier,
            five_hour: account.five_hour.as_ref(),
            seven_day: account.seven_day.as_ref(),
            weekly_scoped: &account.weekly_scoped,
            age_s: account.as_of.map(|as_of| seconds_until(now, as_of)),
            stale: account.stale,
        }
    }

    fn top_level(status: &'a Status) -> Self {
        Account {
            name: DEFAULT_ACCOUNT,
            tier: status.tier,
            five_hour: status.five_hour.as_ref(),
            seven_day: status.seven_day.as_ref(),
            weekly_scoped: &status.weekly_scoped,
            // Aged on the daemon's monotonic clock, not from `as_of`.
            age_s: status.age_s.map(|age| age as f64),
            stale: status.stale,
        }
    }

    /// Every window of the account by its label: `five_hour`,
    /// `seven_day`, then each per-model cap as `seven_day_<model>`.
    fn windows(&self) -> Vec<(String, f64, Option<DateTime<Utc>>)> {
        let plain = [("five_hour", self.five_hour), ("seven_day", self.seven_day)]
            .into_iter()
            .filter_map(|(name, window)| {
                window.map(|w| (name.to_owned(), w.utilization, w.resets_at))
            });
        let caps = self.weekly_scoped.iter().map(|cap| {
            (
                format!("seven_day_{}", label_word(&cap.model)),
                cap.utilization,
                cap.resets_at,
            )
        });
        plain.chain(caps).collect()
    }

    fn label(&self) -> Vec<(&'static str, String)> {
        vec![("account", self.name.to_owned())]
    }

    fn label_with(&self, key: &'static str, value: &str) -> Vec<(&'static str, String)> {
        vec![("account", self.name.to_owned()), (key, value.to_owned())]
    }
}

/// A model name as a label word: lowercase ASCII letters, digits and
/// underscores (`Sonnet` → `sonnet`), whatever the usage API sent.
fn label_word(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Seconds from `now` until `at`, never negative.
fn seconds_until(at: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
    ((at - now).num_milliseconds().max(0) as f64) / 1000.0
}

/// The metric families of `status` (and the faults counted since start)
/// as of `now`.
pub fn families(status: &Status, faults: &FaultCounts, now: DateTime<Utc>) -> Vec<Family> {
    let accounts: Vec<Account> = if status.accounts.is_empty() {
        vec![Account::top_level(status)]
    } else {
        let of = |account| Account::of(account, now);
        status.accounts.iter().map(of).collect()
    };
    let mut utilization = Vec::new();
    let mut resets = Vec::new();
    for account in &accounts {
        for (window, percent, resets_at) in account.windows() {
            utilization.push(Sample {
                labels: account.label_with("window", &window),
                value: percent,
            });
            if let Some(at) = resets_at {
                resets.push(Sample {
                    labels: account.label_with("window", &window),
                    value: seconds_until(at, now),
                });
            }
        }
    }
    let tiers = accounts
        .iter()
        .flat_map(|account| {
            Tier::ALL.map(|tier| Sample {
                labels: account.label_with("tier", tier.as_str()),
                value: f64::from(u8::from(account.tier == tier)),
            })
        })
        .collect();
    let ages = accounts
        .iter()
        .filter_map(|account| {
            Some(Sample {
                labels: account.label(),
                value: account.age_s?,
            })
        })
        .collect();
    let stale = accounts
        .iter()
        .map(|account| Sample {
            labels: account.label(),
            value: f64::from(u8::from(account.stale)),
        })
        .collect();
    let mut families = vec![
        gauge(
            "utilization_percent",
            "Utilization of a usage window in percent (0-100; above 100 when overspent)",
            utilization,
        ),
        gauge(
            "tier",
            "The account's tier: 1 for the tier it is in, 0 for the others",
            tiers,
        ),
        gauge(
            "seconds_until_reset",
            "Seconds until the usage window resets",
            resets,
        ),
    ];
    families.extend(forecast(status, now));
    families.extend([
        gauge(
            "reading_age_seconds",
            "Seconds since the reading in use was taken",
            ages,
        ),
        gauge(
            "reading_stale",
            "1 when the reading is older than stale_after (or missing) and answers stay local",
            stale,
        ),
        Family {
            name: "api_calls",
            help: "Requests made to the usage API since the daemon started",
            kind: Kind::Counter,
            samples: vec![unlabelled(status.api_calls as f64)],
        },
        Family {
            name: "errors",
            help: "Faults recorded since the daemon started, by kind",
            kind: Kind::Counter,
            samples: LastErrorKind::ALL
                .map(|kind| Sample {
                    labels: vec![("kind", kind.as_str().to_owned())],
                    value: faults.of(kind) as f64,
                })
                .into(),
        },
    ]);
    if let Some(history) = &status.history {
        families.push(gauge(
            "history_rows",
            "Rows kept in the history database",
            vec![unlabelled(history.rows as f64)],
        ));
    }
    families
}

/// The forecast's families, labelled with the account the top-level
/// status describes; none while there is no forecast.
fn forecast(status: &Status, now: DateTime<Utc>) -> Vec<Family> {
    let Some(forecast) = status.forecast else {
        return Vec::new();
    };
    let account = || vec![("account", DEFAULT_ACCOUNT.to_owned())];
    let until = |at: Option<DateTime<Utc>>| {
        at.map(|at| Sample {
            labels: account(),
            value: seconds_until(at, now),
        })
        .into_iter()
        .collect()
    };
    vec![
        gauge(
            "forecast_burn_rate_percent_per_hour",
            "The 5-hour window's burn rate in percent per hour",
            vec![Sample {
                labels: account(),
                value: forecast.five_hour_pct_per_hour,
            }],
        ),
        gauge(
            "forecast_seconds_until_resting",
            "Seconds until the 5-hour window crosses the resting threshold at this pace",
            until(forecast.resting_at),
        ),
        gauge(
            "forecast_seconds_until_full",
            "Seconds until the 5-hour window reaches 100 % at this pace",
            until(forecast.exhausted_at),
        ),
    ]
}

fn gauge(name: &'static str, help: &'static str, samples: Vec<Sample>) -> Family {
    Family {
        name,
        help,
        kind: Kind::Gauge,
        samples,
    }
}

fn unlabelled(value: f64) -> Sample {
    Sample {
        labels: Vec::new(),
        value,
    }
}

//! What the metrics show: the daemon's status as metric families (a name,
//! a help text, a type and labelled samples), in a fixed order, before any
//! encoding. Every value is read off the same [`Status`] the socket
//! answers, so a dashboard never disagrees with `claude-quota status`.

use chrono::{DateTime, Utc};
use claude_quota_proto::{AccountStatus, Forecast, LastErrorKind, ScopedCap, Status, Tier, Window};

use crate::state::{FaultCounts, State};

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

/// One account's values as the metrics read them: its `status.accounts`
/// entry, and the counters only the daemon's state holds.
struct Account<'a> {
    name: &'a str,
    tier: Tier,
    five_hour: Option<&'a Window>,
    seven_day: Option<&'a Window>,
    weekly_scoped: &'a [ScopedCap],
    forecast: Option<Forecast>,
    /// Seconds since its reading was taken.
    age_s: Option<f64>,
    stale: bool,
    api_calls: u64,
    faults: FaultCounts,
}

impl<'a> Account<'a> {
    fn of(account: &'a AccountStatus, state: &State, now: DateTime<Utc>) -> Self {
        let faults = state
            .get(&account.name)
            .map(|held| held.snapshot.faults)
            .unwrap_or_default();
        Account {
            name: &account.name,
            tier: account.tier,
            five_hour: account.five_hour.as_ref(),
            seven_day: account.seven_day.as_ref(),
            weekly_scoped: &account.weekly_scoped,
            forecast: account.forecast,
            age_s: account.as_of.map(|as_of| seconds_until(now, as_of)),
            stale: account.stale,
            api_calls: account.api_calls,
            faults,
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

    fn sample(&self, value: f64) -> Sample {
        Sample {
            labels: self.label(),
            value,
        }
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

/// The metric families of `status`, each account's counters read off
/// `state`, as of `now`.
pub fn families(status: &Status, state: &State, now: DateTime<Utc>) -> Vec<Family> {
    let accounts: Vec<Account> = status
        .accounts
        .iter()
        .map(|account| Account::of(account, state, now))
        .collect();
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
    let each = |value: &dyn Fn(&Account) -> Option<f64>| -> Vec<Sample> {
        accounts
            .iter()
            .filter_map(|account| Some(account.sample(value(account)?)))
            .collect()
    };
    let tiers = accounts
        .iter()
        .flat_map(|account| {
            Tier::ALL.map(|tier| Sample {
                labels: account.label_with("tier", tier.as_str()),
                value: f64::from(u8::from(account.tier == tier)),
            })
        })
        .collect();
    let errors = accounts
        .iter()
        .flat_map(|account| {
            LastErrorKind::ALL.map(|kind| Sample {
                labels: account.label_with("kind", kind.as_str()),
                value: account.faults.of(kind) as f64,
            })
        })
        .collect();
    let until = |at: fn(&Forecast) -> Option<DateTime<Utc>>| {
        each(&|account| Some(seconds_until(at(&account.forecast?)?, now)))
    };
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
        gauge(
            "forecast_burn_rate_percent_per_hour",
            "The 5-hour window's burn rate in percent per hour",
            each(&|account| Some(account.forecast?.five_hour_pct_per_hour)),
        ),
        gauge(
            "forecast_seconds_until_resting",
            "Seconds until the 5-hour window crosses the resting threshold at this pace",
            until(|forecast| forecast.resting_at),
        ),
        gauge(
            "forecast_seconds_until_full",
            "Seconds until the 5-hour window reaches 100 % at this pace",
            until(|forecast| forecast.exhausted_at),
        ),
        gauge(
            "reading_age_seconds",
            "Seconds since the reading in use was taken",
            each(&|account| account.age_s),
        ),
        gauge(
            "reading_stale",
            "1 when the reading is older than stale_after (or missing) and answers stay local",
            each(&|account| Some(f64::from(u8::from(account.stale)))),
        ),
        Family {
            name: "api_calls",
            help: "Requests made to the usage API since the daemon started",
            kind: Kind::Counter,
            samples: each(&|account| Some(account.api_calls as f64)),
        },
        Family {
            name: "errors",
            help: "Faults recorded since the daemon started, by kind",
            kind: Kind::Counter,
            samples: errors,
        },
    ];
    if let Some(history) = &status.history {
        families.push(gauge(
            "history_rows",
            "Rows kept in the history database",
            vec![Sample {
                labels: Vec::new(),
                value: history.rows as f64,
            }],
        ));
    }
    // A family without samples says nothing; leave it out.
    families.retain(|family| !family.samples.is_empty());
    families
}

fn gauge(name: &'static str, help: &'static str, samples: Vec<Sample>) -> Family {
    Family {
        name,
        help,
        kind: Kind::Gauge,
        samples,
    }
}

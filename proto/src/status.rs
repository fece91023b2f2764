//! The `status` reply: the daemon's whole state as one snapshot, per
//! account and for the account a `high` task goes to now. Everything a
//! person or a router may want to see, and never the token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::{
    Confidence, CredentialSource, ExtraUsage, LastError, Polling, ReadingSource, ReplyShape,
    ScopedCap, Tier, Window,
};

/// Who is answering, so clients can report a version mismatch or a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DaemonInfo {
    /// The daemon's crate version.
    pub version: String,
    /// Its process id.
    pub pid: u32,
    /// Seconds since it started.
    pub uptime_s: u64,
}

/// Where the 5-hour window is heading at the current pace.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Forecast {
    /// Burn rate of the 5-hour window in percent per hour.
    pub five_hour_pct_per_hour: f64,
    /// When, at this pace, the window crosses the resting threshold.
    pub resting_at: Option<DateTime<Utc>>,
    /// When, at this pace, the window reaches 100 %.
    pub exhausted_at: Option<DateTime<Utc>>,
    /// How far to trust it, from the span and scatter of the readings it
    /// fits (absent from older daemons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
}

/// What the local Ollama server reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LocalInfo {
    /// The Ollama base URL the daemon asks.
    pub url: String,
    /// Whether it answered its last query.
    pub up: bool,
    /// The model tags it reports as pulled.
    pub models: Vec<String>,
}

/// The full state of the daemon as one snapshot: everything a person or a
/// router may want to see, and never the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Status {
    /// The current tier.
    pub tier: Tier,
    /// Why the tier is what it is, in words.
    pub reason: String,
    /// The 5-hour window of the current reading.
    pub five_hour: Option<Window>,
    /// The 7-day window of the current reading.
    pub seven_day: Option<Window>,
    /// The 7-day Opus window, when the plan has one.
    pub seven_day_opus: Option<Window>,
    /// The 7-day Sonnet window, when the plan has one.
    pub seven_day_sonnet: Option<Window>,
    /// Every per-model weekly cap of the current reading, from either
    /// form of the usage reply.
    #[serde(default)]
    pub weekly_scoped: Vec<ScopedCap>,
    /// The cloud model's own weekly cap when it is above
    /// `weekly_resting_above` and so keeps every task local whatever the
    /// tier; `None` while the cloud is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_capped_by: Option<ScopedCap>,
    /// When the current reading was taken.
    pub as_of: Option<DateTime<Utc>>,
    /// Where the current reading came from.
    pub source: Option<ReadingSource>,
    /// Age of the current reading in seconds.
    pub age_s: Option<u64>,
    /// Whether the reading is older than `stale_after` (or missing).
    pub stale: bool,
    /// When `claude-quota statusline` last pushed a reading, so a user can
    /// tell whether the API is being spared.
    #[serde(default)]
    pub last_push_at: Option<DateTime<Utc>>,
    /// Which credential source is in use.
    pub credentials: CredentialSource,
    /// The plan of the credentials in use (`pro`, `max`…), when stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_type: Option<String>,
    /// When the token in use expires, when stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<DateTime<Utc>>,
    /// The sources whose tokens the usage API refused for want of the
    /// `user:profile` scope (an inference-only `CLAUDE_CODE_OAUTH_TOKEN`),
    /// also when another source stood in, so a user learns to unset it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lacking_scope: Vec<CredentialSource>,
    /// The most recent fault, cleared by the next good reading.
    pub last_error: Option<LastError>,
    /// The form of the last good usage reply, until one arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reply_shape: Option<ReplyShape>,
    /// The parts of the last usage reply that could not be read and were
    /// dropped (a field, or one `limits[]` entry), each with why; the rest
    /// of the reply was used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_reply_dropped: Vec<String>,
    /// Extra usage (money beyond the windows), when the reading carries it.
    #[serde(default)]
    pub extra_usage: Option<ExtraUsage>,
    /// The window the rate limiter names as binding (`five_hour`,
    /// `seven_day`, `seven_day_overage_included`…), from response headers.
    #[serde(default)]
    pub representative_claim: Option<String>,
    /// When the daemon will next ask the usage API.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Requests made to the usage API since the daemon started.
    pub api_calls: u64,
    /// How the usage API is being polled now (absent from older daemons).
    #[serde(default)]
    pub polling: Option<Polling>,
    /// Who is answering.
    pub daemon: DaemonInfo,
    /// Where the 5-hour window is heading, when enough readings exist.
    #[serde(default)]
    pub forecast: Option<Forecast>,
    /// What the local Ollama server reports, when it is watched.
    #[serde(default)]
    pub local: Option<LocalInfo>,
    /// Every configured account (one, `default`, when none is
    /// configured); the fields above describe the account a `high` task
    /// goes to now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountStatus>,
    /// The history database, when it is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryInfo>,
    /// The thresholds the tiers begin at (`[thresholds]`), for views that
    /// draw them (absent from older daemons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
}

/// Where the tiers begin, in percent of a window (`[thresholds]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Thresholds {
    /// 5-hour utilization below which the tier is `burst`.
    pub burst_below: f64,
    /// 5-hour utilization above which the tier is `resting`.
    pub resting_above: f64,
    /// 7-day utilization above which the tier is `resting`.
    pub weekly_resting_above: f64,
}

impl Default for Thresholds {
    /// The contract's defaults: burst below 50 %, resting above 80 %.
    fn default() -> Self {
        Thresholds {
            burst_below: 50.0,
            resting_above: 80.0,
            weekly_resting_above: 80.0,
        }
    }
}

/// One configured account (`[[accounts]]`): a Claude Code login, known by
/// its `CLAUDE_CONFIG_DIR`, with its own reading, tier and faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AccountStatus {
    /// The account's name in the config (`default` when none is configured).
    pub name: String,
    /// The login's `CLAUDE_CONFIG_DIR`; `None` for Claude Code's default login.
    pub claude_config_dir: Option<String>,
    /// Lower is preferred.
    pub priority: i64,
    /// The account's tier.
    pub tier: Tier,
    /// Why, in words.
    pub reason: String,
    /// The 5-hour window as it counts now.
    pub five_hour: Option<Window>,
    /// The 7-day window as it counts now.
    pub seven_day: Option<Window>,
    /// The per-model weekly caps.
    #[serde(default)]
    pub weekly_scoped: Vec<ScopedCap>,
    /// Extra usage, when the reading carries it.
    pub extra_usage: Option<ExtraUsage>,
    /// When its reading was taken.
    pub as_of: Option<DateTime<Utc>>,
    /// Whether its reading is stale (or missing).
    pub stale: bool,
    /// Which credential source yields its token.
    pub credentials: CredentialSource,
    /// Its most recent fault.
    pub last_error: Option<LastError>,
    /// When its usage is next asked for.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Where its 5-hour window is heading, when enough readings exist
    /// (absent from older daemons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<Forecast>,
    /// Requests made to the usage API for it since the daemon started
    /// (absent from older daemons).
    #[serde(default)]
    pub api_calls: u64,
}

/// The history database (`[history]`): how much it holds and whether
/// writing to it fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HistoryInfo {
    /// Rows kept.
    pub rows: u64,
    /// When the oldest row kept was taken.
    pub oldest: Option<DateTime<Utc>>,
    /// The last failure to write or open it (a full disk, a locked or
    /// corrupt file), until a write succeeds.
    pub last_error: Option<String>,
}

//! The vocabulary of the protocol: tiers, task classes and the status
//! snapshot. Every enum serializes to the lowercase strings of the contract
//! so that scripts and non-Rust clients can match on them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The metabolic tier: how freely the subscription may be spent right now.
///
/// `Unknown` is a first-class tier rather than an error because "we do not
/// know" must steer routers to local models, never to a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// 5-hour window below the burst threshold: valuable work may use the cloud.
    Burst,
    /// 5-hour window between the thresholds: keep the cloud for later.
    Active,
    /// A window above its resting threshold: small local models only.
    Resting,
    /// No credentials, no reading yet, or a stale reading.
    Unknown,
}

/// How much a task is worth, as judged by the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum TaskValue {
    /// Worth the cloud whenever the tier allows.
    Critical,
    /// Worth the cloud whenever the tier allows.
    High,
    /// Stays local in every tier under the default policy.
    Medium,
    /// Stays local in every tier under the default policy.
    Low,
    /// Never goes to the cloud, under any tier or configuration.
    Routine,
}

/// How hard a task is, which decides how large a model it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum TaskComplexity {
    /// Needs the strongest model the tier allows.
    High,
    /// Served by the large local model.
    Medium,
    /// Served by the large local model, or the small one when resting.
    Low,
}

/// Where a selected model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Anthropic's API, spending the subscription.
    Anthropic,
    /// A local Ollama server, spending nothing.
    Ollama,
}

/// Which credential source yielded the token in use, so a user can tell
/// which of their several Claude Code logins the daemon is reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CredentialSource {
    /// `CLAUDE_CODE_OAUTH_TOKEN`.
    Env,
    /// The macOS Keychain, read through the keyring API.
    Keychain,
    /// The macOS Keychain, read through `/usr/bin/security`.
    SecurityCli,
    /// The Linux Secret Service.
    SecretService,
    /// `$CLAUDE_CONFIG_DIR/.credentials.json`.
    File,
    /// No source yielded a token.
    None,
}

/// Where the current reading came from, so users can see whether the
/// daemon is spending API calls or riding on Claude Code's own numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReadingSource {
    /// Polled from the usage endpoint.
    Api,
    /// Pushed by `claude-quota statusline` from Claude Code's status line.
    Statusline,
    /// Pushed by a router from the `anthropic-ratelimit-unified-*` headers
    /// of a Messages API response it received (`ingest_headers`).
    Headers,
    /// Restored from the state file at start.
    Persisted,
}

/// How the daemon spends API calls right now, so a user can see why the
/// reading is as old as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Polling {
    /// Someone asks, subscribes or pushes: the API is polled every `poll_interval`.
    Active,
    /// Nobody asked for `idle_after`: the API is polled every
    /// `idle_poll_interval`, and the next question polls at once.
    Idle,
    /// A pushed reading is fresher than `poll_interval`: no polls at all.
    Pushed,
}

/// One usage window as the usage endpoint reports it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Window {
    /// Percent of the window used, 0-100 (may exceed 100 when overspent:
    /// shown as sent, counted as 100 by the policy).
    pub utilization: f64,
    /// When the window rolls over, if known.
    pub resets_at: Option<DateTime<Utc>>,
    /// What the rate limiter itself says of the window, when the reading
    /// came from response headers: `rejected` means the window is at its
    /// limit whatever the utilization says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<WindowStatus>,
    /// Which form of the usage reply the window was taken from, when both
    /// forms carried it (they may disagree; the higher counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<ReplyPart>,
}

impl Window {
    /// A window of `utilization` percent resetting at `resets_at`, with
    /// nothing else known of it.
    pub const fn new(utilization: f64, resets_at: Option<DateTime<Utc>>) -> Self {
        Window {
            utilization,
            resets_at,
            status: None,
            from: None,
        }
    }
}

/// The rate limiter's verdict on one window, as the
/// `anthropic-ratelimit-unified-*-status` headers give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum WindowStatus {
    /// Requests are allowed.
    Allowed,
    /// Requests are allowed, but the window is close to its limit.
    AllowedWarning,
    /// The window is at its limit: requests are refused.
    Rejected,
}

/// The part of the usage reply a window was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReplyPart {
    /// The flat keys (`five_hour`, `seven_day`, `seven_day_<family>`).
    Flat,
    /// The `limits` array.
    Limits,
}

/// Money beyond the subscription's windows: Claude's "extra usage" credits
/// (`extra_usage` in the usage reply), or the spend limit of newer and
/// Team/Enterprise accounts (`spend`), or what the overage headers say.
/// Amounts are in major units (`2.44` EUR), converted from the reply's
/// minor units by its exponent or decimal places.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExtraUsage {
    /// Whether extra usage may be spent now.
    pub enabled: bool,
    /// Percent of the limit spent, when known (may exceed 100).
    pub utilization: Option<f64>,
    /// Money spent this period, in major units of `currency`.
    pub used: Option<f64>,
    /// The period's limit, in major units of `currency`.
    pub limit: Option<f64>,
    /// ISO 4217 code (`USD`, `EUR`), when given.
    pub currency: Option<String>,
    /// Why extra usage cannot be spent (`out_of_credits`,
    /// `org_level_disabled`, `org_spend_cap_reached`, …), when it cannot.
    pub disabled_reason: Option<String>,
}

/// A per-model weekly cap (Sonnet, Opus, …): the plan limits some model
/// families on their own beside the 7-day window of all models, and a
/// router must not send work to a family whose cap is spent.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopedCap {
    /// The model family as the usage API names it (`Sonnet`, `Opus`…).
    pub model: String,
    /// Percent of the cap used, 0-100 (may exceed 100 when overspent).
    pub utilization: f64,
    /// When the cap rolls over, if known.
    pub resets_at: Option<DateTime<Utc>>,
    /// The API's own judgement (`normal`, `warning`, `critical`…), when
    /// the reply carries one; the flat form does not.
    pub severity: Option<String>,
    /// The rate limiter's verdict, when the cap came from response headers
    /// (`anthropic-ratelimit-unified-7d_oi-status`): `rejected` means the
    /// cap is spent whatever the utilization says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<WindowStatus>,
}

/// Which form of the usage reply the daemon read last, so `doctor` can
/// tell a user which API shape their account is served.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyShape {
    /// Only the flat keys (`five_hour`, `seven_day`, `seven_day_<family>`).
    Flat,
    /// Only the `limits` array (the 2026 form).
    Limits,
    /// Both; where they carry the same window the higher utilization counts.
    Mixed,
}

/// The kinds of fault shown in `last_error`; each has a distinct fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LastErrorKind {
    /// No credential source yielded a token: log in with Claude Code.
    NoCredentials,
    /// The API refused the token even after re-reading the sources.
    Unauthorized,
    /// The token lacks the `user:profile` scope.
    InsufficientScope,
    /// The API answered 429.
    RateLimited,
    /// Connection, TLS or timeout failure.
    Network,
    /// A reply that is not the documented shape, or an unexpected status.
    BadResponse,
}

/// The most recent fault, kept until the next good reading so a user can
/// see why the tier is what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LastError {
    /// What kind of fault, for programs.
    pub kind: LastErrorKind,
    /// What happened, for people; never contains a token.
    pub message: String,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// How far a [`Forecast`] can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Few readings, a short span or a scattered fit: a hint only.
    Low,
    /// Enough readings over a fair span.
    Medium,
    /// Many readings over a long span, closely fitted.
    High,
}

/// The model names the daemon is configured to answer with (`[models]`),
/// as `hello` reports them: a client that later cannot reach the daemon
/// falls back to the local model the user chose, not to a built-in default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConfiguredModels {
    /// The Anthropic model for high-complexity work in `burst`.
    pub cloud: String,
    /// The Ollama tag for most local work.
    pub local_large: String,
    /// The Ollama tag while `resting`.
    pub local_small: String,
}

/// What a Claude Code subagent should run on, per tier (`[claude_code]`),
/// for `claude-quota hook`. `unknown` follows `resting`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SubagentModels {
    /// In `burst`.
    pub burst: SubagentModel,
    /// In `active`.
    pub active: SubagentModel,
    /// In `resting` and `unknown`.
    pub resting: SubagentModel,
}

impl SubagentModels {
    /// The choice for `tier`: `unknown` is treated as `resting`, since a
    /// subagent spending the subscription on a guess is the unsafe answer.
    pub fn for_tier(&self, tier: Tier) -> SubagentModel {
        match tier {
            Tier::Burst => self.burst,
            Tier::Active => self.active,
            Tier::Resting | Tier::Unknown => self.resting,
        }
    }
}

impl Default for SubagentModels {
    /// Burst leaves the subagent's model alone, active moves it to Sonnet,
    /// resting (and unknown) to Haiku.
    fn default() -> Self {
        SubagentModels {
            burst: SubagentModel::Keep,
            active: SubagentModel::Sonnet,
            resting: SubagentModel::Haiku,
        }
    }
}

/// A Claude Code model alias for a subagent, or `keep` (leave it as asked).
/// Ordered from the cheapest: a hook only ever lowers a subagent's model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum SubagentModel {
    /// Haiku, the cheapest.
    Haiku,
    /// Sonnet.
    Sonnet,
    /// Opus, the most expensive.
    Opus,
    /// Leave the subagent's model as it asked.
    Keep,
}

/// The error of parsing one of the lowercase names above from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {given:?}; expected one of: {expected}")]
pub struct UnknownName {
    kind: &'static str,
    given: String,
    expected: &'static str,
}

/// Gives an enum its lowercase text form in both directions, so the CLI and
/// the wire spell every name the same way.
macro_rules! names {
    ($ty:ident, $kind:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// The lowercase name used on the wire and on the command line.
            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(UnknownName {
                        kind: $kind,
                        given: s.to_owned(),
                        expected: concat!($($name, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }
    };
}

names!(Tier, "tier", { Burst => "burst", Active => "active", Resting => "resting", Unknown => "unknown" });
names!(TaskValue, "task value", {
    Critical => "critical", High => "high", Medium => "medium", Low => "low", Routine => "routine",
});
names!(TaskComplexity, "task complexity", { High => "high", Medium => "medium", Low => "low" });
names!(Provider, "provider", { Anthropic => "anthropic", Ollama => "ollama" });
names!(ReadingSource, "reading source", { Api => "api", Statusline => "statusline", Headers => "headers", Persisted => "persisted" });
names!(Polling, "polling mode", { Active => "active", Idle => "idle", Pushed => "pushed" });
names!(ReplyShape, "reply shape", { Flat => "flat", Limits => "limits", Mixed => "mixed" });
names!(SubagentModel, "subagent model", { Haiku => "haiku", Sonnet => "sonnet", Opus => "opus", Keep => "keep" });
names!(Confidence, "confidence", { Low => "low", Medium => "medium", High => "high" });
names!(ReplyPart, "reply part", { Flat => "flat", Limits => "limits" });
names!(WindowStatus, "window status", {
    Allowed => "allowed", AllowedWarning => "allowed_warning", Rejected => "rejected",
});
names!(CredentialSource, "credential source", {
    Env => "env", Keychain => "keychain", SecurityCli => "security_cli",
    SecretService => "secret_service", File => "file", None => "none",
});
names!(LastErrorKind, "error kind", {
    NoCredentials => "no_credentials", Unauthorized => "unauthorized",
    InsufficientScope => "insufficient_scope", RateLimited => "rate_limited",
    Network => "network", BadResponse => "bad_response",
});

impl TaskValue {
    /// Every value, for tables and exhaustive tests.
    pub const ALL: [TaskValue; 5] = [
        TaskValue::Critical,
        TaskValue::High,
        TaskValue::Medium,
        TaskValue::Low,
        TaskValue::Routine,
    ];
}

impl TaskComplexity {
    /// Every complexity, for tables and exhaustive tests.
    pub const ALL: [TaskComplexity; 3] = [
        TaskComplexity::High,
        TaskComplexity::Medium,
        TaskComplexity::Low,
    ];
}

impl ReadingSource {
    /// Whether a client pushed this reading (`ingest`): such a reading spares
    /// the rate-limited usage endpoint while it is fresh.
    pub fn is_pushed(self) -> bool {
        matches!(self, ReadingSource::Statusline | ReadingSource::Headers)
    }
}

impl Tier {
    /// Every tier, for tables and exhaustive tests.
    pub const ALL: [Tier; 4] = [Tier::Burst, Tier::Active, Tier::Resting, Tier::Unknown];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for value in TaskValue::ALL {
            assert_eq!(value.as_str().parse::<TaskValue>(), Ok(value));
            assert_eq!(
                serde_json::to_string(&value).unwrap(),
                format!("\"{value}\"")
            );
        }
        for tier in Tier::ALL {
            assert_eq!(tier.as_str().parse::<Tier>(), Ok(tier));
        }
    }

    #[test]
    fn unknown_name_lists_the_choices() {
        let err = "urgent".parse::<TaskValue>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown task value \"urgent\"; expected one of: critical high medium low routine"
        );
    }
}

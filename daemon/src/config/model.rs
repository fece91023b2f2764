//! The configuration as written: every key of the file with the
//! contract's default, before any check. The daemon never runs on these
//! [`Settings`] directly; [`super::rules`] turns them into a
//! [`super::Config`] or names the key that is out of range.
//!
//! Every field has a default, so an absent file is a valid configuration.
//! Unknown keys are refused rather than ignored: a typo in `resting_above`
//! must not silently leave the default threshold in force.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use claude_quota_credentials::AccountEntry;
pub use claude_quota_credentials::KeychainMethod;
use claude_quota_proto::{SubagentModel, SubagentModels};
use serde::{Deserialize, Deserializer};

/// The shortest interval of any kind, even against a loopback test server.
pub const MIN_LOOPBACK_INTERVAL: Duration = Duration::from_millis(100);

/// Every key the daemon can be told, as read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// How often the usage API is polled when nothing fresher is pushed.
    pub poll_interval: Seconds,
    /// How old a reading may get before the tier becomes `unknown`.
    pub stale_after: Seconds,
    /// Base URL of the usage API.
    pub api_url: String,
    /// The `User-Agent` sent to the usage API, replacing Claude Code's
    /// own (`claude-code/<version>`) that is sent by default.
    pub user_agent: Option<String>,
    /// The longest delay between polls while backing off after faults.
    pub backoff_cap: Seconds,
    /// The shortest gap between two polls asked for by clients' `refresh`.
    pub refresh_min_interval: Seconds,
    /// How long without a request, a subscriber or a push before polling
    /// slows to `idle_poll_interval`.
    pub idle_after: Seconds,
    /// How often the usage API is polled while nobody listens.
    pub idle_poll_interval: Seconds,
    /// How many clients may be connected at once (read at start only).
    pub max_connections: usize,
    /// Where the tiers begin.
    pub thresholds: Thresholds,
    /// Which model each answer names.
    pub models: Models,
    /// The local Ollama server.
    pub ollama: Ollama,
    /// How the macOS Keychain is read.
    pub keychain: KeychainMethod,
    /// Opt-in refinements of the policy table.
    pub policy: Policy,
    /// What to run when the tier changes.
    pub notify: Notify,
    /// The subagent model per tier, for `claude-quota hook`.
    pub claude_code: ClaudeCode,
    /// The Prometheus endpoint (read at start only).
    pub metrics: Metrics,
    /// The history of readings in SQLite.
    pub history: History,
    /// The Claude Code logins to read, as written (`[[accounts]]`); none:
    /// the implicit account `default`. [`super::rules`] resolves them.
    pub accounts: Vec<AccountEntry>,
}

/// `[metrics]`: where the daemon serves `GET /metrics` for Prometheus.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Metrics {
    /// The address and port to listen on; no endpoint when absent.
    pub listen: Option<SocketAddr>,
    /// Lets `listen` be an address other machines can reach: the metrics
    /// tell whoever reaches it how the subscription is being used.
    pub allow_remote: bool,
}

/// `[history]`: every accepted reading kept in SQLite in the state
/// directory, for `claude-quota history` and a forecast that survives a
/// restart.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct History {
    /// Whether readings are kept at all.
    pub enabled: bool,
    /// How many days of rows are kept; older ones are pruned.
    pub keep_days: u32,
}

impl Default for History {
    fn default() -> Self {
        History {
            enabled: true,
            keep_days: 90,
        }
    }
}

/// `[claude_code]`: which model a Claude Code subagent runs on per tier,
/// told to `claude-quota hook` through `hello`. `unknown` follows `resting`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaudeCode {
    /// In `burst`; by default the subagent keeps the model it asked for.
    pub burst: SubagentModel,
    /// In `active`; Sonnet by default.
    pub active: SubagentModel,
    /// In `resting` and `unknown`; Haiku by default.
    pub resting: SubagentModel,
}

impl Default for ClaudeCode {
    fn default() -> Self {
        let wire = SubagentModels::default();
        ClaudeCode {
            burst: wire.burst,
            active: wire.active,
            resting: wire.resting,
        }
    }
}

impl ClaudeCode {
    /// The mapping as `hello` carries it.
    pub fn to_wire(self) -> SubagentModels {
        SubagentModels {
            burst: self.burst,
            active: self.active,
            resting: self.resting,
        }
    }
}

/// Refinements of the policy table and the poll schedule.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// In burst, answer `active` when the forecast says the 5-hour window
    /// passes `resting_above` before it resets.
    pub pace: bool,
    /// Poll when the reading could next change an answer (from the burn
    /// rate, window resets and pushed readings), not on a fixed clock;
    /// `false` polls every `poll_interval` while someone listens.
    pub adaptive: bool,
    /// With `adaptive`, the longest wait between polls while someone
    /// listens; at most 4/5 of `stale_after` counts, so a reading never
    /// turns stale while it is relied on.
    pub adaptive_max_interval: Seconds,
    /// With `adaptive`, the fastest 5-hour climb, in percent a minute,
    /// deemed plausible from usage the daemon cannot see (claude.ai,
    /// another machine): the wait never exceeds the time such a climb
    /// needs to reach the nearest threshold. The account's own fastest
    /// climb raises it when faster.
    pub fastest_burn_pct_per_min: f64,
    /// How far back the forecast looks: it fits the readings of the
    /// current 5-hour window taken in this span before the newest.
    pub forecast_span: Seconds,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            pace: false,
            adaptive: true,
            adaptive_max_interval: Seconds(Duration::from_secs(240)),
            fastest_burn_pct_per_min: 2.0,
            forecast_span: Seconds(Duration::from_secs(1800)),
        }
    }
}

/// Who is told of a tier change, off the serving path.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Notify {
    /// A program run (without a shell) on every tier change.
    pub command: Option<PathBuf>,
    /// Show a desktop notification (`osascript` on macOS, `notify-send`
    /// elsewhere).
    pub desktop: bool,
    /// Utilization percentages at which a window's upward crossing is
    /// told, once per crossing.
    pub thresholds: Vec<f64>,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            command: None,
            desktop: false,
            thresholds: vec![50.0, 80.0, 95.0],
        }
    }
}

/// Utilization thresholds, in percent, that separate the tiers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// 5-hour utilization below which the tier is `burst`.
    pub burst_below: f64,
    /// 5-hour utilization above which the tier is `resting`.
    pub resting_above: f64,
    /// 7-day utilization above which the tier is `resting`.
    pub weekly_resting_above: f64,
}

/// The model names the policy answers with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Models {
    /// The Anthropic model for high-complexity work in `burst`.
    pub cloud: String,
    /// The model family whose weekly cap closes the cloud (`Sonnet`…);
    /// by default read from `cloud` ([`Models::family`]).
    pub cloud_family: Option<String>,
    /// The Ollama tag for most work.
    pub local_large: String,
    /// The Ollama tag while `resting`.
    pub local_small: String,
}

/// Where the local Ollama server listens.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ollama {
    /// Its base URL.
    pub url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            poll_interval: Seconds(Duration::from_secs(30)),
            stale_after: Seconds(Duration::from_secs(300)),
            api_url: "https://api.anthropic.com".into(),
            user_agent: None,
            backoff_cap: Seconds(Duration::from_secs(600)),
            refresh_min_interval: Seconds(Duration::from_secs(10)),
            idle_after: Seconds(Duration::from_secs(600)),
            idle_poll_interval: Seconds(Duration::from_secs(600)),
            max_connections: 4096,
            thresholds: Thresholds::default(),
            models: Models::default(),
            ollama: Ollama::default(),
            keychain: KeychainMethod::default(),
            policy: Policy::default(),
            notify: Notify::default(),
            claude_code: ClaudeCode::default(),
            metrics: Metrics::default(),
            history: History::default(),
            accounts: Vec::new(),
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        let wire = claude_quota_proto::Thresholds::default();
        Self {
            burst_below: wire.burst_below,
            resting_above: wire.resting_above,
            weekly_resting_above: wire.weekly_resting_above,
        }
    }
}

impl Thresholds {
    /// The thresholds as `status` carries them.
    pub fn to_wire(&self) -> claude_quota_proto::Thresholds {
        claude_quota_proto::Thresholds {
            burst_below: self.burst_below,
            resting_above: self.resting_above,
            weekly_resting_above: self.weekly_resting_above,
        }
    }
}

impl Default for Models {
    fn default() -> Self {
        Self {
            cloud: "claude-sonnet-4-6".into(),
            cloud_family: None,
            local_large: "qwen3:14b".into(),
            local_small: "qwen3:8b".into(),
        }
    }
}

/// The families Claude model ids are named after, as the usage API spells
/// them in its per-model caps.
const FAMILIES: [&str; 3] = ["Sonnet", "Opus", "Haiku"];

impl Models {
    /// The family of the cloud model: `cloud_family` when set, else the
    /// family its id names (`claude-sonnet-4-6` → `Sonnet`, any case);
    /// `None` for an id of no known family, whose cap then cannot be told.
    pub fn family(&self) -> Option<&str> {
        if let Some(family) = &self.cloud_family {
            return Some(family);
        }
        FAMILIES.into_iter().find(|family| {
            self.cloud
                .split(['-', '.', '_', ':', '/'])
                .any(|word| word.eq_ignore_ascii_case(family))
        })
    }
}

impl Default for Ollama {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:11434".into(),
        }
    }
}

/// A duration written in the file as (possibly fractional) seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(pub Duration);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let secs = f64::deserialize(deserializer)?;
        Seconds::try_from_secs(secs).map_err(serde::de::Error::custom)
    }
}

impl Seconds {
    /// Parses seconds as given on the command line or in the file. A value
    /// too large for a `Duration` saturates: the range check of
    /// [`super::rules`] then refuses it with its key and line.
    pub fn try_from_secs(secs: f64) -> Result<Self, NotADuration> {
        if !secs.is_finite() || secs < MIN_LOOPBACK_INTERVAL.as_secs_f64() {
            return Err(NotADuration(secs));
        }
        Ok(Seconds(
            Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX),
        ))
    }
}

/// A number of seconds no interval may be: not finite, or under the
/// shortest interval allowed anywhere.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("{0} is not a duration of at least {min} seconds", min = MIN_LOOPBACK_INTERVAL.as_secs_f64())]
pub struct NotADuration(pub f64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_example_parses_to_the_defaults() {
        let text = r#"
poll_interval = 30
stale_after = 300
idle_after = 600
idle_poll_interval = 600
refresh_min_interval = 10
api_url = "https://api.anthropic.com"
keychain = "auto"
[thresholds]
burst_below = 50.0
resting_above = 80.0
weekly_resting_above = 80.0
[models]
cloud = "claude-sonnet-4-6"
local_large = "qwen3:14b"
local_small = "qwen3:8b"
[policy]
pace = false
adaptive = true
[notify]
desktop = false
thresholds = [50, 80, 95]
[claude_code]
burst = "keep"
active = "sonnet"
resting = "haiku"
[ollama]
url = "http://127.0.0.1:11434"
[history]
enabled = true
keep_days = 90
"#;
        let settings: Settings = toml::from_str(text).unwrap();
        assert_eq!(settings, Settings::default());
    }

    #[test]
    fn keychain_takes_the_three_methods_of_the_contract() {
        for (text, method) in [
            ("keyring", KeychainMethod::Keyring),
            ("security-cli", KeychainMethod::SecurityCli),
            ("auto", KeychainMethod::Auto),
        ] {
            let config: Settings = toml::from_str(&format!("keychain = {text:?}")).unwrap();
            assert_eq!(config.keychain, method);
        }
        assert!(toml::from_str::<Settings>("keychain = \"security\"").is_err());
    }

    #[test]
    fn a_typo_is_refused_with_its_line() {
        let err =
            toml::from_str::<Settings>("poll_interval = 30\n[thresholds]\nresting_abov = 70\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("resting_abov"), "{err}");
    }

    #[test]
    fn the_cloud_family_comes_from_the_model_id_unless_named() {
        let family = |cloud: &str, named: Option<&str>| {
            Models {
                cloud: cloud.into(),
                cloud_family: named.map(Into::into),
                ..Models::default()
            }
            .family()
            .map(str::to_owned)
        };
        assert_eq!(Models::default().family(), Some("Sonnet"));
        assert_eq!(family("claude-opus-4-5", None).as_deref(), Some("Opus"));
        assert_eq!(family("Claude-HAIKU-4", None).as_deref(), Some("Haiku"));
        assert_eq!(
            family("claude-3-5-sonnet-latest", None).as_deref(),
            Some("Sonnet")
        );
        assert_eq!(family("gpt-5", None), None);
        assert_eq!(family("gpt-5", Some("Fable")).as_deref(), Some("Fable"));
    }

    #[test]
    fn pace_and_notify_are_off_unless_asked_for() {
        let config: Settings = toml::from_str(
            "[policy]\npace = true\n[notify]\ncommand = \"/bin/hook\"\ndesktop = true\n",
        )
        .unwrap();
        assert!(config.policy.pace);
        assert_eq!(config.notify.command, Some(PathBuf::from("/bin/hook")));
        assert!(config.notify.desktop);
        let defaults = Settings::default();
        assert!(!defaults.policy.pace && !defaults.notify.desktop);
        assert_eq!(defaults.notify.command, None);
    }

    #[test]
    fn metrics_are_off_unless_an_address_is_given() {
        assert_eq!(Settings::default().metrics.listen, None);
        let config: Settings = toml::from_str("[metrics]\nlisten = \"127.0.0.1:9464\"\n").unwrap();
        assert_eq!(config.metrics.listen, Some(([127, 0, 0, 1], 9464).into()));
        assert!(!config.metrics.allow_remote);
        let err = toml::from_str::<Settings>("[metrics]\nlisten = \"localhost\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("socket address"),
            "{err}"
        );
    }

    #[test]
    fn a_huge_duration_saturates_instead_of_panicking() {
        let config: Settings = toml::from_str("poll_interval = 1e20\nstale_after = 1e30").unwrap();
        assert_eq!(config.poll_interval.0, Duration::MAX);
        assert_eq!(config.stale_after.0, Duration::MAX);
    }
}

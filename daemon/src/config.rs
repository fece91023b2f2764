//! The daemon's configuration: TOML file, then environment, then flags.
//!
//! Every field has the contract's default, so an absent file is a valid
//! configuration. Unknown keys are refused rather than ignored: a typo in
//! `resting_above` must not silently leave the default threshold in force.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The shortest poll interval allowed against Anthropic's endpoint, which
/// rate-limits hard.
const MIN_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// The longest poll interval, and the longest gap `refresh` may impose.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(3600);

/// The longest idle spell and idle poll interval: a day.
const MAX_IDLE: Duration = Duration::from_secs(86_400);

/// The shortest interval of any kind, even against a loopback test server.
const MIN_LOOPBACK_INTERVAL: Duration = Duration::from_millis(100);

/// Everything the daemon can be told.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How often the usage API is polled when nothing fresher is pushed.
    pub poll_interval: Seconds,
    /// How old a reading may get before the tier becomes `unknown`.
    pub stale_after: Seconds,
    /// Base URL of the usage API.
    pub api_url: String,
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
}

/// Opt-in refinements of the policy table; off, the seed's thresholds stand.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// In burst, answer `active` when the forecast says the 5-hour window
    /// passes `resting_above` before it resets.
    pub pace: bool,
}

/// Who is told of a tier change, off the serving path.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Notify {
    /// A program run (without a shell) on every tier change.
    pub command: Option<PathBuf>,
    /// Show a desktop notification (`osascript` on macOS, `notify-send`
    /// elsewhere).
    pub desktop: bool,
}

/// How to read Claude Code's Keychain item. Its access list trusts
/// `/usr/bin/security`, not this daemon, so a direct read raises a
/// permission prompt on macOS; the choice is the user's. Linux always reads
/// the Secret Service, except under an explicit `security-cli`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeychainMethod {
    /// Through the keyring crate only (prompts allowed).
    Keyring,
    /// Through `/usr/bin/security` only.
    SecurityCli,
    /// Through the keyring crate without prompts; `/usr/bin/security` when
    /// that read is refused or would need the user.
    #[default]
    Auto,
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

impl Default for Config {
    fn default() -> Self {
        Self {
            poll_interval: Seconds(Duration::from_secs(30)),
            stale_after: Seconds(Duration::from_secs(300)),
            api_url: "https://api.anthropic.com".into(),
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
        }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            burst_below: 50.0,
            resting_above: 80.0,
            weekly_resting_above: 80.0,
        }
    }
}

impl Default for Models {
    fn default() -> Self {
        Self {
            cloud: "claude-sonnet-4-6".into(),
            local_large: "qwen3:14b".into(),
            local_small: "qwen3:8b".into(),
        }
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
    /// Parses seconds as given on the command line or in the file.
    pub fn try_from_secs(secs: f64) -> Result<Self, String> {
        if !secs.is_finite() || secs < MIN_LOOPBACK_INTERVAL.as_secs_f64() {
            return Err(format!(
                "{secs} is not a duration of at least {} seconds",
                MIN_LOOPBACK_INTERVAL.as_secs_f64()
            ));
        }
        Ok(Seconds(Duration::from_secs_f64(secs)))
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0.as_secs_f64())
    }
}

/// A configuration that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape; the message of the
    /// TOML parser names the line and column.
    #[error("invalid config {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        source: toml::de::Error,
    },
    /// Values that parse but cannot work together.
    #[error("invalid config{}: {reason}", origin.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Invalid {
        /// The file, when the values came from one.
        origin: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
}

impl Config {
    /// Reads the file at `path`; a missing file yields the defaults only
    /// when `required` is false (the default path need not exist, an
    /// explicitly named one must).
    pub fn load(path: &Path, required: bool) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|source| ConfigError::Parse {
                path: path.to_owned(),
                source,
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Checks the rules that span several fields; `origin` names the file
    /// in the error.
    pub fn validate(&self, origin: Option<&Path>) -> Result<(), ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            origin: origin.map(Path::to_owned),
            reason,
        };
        for (name, value, max) in [
            ("poll_interval", self.poll_interval, MAX_POLL_INTERVAL),
            (
                "refresh_min_interval",
                self.refresh_min_interval,
                MAX_POLL_INTERVAL,
            ),
            ("idle_after", self.idle_after, MAX_IDLE),
            ("idle_poll_interval", self.idle_poll_interval, MAX_IDLE),
        ] {
            if value.0 < MIN_POLL_INTERVAL && !is_loopback_url(&self.api_url) {
                return Err(invalid(format!(
                    "{name} = {value} is below the minimum of {}s for {} (the usage endpoint rate-limits hard)",
                    MIN_POLL_INTERVAL.as_secs(),
                    self.api_url
                )));
            }
            if value.0 > max {
                return Err(invalid(format!(
                    "{name} = {value} is above the maximum of {}s",
                    max.as_secs()
                )));
            }
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections must be at least 1".into()));
        }
        let t = &self.thresholds;
        for (name, value) in [
            ("burst_below", t.burst_below),
            ("resting_above", t.resting_above),
            ("weekly_resting_above", t.weekly_resting_above),
        ] {
            if !(0.0..=100.0).contains(&value) {
                return Err(invalid(format!(
                    "thresholds.{name} = {value} is not a percentage between 0 and 100"
                )));
            }
        }
        if t.burst_below > t.resting_above {
            return Err(invalid(format!(
                "thresholds.burst_below ({}) is above thresholds.resting_above ({})",
                t.burst_below, t.resting_above
            )));
        }
        for url in [&self.api_url, &self.ollama.url] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(format!("{url:?} is not an http(s) URL")));
            }
        }
        Ok(())
    }
}

/// Whether a URL points at this machine, where the endpoint's rate limits do
/// not apply (a test server or a local proxy), so shorter intervals are fine.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.split_once("://").map(|(_, rest)| rest) else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
[notify]
desktop = false
[ollama]
url = "http://127.0.0.1:11434"
"#;
        let config: Config = toml::from_str(text).unwrap();
        assert_eq!(config, Config::default());
        config.validate(None).unwrap();
    }

    #[test]
    fn keychain_takes_the_three_methods_of_the_contract() {
        for (text, method) in [
            ("keyring", KeychainMethod::Keyring),
            ("security-cli", KeychainMethod::SecurityCli),
            ("auto", KeychainMethod::Auto),
        ] {
            let config: Config = toml::from_str(&format!("keychain = {text:?}")).unwrap();
            assert_eq!(config.keychain, method);
        }
        assert!(toml::from_str::<Config>("keychain = \"security\"").is_err());
    }

    #[test]
    fn a_typo_is_refused_with_its_line() {
        let err = toml::from_str::<Config>("poll_interval = 30\n[thresholds]\nresting_abov = 70\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("resting_abov"), "{err}");
    }

    #[test]
    fn short_intervals_are_only_for_loopback_endpoints() {
        let mut config = Config {
            poll_interval: Seconds(Duration::from_secs(1)),
            ..Config::default()
        };
        assert!(config.validate(None).is_err());
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9/x",
        ] {
            config.api_url = url.into();
            config.validate(None).unwrap();
        }
    }

    #[test]
    fn every_interval_has_the_poll_interval_minimum_and_a_maximum() {
        for key in [
            "poll_interval",
            "refresh_min_interval",
            "idle_after",
            "idle_poll_interval",
        ] {
            let config: Config = toml::from_str(&format!("{key} = 1")).unwrap();
            let err = config.validate(None).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains("minimum"), "{err}");
            let loopback = Config {
                api_url: "http://127.0.0.1:9".into(),
                ..config
            };
            loopback.validate(None).unwrap();
            let config: Config = toml::from_str(&format!("{key} = 90000")).unwrap();
            let err = config.validate(None).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains("maximum"), "{err}");
        }
    }

    #[test]
    fn pace_and_notify_are_off_unless_asked_for() {
        let config: Config = toml::from_str(
            "[policy]\npace = true\n[notify]\ncommand = \"/bin/hook\"\ndesktop = true\n",
        )
        .unwrap();
        assert!(config.policy.pace);
        assert_eq!(config.notify.command, Some(PathBuf::from("/bin/hook")));
        assert!(config.notify.desktop);
        let defaults = Config::default();
        assert!(!defaults.policy.pace && !defaults.notify.desktop);
        assert_eq!(defaults.notify.command, None);
    }

    #[test]
    fn thresholds_must_be_ordered_percentages() {
        let mut config = Config::default();
        config.thresholds.burst_below = 90.0;
        assert!(config.validate(None).is_err());
        config.thresholds.burst_below = -1.0;
        assert!(config.validate(None).is_err());
    }
}

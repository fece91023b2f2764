//! The one gate every configuration passes before the daemon uses it: the
//! allowed range of each numeric key (docs/configuration.md, "Keys") and the URL rules, and
//! where in the file a refused value was written.
//!
//! Values come from a hand-edited file: a typo like `poll_interval = 1e20`
//! must be refused here, naming the line, instead of overflowing a clock
//! later or killing the daemon on SIGHUP.

use std::borrow::Cow;
use std::ops::Deref;
use std::time::Duration;

use claude_quota_credentials::{Account, AccountError, accounts};
use reqwest::Url;

use super::model::{MIN_LOOPBACK_INTERVAL, Seconds, Settings};

/// The shortest poll (and refresh) interval allowed against Anthropic's
/// endpoint, which rate-limits hard.
const MIN_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// The longest poll interval.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(3600);

/// The shortest and longest `[policy] forecast_span`: a few readings, and
/// the 5-hour window itself.
const MIN_FORECAST_SPAN: Duration = Duration::from_secs(300);
const MAX_FORECAST_SPAN: Duration = Duration::from_secs(5 * 3600);

/// The longest interval of any kind (`stale_after`, `backoff_cap`): a day.
const LONGEST_INTERVAL: Duration = Duration::from_secs(86_400);

/// The most connections a daemon accepts at once.
const MAX_CONNECTIONS: usize = 65_536;

/// The range of `[policy] fastest_burn_pct_per_min`, in percent a minute:
/// slower than 0.1 (a whole window in 16 hours) is no bound at all, and
/// 1000 leaves room for tests and benchmarks that scale time down.
const FASTEST_BURN_PCT_PER_MIN: (f64, f64) = (0.1, 1000.0);

/// A key whose value is refused, and what it may be instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Broken {
    /// The key, dotted for tables (`thresholds.burst_below`), indexed for
    /// arrays of tables (`accounts[1].name`).
    pub key: Cow<'static, str>,
    /// The value as the daemon read it.
    pub value: String,
    /// What the key accepts.
    pub allowed: String,
}

/// A configuration that passed every rule: the only kind the daemon runs
/// on. It can only be made by [`Config::check`], so no part of the daemon
/// can hold values that were never checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    settings: Settings,
    accounts: Vec<Account>,
}

impl Config {
    /// Checks every key of `settings` against its range and the URLs
    /// against their rules, and resolves the accounts; the first broken
    /// key is returned.
    pub fn check(settings: Settings) -> Result<Config, Broken> {
        check(&settings)?;
        let accounts = accounts::resolve(&settings.accounts).map_err(account_broken)?;
        Ok(Config { settings, accounts })
    }

    /// The accounts to run on, in order of preference (lowest `priority`
    /// first): the configured ones, resolved, or the implicit `default`.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }
}

impl Deref for Config {
    type Target = Settings;

    fn deref(&self) -> &Settings {
        &self.settings
    }
}

/// A refused `[[accounts]]` table as a refused key, `accounts[i].key`.
fn account_broken(err: AccountError) -> Broken {
    Broken {
        key: format!("accounts[{}].{}", err.index, err.key).into(),
        value: err.value,
        allowed: err.allowed,
    }
}

impl Default for Config {
    /// The contract's defaults, which pass every rule.
    fn default() -> Self {
        Config::check(Settings::default()).expect("the defaults pass the rules")
    }
}

/// Checks every key against its range and the URLs against their rules;
/// the first broken key is returned.
fn check(config: &Settings) -> Result<(), Broken> {
    let api = parse_url("api_url", &config.api_url)?;
    parse_url("ollama.url", &config.ollama.url)?;
    let loopback = is_loopback(&api);
    if api.scheme() == "http" && !loopback {
        return Err(Broken {
            key: "api_url".into(),
            value: format!("{:?}", config.api_url),
            allowed: "an https:// URL (http:// only for a loopback host: the token must not travel in cleartext)".into(),
        });
    }
    // Shorter intervals only against this machine, where no rate limit
    // applies (tests, a local proxy).
    let floor = |min: Duration, name: &str| {
        if loopback {
            (
                MIN_LOOPBACK_INTERVAL,
                format!("{}", MIN_LOOPBACK_INTERVAL.as_secs_f64()),
            )
        } else {
            (min, name.to_owned())
        }
    };
    let poll = config.poll_interval.0;
    let poll_floor = floor(MIN_POLL_INTERVAL, &MIN_POLL_INTERVAL.as_secs().to_string());
    let poll_name = format!("poll_interval ({})", secs(poll));
    seconds(
        "poll_interval",
        config.poll_interval,
        poll_floor.clone(),
        MAX_POLL_INTERVAL,
    )?;
    seconds(
        "stale_after",
        config.stale_after,
        floor(poll, &poll_name),
        LONGEST_INTERVAL,
    )?;
    seconds(
        "backoff_cap",
        config.backoff_cap,
        floor(poll, &poll_name),
        LONGEST_INTERVAL,
    )?;
    seconds(
        "refresh_min_interval",
        config.refresh_min_interval,
        poll_floor.clone(),
        MAX_POLL_INTERVAL,
    )?;
    seconds(
        "idle_after",
        config.idle_after,
        poll_floor.clone(),
        LONGEST_INTERVAL,
    )?;
    seconds(
        "policy.adaptive_max_interval",
        config.policy.adaptive_max_interval,
        poll_floor.clone(),
        LONGEST_INTERVAL,
    )?;
    seconds(
        "policy.forecast_span",
        config.policy.forecast_span,
        floor(MIN_FORECAST_SPAN, &MIN_FORECAST_SPAN.as_secs().to_string()),
        MAX_FORECAST_SPAN,
    )?;
    seconds(
        "idle_poll_interval",
        config.idle_poll_interval,
        poll_floor,
        LONGEST_INTERVAL,
    )?;
    let (slowest, fastest) = FASTEST_BURN_PCT_PER_MIN;
    let burn = config.policy.fastest_burn_pct_per_min;
    if !(slowest..=fastest).contains(&burn) {
        return Err(Broken {
            key: "policy.fastest_burn_pct_per_min".into(),
            value: burn.to_string(),
            allowed: format!("{slowest} … {fastest} percent a minute"),
        });
    }
    if !(1..=MAX_CONNECTIONS).contains(&config.max_connections) {
        return Err(Broken {
            key: "max_connections".into(),
            value: config.max_connections.to_string(),
            allowed: format!("1 … {MAX_CONNECTIONS}"),
        });
    }
    let t = &config.thresholds;
    let resting = format!("thresholds.resting_above ({})", t.resting_above);
    for (key, value, max, max_name) in [
        ("thresholds.resting_above", t.resting_above, 100.0, "100"),
        (
            "thresholds.weekly_resting_above",
            t.weekly_resting_above,
            100.0,
            "100",
        ),
        (
            "thresholds.burst_below",
            t.burst_below,
            t.resting_above,
            &resting,
        ),
    ] {
        if !(0.0..=max).contains(&value) {
            return Err(Broken {
                key: key.into(),
                value: value.to_string(),
                allowed: format!("0 … {max_name} percent"),
            });
        }
    }
    if let Some(agent) = &config.user_agent
        && (agent.trim().is_empty() || !agent.bytes().all(|b| (b' '..=b'~').contains(&b)))
    {
        return Err(Broken {
            key: "user_agent".into(),
            value: format!("{agent:?}"),
            allowed: "printable ASCII, not empty (it is sent as the User-Agent header)".into(),
        });
    }
    if let Some(family) = &config.models.cloud_family
        && family.trim().is_empty()
    {
        return Err(Broken {
            key: "models.cloud_family".into(),
            value: format!("{family:?}"),
            allowed: "a model family name, such as \"Sonnet\"".into(),
        });
    }
    if let Some(listen) = config.metrics.listen
        && !listen.ip().is_loopback()
        && !config.metrics.allow_remote
    {
        return Err(Broken {
            key: "metrics.listen".into(),
            value: format!("\"{listen}\""),
            allowed: "a loopback address such as \"127.0.0.1:9464\" (another one only with metrics.allow_remote = true: the metrics tell whoever reaches the port how the subscription is used)".into(),
        });
    }
    let thresholds = &config.notify.thresholds;
    let in_range = |t: &f64| *t > 0.0 && *t <= 100.0;
    if thresholds.len() > MAX_NOTIFY_THRESHOLDS || !thresholds.iter().all(in_range) {
        return Err(Broken {
            key: "notify.thresholds".into(),
            value: format!("{thresholds:?}"),
            allowed: format!(
                "at most {MAX_NOTIFY_THRESHOLDS} percentages, each above 0 and at most 100"
            ),
        });
    }
    if !(1..=MAX_KEEP_DAYS).contains(&config.history.keep_days) {
        return Err(Broken {
            key: "history.keep_days".into(),
            value: config.history.keep_days.to_string(),
            allowed: format!("1 … {MAX_KEEP_DAYS} days"),
        });
    }
    Ok(())
}

/// The longest history kept: ten years of a row a minute is about 450 MB.
const MAX_KEEP_DAYS: u32 = 3650;

/// How many `[notify] thresholds` may be set: each is told once per
/// crossing per window, and a long list would be a flood.
const MAX_NOTIFY_THRESHOLDS: usize = 16;

/// Checks one duration against `min` (with how to name it) and `max`.
fn seconds(
    key: &'static str,
    value: Seconds,
    (min, min_name): (Duration, String),
    max: Duration,
) -> Result<(), Broken> {
    if (min..=max).contains(&value.0) {
        return Ok(());
    }
    Err(Broken {
        key: key.into(),
        value: secs(value.0),
        allowed: format!("{min_name} … {} seconds", secs(max)),
    })
}

fn secs(duration: Duration) -> String {
    duration.as_secs_f64().to_string()
}

/// Parses an http(s) URL, or says which key holds something else.
fn parse_url(key: &'static str, text: &str) -> Result<Url, Broken> {
    Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| Broken {
            key: key.into(),
            value: format!("{text:?}"),
            allowed: "an http:// or https:// URL with a host".into(),
        })
}

/// Whether a URL points at this machine, where the endpoint's rate limits
/// do not apply and a token sent in cleartext stays on the host.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken_key(text: &str) -> Option<String> {
        let settings: Settings = toml::from_str(text).expect("parses");
        Config::check(settings)
            .err()
            .map(|broken| broken.key.into_owned())
    }

    #[test]
    fn the_defaults_pass() {
        Config::check(Settings::default()).unwrap();
    }

    #[test]
    fn every_numeric_key_has_a_range() {
        for (text, key) in [
            ("poll_interval = 1e20", "poll_interval"),
            ("poll_interval = 3601", "poll_interval"),
            ("poll_interval = 5", "poll_interval"),
            ("stale_after = 1e30", "stale_after"),
            ("stale_after = 20", "stale_after"),
            ("stale_after = 86401", "stale_after"),
            ("backoff_cap = 1e19", "backoff_cap"),
            ("backoff_cap = 29", "backoff_cap"),
            ("refresh_min_interval = 1", "refresh_min_interval"),
            ("refresh_min_interval = 4000", "refresh_min_interval"),
            ("idle_after = 5", "idle_after"),
            ("idle_after = 86401", "idle_after"),
            ("idle_poll_interval = 1e25", "idle_poll_interval"),
            ("idle_poll_interval = 9", "idle_poll_interval"),
            ("max_connections = 0", "max_connections"),
            ("max_connections = 1000000000000", "max_connections"),
            (
                "[thresholds]\nresting_above = 101",
                "thresholds.resting_above",
            ),
            (
                "[thresholds]\nweekly_resting_above = nan",
                "thresholds.weekly_resting_above",
            ),
            ("[thresholds]\nburst_below = -1", "thresholds.burst_below"),
            ("[thresholds]\nburst_below = 90", "thresholds.burst_below"),
            ("[notify]\nthresholds = [0]", "notify.thresholds"),
            ("[notify]\nthresholds = [50, 101]", "notify.thresholds"),
            ("[notify]\nthresholds = [nan]", "notify.thresholds"),
            (
                "[policy]\nfastest_burn_pct_per_min = 0.09",
                "policy.fastest_burn_pct_per_min",
            ),
            (
                "[policy]\nfastest_burn_pct_per_min = 1001",
                "policy.fastest_burn_pct_per_min",
            ),
            (
                "[policy]\nfastest_burn_pct_per_min = nan",
                "policy.fastest_burn_pct_per_min",
            ),
            ("[history]\nkeep_days = 0", "history.keep_days"),
            ("[policy]\nforecast_span = 60", "policy.forecast_span"),
            ("[policy]\nforecast_span = 18001", "policy.forecast_span"),
            ("[history]\nkeep_days = 3651", "history.keep_days"),
        ] {
            assert_eq!(broken_key(text).as_deref(), Some(key), "{text}");
        }
        for text in [
            "poll_interval = 10\nstale_after = 10\nbackoff_cap = 10",
            "poll_interval = 3600\nstale_after = 86400\nbackoff_cap = 86400\nrefresh_min_interval = 3600",
            "idle_after = 10\nidle_poll_interval = 86400",
            "max_connections = 1",
            "max_connections = 65536",
            "[thresholds]\nburst_below = 0\nresting_above = 100\nweekly_resting_above = 0",
            "[policy]\nfastest_burn_pct_per_min = 0.1",
            "[policy]\nfastest_burn_pct_per_min = 1000",
            "[history]\nkeep_days = 1",
            "[history]\nenabled = false\nkeep_days = 3650",
        ] {
            assert_eq!(broken_key(text).as_deref(), None, "{text}");
        }
    }

    #[test]
    fn short_intervals_and_http_are_only_for_loopback_endpoints() {
        let short = "poll_interval = 0.1\nstale_after = 0.5\nrefresh_min_interval = 0.1\nidle_after = 0.1\nidle_poll_interval = 0.1\n";
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9/x",
        ] {
            assert_eq!(
                broken_key(&format!("{short}api_url = {url:?}")).as_deref(),
                None,
                "{url}"
            );
        }
        assert_eq!(broken_key(short).as_deref(), Some("poll_interval"));
        for url in [
            "http://api.anthropic.com",
            "http://127.0.0.1.example.com",
            "http://localhost.evil.example",
        ] {
            assert_eq!(
                broken_key(&format!("api_url = {url:?}")).as_deref(),
                Some("api_url"),
                "{url}"
            );
        }
        for url in ["ftp://127.0.0.1", "127.0.0.1:8080", "https://"] {
            assert_eq!(
                broken_key(&format!("api_url = {url:?}")).as_deref(),
                Some("api_url"),
                "{url}"
            );
        }
        assert_eq!(
            broken_key("[ollama]\nurl = \"localhost\"").as_deref(),
            Some("ollama.url")
        );
        assert_eq!(
            broken_key("[ollama]\nurl = \"http://gpu-box:11434\"").as_deref(),
            None
        );
    }

    #[test]
    fn accounts_are_resolved_in_order_of_preference() {
        assert_eq!(
            Config::default().accounts(),
            [Account::implicit()],
            "none configured: the implicit default"
        );
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[[accounts]]\nname = \"personal\"\n[[accounts]]\nname = \"work\"\nclaude_config_dir = {:?}\npriority = 0\n",
            dir.path().display().to_string()
        );
        let config = Config::check(toml::from_str(&text).unwrap()).unwrap();
        let accounts = config.accounts();
        assert_eq!(accounts[0].name, "work");
        assert_eq!(accounts[0].claude_config_dir.as_deref(), Some(dir.path()));
        assert_eq!(
            (accounts[1].name.as_str(), accounts[1].priority),
            ("personal", 1)
        );
        assert_eq!(accounts[1].claude_config_dir, None);
        assert_eq!(
            broken_key("[[accounts]]\nname = \"Work\"").as_deref(),
            Some("accounts[0].name")
        );
    }

    #[test]
    fn metrics_listen_on_loopback_unless_remote_is_allowed() {
        for local in ["127.0.0.1:9464", "[::1]:9464", "127.0.0.2:0"] {
            let text = format!("[metrics]\nlisten = {local:?}");
            assert_eq!(broken_key(&text), None, "{local}");
        }
        for remote in ["0.0.0.0:9464", "[::]:9464", "192.168.1.5:9464"] {
            let text = format!("[metrics]\nlisten = {remote:?}");
            assert_eq!(
                broken_key(&text),
                Some("metrics.listen".to_owned()),
                "{remote}"
            );
            let allowed = format!("{text}\nallow_remote = true");
            assert_eq!(broken_key(&allowed), None, "{remote}");
        }
    }

    #[test]
    fn a_user_agent_must_be_a_header_value_and_a_family_a_name() {
        assert_eq!(
            broken_key("user_agent = \"claude-code/9.9.9\"").as_deref(),
            None
        );
        for bad in ["", " ", "two\\nlines", "naïve"] {
            let text = format!("user_agent = \"{bad}\"");
            assert_eq!(broken_key(&text).as_deref(), Some("user_agent"), "{bad:?}");
        }
        assert_eq!(
            broken_key("[models]\ncloud_family = \" \"").as_deref(),
            Some("models.cloud_family")
        );
    }
}

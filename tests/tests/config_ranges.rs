//! Every numeric key of the config has a range (docs/configuration.md, "Keys"): a value out
//! of it is refused with the file, line, key and range; at start the daemon
//! exits 1, on SIGHUP it logs the refusal and keeps polling with the old
//! config. These values used to panic at start, kill the daemon on SIGHUP,
//! or be taken and fail later.

use std::time::Duration;

use claude_quota::Tier;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

const WAIT: Duration = Duration::from_secs(15);

/// The reproductions of issue 13, each with the key and range it breaks.
const OUT_OF_RANGE: [(&str, &str); 6] = [
    (
        "poll_interval = 1e20",
        "poll_interval = 1e20 is not allowed: must be 0.1 … 3600 seconds",
    ),
    (
        "stale_after = 1e30",
        "stale_after = 1e30 is not allowed: must be 0.1 … 86400 seconds",
    ),
    (
        "max_connections = 1000000000000",
        "max_connections = 1000000000000 is not allowed: must be 1 … 65536",
    ),
    (
        "backoff_cap = 1e19",
        "backoff_cap = 1e19 is not allowed: must be 0.1 … 86400 seconds",
    ),
    (
        "refresh_min_interval = 1e12",
        "refresh_min_interval = 1e12 is not allowed: must be 0.1 … 3600 seconds",
    ),
    (
        "[thresholds]\nresting_above = 1e9",
        "thresholds.resting_above = 1e9 is not allowed: must be 0 … 100 percent",
    ),
];

/// A config file pointing at `api`, polling fast unless `extra` says
/// otherwise, with `extra` below.
fn config(api: &FakeApi, extra: &str) -> String {
    let poll = if extra.starts_with("poll_interval") {
        ""
    } else {
        "poll_interval = 0.2\n"
    };
    format!("api_url = \"{}\"\n{poll}{extra}\n", api.url())
}

/// The line (1-based) of `config` that holds the last line of `value`.
fn line_of(config: &str, value: &str) -> usize {
    let last = value.lines().last().unwrap();
    config.lines().position(|l| l == last).unwrap() + 1
}

#[tokio::test]
async fn an_out_of_range_value_stops_the_start_naming_file_line_key_and_range() {
    let api = FakeApi::start();
    for (value, refusal) in OUT_OF_RANGE {
        let text = config(&api, value);
        let mut daemon = Daemon::builder()
            .credentials_file(TOKEN, None)
            .config(&text)
            .spawn();
        let status = daemon.wait_exit(WAIT).expect("the daemon exits");
        assert_eq!(status.code(), Some(1), "{value}\n{}", daemon.log());
        let log = daemon.log();
        let line = line_of(&text, value);
        let place = format!("{}, line {line}: ", daemon.config_path().display());
        assert!(
            log.contains(&format!("{place}{refusal}")),
            "{value}: want {place}{refusal}\n{log}"
        );
        assert!(!log.contains("panicked"), "{log}");
        assert!(!daemon.socket().exists(), "nothing was bound");
    }
    assert_eq!(api.requests(), 0, "no daemon polled");
}

#[tokio::test]
async fn an_out_of_range_value_by_sighup_is_logged_and_the_old_config_kept() {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .credentials_file(TOKEN, None)
        .config(&config(&api, ""))
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    for (n, (value, refusal)) in OUT_OF_RANGE.into_iter().enumerate() {
        std::fs::write(daemon.config_path(), config(&api, value)).unwrap();
        daemon.signal("HUP");
        let logged = daemon
            .wait_for_nth_log("config not reloaded", n + 1, WAIT)
            .await;
        assert!(logged.contains(refusal), "{value}: {logged}");
        assert!(logged.contains("config.toml, line "), "{logged}");
        let status = daemon.wait_for_polls(&api, 3, WAIT).await;
        assert_eq!(status.tier, Tier::Burst, "{value}");
    }
    let log = daemon.log();
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test]
async fn a_cleartext_api_url_is_refused_unless_it_is_loopback() {
    let mut daemon = Daemon::builder()
        .credentials_file(TOKEN, None)
        .config("api_url = \"http://api.anthropic.com\"\n")
        .spawn();
    let status = daemon.wait_exit(WAIT).expect("the daemon exits");
    assert_eq!(status.code(), Some(1));
    let log = daemon.log();
    assert!(
        log.contains(", line 1: api_url = \"http://api.anthropic.com\" is not allowed: must be an https:// URL (http:// only for a loopback host"),
        "{log}"
    );
    // A look-alike of a loopback address is not one.
    let mut daemon = Daemon::builder()
        .env("CLAUDE_QUOTA_API_URL", "http://127.0.0.1.nip.io:9")
        .spawn();
    assert_eq!(daemon.wait_exit(WAIT).and_then(|s| s.code()), Some(1));
    assert!(daemon.log().contains("--api-url"), "{}", daemon.log());
}

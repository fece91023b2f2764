//! `[[accounts]]` in the config (docs/configuration.md, "Several
//! accounts"): a table that cannot be used is refused like every other
//! config error, with the file, line and key (exit 1 at start; logged and
//! the old config kept on SIGHUP), and `--check-config` reports the
//! resolved accounts, which the CLI reads instead of parsing the file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use claude_quota::Tier;
use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

const WAIT: Duration = Duration::from_secs(15);

/// The `home` of a daemon about to be built (its HOME), with the login
/// directories `dirs` made in it.
fn home_with(builder: &claude_quota_e2e::DaemonBuilder, dirs: &[&str]) -> PathBuf {
    let home = builder.claude_dir().parent().expect("home").to_owned();
    for dir in dirs {
        std::fs::create_dir_all(home.join(dir)).expect("create a login directory");
    }
    home
}

/// Tables that cannot be used, each with the key and refusal it must be
/// reported with, the line being the key's own (or the table's, for a key
/// left out).
fn refused_tables(home: &Path) -> Vec<(String, &'static str, String)> {
    let work = home.join(".claude-work").display().to_string();
    vec![
        (
            "[[accounts]]\nname = \"Work\"\n".into(),
            "name = \"Work\"",
            "accounts[0].name = \"Work\" is not allowed: must be 1 to 32 lowercase letters".into(),
        ),
        (
            "[[accounts]]\nname = \"a\"\n[[accounts]]\nname = \"a\"\nclaude_config_dir = \"~/.claude-work\"\n".into(),
            "name = \"a\"",
            "accounts[1].name = \"a\" is not allowed: must be a name no other account has (accounts[0] has it too)".into(),
        ),
        (
            "[[accounts]]\nname = \"a\"\nclaude_config_dir = \"~/.claude-gone\"\n".into(),
            "claude_config_dir = \"~/.claude-gone\"",
            "accounts[0].claude_config_dir = \"~/.claude-gone\" is not allowed: must be an existing directory".into(),
        ),
        (
            format!(
                "[[accounts]]\nname = \"a\"\nclaude_config_dir = \"~/.claude-work\"\n[[accounts]]\nname = \"b\"\nclaude_config_dir = \"{work}/\"\n"
            ),
            "claude_config_dir = \"",
            format!("accounts[1].claude_config_dir = \"{work}/\" is not allowed: must be a login no other account reads"),
        ),
    ]
}

/// The 1-based line of `text` that is the last one starting with `start`.
fn line_of(text: &str, start: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    lines.iter().rposition(|l| l.starts_with(start)).unwrap() + 1
}

#[tokio::test]
async fn a_refused_account_stops_the_start_naming_file_line_and_key() {
    let api = FakeApi::start();
    let cases = refused_tables(Path::new("/")).len();
    for case in 0..cases {
        let builder = Daemon::builder();
        let home = home_with(&builder, &[".claude-work"]);
        let (table, key_line, refusal) = refused_tables(&home).swap_remove(case);
        let text = format!("api_url = \"{}\"\npoll_interval = 0.2\n{table}", api.url());
        let mut daemon = builder.credentials_file(TOKEN, None).config(&text).spawn();
        let status = daemon.wait_exit(WAIT).expect("the daemon exits");
        assert_eq!(status.code(), Some(1), "{table}\n{}", daemon.log());
        let place = format!(
            "{}, line {}: ",
            daemon.config_path().display(),
            line_of(&text, key_line)
        );
        let log = daemon.log();
        assert!(
            log.contains(&format!("{place}{refusal}")),
            "want {place}{refusal}\n{log}"
        );
        assert!(!daemon.socket().exists(), "nothing was bound");
    }
    assert_eq!(api.requests(), 0, "no daemon polled");
}

#[tokio::test]
async fn an_unknown_key_in_an_account_stops_the_start_naming_its_line() {
    let mut daemon = Daemon::builder()
        .config("[[accounts]]\nname = \"work\"\nprio = 1\n")
        .spawn();
    let status = daemon.wait_exit(WAIT).expect("the daemon exits");
    assert_eq!(status.code(), Some(1));
    let log = daemon.log();
    assert!(log.contains("line 3"), "{log}");
    assert!(log.contains("unknown field `prio`"), "{log}");
}

#[tokio::test]
async fn a_refused_account_by_sighup_is_logged_and_the_old_config_kept() {
    let api = FakeApi::start();
    let builder = Daemon::builder();
    let home = home_with(&builder, &[".claude-work"]);
    let config = |accounts: &str| {
        format!(
            "api_url = \"{}\"\npoll_interval = 0.2\n{accounts}",
            api.url()
        )
    };
    // The account's own login holds the token: it is the one polled.
    let daemon = builder
        .login("work", TOKEN)
        .config(&config(
            "[[accounts]]\nname = \"work\"\nclaude_config_dir = \"~/.claude-work\"\n",
        ))
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    for (n, (table, _, refusal)) in refused_tables(&home).into_iter().enumerate() {
        std::fs::write(daemon.config_path(), config(&table)).unwrap();
        daemon.signal("HUP");
        let logged = daemon
            .wait_for_nth_log("config not reloaded", n + 1, WAIT)
            .await;
        assert!(logged.contains(&refusal), "{table}: {logged}");
        assert!(logged.contains("config.toml, line "), "{logged}");
        let status = daemon.wait_for_polls(&api, 3, WAIT).await;
        assert_eq!(status.tier, Tier::Burst, "{table}");
    }
    assert!(!daemon.log().contains("panicked"));
}

/// Runs `claude-quotad --check-config` on `config` with `home` as HOME.
fn check_config(home: &Path, config: &str) -> std::process::Output {
    let path = home.join("config.toml");
    std::fs::write(&path, config).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    Command::new(bin("claude-quotad"))
        .arg("--check-config")
        .arg("--config")
        .arg(&path)
        .env_clear()
        .env("HOME", home)
        .output()
        .expect("run claude-quotad --check-config")
}

#[test]
fn check_config_reports_the_resolved_accounts_in_order_of_preference() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".claude-work")).unwrap();
    let output = check_config(
        home.path(),
        "[[accounts]]\nname = \"personal\"\n\n[[accounts]]\nname = \"work\"\nclaude_config_dir = \"~/.claude-work\"\npriority = 0\n",
    );
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let work = home.path().join(".claude-work").display().to_string();
    assert_eq!(
        report["accounts"],
        serde_json::json!([
            {"name": "work", "claude_config_dir": work, "priority": 0},
            {"name": "personal", "claude_config_dir": null, "priority": 1},
        ])
    );

    let output = check_config(home.path(), "");
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["accounts"],
        serde_json::json!([{"name": "default", "claude_config_dir": null, "priority": 0}]),
        "none configured: the implicit default"
    );

    let output = check_config(
        home.path(),
        "[[accounts]]\nname = \"w\"\nclaude_config_dir = \"~/.claude-gone\"\n",
    );
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("line 3: accounts[0].claude_config_dir = \"~/.claude-gone\""),
        "{err}"
    );
}

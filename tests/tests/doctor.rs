//! `claude-quota doctor` against a real daemon: it names what blocks correct
//! answers and exits non-zero, passes on a healthy setup, and treats a
//! missing Ollama or service as a warning only.

use std::process::{Command, Output};
use std::time::Duration;

use claude_quota::CredentialSource;
use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::http::refused_url;
use claude_quota_e2e::{Daemon, FakeApi, FakeOllama, TOKEN};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

/// Runs `claude-quota doctor --json` against `daemon`, with the daemon's
/// private HOME (so no service is found installed).
fn doctor(daemon: &Daemon) -> (Output, Vec<Value>) {
    run_json(
        Command::new(bin("claude-quota"))
            .args(["doctor", "--json", "--socket"])
            .arg(daemon.socket())
            .env("HOME", daemon.root().join("home"))
            .env("XDG_CONFIG_HOME", daemon.root().join("config")),
    )
}

/// Runs a `doctor --json` command and parses its checks.
fn run_json(command: &mut Command) -> (Output, Vec<Value>) {
    let output = command.output().unwrap();
    let checks: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output:?}"));
    (output, checks.as_array().unwrap().clone())
}

/// Field `key` of the first check called `name`.
fn field<'a>(checks: &'a [Value], name: &str, key: &str) -> &'a str {
    checks
        .iter()
        .find(|c| c["check"] == name)
        .and_then(|c| c[key].as_str())
        .unwrap_or_else(|| panic!("no {name} check in {checks:#?}"))
}

/// The verdict of the check called `name`.
fn verdict<'a>(checks: &'a [Value], name: &str) -> &'a str {
    field(checks, name, "verdict")
}

/// The message of the check called `name`.
fn message<'a>(checks: &'a [Value], name: &str) -> &'a str {
    field(checks, name, "message")
}

/// The daemon's config pointing it at the Ollama at `url`.
fn watching(url: &str) -> String {
    format!("[ollama]\nurl = \"{url}\"\n")
}

#[tokio::test]
async fn without_credentials_doctor_names_the_problem_and_exits_1() {
    let api = FakeApi::start();
    let daemon = Daemon::builder().api(&api.url(), 1.0).start();
    daemon
        .wait_for(Duration::from_secs(5), |s| {
            s.credentials == CredentialSource::None && s.last_error.is_some()
        })
        .await;
    let (output, checks) = doctor(&daemon);
    assert_eq!(output.status.code(), Some(1), "{checks:#?}");
    assert_eq!(verdict(&checks, "credentials"), "fail");
    let credentials = checks.iter().find(|c| c["check"] == "credentials").unwrap();
    assert!(
        credentials["message"]
            .as_str()
            .unwrap()
            .contains("no Claude Code login"),
        "{credentials}"
    );
    assert!(credentials["fix"].as_str().unwrap().contains("/login"));
    assert_eq!(verdict(&checks, "daemon"), "ok");
    assert_eq!(verdict(&checks, "socket"), "ok");
}

#[tokio::test]
async fn a_healthy_setup_passes_and_a_missing_ollama_or_service_only_warns() {
    let api = FakeApi::start();
    let ollama = FakeOllama::start(&["qwen3:14b", "qwen3:8b"]);
    let in_an_hour = chrono::Utc::now().timestamp_millis() + 3_600_000;
    let daemon = Daemon::builder()
        .api(&api.url(), 1.0)
        .credentials_file(TOKEN, Some(in_an_hour))
        .config(&watching(&ollama.url()))
        .start();
    daemon
        .wait_for(Duration::from_secs(5), |s| {
            s.as_of.is_some() && s.local.as_ref().is_some_and(|l| l.up)
        })
        .await;

    let (output, checks) = doctor(&daemon);
    assert_eq!(output.status.code(), Some(0), "{checks:#?}");
    for name in [
        "config",
        "socket",
        "daemon",
        "credentials",
        "scope",
        "api",
        "reply",
        "ollama",
    ] {
        assert_eq!(verdict(&checks, name), "ok", "{name}: {checks:#?}");
    }
    let reply = message(&checks, "reply");
    assert!(reply.contains("flat form"), "{reply}");
    assert_eq!(
        verdict(&checks, "service"),
        "warn",
        "not installed in this HOME"
    );
    let ollama_check = checks.iter().find(|c| c["check"] == "ollama").unwrap();
    assert!(
        ollama_check["message"]
            .as_str()
            .unwrap()
            .contains("qwen3:14b")
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains(TOKEN));
}

#[tokio::test]
async fn an_ollama_the_daemon_cannot_reach_only_warns() {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&api.url(), 1.0)
        .credentials_file(TOKEN, None)
        .config(&watching(&refused_url()))
        .start();
    daemon
        .wait_for(Duration::from_secs(5), |s| s.as_of.is_some())
        .await;
    let (output, checks) = doctor(&daemon);
    assert_eq!(output.status.code(), Some(0), "{checks:#?}");
    assert_eq!(verdict(&checks, "ollama"), "warn");

    let text = daemon.cli(&["doctor"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("ok    credentials  from file, max plan"),
        "{stdout}"
    );
    assert!(stdout.contains("WARN  ollama"), "{stdout}");
    assert!(stdout.contains("does not answer the daemon"), "{stdout}");
    assert!(!stdout.contains(TOKEN), "the CLI never sees the token");
}

#[test]
fn with_no_daemon_doctor_exits_3_and_says_how_to_start_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(bin("claude-quota"))
        .args(["doctor", "--socket"])
        .arg(dir.path().join("none.sock"))
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("FAIL  daemon"), "{stdout}");
    assert!(stdout.contains("claude-quota service install"), "{stdout}");
    assert!(stdout.contains("WARN  ollama"), "{stdout}");
}

/// Runs `claude-quota doctor --json` where no daemon listens, with `home`
/// as HOME and Claude Code's directory, no Secret Service and these extra
/// variables.
fn doctor_without_daemon(home: &std::path::Path, env: &[(&str, &str)]) -> (Output, Vec<Value>) {
    run_json(
        Command::new(bin("claude-quota"))
            .args(["doctor", "--json", "--socket"])
            .arg(home.join("none.sock"))
            .env("HOME", home)
            .env("CLAUDE_CONFIG_DIR", home.join(".claude"))
            .env("USER", "cq-tester")
            .env_remove("CLAUDE_CODE_OAUTH_TOKEN")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .envs(env.iter().copied()),
    )
}

#[test]
fn with_no_daemon_and_no_credentials_doctor_fails_naming_every_source() {
    let home = tempfile::tempdir().unwrap();
    let (output, checks) = doctor_without_daemon(home.path(), &[]);
    assert_ne!(output.status.code(), Some(0), "{checks:#?}");
    assert_eq!(verdict(&checks, "credentials"), "fail", "{checks:#?}");
    let tried = message(&checks, "credentials");
    let hashed = "Claude Code-credentials-";
    for place in [
        "CLAUDE_CODE_OAUTH_TOKEN",
        hashed,
        "item \"Claude Code-credentials\" of \"cq-tester\"",
        ".claude/.credentials.json",
    ] {
        assert!(tried.contains(place), "{place}: {tried}");
    }
}

#[test]
fn with_no_daemon_doctor_describes_each_token_but_never_shows_it() {
    let home = tempfile::tempdir().unwrap();
    let in_an_hour = chrono::Utc::now().timestamp_millis() + 3_600_000;
    claude_quota_e2e::daemon::write_credentials(
        &home.path().join(".claude"),
        TOKEN,
        Some(in_an_hour),
    );
    let env_token = "sk-ant-oat01-DOCTOR-ENV-do-not-leak-0b3e";
    let (output, checks) =
        doctor_without_daemon(home.path(), &[("CLAUDE_CODE_OAUTH_TOKEN", env_token)]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains(TOKEN) && !stdout.contains(env_token),
        "{stdout}"
    );
    assert_eq!(verdict(&checks, "credentials"), "ok", "{checks:#?}");
    assert!(
        message(&checks, "credentials").contains("CLAUDE_CODE_OAUTH_TOKEN"),
        "the first source wins: {checks:#?}"
    );
    let sources: Vec<&str> = checks
        .iter()
        .filter(|c| c["check"] == "source")
        .filter_map(|c| c["message"].as_str())
        .collect();
    assert!(
        sources.iter().any(
            |m| m.contains("credentials.json: a token, max plan, expires in")
                && m.contains("scopes user:inference user:profile")
        ),
        "{sources:#?}"
    );
    assert!(
        sources
            .iter()
            .any(|m| m.starts_with("CLAUDE_CODE_OAUTH_TOKEN: a token")
                && m.contains("inference-only")),
        "{sources:#?}"
    );
}

/// Doctor has the daemon binary check the config it would start with, so
/// a config the daemon refuses is named here rather than only in the log of
/// a service that keeps exiting; and the credentials are read with the
/// config's keychain method.
#[test]
fn doctor_names_a_config_the_daemon_would_refuse_and_reads_with_its_keychain_method() {
    use std::os::unix::fs::PermissionsExt;

    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "keychain = \"security-cli\"\n").unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = config.to_str().unwrap();
    let (_, checks) = doctor_without_daemon(home.path(), &[("CLAUDE_QUOTA_CONFIG", path)]);
    assert_eq!(verdict(&checks, "config"), "ok", "{checks:#?}");
    assert_eq!(message(&checks, "config"), format!("{path} is valid"));
    let tried = message(&checks, "credentials");
    assert!(
        tried.contains("/usr/bin/security find-generic-password"),
        "{tried}"
    );

    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o664)).unwrap();
    let (output, checks) = doctor_without_daemon(home.path(), &[("CLAUDE_QUOTA_CONFIG", path)]);
    assert_ne!(output.status.code(), Some(0), "{checks:#?}");
    assert_eq!(verdict(&checks, "config"), "fail", "{checks:#?}");
    let refusal = message(&checks, "config");
    assert!(
        refusal.contains(&format!(
            "claude-quotad would not start: refusing the config {path}: it is writable by its group"
        )),
        "{refusal}"
    );
}

/// `doctor` in Claude Code's setup (`CLAUDE_CONFIG_DIR`) from `dir`, with
/// `subagent_model` as the environment's CLAUDE_CODE_SUBAGENT_MODEL.
fn doctor_in_claude_code(daemon: &Daemon, subagent_model: Option<&str>) -> Vec<Value> {
    let mut command = Command::new(bin("claude-quota"));
    command
        .args(["doctor", "--json", "--socket"])
        .arg(daemon.socket())
        .current_dir(daemon.root())
        .env("HOME", daemon.root().join("home"))
        .env("XDG_CONFIG_HOME", daemon.root().join("config"))
        .env("CLAUDE_CONFIG_DIR", daemon.claude_dir())
        .env_remove("CLAUDE_CODE_SUBAGENT_MODEL");
    if let Some(model) = subagent_model {
        command.env("CLAUDE_CODE_SUBAGENT_MODEL", model);
    }
    run_json(&mut command).1
}

/// With no push yet, `pushes` advises wiring the status line only when
/// it is not wired (so it never contradicts `claude_code`), and
/// `subagents` warns when CLAUDE_CODE_SUBAGENT_MODEL may override the hook.
#[tokio::test]
async fn doctor_agrees_with_itself_on_the_status_line_and_names_a_subagent_model_override() {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .start();
    daemon.wait_for(WAIT, |s| s.as_of.is_some()).await;

    let checks = doctor_in_claude_code(&daemon, None);
    assert_eq!(verdict(&checks, "pushes"), "warn", "{checks:#?}");
    assert_eq!(verdict(&checks, "subagents"), "ok", "{checks:#?}");
    let checks = doctor_in_claude_code(&daemon, Some("opus"));
    assert_eq!(verdict(&checks, "subagents"), "warn");
    assert!(
        message(&checks, "subagents")
            .contains("CLAUDE_CODE_SUBAGENT_MODEL=opus in the environment"),
        "{checks:#?}"
    );

    let line = format!("{} statusline", bin("claude-quota").display());
    let settings = serde_json::json!({
        "statusLine": {"type": "command", "command": line},
        "env": {"CLAUDE_CODE_SUBAGENT_MODEL": "sonnet"},
    });
    let file = daemon.claude_dir().join("settings.json");
    std::fs::write(&file, settings.to_string()).unwrap();
    let checks = doctor_in_claude_code(&daemon, None);
    assert_eq!(verdict(&checks, "pushes"), "ok", "{checks:#?}");
    assert!(message(&checks, "pushes").contains("wired"), "{checks:#?}");
    assert!(
        message(&checks, "subagents").contains(&format!(
            "CLAUDE_CODE_SUBAGENT_MODEL=sonnet in {}",
            file.display()
        )),
        "{checks:#?}"
    );
}

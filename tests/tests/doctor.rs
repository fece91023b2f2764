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

/// Runs `claude-quota doctor --json` against `daemon`, with the daemon's
/// private HOME (so no service is found installed).
fn doctor(daemon: &Daemon) -> (Output, Vec<Value>) {
    let output = Command::new(bin("claude-quota"))
        .args(["doctor", "--json", "--socket"])
        .arg(daemon.socket())
        .env("HOME", daemon.root().join("home"))
        .env("XDG_CONFIG_HOME", daemon.root().join("config"))
        .output()
        .unwrap();
    let checks: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output:?}"));
    (output, checks.as_array().unwrap().clone())
}

/// The verdict of the check called `name`.
fn verdict<'a>(checks: &'a [Value], name: &str) -> &'a str {
    checks
        .iter()
        .find(|c| c["check"] == name)
        .and_then(|c| c["verdict"].as_str())
        .unwrap_or_else(|| panic!("no {name} check in {checks:#?}"))
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
    for name in ["socket", "daemon", "credentials", "scope", "api", "ollama"] {
        assert_eq!(verdict(&checks, name), "ok", "{name}: {checks:#?}");
    }
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

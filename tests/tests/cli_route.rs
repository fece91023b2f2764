//! `claude-quota route VALUE COMPLEXITY` against the real daemon: model and
//! provider in one answer, exit 0 for the cloud and 1 for local, and a
//! daemon that is gone or silent still gets the local answer on stdout,
//! exit 3 and the reason on stderr, never a "yes".

use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use claude_quota::Tier;
use claude_quota_e2e::burst_daemon;
use claude_quota_e2e::daemon::cli_at;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn prints_model_and_provider_and_exits_by_where_the_task_goes() {
    let (api, daemon) = burst_daemon().await;

    let cloud = daemon.cli(&["route", "high", "high"]);
    assert_eq!(stdout(&cloud), "claude-sonnet-4-6 anthropic\n", "{cloud:?}");
    assert_eq!(cloud.status.code(), Some(0));

    let routine = daemon.cli(&["route", "routine", "high"]);
    assert_eq!(stdout(&routine), "qwen3:14b ollama\n", "{routine:?}");
    assert_eq!(routine.status.code(), Some(1));
    assert!(routine.stderr.is_empty(), "{routine:?}");

    let json = daemon.cli(&["route", "critical", "high", "--json"]);
    assert_eq!(json.status.code(), Some(0), "{json:?}");
    let route: Value = serde_json::from_slice(&json.stdout).expect("one JSON object");
    assert_eq!(route["provider"], "anthropic");
    assert_eq!(route["model"], "claude-sonnet-4-6");
    assert_eq!(route["use_cloud"], true);
    assert_eq!(route["tier"], "burst");
    assert_eq!(route["available"], true);
    assert_eq!(route["stale"], false);
    assert!(route["reason"].as_str().is_some_and(|r| !r.is_empty()));

    api.set_usage(90.0, Some(10.0));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
    let resting = daemon.cli(&["route", "critical", "high"]);
    assert_eq!(stdout(&resting), "qwen3:8b ollama\n", "{resting:?}");
    assert_eq!(resting.status.code(), Some(1));
}

#[test]
fn a_missing_daemon_gets_the_local_answer_and_exit_3() {
    let dir = tempfile::Builder::new().prefix("cq-").tempdir().unwrap();
    let output = cli_at(
        &dir.path().join("absent.sock"),
        &["route", "critical", "high"],
        b"",
    );
    assert_eq!(stdout(&output), "qwen3:14b ollama\n", "{output:?}");
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("staying local"), "{stderr}");
    assert!(
        stderr.contains("service install"),
        "says how to start it: {stderr}"
    );

    let json = cli_at(
        &dir.path().join("absent.sock"),
        &["route", "high", "high", "--json"],
        b"",
    );
    assert_eq!(json.status.code(), Some(3));
    let route: Value = serde_json::from_slice(&json.stdout).expect("one JSON object");
    assert_eq!(route["provider"], "ollama");
    assert_eq!(route["use_cloud"], false);
    assert_eq!(route["tier"], Value::Null);
    assert_eq!(route["stale"], true);
    assert_eq!(
        route["available"], false,
        "nobody has seen the fallback model pulled"
    );
}

#[test]
fn a_daemon_that_never_answers_gets_the_local_answer_within_the_deadline() {
    let dir = tempfile::Builder::new().prefix("cq-").tempdir().unwrap();
    let socket = dir.path().join("silent.sock");
    // Accepts (the kernel's backlog does) and never says a word.
    let _listener = UnixListener::bind(&socket).unwrap();
    let started = Instant::now();
    let output = cli_at(&socket, &["route", "critical", "high"], b"");
    let took = started.elapsed();
    assert_eq!(stdout(&output), "qwen3:14b ollama\n", "{output:?}");
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("did not answer"), "{stderr}");
    // One deadline of 2 s for the whole call; generous for a busy machine.
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

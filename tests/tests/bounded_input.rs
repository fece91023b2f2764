//! Input from outside is bounded (README, "Failure modes"): usage API and Ollama
//! bodies of at most 1 MiB, at most 256 Ollama model names in the status,
//! so hostile servers cost bounded memory and every reply fits a frame.

use std::time::Duration;

use claude_quota::{LastErrorKind, Status, Tier};
use claude_quota_e2e::{Daemon, FakeApi, FakeOllama, Fault, TOKEN};

const WAIT: Duration = Duration::from_secs(15);

fn daemon(api: &FakeApi, ollama: &FakeOllama) -> Daemon {
    Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config(&format!("[ollama]\nurl = \"{}\"\n", ollama.url()))
        .start()
}

/// `count` model names of 100 characters each.
fn models(count: usize) -> Vec<String> {
    (0..count)
        .map(|n| format!("hostile-{n:05}-{}", "x".repeat(86)))
        .collect()
}

fn listed(status: &Status) -> Option<(bool, usize)> {
    status.local.as_ref().map(|l| (l.up, l.models.len()))
}

#[tokio::test]
async fn a_usage_reply_over_1_mib_is_bad_response_and_the_reading_is_kept() {
    let api = FakeApi::start();
    let ollama = FakeOllama::start(&[]);
    let daemon = daemon(&api, &ollama);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let padding = "x".repeat(2 * 1024 * 1024);
    api.fail_with(Fault::Body(format!(
        r#"{{"five_hour":{{"utilization":99,"resets_at":null}},"padding":"{padding}"}}"#
    )));
    let status = daemon
        .wait_for(WAIT, |s| {
            s.last_error.as_ref().map(|e| e.kind) == Some(LastErrorKind::BadResponse)
        })
        .await;
    let message = status.last_error.unwrap().message;
    assert!(message.contains("larger than 1 MiB"), "{message}");
    assert_eq!(status.five_hour.unwrap().utilization, 10.0, "reading kept");
    assert_eq!(status.tier, Tier::Burst);
}

#[tokio::test]
async fn the_status_lists_at_most_256_ollama_models() {
    let api = FakeApi::start();
    let names = models(1500);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let ollama = FakeOllama::start(&names);
    let daemon = daemon(&api, &ollama);
    let status = daemon
        .wait_for(WAIT, |s| listed(s).is_some_and(|(up, _)| up))
        .await;
    let local = status.local.unwrap();
    assert_eq!(local.models.len(), 256);
    assert_eq!(local.models[..], names[..256]);
    // Without the cap this status would not fit in a frame.
    let cli = daemon.cli(&["status", "--json"]);
    assert!(cli.status.success(), "{cli:?}");
}

#[tokio::test]
async fn an_ollama_reply_over_1_mib_reads_as_down() {
    let api = FakeApi::start();
    let names = models(10_000);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let ollama = FakeOllama::start(&["qwen3:14b"]);
    let daemon = daemon(&api, &ollama);
    daemon
        .wait_for(WAIT, |s| {
            s.tier == Tier::Burst && listed(s) == Some((true, 1))
        })
        .await;
    ollama.set_models(&names);
    let status = daemon
        .wait_for(WAIT, |s| listed(s) == Some((false, 0)))
        .await;
    assert_eq!(status.tier, Tier::Burst, "usage unaffected");
}

//! Local model awareness, end to end: the daemon asks a fake Ollama which
//! models are pulled, shows it in `status.local`, and lets it shape
//! `select_model` without ever turning a local answer into a cloud one.

use std::time::Duration;

use claude_quota::{Provider, Status, TaskComplexity, TaskValue, Tier};
use claude_quota_e2e::http::refused_url;
use claude_quota_e2e::{Daemon, FakeApi, FakeOllama, TOKEN};

const WAIT: Duration = Duration::from_secs(10);

/// A daemon polling `api` and watching the Ollama at `ollama_url`.
fn daemon(api: &FakeApi, ollama_url: &str) -> Daemon {
    Daemon::builder()
        .api(&api.url(), 0.1)
        .credentials_file(TOKEN, None)
        .config(&format!("[ollama]\nurl = \"{ollama_url}\"\n"))
        .start()
}

fn ollama_lists(status: &Status, models: &[&str]) -> bool {
    status
        .local
        .as_ref()
        .is_some_and(|l| l.up && l.models == models)
}

#[tokio::test]
async fn with_both_models_pulled_the_policy_answers_unchanged_and_available() {
    let api = FakeApi::start();
    let ollama = FakeOllama::start(&["qwen3:14b", "qwen3:8b", "llama3.2:3b"]);
    let daemon = daemon(&api, &ollama.url());
    let status = daemon
        .wait_for(WAIT, |s| {
            s.tier == Tier::Burst && ollama_lists(s, &["qwen3:14b", "qwen3:8b", "llama3.2:3b"])
        })
        .await;
    assert_eq!(status.local.unwrap().url, ollama.url());
    let mut client = daemon.client().await;
    let expected = [
        (
            TaskComplexity::High,
            "claude-sonnet-4-6",
            Provider::Anthropic,
        ),
        (TaskComplexity::Medium, "qwen3:14b", Provider::Ollama),
        (TaskComplexity::Low, "qwen3:14b", Provider::Ollama),
    ];
    for (complexity, model, provider) in expected {
        let choice = client.select_model(complexity).await.unwrap();
        assert_eq!((choice.model.as_str(), choice.provider), (model, provider));
        assert!(choice.available, "{complexity}: {choice:?}");
        assert!(!choice.reason.contains("pulled"), "{}", choice.reason);
    }

    api.set_usage(90.0, Some(10.0));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
    let choice = client.select_model(TaskComplexity::High).await.unwrap();
    assert_eq!(
        (choice.model.as_str(), choice.available),
        ("qwen3:8b", true)
    );
}

#[tokio::test]
async fn with_only_the_small_model_pulled_it_answers_and_says_why() {
    let api = FakeApi::start();
    let ollama = FakeOllama::start(&["qwen3:8b"]);
    let daemon = daemon(&api, &ollama.url());
    daemon
        .wait_for(WAIT, |s| {
            s.tier == Tier::Burst && ollama_lists(s, &["qwen3:8b"])
        })
        .await;
    let mut client = daemon.client().await;
    let choice = client.select_model(TaskComplexity::Medium).await.unwrap();
    assert_eq!(choice.model, "qwen3:8b");
    assert_eq!(choice.provider, Provider::Ollama);
    assert!(choice.available);
    assert!(
        choice.reason.contains("qwen3:14b is not pulled"),
        "{}",
        choice.reason
    );
    // The cloud answer does not depend on Ollama.
    let high = client.select_model(TaskComplexity::High).await.unwrap();
    assert_eq!(high.model, "claude-sonnet-4-6");

    // Pulling the large model is noticed at the next interval.
    ollama.set_models(&["qwen3:8b", "qwen3:14b"]);
    daemon
        .wait_for(WAIT, |s| ollama_lists(s, &["qwen3:8b", "qwen3:14b"]))
        .await;
    let choice = client.select_model(TaskComplexity::Medium).await.unwrap();
    assert_eq!(
        (choice.model.as_str(), choice.available),
        ("qwen3:14b", true)
    );

    // Neither model: the policy's model stays, marked unavailable.
    ollama.set_models(&["llama3.2:3b"]);
    daemon
        .wait_for(WAIT, |s| ollama_lists(s, &["llama3.2:3b"]))
        .await;
    let choice = client.select_model(TaskComplexity::Low).await.unwrap();
    assert_eq!(
        (choice.model.as_str(), choice.available),
        ("qwen3:14b", false)
    );
    assert!(choice.reason.contains("neither"), "{}", choice.reason);
}

#[tokio::test]
async fn with_ollama_down_answers_stay_local_and_unavailable() {
    let api = FakeApi::start();
    api.set_usage(60.0, Some(10.0));
    let url = refused_url();
    let daemon = daemon(&api, &url);
    let status = daemon.wait_for(WAIT, |s| s.tier == Tier::Active).await;
    let local = status.local.expect("local is always reported");
    assert_eq!((local.url.as_str(), local.up), (url.as_str(), false));
    assert!(local.models.is_empty());

    let mut client = daemon.client().await;
    for complexity in TaskComplexity::ALL {
        let choice = client.select_model(complexity).await.unwrap();
        assert_eq!(choice.provider, Provider::Ollama, "{complexity}");
        assert_eq!(choice.model, "qwen3:14b");
        assert!(!choice.available);
        assert!(choice.reason.contains("not answering"), "{}", choice.reason);
    }
    for value in TaskValue::ALL {
        assert!(!client.should_use_cloud(value).await.unwrap(), "{value}");
    }

    // In burst the cloud answer is unaffected, and local ones stay local.
    api.set_usage(10.0, Some(10.0));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let high = client.select_model(TaskComplexity::High).await.unwrap();
    assert_eq!((high.provider, high.available), (Provider::Anthropic, true));
    let low = client.select_model(TaskComplexity::Low).await.unwrap();
    assert_eq!((low.provider, low.available), (Provider::Ollama, false));
}

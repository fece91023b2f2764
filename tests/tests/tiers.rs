//! Each tier and its boundaries, end to end: fake API → daemon → socket →
//! client library and CLI.

use std::time::Duration;

use claude_quota::{Provider, TaskComplexity, TaskValue, Tier};
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

const WAIT: Duration = Duration::from_secs(10);

/// (5h, 7d, tier) on both sides of every threshold of docs/policy.md.
const BOUNDARIES: [(f64, Option<f64>, Tier); 9] = [
    (0.0, None, Tier::Burst),
    (49.99, Some(10.0), Tier::Burst),
    (50.0, Some(10.0), Tier::Active),
    (80.0, Some(10.0), Tier::Active),
    (80.01, Some(10.0), Tier::Resting),
    (10.0, Some(80.0), Tier::Burst),
    (10.0, Some(80.01), Tier::Resting),
    (65.0, Some(95.0), Tier::Resting),
    (100.0, Some(100.0), Tier::Resting),
];

#[tokio::test]
async fn every_tier_and_boundary_answers_by_the_policy_table() {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&api.url(), 0.1)
        .credentials_file(TOKEN, None)
        .start();
    let mut client = daemon.client().await;
    for (five, seven, tier) in BOUNDARIES {
        api.set_usage(five, seven);
        let status = daemon
            .wait_for(WAIT, |s| {
                s.five_hour.map(|w| w.utilization) == Some(five)
                    && s.seven_day.map(|w| w.utilization) == seven
            })
            .await;
        assert_eq!(status.tier, tier, "5h {five} 7d {seven:?}");
        assert!(!status.stale);
        for value in TaskValue::ALL {
            let decision = client.decide(value).await.unwrap();
            let expected =
                tier == Tier::Burst && matches!(value, TaskValue::Critical | TaskValue::High);
            assert_eq!(decision.use_cloud, expected, "{tier} {value}");
            assert_eq!(decision.tier, tier);
        }
        for complexity in TaskComplexity::ALL {
            let choice = client.select_model(complexity).await.unwrap();
            let expected = match (tier, complexity) {
                (Tier::Burst, TaskComplexity::High) => "claude-sonnet-4-6",
                (Tier::Resting, _) => "qwen3:8b",
                _ => "qwen3:14b",
            };
            assert_eq!(choice.model, expected, "{tier} {complexity}");
            assert_eq!(
                choice.provider == Provider::Anthropic,
                expected == "claude-sonnet-4-6"
            );
        }
    }
}

#[tokio::test]
async fn the_cli_answers_with_exit_codes() {
    let api = FakeApi::start();
    api.set_usage(12.0, Some(30.0));
    let daemon = Daemon::builder()
        .api(&api.url(), 0.1)
        .credentials_file(TOKEN, None)
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;

    let yes = daemon.cli(&["should-use-cloud", "high"]);
    assert_eq!(yes.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&yes.stdout), "yes\n");
    let routine = daemon.cli(&["should-use-cloud", "routine"]);
    assert_eq!(routine.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&routine.stdout), "no\n");
    let model = daemon.cli(&["select-model", "high"]);
    assert_eq!(
        String::from_utf8_lossy(&model.stdout),
        "claude-sonnet-4-6\n"
    );
    let unknown_value = daemon.cli(&["should-use-cloud", "urgent"]);
    assert_eq!(unknown_value.status.code(), Some(2), "usage error");

    let json = daemon.cli(&["status", "--json"]);
    assert_eq!(json.status.code(), Some(0));
    let status: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(status["tier"], "burst");
    assert_eq!(status["five_hour"]["utilization"], 12.0);
    assert_eq!(status["credentials"], "file");
    assert_eq!(status["source"], "api");
}

#[tokio::test]
async fn without_credentials_every_answer_is_local() {
    let api = FakeApi::start();
    let daemon = Daemon::builder().api(&api.url(), 0.1).start();
    let status = daemon.wait_for(WAIT, |s| s.last_error.is_some()).await;
    assert_eq!(status.tier, Tier::Unknown);
    assert!(status.stale);
    let error = status.last_error.unwrap();
    assert_eq!(error.kind, claude_quota::LastErrorKind::NoCredentials);
    assert!(
        error.message.contains(".credentials.json"),
        "{}",
        error.message
    );
    assert_eq!(status.credentials, claude_quota::CredentialSource::None);

    let mut client = daemon.client().await;
    for value in TaskValue::ALL {
        assert!(!client.should_use_cloud(value).await.unwrap(), "{value}");
    }
    for complexity in TaskComplexity::ALL {
        assert_eq!(
            client.select_model(complexity).await.unwrap().provider,
            Provider::Ollama
        );
    }
    assert_eq!(api.requests(), 0, "no token, no request");

    let cli = daemon.cli(&["should-use-cloud", "high"]);
    assert_eq!(cli.status.code(), Some(1));
    let status = daemon.cli(&["status"]);
    assert_eq!(status.status.code(), Some(0));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.starts_with("UNKNOWN") && text.contains("log in with Claude Code"),
        "{text}"
    );
}

#[tokio::test]
async fn the_env_token_is_used_before_the_file() {
    let api = FakeApi::start();
    api.accept_token("sk-ant-oat01-from-env");
    let daemon = Daemon::builder()
        .api(&api.url(), 0.1)
        .credentials_file(TOKEN, None)
        .env("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-from-env")
        .start();
    let status = daemon.wait_for(WAIT, |s| s.five_hour.is_some()).await;
    assert_eq!(status.credentials, claude_quota::CredentialSource::Env);
    assert_eq!(api.rejected_tokens(), 0);
}

/// Answers are encoded once per change of state; a reading that ages past
/// `stale_after` changes no state, yet the answer must turn local then.
#[tokio::test]
async fn a_reading_that_turns_stale_turns_cached_answers_local() {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&api.url(), 60.0)
        .credentials_file(TOKEN, None)
        .config("stale_after = 1.5\n")
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let mut client = daemon.client().await;
    let fresh = client.decide(TaskValue::Critical).await.unwrap();
    assert!(fresh.use_cloud && !fresh.stale, "{fresh:?}");
    assert_eq!(
        client
            .select_model(TaskComplexity::High)
            .await
            .unwrap()
            .provider,
        Provider::Anthropic
    );

    // The status, computed afresh, says when the reading turned stale.
    daemon.wait_for(WAIT, |s| s.stale).await;
    let stale = client.decide(TaskValue::Critical).await.unwrap();
    assert_eq!(
        (stale.use_cloud, stale.tier, stale.stale),
        (false, Tier::Unknown, true)
    );
    let model = client.select_model(TaskComplexity::High).await.unwrap();
    assert_eq!((model.provider, model.stale), (Provider::Ollama, true));
    assert_eq!(api.requests(), 1, "nothing but the clock moved");
}

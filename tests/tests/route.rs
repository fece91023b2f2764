//! `route()` in the Rust clients, as in Python's and Node's: the two
//! questions in one call that never fails, cloud only when both answers
//! allow it, local whenever the daemon cannot be asked.

use std::time::Duration;

use claude_quota::{
    Client, FALLBACK_LOCAL_MODEL, Provider, TaskComplexity, TaskValue, Tier, blocking,
};
use claude_quota_e2e::burst_daemon;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_cloud_needs_both_answers_and_everything_else_stays_local() {
    let (api, daemon) = burst_daemon().await;
    let mut client = daemon.client().await;

    let cloud = client.route(TaskValue::High, TaskComplexity::High).await;
    assert_eq!(cloud.provider, Provider::Anthropic, "{cloud:?}");
    assert_eq!(cloud.model, "claude-sonnet-4-6");
    assert_eq!(cloud.tier, Some(Tier::Burst));

    // A hard task of little value: the complexity asks for the cloud, the
    // value does not allow it, so the medium task's local model.
    let local = client.route(TaskValue::Medium, TaskComplexity::High).await;
    assert_eq!(local.provider, Provider::Ollama, "{local:?}");
    assert_eq!(local.model, "qwen3:14b");
    let routine = client.route(TaskValue::Routine, TaskComplexity::High).await;
    assert_eq!(routine.provider, Provider::Ollama, "{routine:?}");

    api.set_usage(90.0, Some(10.0));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
    let resting = client
        .route(TaskValue::Critical, TaskComplexity::High)
        .await;
    assert_eq!(resting.provider, Provider::Ollama, "{resting:?}");
    assert_eq!(resting.model, "qwen3:8b");
    assert_eq!(resting.tier, Some(Tier::Resting));
}

#[tokio::test]
async fn a_daemon_that_went_away_answers_local_not_an_error() {
    let (_api, mut daemon) = burst_daemon().await;
    let mut client = Client::connect_to(daemon.socket()).await.unwrap();
    assert_eq!(
        client
            .route(TaskValue::High, TaskComplexity::High)
            .await
            .provider,
        Provider::Anthropic
    );
    daemon.signal("TERM");
    assert!(daemon.wait_exit(WAIT).is_some(), "the daemon stopped");

    let route = client.route(TaskValue::High, TaskComplexity::High).await;
    assert_eq!(route.provider, Provider::Ollama, "{route:?}");
    assert_eq!(route.model, FALLBACK_LOCAL_MODEL);
    assert_eq!(route.tier, None);
    assert!(route.reason.contains("staying local"), "{}", route.reason);
}

#[test]
fn the_blocking_client_routes_the_same_way() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_api, mut daemon) = runtime.block_on(burst_daemon());
    let mut client = blocking::Client::connect_to(daemon.socket()).unwrap();
    let cloud = client.route(TaskValue::Critical, TaskComplexity::High);
    assert_eq!(cloud.provider, Provider::Anthropic, "{cloud:?}");
    let low = client.route(TaskValue::Critical, TaskComplexity::Low);
    assert_eq!(low.provider, Provider::Ollama, "{low:?}");

    daemon.signal("TERM");
    assert!(daemon.wait_exit(WAIT).is_some(), "the daemon stopped");
    let gone = client.route(TaskValue::Critical, TaskComplexity::High);
    assert_eq!(gone.provider, Provider::Ollama, "{gone:?}");
    assert_eq!(gone.model, FALLBACK_LOCAL_MODEL);
}

/// A router's synchronous helper often runs inside async code (a handler
/// calling a library that calls `blocking::route`): the blocking client
/// works there exactly as outside, with no runtime of its own to nest.
#[tokio::test(flavor = "current_thread")]
async fn the_blocking_client_works_inside_async_code() {
    let (_api, daemon) = burst_daemon().await;
    let mut client = blocking::Client::connect_to(daemon.socket()).unwrap();
    let cloud = client.route(TaskValue::High, TaskComplexity::High);
    assert_eq!(cloud.provider, Provider::Anthropic, "{cloud:?}");
    assert!(client.status().is_ok());
    drop(client);
}

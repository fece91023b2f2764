//! The free `route()` functions find the daemon through
//! `CLAUDE_QUOTA_SOCKET` (else the platform default) and answer local when
//! nothing answers there. One test alone in its binary: it sets the
//! process environment, which no other thread may be reading.

use claude_quota::{FALLBACK_LOCAL_MODEL, Provider, TaskComplexity, TaskValue, blocking};
use claude_quota_e2e::burst_daemon;

#[tokio::test(flavor = "current_thread")]
async fn route_asks_the_default_socket_and_stays_local_without_a_daemon() {
    let (_api, daemon) = burst_daemon().await;

    // SAFETY: the only test in this binary, on a current-thread runtime:
    // no other thread reads the environment while it changes.
    unsafe { std::env::set_var("CLAUDE_QUOTA_SOCKET", daemon.socket()) };
    let cloud = claude_quota::route(TaskValue::High, TaskComplexity::High).await;
    assert_eq!(cloud.provider, Provider::Anthropic, "{cloud:?}");

    let absent = daemon.root().join("absent.sock");
    // SAFETY: as above.
    unsafe { std::env::set_var("CLAUDE_QUOTA_SOCKET", &absent) };
    let local = claude_quota::route(TaskValue::Critical, TaskComplexity::High).await;
    assert_eq!(local.provider, Provider::Ollama, "{local:?}");
    assert_eq!(local.model, FALLBACK_LOCAL_MODEL);
    let blocking_local =
        tokio::task::spawn_blocking(|| blocking::route(TaskValue::Critical, TaskComplexity::High))
            .await
            .unwrap();
    assert_eq!(blocking_local.provider, Provider::Ollama);
    assert!(blocking_local.reason.contains("staying local"));
}

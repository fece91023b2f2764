//! The Node client's `node --test` suite (`client/node/test`), run from
//! `cargo test` so that the README's one test command covers it: the
//! client against the real daemon binary.

use std::process::Command;

use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::suites::{NODE_CLIENT, assert_node_tests_passed, run};

/// Without `node` it is SKIPPED locally and fails in CI
/// (`CLAUDE_QUOTA_REQUIRE_NODE`).
#[test]
fn the_node_client_suite_passes_against_the_real_daemon() {
    if !NODE_CLIENT.ready() {
        return;
    }
    let mut command = Command::new("node");
    command
        .args(["--test", "client/node/test/"])
        .env("CLAUDE_QUOTAD_BIN", bin("claude-quotad"));
    assert_node_tests_passed(&run(command, "node --test client/node/test/"));
}

/// The README's one-liner prints its answer and exits, with a daemon and
/// without one: the module-level `route()` leaves nothing open that keeps
/// Node's event loop alive.
#[tokio::test]
async fn the_module_level_route_lets_node_exit() {
    if !NODE_CLIENT.ready() {
        return;
    }
    let (_api, daemon) = claude_quota_e2e::burst_daemon().await;
    let absent = daemon.root().join("absent.sock");
    for (socket, provider) in [(daemon.socket(), "anthropic"), (absent.as_path(), "ollama")] {
        let mut child = tokio::process::Command::new("node")
            .args([
                "-e",
                "require('./client/node').route('high','high').then(console.log)",
            ])
            .current_dir(claude_quota_e2e::suites::repo_root())
            .env("CLAUDE_QUOTA_SOCKET", socket)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("run node");
        let mut stdout = child.stdout.take().expect("node's stdout");
        let exited = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait()).await;
        assert!(
            exited.is_ok(),
            "node did not exit after answering ({socket:?})"
        );
        let mut printed = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut printed)
            .await
            .unwrap();
        assert!(
            printed.contains(&format!("provider: '{provider}'")),
            "{printed}"
        );
    }
}

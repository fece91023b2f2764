//! The Node client's `node --test` suite (`client/node/test`), run from
//! `cargo test` so that the README's one test command covers it: the
//! client against the real daemon binary.

use std::path::Path;
use std::process::Command;

use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::suites::{assert_node_tests_passed, available, run, runs};

/// When set, a missing `node` fails this test instead of skipping it (as CI does).
const REQUIRE_ENV: &str = "CLAUDE_QUOTA_REQUIRE_NODE";

#[test]
fn the_node_client_suite_passes_against_the_real_daemon() {
    let node = runs(Path::new("node"), &["--version"], "node");
    if !available(
        "the Node client tests",
        node,
        "install Node.js 18 or later",
        REQUIRE_ENV,
    ) {
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
    let node = runs(Path::new("node"), &["--version"], "node");
    if !available(
        "the Node exit test",
        node,
        "install Node.js 18 or later",
        REQUIRE_ENV,
    ) {
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

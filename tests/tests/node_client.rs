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

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

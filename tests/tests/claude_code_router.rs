//! claude-code-router 2.0.0 itself, headless (`ccr start`), with the
//! README's config and `client/node/examples/claude-code-router.js` in front
//! of a fake Anthropic and a fake Ollama, the real daemon deciding
//! (`client/node/integration/claude-code-router.test.cjs`).
//!
//! The pinned package is installed on first use under
//! `target/test-packages/ccr` (`.ci/install-test-packages ccr`); without
//! `node` and npm (or a network to install) the test is SKIPPED locally
//! and fails in CI (`CLAUDE_QUOTA_REQUIRE_ROUTERS`).

use std::process::Command;

use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::suites::{CLAUDE_CODE_ROUTER, assert_node_tests_passed, packages_dir, run};

#[test]
fn claude_code_router_sends_each_request_where_the_daemon_says() {
    if !CLAUDE_CODE_ROUTER.ready() {
        return;
    }
    let ccr = packages_dir().join("ccr/node_modules/.bin/ccr");
    let mut command = Command::new("node");
    command
        .args(["--test", "client/node/integration/"])
        .env("CLAUDE_QUOTAD_BIN", bin("claude-quotad"))
        .env("CLAUDE_QUOTA_CCR_BIN", &ccr);
    assert_node_tests_passed(&run(command, "node --test client/node/integration/"));
}

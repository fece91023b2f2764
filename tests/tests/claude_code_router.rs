//! claude-code-router 2.0.0 itself, headless (`ccr start`), with the
//! README's config and `client/node/examples/claude-code-router.js` in front
//! of a fake Anthropic and a fake Ollama, the real daemon deciding
//! (`client/node/integration/claude-code-router.test.cjs`).
//!
//! `.ci/run` installs the pinned package under `target/routers/ccr`
//! (`CLAUDE_QUOTA_ROUTERS_DIR`); without it the test is SKIPPED locally and
//! fails in CI.

use std::process::Command;

use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::suites::{assert_node_tests_passed, available, routers_dir, run, runs};

/// When set, a missing install fails this test instead of skipping it (as CI does).
const REQUIRE_ENV: &str = "CLAUDE_QUOTA_REQUIRE_ROUTERS";

#[test]
fn claude_code_router_sends_each_request_where_the_daemon_says() {
    let prefix = routers_dir().join("ccr");
    let ccr = prefix.join("node_modules/.bin/ccr");
    let check = if ccr.exists() {
        runs("node".as_ref(), &["--version"], "node")
    } else {
        Err(format!("{} is missing", ccr.display()))
    };
    let install = format!(
        "install it with `npm install --prefix {} @musistudio/claude-code-router@2.0.0` (.ci/run does)",
        prefix.display()
    );
    if !available("the claude-code-router test", check, &install, REQUIRE_ENV) {
        return;
    }
    let mut command = Command::new("node");
    command
        .args(["--test", "client/node/integration/"])
        .env("CLAUDE_QUOTAD_BIN", bin("claude-quotad"))
        .env("CLAUDE_QUOTA_CCR_BIN", &ccr);
    assert_node_tests_passed(&run(command, "node --test client/node/integration/"));
}

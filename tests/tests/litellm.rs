//! LiteLLM itself (`litellm==1.110.2`), with the README's router and
//! `client/python/examples/litellm_claude_quota.py` in front of a fake
//! Anthropic and a fake Ollama, the real daemon deciding
//! (`client/python/tests/test_litellm.py`).
//!
//! LiteLLM and pytest are installed on first use into a virtualenv under
//! `target/test-packages/litellm-venv` (`.ci/install-test-packages
//! litellm`); without `python3` (or a network to install) the test is
//! SKIPPED locally and fails in CI (`CLAUDE_QUOTA_REQUIRE_ROUTERS`).

use std::process::Command;

use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::suites::{LITELLM, assert_pytest_passed, run, venv_python};

#[test]
fn litellm_sends_each_request_where_the_daemon_says() {
    if !LITELLM.ready() {
        return;
    }
    let mut command = Command::new(venv_python("litellm"));
    command
        .args(["-m", "pytest", "client/python/tests/test_litellm.py", "-q"])
        .args(["-p", "no:cacheprovider", "-r", "fEs", "-W", "ignore"])
        .env("CLAUDE_QUOTAD_BIN", bin("claude-quotad"))
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    assert_pytest_passed(&run(command, "pytest client/python/tests/test_litellm.py"));
}

//! LiteLLM itself (`litellm==1.110.2`), with the README's router and
//! `client/python/examples/litellm_claude_quota.py` in front of a fake
//! Anthropic and a fake Ollama, the real daemon deciding
//! (`client/python/tests/test_litellm.py`).
//!
//! `.ci/run` installs LiteLLM and pytest into a virtualenv under
//! `target/routers/litellm-venv` (`CLAUDE_QUOTA_ROUTERS_DIR`); without it
//! the test is SKIPPED locally and fails in CI.

use std::process::Command;

use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::suites::{assert_pytest_passed, available, routers_dir, run, runs};

/// When set, a missing install fails this test instead of skipping it (as CI does).
const REQUIRE_ENV: &str = "CLAUDE_QUOTA_REQUIRE_ROUTERS";

#[test]
fn litellm_sends_each_request_where_the_daemon_says() {
    let venv = routers_dir().join("litellm-venv");
    let python = venv.join("bin/python");
    let check = runs(
        &python,
        &["-c", "import litellm, pytest"],
        "litellm with pytest",
    )
    .map_err(|missing| format!("{missing} in {}", venv.display()));
    let install = format!(
        "install it with `python3 -m venv {0} && {0}/bin/pip install litellm==1.110.2 pytest` (.ci/run does)",
        venv.display()
    );
    if !available("the LiteLLM test", check, &install, REQUIRE_ENV) {
        return;
    }
    let mut command = Command::new(&python);
    command
        .args(["-m", "pytest", "client/python/tests/test_litellm.py", "-q"])
        .args(["-p", "no:cacheprovider", "-r", "fEs", "-W", "ignore"])
        .env("CLAUDE_QUOTAD_BIN", bin("claude-quotad"))
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    assert_pytest_passed(&run(command, "pytest client/python/tests/test_litellm.py"));
}

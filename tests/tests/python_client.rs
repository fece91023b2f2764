//! The Python client's pytest suite (`client/python/tests`), run from
//! `cargo test` so that the README's one test command covers it: the
//! client, both cascade examples and the drop-in surface, against the real
//! daemon binary. (The LiteLLM test there has a wrapper of its own,
//! `litellm.rs`, because it needs the pinned LiteLLM install.)

use std::process::Command;

use claude_quota_e2e::daemon::{bin, bin_dir};
use claude_quota_e2e::suites::{PYTHON_CLIENT, assert_pytest_passed, run, venv_python};

/// Runs in the pinned pytest and jsonschema `.ci/install-test-packages`
/// installs on first use; without `python3` (or a network to install) it
/// is SKIPPED locally and fails in CI (`CLAUDE_QUOTA_REQUIRE_PYTEST`).
#[test]
fn the_python_client_suite_passes_against_the_real_daemon() {
    if !PYTHON_CLIENT.ready() {
        return;
    }
    let cascade = bin_dir().join("examples/cascade");
    assert!(
        cascade.exists(),
        "{} is missing: run `cargo build --workspace --examples` (`cargo test --workspace` builds it)",
        cascade.display()
    );
    let mut command = Command::new(venv_python("pytest"));
    command
        .args(["-m", "pytest", "client/python/tests", "-q"])
        .args(["--ignore", "client/python/tests/test_litellm.py"])
        .args(["-p", "no:cacheprovider", "-r", "fEs"])
        .env("CLAUDE_QUOTAD_BIN", bin("claude-quotad"))
        .env("CLAUDE_QUOTA_CLI_BIN", bin("claude-quota"))
        .env("CLAUDE_QUOTA_CASCADE_BIN", &cascade)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    assert_pytest_passed(&run(command, "pytest client/python/tests"));
}

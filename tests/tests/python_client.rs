//! The Python client's pytest suite (`client/python/tests`), run from
//! `cargo test` so that the README's one test command covers it: the
//! client, both cascade examples and the drop-in surface, against the real
//! daemon binary. (The LiteLLM test there has a wrapper of its own,
//! `litellm.rs`, because it needs the pinned LiteLLM install.)

use std::path::Path;
use std::process::Command;

use claude_quota_e2e::daemon::{bin, bin_dir};
use claude_quota_e2e::suites::{assert_pytest_passed, available, run, runs};

/// When set (`.ci/run` sets it), a missing `python3` or pytest fails this
/// test instead of skipping it, so CI cannot pass without the suite.
const REQUIRE_ENV: &str = "CLAUDE_QUOTA_REQUIRE_PYTEST";

#[test]
fn the_python_client_suite_passes_against_the_real_daemon() {
    let pytest = runs(
        Path::new("python3"),
        &["-m", "pytest", "--version"],
        "pytest for python3",
    );
    let install = "install it with `python3 -m pip install pytest`";
    if !available("the Python client tests", pytest, install, REQUIRE_ENV) {
        return;
    }
    let cascade = bin_dir().join("examples/cascade");
    assert!(
        cascade.exists(),
        "{} is missing: run `cargo build --workspace --examples` (`cargo test --workspace` builds it)",
        cascade.display()
    );
    let mut command = Command::new("python3");
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

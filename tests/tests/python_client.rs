//! The Python client's pytest suite (`client/python/tests`), run from
//! `cargo test` so that the README's one test command covers it: the
//! client, and both cascade examples, against the real daemon binary.

use std::path::Path;
use std::process::Command;

use claude_quota_e2e::daemon::{bin, bin_dir};

/// When set (`.ci/run` sets it), a missing `python3` or pytest fails this
/// test instead of skipping it, so CI cannot pass without the suite.
const REQUIRE_ENV: &str = "CLAUDE_QUOTA_REQUIRE_PYTEST";

#[test]
fn the_python_client_suite_passes_against_the_real_daemon() {
    if let Err(missing) = pytest_installed() {
        assert!(
            std::env::var_os(REQUIRE_ENV).is_none(),
            "{missing}, and {REQUIRE_ENV} is set"
        );
        eprintln!(
            "SKIPPED the Python client tests: {missing}; install it with `python3 -m pip install pytest`"
        );
        return;
    }
    let cascade = bin_dir().join("examples/cascade");
    assert!(
        cascade.exists(),
        "{} is missing: run `cargo build --workspace --examples` (`cargo test --workspace` builds it)",
        cascade.display()
    );
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let output = Command::new("python3")
        .args(["-m", "pytest", "client/python/tests", "-q"])
        .args(["-p", "no:cacheprovider", "-r", "fEs"])
        .current_dir(repo)
        .env("CLAUDE_QUOTAD_BIN", bin("claude-quotad"))
        .env("CLAUDE_QUOTA_CLI_BIN", bin("claude-quota"))
        .env("CLAUDE_QUOTA_CASCADE_BIN", &cascade)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("CLAUDE_QUOTA_SOCKET")
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "pytest failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // Exit 0 must mean tests ran and passed: pytest exits 5 when it
    // collects nothing (caught above), and a skipped test proves nothing.
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains(" passed") && !summary.contains("skipped"),
        "unexpected pytest summary: {summary}\n{stdout}"
    );
}

/// Whether `python3 -m pytest` can run; if not, what is missing.
fn pytest_installed() -> Result<(), String> {
    let output = Command::new("python3")
        .args(["-m", "pytest", "--version"])
        .output()
        .map_err(|err| format!("python3 cannot be run ({err})"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err("pytest is not installed for python3".to_owned())
    }
}

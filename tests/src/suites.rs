//! Test suites written in other languages (pytest, `node --test`) and the
//! real routers they drive, run from `cargo test` so that the README's one
//! test command covers them.
//!
//! A suite whose tool or router package is missing is SKIPPED locally (with
//! the command that installs it) but fails in CI: a gate that skips itself
//! green proves nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether a missing tool must fail the test: in CI (`CI=true`, which
/// `.ci/run` and CI services set) or when the suite's own `require_env` is set.
pub fn required(require_env: &str) -> bool {
    std::env::var("CI").is_ok_and(|ci| ci == "true") || std::env::var_os(require_env).is_some()
}

/// `true` when the suite can run; otherwise prints SKIPPED with `install`
/// (how to get what is missing) and returns `false`, or panics when
/// [`required`].
pub fn available(suite: &str, check: Result<(), String>, install: &str, require_env: &str) -> bool {
    let Err(missing) = check else {
        return true;
    };
    assert!(
        !required(require_env),
        "{suite} cannot run: {missing} (CI=true or {require_env} is set); {install}"
    );
    eprintln!("SKIPPED {suite}: {missing}; {install}");
    false
}

/// `Ok` when `program args…` runs and exits 0; otherwise what is missing.
pub fn runs(program: &Path, args: &[&str], what: &str) -> Result<(), String> {
    match Command::new(program).args(args).output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(_) => Err(format!("{what} is not installed")),
        Err(err) => Err(format!("{} cannot be run ({err})", program.display())),
    }
}

/// The workspace root, where the suites' paths are relative to.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// Where `.ci/run` installs the real routers the tests drive (pinned npm
/// and pip packages): `$CLAUDE_QUOTA_ROUTERS_DIR`, else `target/routers`
/// of the workspace, so the install is cached between runs.
pub fn routers_dir() -> PathBuf {
    std::env::var_os("CLAUDE_QUOTA_ROUTERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/routers"))
}

/// Runs `command` in the workspace root with a private `TMPDIR` and returns
/// its stdout; panics with both outputs when it fails, and when the suite
/// left anything in that `TMPDIR` (temp dirs, sockets of a session bus):
/// hundreds of runs a day must not fill a laptop's or CI's disk.
pub fn run(mut command: Command, suite: &str) -> String {
    let tmp = tempfile::Builder::new()
        .prefix("cq-suite-")
        .tempdir()
        .expect("temp dir for the suite");
    let output = command
        .current_dir(repo_root())
        .env_remove("CLAUDE_QUOTA_SOCKET")
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap_or_else(|err| panic!("cannot run {suite}: {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{suite} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    let left: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("read the suite's TMPDIR")
        .map(|entry| {
            entry
                .expect("TMPDIR entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        left.is_empty(),
        "{suite} left files in its TMPDIR: {left:?}"
    );
    stdout
}

/// Asserts that a `node --test` (TAP) run ran tests, all passed and none
/// was skipped: exit 0 alone would also follow a run that found no tests.
pub fn assert_node_tests_passed(stdout: &str) {
    let count = |key: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(&format!("# {key} ")))
            .and_then(|n| n.trim().parse::<u32>().ok())
            .unwrap_or_else(|| panic!("no `# {key}` line in the TAP output:\n{stdout}"))
    };
    assert!(count("pass") > 0, "no test ran:\n{stdout}");
    for key in ["fail", "cancelled", "skipped", "todo"] {
        assert_eq!(count(key), 0, "{key} tests:\n{stdout}");
    }
}

/// Asserts that a pytest run's summary shows passed tests and none skipped.
pub fn assert_pytest_passed(stdout: &str) {
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.contains(" passed") && !summary.contains("skipped"),
        "unexpected pytest summary: {summary}\n{stdout}"
    );
}

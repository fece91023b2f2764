//! Test suites written in other languages (pytest, `node --test`, the
//! MCP SDK's client), the real routers they drive and the real Prometheus,
//! run from `cargo test` so that the README's one test command covers them.
//!
//! The packages a suite needs are installed on first use, pinned, by
//! `.ci/install-test-packages` (one set at a time under a file lock, so
//! parallel tests do not race). A suite that still cannot run (no `node`
//! or `python3`, no network to install) is SKIPPED locally, with why and
//! the fix, and named again at the end of `cargo test` by the `suites`
//! test of `tests/report`; in CI it fails: a gate that skips itself green
//! proves nothing.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, flock};

/// How long one set's install may take before it is killed (LiteLLM is
/// the big one: a minute or two on a fresh machine).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A suite in another language and what it needs.
#[derive(Debug)]
pub struct Suite {
    /// What a person calls it, in "SKIPPED …" and the end-of-run report.
    pub name: &'static str,
    /// Set (`.ci/run` sets it), this suite fails instead of skipping.
    pub require_env: &'static str,
    /// The interpreter it runs on, which nothing here installs.
    pub program: &'static str,
    /// The `.ci/install-test-packages` set it needs, if any.
    pub packages: Option<&'static str>,
    /// How to get the interpreter.
    pub install_program: &'static str,
}

/// `client/python/tests`, run by `tests/tests/python_client.rs`.
pub const PYTHON_CLIENT: Suite = Suite {
    name: "the Python client tests",
    require_env: "CLAUDE_QUOTA_REQUIRE_PYTEST",
    program: "python3",
    packages: Some("pytest"),
    install_program: "install Python 3.9 or later with its venv module (Debian: python3-venv)",
};

/// `client/node/test`, run by `tests/tests/node_client.rs`.
pub const NODE_CLIENT: Suite = Suite {
    name: "the Node client tests",
    require_env: "CLAUDE_QUOTA_REQUIRE_NODE",
    program: "node",
    packages: None,
    install_program: "install Node.js 18 or later",
};

/// claude-code-router itself, run by `tests/tests/claude_code_router.rs`.
pub const CLAUDE_CODE_ROUTER: Suite = Suite {
    name: "the claude-code-router test",
    require_env: "CLAUDE_QUOTA_REQUIRE_ROUTERS",
    program: "node",
    packages: Some("ccr"),
    install_program: "install Node.js 18 or later with npm",
};

/// LiteLLM itself, run by `tests/tests/litellm.rs`.
pub const LITELLM: Suite = Suite {
    name: "the LiteLLM test",
    require_env: "CLAUDE_QUOTA_REQUIRE_ROUTERS",
    program: "python3",
    packages: Some("litellm"),
    install_program: "install Python 3.9 or later with its venv module (Debian: python3-venv)",
};

/// `claude-quota mcp` driven by the Python MCP SDK's stdio client, run by
/// `tests/tests/mcp.rs`.
pub const MCP_CLIENT: Suite = Suite {
    name: "the MCP server test",
    require_env: "CLAUDE_QUOTA_REQUIRE_MCP",
    program: "python3",
    packages: Some("mcp"),
    install_program: "install Python 3.10 or later with its venv module (Debian: python3-venv)",
};

/// A real Prometheus server scraping the daemon's `[metrics]` endpoint,
/// and `promtool check metrics` on `claude-quota metrics`, run by
/// `tests/tests/prometheus.rs`. Debian's `prometheus` package brings both
/// programs (`.ci/run` installs it).
pub const PROMETHEUS: Suite = Suite {
    name: "the Prometheus tests",
    require_env: "CLAUDE_QUOTA_REQUIRE_PROMETHEUS",
    program: "prometheus",
    packages: None,
    install_program: "install Prometheus and promtool (Debian: apt-get install prometheus)",
};

/// Claude Code itself, wired by `setup claude-code`, run by
/// `tests/tests/claude_code.rs`. Its npm package ships a native binary,
/// so only npm is needed to install it.
pub const CLAUDE_CODE: Suite = Suite {
    name: "the Claude Code test",
    require_env: "CLAUDE_QUOTA_REQUIRE_CLAUDE_CODE",
    program: "npm",
    packages: Some("claude-code"),
    install_program: "install npm (Node.js)",
};

/// Every suite, for the end-of-run report.
pub const ALL: [&Suite; 7] = [
    &PYTHON_CLIENT,
    &NODE_CLIENT,
    &CLAUDE_CODE_ROUTER,
    &LITELLM,
    &MCP_CLIENT,
    &PROMETHEUS,
    &CLAUDE_CODE,
];

impl Suite {
    /// `Ok` when the suite can run: its interpreter runs and its packages
    /// are installed (installed now when missing); otherwise why not.
    pub fn check(&self) -> Result<(), String> {
        runs(Path::new(self.program), &["--version"], self.program)
            .map_err(|missing| format!("{missing}; {}", self.install_program))?;
        match self.packages {
            Some(set) => install(set),
            None => Ok(()),
        }
    }

    /// Whether the suite can run ([`Suite::check`]); when it cannot, it is
    /// SKIPPED with the reason on stderr, or the test fails when
    /// [`required`].
    pub fn ready(&self) -> bool {
        available(self.name, self.check(), "", self.require_env)
    }

    /// Whether a missing piece fails this suite rather than skipping it.
    pub fn is_required(&self) -> bool {
        required(self.require_env)
    }
}

/// Whether a missing tool must fail the test: in CI (`CI=true`, which
/// `.ci/run` and CI services set) or when the suite's own `require_env` is set.
pub fn required(require_env: &str) -> bool {
    std::env::var("CI").is_ok_and(|ci| ci == "true") || std::env::var_os(require_env).is_some()
}

/// `true` when the suite can run; otherwise prints SKIPPED with `install`
/// (how to get what is missing, when `missing` does not say) and returns
/// `false`, or panics when [`required`].
pub fn available(suite: &str, check: Result<(), String>, install: &str, require_env: &str) -> bool {
    let Err(missing) = check else {
        return true;
    };
    let fix = if install.is_empty() {
        String::new()
    } else {
        format!("; {install}")
    };
    assert!(
        !required(require_env),
        "{suite} cannot run: {missing} (CI=true or {require_env} is set){fix}"
    );
    eprintln!("SKIPPED {suite}: {missing}{fix}");
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

/// Where `.ci/install-test-packages` installs the pinned packages:
/// `$CLAUDE_QUOTA_PACKAGES_DIR`, else `target/test-packages` of the
/// workspace, so an install is kept between runs.
pub fn packages_dir() -> PathBuf {
    std::env::var_os("CLAUDE_QUOTA_PACKAGES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/test-packages"))
}

/// The Python of the virtualenv of package set `set`.
pub fn venv_python(set: &str) -> PathBuf {
    packages_dir().join(format!("{set}-venv/bin/python"))
}

/// Installs package set `set` unless it is there at its pinned versions,
/// holding `<set>.lock` meanwhile, so that of several tests (in one
/// process or several) one installs and the others wait and find it done.
/// A test binary tries each set once: its other tests take that answer
/// rather than wait for a failing download again.
pub fn install(set: &'static str) -> Result<(), String> {
    static TRIED: Mutex<BTreeMap<&str, Result<(), String>>> = Mutex::new(BTreeMap::new());
    let mut tried = TRIED.lock().unwrap_or_else(PoisonError::into_inner);
    tried.entry(set).or_insert_with(|| install_now(set)).clone()
}

fn install_now(set: &str) -> Result<(), String> {
    let dir = packages_dir();
    std::fs::create_dir_all(&dir)
        .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    let lock_path = dir.join(format!("{set}.lock"));
    let lock = File::create(&lock_path)
        .map_err(|err| format!("cannot create {}: {err}", lock_path.display()))?;
    flock(&lock, FlockOperation::LockExclusive)
        .map_err(|err| format!("cannot lock {}: {err}", lock_path.display()))?;
    let script = repo_root().join(".ci/install-test-packages");
    let log_path = dir.join(format!("{set}.log"));
    let log = File::create(&log_path)
        .map_err(|err| format!("cannot create {}: {err}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|err| format!("cannot share {}: {err}", log_path.display()))?;
    let mut child = Command::new("bash")
        .arg(&script)
        .process_group(0)
        .arg(set)
        .env("CLAUDE_QUOTA_PACKAGES_DIR", &dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|err| format!("cannot run {}: {err}", script.display()))?;
    let deadline = Instant::now() + INSTALL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                // pip or npm with it: the script leads a group of its own.
                let group = -i32::try_from(child.id()).expect("a pid fits an i32");
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(group, libc::SIGKILL) };
                let _ = child.wait();
                break None;
            }
            Err(err) => return Err(format!("waiting for the install of {set}: {err}")),
        }
    };
    let failure = match status {
        Some(status) if status.success() => return Ok(()),
        Some(status) => format!("failed ({status}; no network?)"),
        None => format!("took over {}s and was killed", INSTALL_TIMEOUT.as_secs()),
    };
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    // pip says why last (`ERROR: …`), npm first (`npm error code …`).
    let lines = || {
        output
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
    };
    let why = lines()
        .rfind(|line| line.starts_with("ERROR:"))
        .or_else(|| lines().find(|line| line.starts_with("npm error")))
        .or_else(|| lines().next_back())
        .unwrap_or("no output");
    Err(format!(
        "`.ci/install-test-packages {set}` {failure}: {why} (the whole output: {})",
        log_path.display()
    ))
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
    assert_left_nothing(tmp.path(), suite);
    stdout
}

/// Panics when `suite` left anything in `tmpdir`, its private `TMPDIR`.
pub fn assert_left_nothing(tmpdir: &Path, suite: &str) {
    let left: Vec<String> = std::fs::read_dir(tmpdir)
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

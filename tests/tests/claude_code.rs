//! The real Claude Code (pinned in `.ci/install-test-packages`), wired by
//! `claude-quota setup claude-code`, in a private HOME against a stand-in
//! Messages API on 127.0.0.1 (`tests/src/messages_api.rs`) and the real
//! daemon. What reached the model, as the stand-in recorded it, shows that
//! the MCP server connects and answers, that the SessionStart context
//! arrives, and that subagents run on the tier's model; with the daemon
//! down or stalled, the session runs as if nothing were installed.
//!
//! Claude Code never leaves 127.0.0.1: `ANTHROPIC_BASE_URL` points at the
//! stand-in, telemetry, error reports, the updater and all other
//! nonessential traffic are off by its documented variables, and any other
//! host would go through a proxy on a loopback port where nothing listens.
//! Every wait has a deadline.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use claude_quota::Tier;
use claude_quota_e2e::daemon::{bin, bin_dir};
use claude_quota_e2e::deadline::output_within;
use claude_quota_e2e::http::refused_url;
use claude_quota_e2e::messages_api::{MessagesApi, QUOTA_STATUS, Request};
use claude_quota_e2e::suites::{CLAUDE_CODE, packages_dir};
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};
use serde_json::{Value, json};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(10);

/// The most one Claude Code command may take: a session takes a few
/// seconds against the stand-in.
const SESSION_DEADLINE: Duration = Duration::from_secs(120);

/// The most one run of `claude-quota hook` may take with the daemon down
/// or stalled: its own deadline (300 ms) and a process start.
const HOOK_TIME_MS: u64 = 1000;

/// The prompt of the main agent.
const PROMPT: &str = claude_quota_e2e::messages_api::MAIN_TASK;

/// Claude Code's `claude` from the pinned install.
fn claude() -> PathBuf {
    packages_dir().join("claude-code/node_modules/.bin/claude")
}

/// A user of Claude Code: a private HOME, a project to start it in, and a
/// `claude-quota` on PATH that runs this build and logs how long each run
/// took (`timings`).
struct User {
    dir: TempDir,
    api: MessagesApi,
}

/// What a Claude Code command did.
struct Ran {
    output: Output,
    took: Duration,
}

impl User {
    fn new() -> User {
        let dir = tempfile::Builder::new()
            .prefix("cq-claude-")
            .tempdir()
            .unwrap();
        for sub in ["home", "project", "tmp", "wrapped"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let user = User {
            dir,
            api: MessagesApi::start(),
        };
        let wrapper = user.dir.path().join("wrapped/claude-quota");
        let script = format!(
            "#!/usr/bin/env python3\n\
             import subprocess, sys, time\n\
             start = time.monotonic()\n\
             code = subprocess.call([{real:?}] + sys.argv[1:])\n\
             with open({log:?}, 'a') as log:\n\
             \x20   log.write('%s %d\\n' % (sys.argv[1], (time.monotonic() - start) * 1000))\n\
             sys.exit(code)\n",
            real = bin("claude-quota").display().to_string(),
            log = user.timings_path().display().to_string(),
        );
        std::fs::write(&wrapper, script).unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        user
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn timings_path(&self) -> PathBuf {
        self.dir.path().join("timings.log")
    }

    /// How long each run of `claude-quota SUBCOMMAND` took, in ms.
    fn timings(&self, subcommand: &str) -> Vec<u64> {
        let log = std::fs::read_to_string(self.timings_path()).unwrap_or_default();
        log.lines()
            .filter_map(|line| line.split_once(' '))
            .filter(|(word, _)| *word == subcommand)
            .map(|(_, ms)| ms.parse().unwrap())
            .collect()
    }

    /// PATH: `first` (if any), this build's binaries, Claude Code, the system.
    fn path(&self, first: Option<&Path>) -> String {
        let claude_dir = claude().parent().unwrap().to_owned();
        let dirs = first
            .map(Path::to_owned)
            .into_iter()
            .chain([bin_dir(), claude_dir])
            .chain(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from));
        std::env::join_paths(dirs).unwrap().into_string().unwrap()
    }

    /// `program args…` in this user's environment and nothing else, with
    /// Claude Code kept on 127.0.0.1.
    fn command(&self, program: &Path, args: &[&str], path_first: Option<&Path>) -> Command {
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .env("HOME", self.home())
            .env("PATH", self.path(path_first))
            .env("SHELL", "/bin/sh")
            .env("TMPDIR", self.dir.path().join("tmp"))
            .env("ANTHROPIC_BASE_URL", self.api.url())
            .env("ANTHROPIC_API_KEY", "sk-ant-api03-stand-in")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_ERROR_REPORTING", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("DISABLE_BUG_COMMAND", "1")
            .env("HTTPS_PROXY", refused_url())
            .env("HTTP_PROXY", refused_url())
            .env("NO_PROXY", "127.0.0.1,localhost")
            .current_dir(self.dir.path().join("project"))
            .stdin(Stdio::null());
        command
    }

    /// Runs `command` to its end within [`SESSION_DEADLINE`], then ends
    /// whatever it left in its process group.
    fn run(&self, mut command: Command) -> Ran {
        let started = Instant::now();
        let output = output_within(&mut command, SESSION_DEADLINE);
        Ran {
            output,
            took: started.elapsed(),
        }
    }

    /// `claude-quota setup claude-code --socket SOCKET`, run as the user
    /// would, with this build first on PATH.
    fn setup(&self, socket: &Path) {
        let ran = self.run(self.command(
            &bin("claude-quota"),
            &["setup", "claude-code", "--socket", socket.to_str().unwrap()],
            None,
        ));
        assert!(ran.output.status.success(), "setup: {}", show(&ran.output));
    }

    /// `claude mcp list`.
    fn mcp_list(&self) -> String {
        let ran = self.run(self.command(&claude(), &["mcp", "list"], None));
        assert!(ran.output.status.success(), "{}", show(&ran.output));
        String::from_utf8_lossy(&ran.output.stdout).into_owned()
    }

    /// One non-interactive session on [`PROMPT`], with the timing wrapper
    /// first on PATH; the stream-json events it printed, and how long it
    /// took.
    fn session(&self) -> (Vec<Value>, Duration) {
        let wrapped = self.dir.path().join("wrapped");
        let ran = self.run(self.command(
            &claude(),
            &[
                "-p",
                PROMPT,
                "--output-format",
                "stream-json",
                "--verbose",
                "--model",
                "sonnet",
                "--allowedTools",
                QUOTA_STATUS,
            ],
            Some(&wrapped),
        ));
        assert!(ran.output.status.success(), "{}", show(&ran.output));
        let events = String::from_utf8_lossy(&ran.output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect::<Vec<Value>>();
        let result = events.iter().rev().find(|e| e["type"] == "result");
        assert_eq!(
            result.map(|r| r["subtype"].clone()),
            Some(json!("success")),
            "{}",
            show(&ran.output)
        );
        (events, ran.took)
    }
}

fn show(output: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A usage reply with the 5-hour window at `five_hour` %.
fn usage(five_hour: f64) -> Value {
    let resets = (Utc::now() + TimeDelta::hours(2)).to_rfc3339();
    json!({
        "five_hour": {"utilization": five_hour, "resets_at": resets},
        "seven_day": {"utilization": 20.0, "resets_at": null},
    })
}

/// The subagent's requests, and the main agent's.
fn split(requests: &[Request]) -> (Vec<&Request>, Vec<&Request>) {
    let subagent = requests.iter().filter(|r| r.is_subagent()).collect();
    let main = requests.iter().filter(|r| r.is_main()).collect();
    (subagent, main)
}

/// Whether a model id is of `family` (`claude-haiku-…`).
fn of_family(model: &str, family: &str) -> bool {
    model.split('-').any(|word| word == family)
}

/// Resting, then burst: the MCP server connects and reports the tier, the
/// SessionStart context reaches the model, and the subagent asking for
/// opus runs on haiku in resting and on opus in burst.
#[tokio::test]
async fn claude_code_runs_subagents_on_the_tiers_model_and_the_agent_sees_the_quota() {
    if !CLAUDE_CODE.ready() {
        return;
    }
    let usage_api = FakeApi::start();
    usage_api.set_body(usage(90.0));
    let daemon = Daemon::builder()
        .api(&usage_api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
    let user = User::new();
    user.setup(daemon.socket());
    let listed = user.mcp_list();
    assert!(
        listed.contains("claude-quota") && listed.contains("Connected"),
        "{listed}"
    );

    user.session();
    let requests = user.api.requests();
    let (subagent, main) = split(&requests);
    assert!(!main.is_empty() && !subagent.is_empty(), "{requests:#?}");
    assert!(
        main[0]
            .text()
            .contains("claude-quota: the Claude subscription is in tier RESTING"),
        "the SessionStart context: {}",
        main[0].text()
    );
    let answered = main
        .iter()
        .find_map(|r| r.tool_result(QUOTA_STATUS))
        .expect("quota_status was answered");
    assert!(
        answered.contains(r#"\"tier\":\"resting\""#),
        "the daemon's tier: {answered}"
    );
    for request in &subagent {
        assert!(of_family(request.model(), "haiku"), "{}", request.model());
    }

    usage_api.set_body(usage(10.0));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let before = user.api.requests().len();
    user.session();
    let requests = user.api.requests().split_off(before);
    let (subagent, main) = split(&requests);
    assert!(!subagent.is_empty(), "{requests:#?}");
    for request in &subagent {
        assert!(of_family(request.model(), "opus"), "{}", request.model());
    }
    assert!(
        !main
            .iter()
            .any(|r| r.text().contains("claude-quota: the Claude subscription")),
        "nothing said in burst"
    );
    assert!(
        requests.iter().all(|r| r.path.starts_with("/v1/messages")),
        "{:?}",
        requests.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}

/// With the daemon down, and with one that accepts and never answers, a
/// session runs as without claude-quota: the subagent keeps opus, nothing
/// is added to the conversation, and no hook takes more than its deadline.
#[test]
fn with_the_daemon_down_or_stalled_a_session_runs_as_if_nothing_were_installed() {
    if !CLAUDE_CODE.ready() {
        return;
    }
    let dir = tempfile::Builder::new().prefix("cq-").tempdir().unwrap();
    let stalled = dir.path().join("stalled.sock");
    let listener = UnixListener::bind(&stalled).unwrap();
    // Accepts every connection and holds it open, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    for (why, socket) in [
        ("down", dir.path().join("absent.sock")),
        ("stalled", stalled.clone()),
    ] {
        let user = User::new();
        user.setup(&socket);
        let (_, took) = user.session();
        let requests = user.api.requests();
        let (subagent, _) = split(&requests);
        assert!(!subagent.is_empty(), "{why}: {requests:#?}");
        for request in &subagent {
            assert!(
                of_family(request.model(), "opus"),
                "{why}: {}",
                request.model()
            );
        }
        assert!(
            !requests
                .iter()
                .any(|r| r.text().contains("claude-quota: the Claude subscription")),
            "{why}: nothing added"
        );
        let hooks = user.timings("hook");
        assert!(hooks.len() >= 3, "{why}: every hook ran: {hooks:?}");
        assert!(
            hooks.iter().all(|ms| *ms < HOOK_TIME_MS),
            "{why}: hook runs took {hooks:?} ms (session {took:?})"
        );
    }
}

//! The CLI's own bounds on what comes from outside: `statusline` reads at
//! most 1 MiB of stdin within its time budget, and `doctor` neither hangs on
//! a service manager that never answers nor mistakes an unreadable socket
//! directory for a missing daemon.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use claude_quota::Tier;
use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// Claude Code's statusLine JSON pushing 5h 90 %, padded to `size` bytes.
fn padded_input(size: usize) -> Vec<u8> {
    let mut input = json!({
        "rate_limits": {"five_hour": {"used_percentage": 90.0, "resets_at": null}},
        "padding": ""
    })
    .to_string();
    let padding = "x".repeat(size.saturating_sub(input.len()));
    input = input.replace(r#""padding":"""#, &format!(r#""padding":"{padding}""#));
    input.into_bytes()
}

async fn burst_daemon(api: &FakeApi) -> Daemon {
    let daemon = Daemon::builder()
        .api(&api.url(), 30.0)
        .credentials_file(TOKEN, None)
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    daemon
}

#[tokio::test]
async fn statusline_ignores_stdin_over_1_mib() {
    let api = FakeApi::start();
    let daemon = burst_daemon(&api).await;
    let output = daemon.cli_with_stdin(&["statusline"], &padded_input(2 * 1024 * 1024));
    assert!(output.status.success(), "{output:?}");
    assert!(!output.stdout.is_empty(), "a line is printed all the same");
    let status = daemon.client().await.status().await.unwrap();
    assert_eq!(status.last_push_at, None, "nothing was pushed");
    assert_eq!(status.tier, Tier::Burst);
    // Just under the limit, the same input is Claude Code's and is pushed.
    let output = daemon.cli_with_stdin(&["statusline"], &padded_input(1024 * 1024 - 16));
    assert!(output.status.success(), "{output:?}");
    daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
}

#[tokio::test]
async fn statusline_prints_its_line_when_stdin_never_closes() {
    let api = FakeApi::start();
    let daemon = burst_daemon(&api).await;
    let started = Instant::now();
    let mut child = Command::new(bin("claude-quota"))
        .args(["statusline", "--socket"])
        .arg(daemon.socket())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _held_open = child.stdin.take();
    let deadline = started + Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "statusline waits on stdin forever"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let line = String::from_utf8_lossy(&output.stdout);
    assert!(line.to_lowercase().contains("burst"), "{line}");
}

/// `doctor --json`, before `--socket PATH`.
const DOCTOR: [&str; 3] = ["doctor", "--json", "--socket"];

/// The check called `name` in the output of `doctor --json`.
fn doctor_check(output: &Output, name: &str) -> Value {
    let checks: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output:?}"));
    checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {checks:#}"))
        .clone()
}

/// A directory anyone may enter, holding a copy of the CLI that user
/// nobody can run.
fn public_cli(root: &std::path::Path) -> std::path::PathBuf {
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cli = root.join("claude-quota");
    std::fs::copy(bin("claude-quota"), &cli).unwrap();
    cli
}

#[test]
fn doctor_reports_an_unreadable_socket_directory_as_unreadable() {
    let root = tempfile::tempdir().unwrap();
    let cli = public_cli(root.path());
    let private = root.path().join("private");
    std::fs::create_dir(&private).unwrap();
    let socket = private.join("claude-quotad.sock");
    // SAFETY: getuid has no preconditions.
    let root_user = unsafe { libc::getuid() } == 0;
    // Root reads any directory: act as user nobody, for whom one of root's
    // 0700 directories is unreadable; others lock themselves out with 000.
    let mut command = if root_user {
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&cli);
        command
    } else {
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o000)).unwrap();
        Command::new(&cli)
    };
    let output = command
        .args(DOCTOR)
        .arg(&socket)
        .env("HOME", root.path())
        .env("XDG_CONFIG_HOME", root.path())
        .output()
        .unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let socket_check = doctor_check(&output, "socket");
    assert_eq!(socket_check["verdict"], "fail", "{socket_check}");
    let message = socket_check["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{} is unreadable", private.display())),
        "{message}"
    );
}

#[test]
fn doctor_gives_up_on_a_service_manager_that_never_answers() {
    let root = tempfile::tempdir().unwrap();
    let stand_ins = root.path().join("bin");
    std::fs::create_dir(&stand_ins).unwrap();
    for manager in ["systemctl", "launchctl"] {
        let script = stand_ins.join(manager);
        std::fs::write(&script, "#!/bin/sh\nexec sleep 60\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // An installed agent, so doctor asks the manager about it.
    let home = root.path().join("home");
    for file in [
        root.path()
            .join("config/systemd/user/claude-quotad.service"),
        home.join("Library/LaunchAgents/dev.claude-quota.claude-quotad.plist"),
    ] {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "").unwrap();
    }
    let path = format!(
        "{}:{}",
        stand_ins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = Instant::now();
    let output = Command::new(bin("claude-quota"))
        .args(DOCTOR)
        .arg(root.path().join("none.sock"))
        .env("PATH", path)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", root.path().join("config"))
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "doctor took {took:?}");
    let service = doctor_check(&output, "service");
    assert_eq!(service["verdict"], "warn", "{service}");
    assert!(
        service["message"]
            .as_str()
            .unwrap()
            .contains("did not finish within 10s"),
        "{service}"
    );
}

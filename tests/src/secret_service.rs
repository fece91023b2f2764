//! A private Secret Service for one daemon: `dbus-run-session` starts a
//! session bus of its own, `gnome-keyring-daemon` serves the Secret Service
//! on it from a fresh keyring under the daemon's temp HOME, and
//! `secret-tool` stores Claude Code's item with the README's command
//! before the daemon is exec'd in the same session.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The programs the wrapper needs (Debian: dbus, gnome-keyring,
/// libsecret-tools).
const TOOLS: [&str; 3] = ["dbus-run-session", "gnome-keyring-daemon", "secret-tool"];

/// Runs as `sh -c SCRIPT sh DAEMON ARGS…` inside `dbus-run-session`.
/// `$CQ_KEYRING_ITEM`, when set, names a credentials file to move into
/// the keyring under the account attribute `$CQ_KEYRING_ATTRIBUTE` and the
/// service name `$CQ_KEYRING_SERVICE` (default Claude Code's plain one);
/// the `secret-tool store` line is the README's, word for word but for
/// those variables. `$CQ_KEYRING_OTHER_ITEM`, when set, names a file whose
/// text is stored as a second item, service `$CQ_KEYRING_OTHER_SERVICE`.
const SCRIPT: &str = r#"set -eu
printf %s cq-test-keyring-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null
if [ -n "${CQ_KEYRING_ITEM:-}" ]; then
  service="${CQ_KEYRING_SERVICE:-Claude Code-credentials}"
  secret-tool store --label="$service" service "$service" "$CQ_KEYRING_ATTRIBUTE" "$USER" < "$CQ_KEYRING_ITEM"
  rm "$CQ_KEYRING_ITEM"
fi
if [ -n "${CQ_KEYRING_OTHER_ITEM:-}" ]; then
  secret-tool store --label="$CQ_KEYRING_OTHER_SERVICE" service "$CQ_KEYRING_OTHER_SERVICE" username "$USER" < "$CQ_KEYRING_OTHER_ITEM"
  rm "$CQ_KEYRING_OTHER_ITEM"
fi
unset CQ_KEYRING_ITEM CQ_KEYRING_ATTRIBUTE CQ_KEYRING_SERVICE CQ_KEYRING_OTHER_ITEM CQ_KEYRING_OTHER_SERVICE
exec "$@"
"#;

/// Whether this machine can run a private Secret Service. Missing tools
/// skip the test loudly on a developer's machine and fail it in CI, which
/// installs them.
pub fn available() -> bool {
    if !cfg!(target_os = "linux") {
        // The Secret Service is Linux's keyring; macOS's Keychain has its
        // own test (tests/tests/macos.rs), run by CI on macOS.
        eprintln!("SKIPPED: the Secret Service is Linux-only; macOS runs tests/tests/macos.rs");
        return false;
    }
    let missing: Vec<&str> = TOOLS
        .into_iter()
        .filter(|tool| which::which(tool).is_err())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "Secret Service test needs {} (Debian: apt-get install dbus gnome-keyring libsecret-tools)",
        missing.join(", ")
    );
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("SKIPPED: {message}");
    false
}

/// The session bus's configuration: Debian's default session bus, but
/// listening in `{dir}` rather than in `/tmp`. The test kills the bus with
/// the daemon's process group, and a bus killed so cannot remove its
/// socket: in `/tmp` every run of the suite left one behind for good.
const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <standard_session_servicedirs/>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

/// The command line that runs `daemon` inside a private Secret Service
/// whose session bus lives in `bus_dir` (made here, with its config).
pub fn wrapper(daemon: &Path, bus_dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(bus_dir).expect("create the session bus's dir");
    let config = bus_dir.join("bus.conf");
    let dir = bus_dir.to_str().expect("a UTF-8 temp dir");
    std::fs::write(&config, BUS_CONFIG.replace("{dir}", dir)).expect("write the bus config");
    vec![
        "dbus-run-session".into(),
        format!("--config-file={}", config.display()),
        "--".into(),
        "sh".into(),
        "-c".into(),
        SCRIPT.into(),
        "sh".into(),
        daemon.display().to_string(),
    ]
}

/// Runs `command` (a [`wrapper`] command line) to its end, in a process
/// group of its own that is killed after, so that the session's keyring
/// daemon goes with it.
pub fn output(mut command: Command) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("run a program inside a private Secret Service");
    let group = child.id();
    let output = child.wait_with_output().expect("wait for it");
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();
    output
}

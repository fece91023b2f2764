//! Without `XDG_RUNTIME_DIR` (a host that starts its commands with a small
//! environment: the MCP Inspector passes only HOME, LOGNAME, PATH, SHELL,
//! TERM and USER) the daemon and every client (the Rust CLI, its hook and
//! MCP server, Python, Node) still meet on one socket: the
//! `/run/user/<uid>` that systemd makes, when it is the user's alone, else
//! the temporary directory.
//!
//! `/run/user` is the machine's, so the test runs in a private mount
//! namespace (`unshare`, as root or in a user namespace) with a tmpfs over
//! `/run/user` and `/tmp`: nothing outside it is touched. A checkout under
//! `/tmp` stays visible at its place through a bind mount.

#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};
use std::time::Duration;

use claude_quota_e2e::daemon::{bin, bin_dir};
use claude_quota_e2e::deadline::output_within;
use claude_quota_e2e::suites::{self, repo_root};

/// The whole script's deadline: two daemons started and asked by four
/// clients each take well under a second when the machine is quiet.
const DEADLINE: Duration = Duration::from_secs(60);

/// Runs in the namespace. For each case it starts the daemon as the case
/// says, waits for its socket (5 s at most), asks it from every client with
/// the small environment, and prints one `CASE CLIENT ANSWER` line each.
const SCRIPT: &str = r#"
set -u
mount -t tmpfs tmpfs /run/user || exit 90
# The checkout and the binaries may live under /tmp (a CI clone): keep
# them where they are across the tmpfs, through a bind mount parked in the
# private /run/user meanwhile.
n=0
for keep in "$REPO" "$BIN_DIR"; do
  case "$keep" in /tmp/*) mkdir "/run/user/.keep$n" && mount --bind "$keep" "/run/user/.keep$n" || exit 90;; esac
  n=$((n+1))
done
mount -t tmpfs tmpfs /tmp || exit 90
n=0
for keep in "$REPO" "$BIN_DIR"; do
  case "$keep" in /tmp/*) mkdir -p "$keep" && mount --bind "/run/user/.keep$n" "$keep" || exit 90;; esac
  n=$((n+1))
done
uid=$(id -u)
small() { env -i HOME="$HOME" LOGNAME=u PATH="$PATH" SHELL=/bin/sh TERM=dumb USER=u "$@"; }
# The daemon's own command, so that $! is the daemon itself.
set -- env -i HOME="$HOME" LOGNAME=u PATH="$PATH" SHELL=/bin/sh TERM=dumb USER=u
ask_all() {
  case=$1
  small "$CLI" status --json >/dev/null 2>&1 && echo "$case cli ok" || echo "$case cli unreachable"
  out=$(printf '{"session_id":"s1","hook_event_name":"SessionStart","source":"startup"}' | small "$CLI" hook)
  [ -n "$out" ] && echo "$case hook ok" || echo "$case hook silent"
  small env PYTHONPATH="$REPO/client/python" python3 -c 'import claude_quota as q
with q.Client() as c: print(c.status()["tier"] and "ok")' 2>/dev/null | sed "s/^/$case python /" || true
  small node -e 'const q = require(process.argv[1]);
const c = new q.Client(); c.status().then(() => { console.log("ok"); c.close(); }, () => console.log("unreachable"));' \
    "$REPO/client/node/index.cjs" 2>/dev/null | sed "s/^/$case node /"
}
run_case() {
  case=$1; sock=$2; shift 2
  "$@" "$DAEMON" </dev/null >/dev/null 2>"$HOME/$case.log" &
  daemon=$!
  i=0; while [ ! -S "$sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  [ -S "$sock" ] && echo "$case socket $sock" || { echo "$case socket missing"; cat "$HOME/$case.log"; }
  ask_all "$case"
  kill $daemon; wait $daemon
}
mkdir -m 700 /run/user/$uid
run_case session /run/user/$uid/claude-quota/claude-quotad.sock "$@" XDG_RUNTIME_DIR=/run/user/$uid
chmod 777 /run/user/$uid
run_case open /tmp/claude-quota-$uid/claude-quotad.sock "$@"
"#;

/// How the namespace is made: as root a mount namespace is enough; as
/// anyone else a user namespace maps them to root first. A PID namespace
/// of its own ends every process of the script with it, whatever happens.
fn unshare() -> Command {
    let mut command = Command::new("unshare");
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        command.arg("--map-root-user");
    }
    command.args([
        "--mount",
        "--propagation",
        "private",
        "--pid",
        "--fork",
        "--kill-child",
    ]);
    command
}

/// Whether this machine can make the namespace and has both interpreters.
fn ready() -> bool {
    let namespace = suites::runs(
        std::path::Path::new("unshare"),
        &["--map-root-user", "--mount", "--pid", "--fork", "true"],
        "a mount namespace (unshare --map-root-user --mount)",
    );
    let check = namespace
        .and_then(|()| suites::runs("python3".as_ref(), &["--version"], "python3"))
        .and_then(|()| suites::runs("node".as_ref(), &["--version"], "node"));
    suites::available(
        "the default socket test",
        check,
        "install util-linux (unshare), python3 and node, and allow user namespaces",
        "CLAUDE_QUOTA_REQUIRE_NAMESPACES",
    )
}

#[test]
fn without_xdg_runtime_dir_the_daemon_and_every_client_meet_on_one_socket() {
    if !ready() {
        return;
    }
    // Beside the binaries, which the script keeps visible over its /tmp.
    let home = tempfile::Builder::new()
        .prefix("cq-default-socket-")
        .tempdir_in(bin_dir())
        .unwrap();
    let output = output_within(
        unshare()
            .args(["sh", "-c", SCRIPT])
            .env("HOME", home.path())
            .env("DAEMON", bin("claude-quotad"))
            .env("CLI", bin("claude-quota"))
            .env("REPO", repo_root())
            .env("BIN_DIR", bin_dir())
            .stdin(Stdio::null()),
        DEADLINE,
    );
    let out = String::from_utf8_lossy(&output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}\n{out}\n{err}", output.status);
    // Root inside the namespace: root itself, or mapped to it.
    let uid = 0;
    let mut expected = vec![
        format!("session socket /run/user/{uid}/claude-quota/claude-quotad.sock"),
        format!("open socket /tmp/claude-quota-{uid}/claude-quotad.sock"),
    ];
    for case in ["session", "open"] {
        for client in ["cli", "hook", "python", "node"] {
            expected.push(format!("{case} {client} ok"));
        }
    }
    let lines: Vec<&str> = out.lines().collect();
    for line in &expected {
        assert!(
            lines.contains(&line.as_str()),
            "{line:?} missing:\n{out}\n{err}"
        );
    }
}

//! Start-up and shutdown: the socket is claimed safely and removed on exit.

use std::time::{Duration, Instant};

use claude_quota_e2e::{Daemon, FakeApi};

#[test]
fn sigterm_removes_the_socket_and_exits_zero_quickly() {
    let api = FakeApi::start();
    let mut daemon = Daemon::builder().api(&api.url(), 1.0).start();
    let socket = daemon.socket().to_owned();
    let asked = Instant::now();
    daemon.signal("TERM");
    let status = daemon
        .wait_exit(Duration::from_secs(2))
        .expect("exited within 2 s");
    assert!(status.success(), "{status:?}\n{}", daemon.log());
    assert!(asked.elapsed() < Duration::from_secs(2));
    assert!(!socket.exists(), "socket removed");
}

#[test]
fn a_second_daemon_on_a_live_socket_exits_1_and_a_stale_socket_is_replaced() {
    let api = FakeApi::start();
    let first = Daemon::builder().api(&api.url(), 1.0).start();
    let socket = first.socket().to_str().unwrap().to_owned();
    let output = std::process::Command::new(claude_quota_e2e::daemon::bin("claude-quotad"))
        .args([
            "--socket",
            &socket,
            "--api-url",
            &api.url(),
            "--poll-interval",
            "1",
        ])
        .env("HOME", first.root().join("home"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("already serving"), "{stderr}");
    assert!(
        first.socket().exists(),
        "the live daemon's socket is untouched"
    );

    // A socket file with no listener behind it is replaced.
    let stale_dir = tempfile::tempdir().unwrap();
    let stale = stale_dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let mut child = std::process::Command::new(claude_quota_e2e::daemon::bin("claude-quotad"))
        .args([
            "--socket",
            stale.to_str().unwrap(),
            "--api-url",
            &api.url(),
            "--poll-interval",
            "1",
        ])
        .env("HOME", first.root().join("home"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&stale).is_err() {
        assert!(Instant::now() < deadline, "stale socket not replaced");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

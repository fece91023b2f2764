//! Start-up and shutdown: the socket is claimed safely and removed on exit.

use std::path::Path;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use claude_quota::blocking;

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

/// launchd writes stderr to a file and journald stores it as is: a log
/// that is not a terminal gets plain lines, no colour escapes.
#[test]
fn a_log_that_is_not_a_terminal_has_no_colour_codes() {
    let api = FakeApi::start();
    let mut daemon = Daemon::builder().api(&api.url(), 1.0).start();
    daemon.signal("TERM");
    daemon.wait_exit(Duration::from_secs(2)).expect("exited");
    let log = daemon.log();
    assert!(log.contains("listening"), "{log}");
    assert!(!log.contains('\x1b'), "escape codes in the log:\n{log:?}");
}

#[test]
fn a_second_daemon_on_a_live_socket_exits_1_and_a_stale_socket_is_replaced() {
    let api = FakeApi::start();
    let mut first = Daemon::builder().api(&api.url(), 1.0).start();
    let mut second = first.spawn_twin();
    let status = wait_for_exit(&mut second, Duration::from_secs(10));
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{}", first.log());
    assert!(first.log().contains("already serving"), "{}", first.log());
    assert!(
        answers(first.socket()),
        "the live daemon's socket is untouched"
    );

    // A socket file with no listener behind it is replaced.
    let stale_dir = tempfile::tempdir().unwrap();
    let stale = stale_dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let replaced = Daemon::builder()
        .api(&api.url(), 1.0)
        .socket(&stale)
        .start();
    assert!(answers(replaced.socket()));
}

#[test]
fn of_two_daemons_starting_together_on_a_stale_socket_exactly_one_serves() {
    let api = FakeApi::start();
    for round in 0..5 {
        let builder = Daemon::builder().api(&api.url(), 1.0);
        let socket = builder.socket_path().to_owned();
        std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        let mut first = builder.spawn();
        let mut second = first.spawn_twin();
        let deadline = Instant::now() + Duration::from_secs(10);
        let (code, survivor) = loop {
            if let Some(status) = first.wait_exit(Duration::ZERO) {
                break (status.code(), second.id());
            }
            if let Some(status) = second.try_wait().unwrap() {
                break (status.code(), first.pid());
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: both daemons still run\n{}",
                first.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(
            code,
            Some(1),
            "round {round}: the loser exits 1\n{}",
            first.log()
        );
        // The loser may give up while the winner, holding the lock, is
        // still binding: the winner serves once it has.
        let serving = loop {
            let status = blocking::Client::connect_to(&socket).and_then(|mut c| c.status());
            if let Ok(status) = status {
                break status.daemon.pid;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: nobody serves\n{}",
                first.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(
            serving,
            survivor,
            "round {round}: the winner serves on\n{}",
            first.log()
        );
        let _ = second.kill();
        let _ = second.wait();
    }
}

/// Whether a daemon answers `status` on `socket`.
fn answers(socket: &Path) -> bool {
    blocking::Client::connect_to(socket)
        .and_then(|mut client| client.status())
        .is_ok()
}

/// Waits up to `timeout` for `child` to exit.
fn wait_for_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

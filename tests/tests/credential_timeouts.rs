//! A credential read that hangs counts as a failed source after 5 s
//! (docs/decisions.md, "Credentials"), and never holds up SIGTERM (exit within 2 s). The hang
//! is real: Claude Code's credentials file is a FIFO nobody writes, so
//! opening it blocks, as a file on a hung network mount would.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use claude_quota::{CredentialSource, LastErrorKind};
use claude_quota_e2e::{Daemon, FakeApi};

#[tokio::test]
async fn a_hung_credential_read_fails_after_5_s_and_sigterm_still_exits_in_time() {
    let api = FakeApi::start();
    let builder = Daemon::builder().api(&api.url(), 0.2);
    let fifo = builder.claude_dir().join(".credentials.json");
    std::fs::create_dir_all(builder.claude_dir()).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut daemon = builder.start();
    let started = Instant::now();
    let status = daemon
        .wait_for(Duration::from_secs(15), |s| s.last_error.is_some())
        .await;
    let took = started.elapsed();
    let error = status.last_error.unwrap();
    assert_eq!(error.kind, LastErrorKind::NoCredentials);
    assert!(
        error
            .message
            .contains(&format!("{}: no answer within 5s", fifo.display())),
        "{}",
        error.message
    );
    assert!(
        took >= Duration::from_secs(4),
        "the read was given 5 s: {took:?}"
    );
    assert_eq!(status.credentials, CredentialSource::None);
    assert_eq!(api.requests(), 0);
    // The poller reads again 0.2 s after the failure, and hangs: once the
    // poll time the status announced after the failure has passed with no
    // newer one, the poller is in that read (for 5 s).
    let failed_at = error.at;
    daemon
        .wait_for(Duration::from_secs(15), |s| {
            s.next_poll_at.is_some_and(|next| {
                next > failed_at && next + TimeDelta::milliseconds(100) < Utc::now()
            })
        })
        .await;
    let signalled = Instant::now();
    daemon.signal("TERM");
    let exit = daemon
        .wait_exit(Duration::from_secs(5))
        .expect("the daemon exits");
    let took = signalled.elapsed();
    assert_eq!(exit.code(), Some(0), "{}", daemon.log());
    assert!(took < Duration::from_secs(2), "exit took {took:?}");
}

/// A session bus that accepts connections and never says a word: the
/// Secret Service read (zbus waiting for the bus's handshake) hangs there,
/// as behind a wedged `dbus-daemon`. After 5 s the keyring counts as a
/// failed source and the credentials file behind it is read. (Linux only:
/// macOS reads the Keychain, not D-Bus.)
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_silent_session_bus_fails_the_keyring_after_5_s_and_the_file_is_read() {
    let api = FakeApi::start();
    let bus_dir = tempfile::tempdir().unwrap();
    let bus = bus_dir.path().join("bus");
    let listener = std::os::unix::net::UnixListener::bind(&bus).unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().flatten().collect();
        drop(held);
    });
    let started = Instant::now();
    let daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(claude_quota_e2e::TOKEN, None)
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            &format!("unix:path={}", bus.display()),
        )
        .start();
    let status = daemon
        .wait_for(Duration::from_secs(15), |s| {
            s.credentials == CredentialSource::File && s.five_hour.is_some()
        })
        .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(5),
        "the keyring was given 5 s: {took:?}"
    );
    assert!(status.last_error.is_none(), "{status:#?}");
    let warning = daemon
        .wait_for_log("no answer within 5s", Duration::from_secs(1))
        .await;
    assert!(warning.contains("Secret Service"), "{warning}");
}

//! A credential read that hangs counts as a failed source after 5 s
//! (PRODUCT.md §2), and never holds up SIGTERM (exit within 2 s). The hang
//! is real: Claude Code's credentials file is a FIFO nobody writes, so
//! opening it blocks, as a file on a hung network mount would.

use std::time::{Duration, Instant};

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
    // The poller is reading again (every 0.2 s after a failure) and hangs.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let signalled = Instant::now();
    daemon.signal("TERM");
    let exit = daemon
        .wait_exit(Duration::from_secs(5))
        .expect("the daemon exits");
    let took = signalled.elapsed();
    assert_eq!(exit.code(), Some(0), "{}", daemon.log());
    assert!(took < Duration::from_secs(2), "exit took {took:?}");
}

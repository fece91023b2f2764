//! Every long-lived task is supervised (README, "Failure modes"): when one ends or
//! panics, the daemon logs which and exits non-zero, so that launchd or
//! systemd start it again, instead of living on without its poller.
//!
//! No fault from outside reaches a panic any more (that is the point of
//! issue 13), so a debug-build-only variable makes the named task panic.

use std::time::Duration;

use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

#[tokio::test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "the panic trigger exists in debug builds of the daemon only"
)]
async fn a_task_that_panics_stops_the_daemon_with_a_non_zero_exit() {
    let api = FakeApi::start();
    // The poller is one per account, watched by the `accounts` task: its
    // panic ends that one, which ends the daemon.
    for task in [
        "poller",
        "accounts",
        "accept loop",
        "persistence",
        "notifier",
        "Ollama watcher",
    ] {
        let mut daemon = Daemon::builder()
            .api(&api.url(), 0.2)
            .credentials_file(TOKEN, None)
            .env("CLAUDE_QUOTAD_TEST_PANIC", task)
            .spawn();
        let status = daemon
            .wait_exit(Duration::from_secs(15))
            .unwrap_or_else(|| panic!("{task}: still running\n{}", daemon.log()));
        let log = daemon.log();
        assert_eq!(status.code(), Some(1), "{task}: {status:?}\n{log}");
        assert!(
            log.contains(&format!("the {task} task panicked")),
            "{task}:\n{log}"
        );
        assert!(log.contains("service manager restarts"), "{task}:\n{log}");
        assert!(!daemon.socket().exists(), "{task}: socket removed");
    }
}

//! The Rust clients and the CLI under faults a conformance case cannot
//! express: a call future dropped half-way, a daemon restarted under a
//! held client, and the CLI meeting a daemon of another user; and the
//! blocking client's pushes and subscription against the real daemon.
//! (Timeouts,
//! error replies, broken frames and foreign daemons for the Rust, Python
//! and Node clients alike are `tests/conformance/cases.json`, run by
//! `conformance.rs` and the Python and Node suites.)

use std::sync::mpsc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use claude_quota::{
    Client, Provider, ReadingSource, TaskComplexity, TaskValue, Tier, Window, blocking,
};
use claude_quota_e2e::daemon::cli_at;
use claude_quota_e2e::stand_in::StandIn;
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};

const WAIT: Duration = Duration::from_secs(10);

/// A caller that gives up on a `route` (drops its future) before the
/// stand-in's late cloud answer arrives: the connection goes with the
/// future, so the next call, on a new connection, gets its own answer.
#[tokio::test]
async fn a_cancelled_question_never_answers_the_next_one() {
    let stand_in = StandIn::start("slow_reply_dropped_and_reopened").unwrap();
    let mut client = Client::new(stand_in.socket()).with_route_timeout(Duration::from_secs(5));
    let cancelled = tokio::time::timeout(
        Duration::from_millis(300),
        client.route(TaskValue::High, TaskComplexity::High),
    )
    .await;
    assert!(cancelled.is_err(), "the caller gave up: {cancelled:?}");
    // Asked again at once: a client that kept the connection would be
    // read the late reply while it waits for its own.
    let next = client.route(TaskValue::High, TaskComplexity::High).await;
    assert_eq!(next.provider, Provider::Ollama, "{next:?}");
    assert_eq!(next.tier, Some(Tier::Active), "{next:?}");
    let received = stand_in.stop();
    assert_eq!(received.types(), [["hello", "route"], ["hello", "route"]]);
}

#[tokio::test]
async fn a_held_client_works_again_after_the_daemon_restarts() {
    let (_api, mut daemon) = burst_daemon().await;
    let mut held = daemon.client().await;
    assert!(held.should_use_cloud(TaskValue::High).await.unwrap());

    daemon.kill_and_restart();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    // The old connection is dead; the first call goes out on a new one.
    assert!(held.should_use_cloud(TaskValue::High).await.unwrap());
    assert!(held.should_use_cloud(TaskValue::High).await.unwrap());
}

#[test]
fn a_held_blocking_client_works_again_after_the_daemon_restarts() {
    let api = FakeApi::start();
    let mut daemon = Daemon::builder().api(&api.url(), 1.0).start();
    let mut held = blocking::Client::connect_to(daemon.socket()).unwrap();
    assert!(held.status().is_ok());

    daemon.kill_and_restart();
    let status = held.status();
    assert!(status.is_ok(), "{status:?}");
}

async fn burst_daemon() -> (FakeApi, Daemon) {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&api.url(), 1.0)
        .credentials_file(TOKEN, None)
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    (api, daemon)
}

#[test]
fn a_daemon_of_another_user_is_refused_by_the_cli() {
    let Some(stand_in) = StandIn::start("wrong_uid_socket") else {
        return;
    };
    let output = cli_at(stand_in.socket(), &["should-use-cloud", "high"], b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(output.stdout.is_empty(), "no answer printed");
    assert!(stderr.contains("uid 65534"), "{stderr}");
    assert!(stand_in.stop().connections.is_empty(), "nothing was asked");
}

/// The blocking client pushes a status-line reading (`ingest`) and follows
/// the daemon's changes (`subscribe`, an iterator): the status now, the
/// push's change, and the end when the daemon goes away.
#[test]
fn the_blocking_client_pushes_a_reading_and_follows_the_changes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (api, daemon) = runtime.block_on(burst_daemon());
    api.fail_with(Fault::Status(503));
    let mut updates = blocking::Client::connect_to(daemon.socket())
        .unwrap()
        .subscribe()
        .unwrap();
    let now = updates.next().expect("the status now").unwrap();
    assert_eq!(now.tier, Tier::Burst);

    let (sender, received) = mpsc::channel();
    let follower = std::thread::spawn(move || {
        for update in updates {
            sender.send(update).unwrap();
        }
    });
    let mut pusher = blocking::Client::new(daemon.socket());
    let five_hour = Window::new(95.0, Some(Utc::now() + TimeDelta::hours(2)));
    pusher.ingest(Some(five_hour), None, Utc::now()).unwrap();
    let pushed = received.recv_timeout(WAIT).expect("an update").unwrap();
    assert_eq!(pushed.source, Some(ReadingSource::Statusline));
    assert_eq!(pushed.tier, Tier::Resting, "{pushed:?}");

    drop(daemon);
    loop {
        match received.recv_timeout(WAIT) {
            Ok(update) => assert!(update.is_ok(), "{update:?}"),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("the subscription outlived the daemon"),
        }
    }
    follower.join().unwrap();
}

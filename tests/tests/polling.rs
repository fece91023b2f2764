//! Demand-driven polling (README, "Polling only while someone listens"): the API is polled every
//! `poll_interval` while someone asks, every `idle_poll_interval` while
//! nobody does, and the first question after an idle spell polls at once.

use std::time::{Duration, Instant};

use claude_quota::{Polling, TaskValue, Tier};
use claude_quota_e2e::fake_api::gaps;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

const WAIT: Duration = Duration::from_secs(15);

/// A daemon polling every `poll` s while asked, idling after `idle_after` s
/// without questions, then polling every `idle_poll` s.
fn daemon(api: &FakeApi, poll: f64, idle_after: f64, idle_poll: f64) -> Daemon {
    Daemon::builder()
        .api(&api.url(), poll)
        .credentials_file(TOKEN, None)
        .config(&format!(
            "idle_after = {idle_after}\nidle_poll_interval = {idle_poll}\n"
        ))
        .start()
}

/// Waits until the daemon logs that it idles.
async fn until_idle(daemon: &Daemon) {
    daemon.wait_for_log("polling idle", WAIT).await;
}

#[tokio::test]
async fn an_idle_daemon_polls_at_the_idle_interval_only() {
    let api = FakeApi::start();
    let (poll, idle_poll) = (0.25, 1.0);
    let daemon = daemon(&api, poll, 0.5, idle_poll);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    // Logged at the change from active polling.
    until_idle(&daemon).await;
    let status = daemon.client().await.status().await.unwrap();
    assert_eq!(
        status.polling,
        Some(Polling::Idle),
        "status shows idleness without ending it"
    );
    // The next two polls come a whole idle interval after the one before
    // (the last active one included), not every 0.25 s: the status asked
    // above did not end the idling. (The cadence over many rounds is
    // schedule.rs's unit tests', on a paused clock.)
    let idle_since = api.requests();
    let times = api.wait_for_calls(idle_since + 2, WAIT).await;
    for gap in gaps(&times[idle_since - 1..]) {
        assert!(
            gap >= idle_poll * 0.9,
            "idle polls {gap:.2}s apart: at most one call in four poll intervals"
        );
    }
}

#[tokio::test]
async fn the_first_question_after_idling_polls_at_once_and_sees_the_change() {
    let api = FakeApi::start();
    api.set_usage(10.0, Some(10.0));
    let daemon = daemon(&api, 0.2, 0.5, 60.0);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    until_idle(&daemon).await;
    let before = api.requests();
    api.set_usage(90.0, Some(10.0));

    let mut client = daemon.client().await;
    let asked = Instant::now();
    let decision = client.decide(TaskValue::High).await.unwrap();
    let waited = asked.elapsed();
    assert!(
        !decision.use_cloud && decision.tier == Tier::Resting,
        "{decision:?}"
    );
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert_eq!(
        api.requests(),
        before + 1,
        "idle: no poll but the question's"
    );

    // While a router asks, polling is back at poll_interval: five more
    // polls come well within the minute an idle poll waits, and never
    // closer than the interval.
    let times = daemon.ask_until_polls(&api, 5, WAIT).await;
    let gaps = gaps(&times);
    assert!(
        gaps.iter().all(|&gap| gap >= 0.2 * 0.9),
        "polls at most one per 0.2 s of questions: {gaps:?}"
    );
    let status = client.status().await.unwrap();
    assert_eq!(status.polling, Some(Polling::Active));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_arriving_together_after_idling_share_one_poll() {
    let api = FakeApi::start();
    let daemon = daemon(&api, 0.2, 0.5, 60.0);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    until_idle(&daemon).await;
    let before = api.requests();
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(daemon.client().await);
    }
    let mut askers = Vec::new();
    for mut client in clients {
        askers.push(tokio::spawn(async move {
            client.should_use_cloud(TaskValue::Critical).await.unwrap()
        }));
    }
    for asker in askers {
        assert!(asker.await.unwrap());
    }
    assert_eq!(api.requests(), before + 1, "20 questions, one poll");
}

#[tokio::test]
async fn a_subscriber_keeps_polling_active() {
    let api = FakeApi::start();
    let daemon = daemon(&api, 0.2, 0.5, 60.0);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let mut subscription = daemon.client().await.subscribe().await.unwrap();
    subscription.next().await.unwrap();
    // (On a loaded machine the daemon may have idled before the
    // subscriber came; only what follows counts.)
    let idled = || daemon.log().matches("polling idle").count();
    let idled_before = idled();
    // Six polls at 0.2 s span more than twice idle_after: without the
    // subscriber counting as a listener, polls would stop for a minute.
    let before = api.requests();
    api.wait_for_calls(before + 6, WAIT).await;
    assert_eq!(idled(), idled_before, "{}", daemon.log());
}

//! Demand-driven polling (README, "Polling only while someone listens"): the API is polled every
//! `poll_interval` while someone asks, every `idle_poll_interval` while
//! nobody does, and the first question after an idle spell polls at once.

use std::time::{Duration, Instant};

use claude_quota::{Polling, TaskValue, Tier};
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
    let (poll, idle_poll) = (0.25, 2.0);
    let daemon = daemon(&api, poll, 0.5, idle_poll);
    let status = daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    assert_eq!(status.polling, Some(Polling::Active));
    until_idle(&daemon).await;
    let status = daemon.client().await.status().await.unwrap();
    assert_eq!(
        status.polling,
        Some(Polling::Idle),
        "status shows idleness without ending it"
    );
    let idle_since = api.requests();
    tokio::time::sleep(Duration::from_secs(7)).await;
    let times = api.request_times();
    let idle_calls = &times[idle_since..];
    // Active, 7 s would be 28 polls; idle, at most one per 2 s.
    assert!(
        idle_calls.len() <= 4,
        "{} calls in 7 s idle",
        idle_calls.len()
    );
    for pair in idle_calls.windows(2) {
        let gap = (pair[1] - pair[0]).as_secs_f64();
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
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(api.requests(), before, "idle: no poll for a minute");

    let mut client = daemon.client().await;
    let asked = Instant::now();
    let decision = client.decide(TaskValue::High).await.unwrap();
    let waited = asked.elapsed();
    assert!(
        !decision.use_cloud && decision.tier == Tier::Resting,
        "{decision:?}"
    );
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert_eq!(api.requests(), before + 1);

    // While a router asks, polling is back at poll_interval.
    let asking = Instant::now();
    while asking.elapsed() < Duration::from_secs(3) {
        client.should_use_cloud(TaskValue::High).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let polls = api.requests() - before - 1;
    assert!(
        (6..=17).contains(&polls),
        "{polls} polls in 3 s of questions at one per 0.2 s"
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
    let before = api.requests();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        api.requests() >= before + 4,
        "{} polls in 2 s with a subscriber",
        api.requests() - before
    );
    assert!(!daemon.log().contains("polling idle"), "{}", daemon.log());
}

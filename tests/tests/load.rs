//! Client load never multiplies API calls: the poller is the only caller.

use std::time::{Duration, Instant};

use claude_quota::{TaskValue, Tier};
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_asking_a_thousand_times_cause_one_call_per_poll() {
    let api = FakeApi::start();
    let poll_interval = 0.5;
    let daemon = Daemon::builder()
        .api(&api.url(), poll_interval)
        .credentials_file(TOKEN, None)
        .start();
    let started = Instant::now();
    daemon
        .wait_for(Duration::from_secs(10), |s| s.tier == Tier::Burst)
        .await;

    let mut clients = Vec::new();
    for _ in 0..50 {
        let mut client = daemon.client().await;
        clients.push(tokio::spawn(async move {
            for _ in 0..1000 {
                assert!(client.should_use_cloud(TaskValue::High).await.unwrap());
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let status = daemon.client().await.status().await.unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let polls_possible = (elapsed / poll_interval).floor() as usize + 1;
    let calls = api.requests();
    assert_eq!(
        status.api_calls as usize, calls,
        "every API call is counted"
    );
    assert!(
        (1..=polls_possible).contains(&calls),
        "{calls} API calls in {elapsed:.2}s at one poll per {poll_interval}s"
    );
}

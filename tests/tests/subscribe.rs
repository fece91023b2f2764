//! `subscribe`: changes arrive promptly, idle subscribers cost nothing,
//! and one that never reads cannot make the daemon hoard memory.

use std::time::{Duration, Instant};

use claude_quota::Tier;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};
use futures_util::FutureExt;

const WAIT: Duration = Duration::from_secs(10);

fn start(api: &FakeApi, poll: f64) -> Daemon {
    Daemon::builder()
        .api(&api.url(), poll)
        .credentials_file(TOKEN, None)
        .start()
}

// The cost measurements read Linux's /proc, so those two tests run on
// Linux only; the behaviour they measure has no platform-specific code.

/// A field of `/proc/<pid>/status`, in kB.
#[cfg(target_os = "linux")]
fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = text.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// User + system CPU time of `pid`, in clock ticks.
#[cfg(target_os = "linux")]
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[tokio::test]
async fn a_subscriber_sees_a_tier_change_within_a_second_of_the_poll() {
    let api = FakeApi::start();
    let daemon = start(&api, 0.5);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let mut subscription = daemon.client().await.subscribe().await.unwrap();
    let first = subscription.next().await.unwrap().unwrap();
    assert_eq!(first.tier, Tier::Burst, "a status at once");

    let changed_at = Instant::now();
    api.set_usage(65.0, Some(10.0));
    let update = tokio::time::timeout(WAIT, async {
        loop {
            let status = subscription.next().await.unwrap().unwrap();
            if status.tier == Tier::Active {
                return (status, Instant::now());
            }
        }
    })
    .await
    .expect("the change arrives");
    let polled_at = *api
        .request_times()
        .iter()
        .find(|t| **t >= changed_at)
        .expect("a poll after the change");
    let delay = update.1 - polled_at;
    assert!(delay < Duration::from_secs(1), "{delay:?} after the poll");
    assert_eq!(update.0.five_hour.unwrap().utilization, 65.0);
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_idle_subscribers_cost_no_cpu() {
    let api = FakeApi::start();
    let daemon = start(&api, 60.0);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let mut subscriptions = Vec::new();
    for _ in 0..500 {
        let mut subscription = daemon.client().await.subscribe().await.unwrap();
        subscription.next().await.unwrap().unwrap();
        subscriptions.push(subscription);
    }
    // The daemon is done with the subscribing once its CPU time stands
    // still; then three seconds of nothing changing (the span of the
    // measurement, not a wait for an event) cost it nothing.
    let mut before = cpu_ticks(daemon.pid());
    let settling = Instant::now() + WAIT;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = cpu_ticks(daemon.pid());
        if now == before {
            break;
        }
        assert!(Instant::now() < settling, "the daemon never settled");
        before = now;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let spent = cpu_ticks(daemon.pid()) - before;
    assert!(
        spent <= 2,
        "{spent} ticks of CPU in 3 s with nothing changing"
    );
    // Not one was sent a frame meanwhile, and every one is still
    // subscribed: the next change reaches all 500.
    for subscription in &mut subscriptions {
        let early = subscription.next().now_or_never();
        assert!(early.is_none(), "a frame with nothing changed: {early:?}");
    }
    let pushed = claude_quota::Window::new(65.0, None);
    let mut pusher = daemon.client().await;
    pusher
        .ingest(Some(pushed), None, chrono::Utc::now())
        .await
        .unwrap();
    for (i, subscription) in subscriptions.iter_mut().enumerate() {
        let update = tokio::time::timeout(WAIT, subscription.next()).await;
        let update = update.unwrap_or_else(|_| panic!("subscriber {i} heard nothing"));
        let status = update.unwrap().expect("still subscribed");
        assert_eq!(status.tier, Tier::Active, "subscriber {i}");
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_reads_does_not_grow_the_daemon() {
    use tokio::io::AsyncWriteExt;
    use tokio::net::UnixStream;

    let api = FakeApi::start();
    let daemon = start(&api, 60.0);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    // Subscribe by hand and never read a byte of the replies.
    let mut silent = UnixStream::connect(daemon.socket()).await.unwrap();
    let request = br#"{"type":"subscribe"}"#;
    silent
        .write_all(&(request.len() as u32).to_be_bytes())
        .await
        .unwrap();
    silent.write_all(request).await.unwrap();
    let mut reader = daemon.client().await.subscribe().await.unwrap();

    let baseline = proc_status_kb(daemon.pid(), "VmRSS:");
    // 8,000 new readings, half of them changing the tier: a daemon that
    // queued updates for the silent subscriber would hold ~8 MB for it.
    // A last one at 33 % tells the reader the pushes are over.
    const LAST: f64 = 33.0;
    let mut pusher = daemon.client().await;
    let reading_task = tokio::spawn(async move {
        let mut seen = 0u32;
        loop {
            let update = tokio::time::timeout(WAIT, reader.next()).await;
            let Ok(Ok(Some(status))) = update else {
                panic!("no last update after {seen}: {update:?}");
            };
            seen += 1;
            if status.five_hour.map(|w| w.utilization) == Some(LAST) {
                return seen;
            }
        }
    });
    let steps = (0..8_000u32).map(|step| f64::from(step % 2) * 50.0 + 10.0);
    for utilization in steps.chain([LAST]) {
        let window = claude_quota::Window::new(utilization, None);
        pusher
            .ingest(Some(window), None, chrono::Utc::now())
            .await
            .unwrap();
    }
    let grown = proc_status_kb(daemon.pid(), "VmRSS:").saturating_sub(baseline);
    let seen = reading_task.await.unwrap();
    assert!(seen > 100, "the reading subscriber kept up: {seen} updates");
    assert!(grown < 4096, "RSS grew by {grown} kB");
    // The daemon still answers everyone else at once.
    let asked = Instant::now();
    assert!(daemon.client().await.status().await.is_ok());
    assert!(asked.elapsed() < Duration::from_millis(500));
}

/// `status --watch --json` is the subscription for shell scripts: one
/// Status a line, at once and at every change; a reader that stops
/// (`| head -1`) ends it quietly at the next change.
#[tokio::test]
async fn watch_json_prints_a_status_line_at_every_change_and_ends_with_its_reader() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let api = FakeApi::start();
    api.set_usage(20.0, Some(10.0));
    let daemon = start(&api, 1.0);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let mut watch = tokio::process::Command::new(claude_quota_e2e::daemon::bin("claude-quota"))
        .args(["status", "--watch", "--json", "--socket"])
        .arg(daemon.socket())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let mut next_status = async || -> claude_quota::Status {
        let line = tokio::time::timeout(WAIT, lines.next_line()).await;
        let line = line.expect("a line in time").unwrap().expect("not the end");
        serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line}"))
    };
    assert_eq!(next_status().await.tier, Tier::Burst);
    api.set_usage(90.0, Some(10.0));
    let mut seen = next_status().await;
    while seen.tier != Tier::Resting {
        seen = next_status().await;
    }

    drop(lines);
    api.set_usage(30.0, Some(10.0));
    let ended = tokio::time::timeout(WAIT, watch.wait()).await;
    let status = ended.expect("the watch ends once nobody reads").unwrap();
    assert!(status.success(), "{status:?}");
}

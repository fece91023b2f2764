//! Whether keeping the history moves `route`'s latency (issue 27): two
//! daemons in one run, alike but for `[history] enabled`, polling a fake
//! API whose 5-hour window flips between burst and active at every poll
//! (every 0.2 s), so the one keeping history writes a row per poll: 150
//! times what a steady day writes (one row per 30 s). Their round trips are
//! timed in alternating rounds, so a drift of the machine falls on both.

use std::time::{Duration, Instant};

use claude_quota::Tier;
use claude_quota_e2e::fake_api::usage_body;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

use crate::load;
use crate::report::figure;
use crate::target::Target;

/// The poll interval of both daemons, in seconds.
const POLL_INTERVAL: f64 = 0.2;

/// Alternating rounds of round trips per daemon; the median round counts.
const ROUNDS: usize = 5;

/// One daemon and its figures per round (p50, p99, p99.9 in µs).
struct Measured {
    name: &'static str,
    daemon: Daemon,
    target: Target,
    rounds: Vec<[f64; 3]>,
}

/// Measures `samples` round trips of `route` per daemon, in rounds, and
/// prints the table.
pub async fn run(samples: usize) -> anyhow::Result<()> {
    let api = FakeApi::start();
    let start = Instant::now();
    api.serve_curve(move |arrived| {
        let poll = arrived.duration_since(start).as_secs_f64() / POLL_INTERVAL;
        let five_hour = if poll as u64 % 2 == 0 { 20.0 } else { 60.0 };
        usage_body(five_hour, Some(10.0))
    });
    let mut measured = Vec::new();
    for (name, enabled) in [("history kept", true), ("history off", false)] {
        let daemon = Daemon::builder()
            .api(&api.url(), POLL_INTERVAL)
            .credentials_file(TOKEN, None)
            .config(&format!("[history]\nenabled = {enabled}\n"))
            .start();
        daemon
            .wait_for(Duration::from_secs(10), |s| s.tier != Tier::Unknown)
            .await;
        let target = Target::claude_quotad(daemon.socket().to_owned(), daemon.pid());
        measured.push(Measured {
            name,
            daemon,
            target,
            rounds: Vec::new(),
        });
    }
    let rows_before = rows(&measured[0].daemon).await;
    let began = Instant::now();
    for round in 0..ROUNDS {
        for daemon in &mut measured {
            eprintln!("{}: round trips, round {}", daemon.name, round + 1);
            let rtt = load::round_trips(&daemon.target, samples / ROUNDS).await;
            daemon
                .rounds
                .push([50.0, 99.0, 99.9].map(|p| rtt.percentile_us(p)));
        }
    }
    let written = rows(&measured[0].daemon).await - rows_before;
    let seconds = began.elapsed().as_secs_f64();
    anyhow::ensure!(
        rows(&measured[1].daemon).await == 0,
        "the daemon without history kept rows"
    );
    println!(
        "route round trips, {samples} per daemon in {ROUNDS} alternating rounds (the median round's figures); the daemon keeping history wrote {written} rows in {seconds:.0} s"
    );
    println!();
    println!("| daemon | RTT p50 | RTT p99 | RTT p99.9 |");
    println!("|---|---:|---:|---:|");
    for daemon in &measured {
        let median = |at: usize| {
            let mut values: Vec<f64> = daemon.rounds.iter().map(|r| r[at]).collect();
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        println!(
            "| {} | {} µs | {} µs | {} µs |",
            daemon.name,
            figure(median(0)),
            figure(median(1)),
            figure(median(2)),
        );
    }
    Ok(())
}

/// The rows the daemon's history holds (0 when it keeps none).
async fn rows(daemon: &Daemon) -> u64 {
    let status = daemon.client().await.status().await.expect("status");
    status.history.map_or(0, |history| history.rows)
}

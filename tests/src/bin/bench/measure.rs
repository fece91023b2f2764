//! Every socket figure for every server. The servers take turns at each
//! step, and throughput is the median of several alternating rounds, so a
//! drift of the machine (this VM's speed moves by a third from minute to
//! minute) falls on both alike instead of on whoever ran second.

use std::time::Duration;

use crate::goals::{RSS_HELD, RSS_IDLE, RTT_P50, RTT_P99};
use crate::load;
use crate::process::{cpu_ns, rss_mib, settle};
use crate::report::Figure;
use crate::target::Target;

/// Rounds of each throughput measurement, alternating between servers.
const ROUNDS: usize = 3;

/// The server CPU figure; see BENCHMARKS.md.
const CPU_PER_REQUEST: &str = "server CPU per request, 50 connections";

/// How much of each measurement to do.
pub struct Amounts {
    /// Length of one throughput round.
    pub round: Duration,
    /// Round trips timed for the latency percentiles.
    pub samples: usize,
    /// One-shot connections timed.
    pub one_shots: usize,
    /// Connections held open for the memory reading.
    pub held: usize,
}

/// The figures of each target, in the same order for each.
pub async fn all(targets: &[&Target], amounts: &Amounts) -> Vec<Vec<Figure>> {
    let mut figures: Vec<Vec<Figure>> = targets.iter().map(|_| Vec::new()).collect();
    settle();
    for (target, figures) in targets.iter().zip(&mut figures) {
        figures.push(Figure::lower(RSS_IDLE, "MiB", rss(target)));
    }
    for (target, figures) in targets.iter().zip(&mut figures) {
        eprintln!("{}: round trips", target.name);
        let rtt = load::round_trips(target, amounts.samples).await;
        figures.push(Figure::lower(RTT_P50, "µs", rtt.percentile_us(50.0)));
        figures.push(Figure::lower(RTT_P99, "µs", rtt.percentile_us(99.0)));
        let p999 = rtt.percentile_us(99.9);
        figures.push(Figure::lower("RTT p99.9, one connection", "µs", p999));
    }
    for connections in [1, 50, 500] {
        let rounds = throughput_rounds(targets, connections, amounts.round).await;
        let plural = if connections == 1 { "" } else { "s" };
        for (mut rounds, figures) in rounds.into_iter().zip(&mut figures) {
            rounds.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (rate, cpu_per_request) = rounds[rounds.len() / 2];
            let metric = format!("throughput, {connections} connection{plural}");
            figures.push(Figure::higher(metric, "req/s", rate));
            if connections == 50 {
                figures.push(Figure::lower(CPU_PER_REQUEST, "µs", cpu_per_request));
            }
        }
    }
    for (target, figures) in targets.iter().zip(&mut figures) {
        let rate = load::pipelined(target, 32, amounts.round).await;
        let metric = "throughput, 1 connection pipelining 32";
        figures.push(Figure::higher(metric, "req/s", rate));
    }
    for (target, figures) in targets.iter().zip(&mut figures) {
        eprintln!("{}: one-shot connections", target.name);
        let one_shots = load::one_shots(target, amounts.one_shots).await;
        let p50 = one_shots.percentile_us(50.0);
        figures.push(Figure::lower(
            "one-shot (connect, greet, ask, close) p50",
            "µs",
            p50,
        ));
        figures.push(Figure::lower(
            "one-shot p99",
            "µs",
            one_shots.percentile_us(99.0),
        ));
    }
    for (target, figures) in targets.iter().zip(&mut figures) {
        let held = load::hold_open(target, amounts.held).await;
        settle();
        let metric = format!("{RSS_HELD} ({})", amounts.held);
        figures.push(Figure::lower(metric, "MiB", rss(target)));
        drop(held);
    }
    figures
}

/// Per target, `ROUNDS` × (requests per second, server CPU µs per request).
pub async fn throughput_rounds(
    targets: &[&Target],
    connections: usize,
    round: Duration,
) -> Vec<Vec<(f64, f64)>> {
    eprintln!("throughput with {connections} connections");
    let mut rounds = vec![Vec::with_capacity(ROUNDS); targets.len()];
    for _ in 0..ROUNDS {
        for (target, rounds) in targets.iter().zip(&mut rounds) {
            let cpu_before = cpu_ns(target.pid);
            let (rate, answered) = load::throughput(target, connections, round).await;
            let cpu = cpu_ns(target.pid).zip(cpu_before).map(|(a, b)| a - b);
            let per_request = cpu.map_or(f64::NAN, |ns| ns as f64 / 1e3 / answered as f64);
            rounds.push((rate, per_request));
        }
    }
    rounds
}

/// The server's RSS, or NaN where `/proc` cannot tell.
fn rss(target: &Target) -> f64 {
    rss_mib(target.pid).unwrap_or(f64::NAN)
}

//! What each piece of the answer path's speed machinery is worth (issue
//! 20): the daemon built with `--features speed-variants`, once whole and
//! once without each piece (`CLAUDE_QUOTAD_WITHOUT`), beside redis, in one
//! run, the servers taking turns at every step. A piece stays only while
//! this shows it pays for itself (BENCHMARKS.md, "What the speed machinery
//! is worth").

use std::time::Duration;

use claude_quota::Tier;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

use crate::load;
use crate::measure::{Amounts, throughput_rounds};
use crate::report::figure;
use crate::target::Target;

/// The log line a daemon built for this measurement writes at start.
const MARKER: &str = "a build for measuring the speed machinery";

/// Each variant: its name in the report, and what it goes without.
const VARIANTS: [(&str, &str); 4] = [
    ("whole", ""),
    ("without the answer cache", "answer-cache"),
    ("without pre-encoded replies", "pre-encoding"),
    ("without the decode memo", "decode-memo"),
];

/// A daemon variant under test.
pub struct Variant {
    name: &'static str,
    /// Kept for as long as it is measured.
    _daemon: Daemon,
    target: Target,
}

/// Starts every variant against `api`; fails when the daemon binary was
/// built without the feature (the variants would all be the whole daemon).
pub async fn start(api: &FakeApi, poll_interval: f64) -> anyhow::Result<Vec<Variant>> {
    let mut variants = Vec::with_capacity(VARIANTS.len());
    for (name, without) in VARIANTS {
        let daemon = Daemon::builder()
            .api(&api.url(), poll_interval)
            .credentials_file(TOKEN, None)
            .env("CLAUDE_QUOTAD_WITHOUT", without)
            .start();
        daemon
            .wait_for(Duration::from_secs(10), |s| s.tier == Tier::Burst)
            .await;
        anyhow::ensure!(
            daemon.log().contains(MARKER),
            "claude-quotad was built without the speed-variants feature: \
             cargo build --release -p claude-quotad --features speed-variants"
        );
        let target = Target::claude_quotad(daemon.socket().to_owned(), daemon.pid());
        variants.push(Variant {
            name,
            _daemon: daemon,
            target,
        });
    }
    Ok(variants)
}

/// One server's figures: RTT p50 and p99 (µs), throughput at 50
/// connections (req/s) and server CPU per request there (µs).
struct Figures {
    name: &'static str,
    p50: f64,
    p99: f64,
    throughput: f64,
    cpu: f64,
}

/// Measures every variant and redis (when given) and prints the table.
pub async fn report(variants: &[Variant], redis: Option<&Target>, amounts: &Amounts) {
    let named: Vec<(&'static str, &Target)> = variants
        .iter()
        .map(|v| (v.name, &v.target))
        .chain(redis.map(|r| ("redis", r)))
        .collect();
    let targets: Vec<&Target> = named.iter().map(|(_, target)| *target).collect();
    let mut figures: Vec<Figures> = Vec::with_capacity(named.len());
    for (name, target) in &named {
        eprintln!("{name}: round trips");
        let rtt = load::round_trips(target, amounts.samples).await;
        figures.push(Figures {
            name,
            p50: rtt.percentile_us(50.0),
            p99: rtt.percentile_us(99.0),
            throughput: f64::NAN,
            cpu: f64::NAN,
        });
    }
    let rounds = throughput_rounds(&targets, 50, amounts.round).await;
    for (mut rounds, figures) in rounds.into_iter().zip(&mut figures) {
        rounds.sort_by(|a, b| a.0.total_cmp(&b.0));
        (figures.throughput, figures.cpu) = rounds[rounds.len() / 2];
    }
    print(&figures);
}

/// The table: each figure, and its ratio to the whole daemon and to redis.
fn print(figures: &[Figures]) {
    let whole = &figures[0];
    let redis = figures.iter().find(|f| f.name == "redis");
    let ratio = |value: f64, base: Option<f64>| match base {
        Some(base) if base > 0.0 => format!("{:.2}×", value / base),
        _ => "–".to_owned(),
    };
    println!(
        "| daemon | RTT p50 | RTT p99 | throughput, 50 connections | server CPU per request | CPU / whole | p50 / redis | throughput / redis |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for f in figures {
        println!(
            "| {} | {} µs | {} µs | {} req/s | {} µs | {} | {} | {} |",
            f.name,
            figure(f.p50),
            figure(f.p99),
            figure(f.throughput),
            figure(f.cpu),
            ratio(f.cpu, Some(whole.cpu)),
            ratio(f.p50, redis.map(|r| r.p50)),
            ratio(f.throughput, redis.map(|r| r.throughput)),
        );
    }
}

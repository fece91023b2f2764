//! `bench`: the real `claude-quotad` against the fake usage API, and
//! `redis-server` on a Unix socket as the yardstick, driven by one load
//! generator in the same run. Prints a Markdown report with every figure as
//! a ratio to redis and a verdict on each target of issue 7.
//!
//! Run it with `cargo build --release --workspace --bins && target/release/bench`
//! (BENCHMARKS.md has the figures and how to read them).

mod load;
mod process;
mod report;
mod target;

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use claude_quota::Tier;
use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

use crate::process::{cpu_ns, raise_fd_limit, rss_mib, settle, time_command};
use crate::report::{Figure, Report};
use crate::target::{Redis, Target};

/// Poll interval of the benched daemon, in seconds: short, so a run spans
/// many polls and "API calls = polls" is tested under load.
const POLL_INTERVAL: f64 = 2.0;

const RTT_P50: &str = "RTT p50, one connection";
const RTT_P99: &str = "RTT p99, one connection";
const THROUGHPUT_50: &str = "throughput, 50 connections";
const CPU_PER_REQUEST: &str = "server CPU per request, 50 connections";
const RSS_IDLE: &str = "RSS idle";
const RSS_HELD: &str = "RSS with connections held";

/// Measures claude-quotad beside redis-server over Unix sockets.
#[derive(Parser)]
#[command(about)]
struct Args {
    /// Seconds per throughput measurement.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Round trips timed for the latency percentiles.
    #[arg(long, default_value_t = 200_000)]
    samples: usize,
    /// One-shot connections timed.
    #[arg(long, default_value_t = 5_000)]
    one_shots: usize,
    /// Runs of each command timed (the CLI, redis-cli, /bin/true).
    #[arg(long, default_value_t = 300)]
    runs: usize,
    /// Connections held open for the memory reading.
    #[arg(long, default_value_t = 1_000)]
    held: usize,
    /// Leave redis out even when it is installed.
    #[arg(long)]
    no_redis: bool,
    /// A run of a second or two that only shows the harness works.
    #[arg(long)]
    quick: bool,
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.quick {
        (
            args.seconds,
            args.samples,
            args.one_shots,
            args.runs,
            args.held,
        ) = (0.2, 2_000, 100, 5, 50);
    }
    if cfg!(debug_assertions) && !args.quick {
        eprintln!("warning: a debug build; build with --release for figures that mean anything");
    }
    raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let api = FakeApi::start();
    api.set_usage(20.0, Some(10.0));
    let daemon = Daemon::builder()
        .api(&api.url(), POLL_INTERVAL)
        .credentials_file(TOKEN, None)
        .start();
    let started = Instant::now();
    runtime.block_on(daemon.wait_for(Duration::from_secs(10), |s| s.tier == Tier::Burst));
    let ours = Target::claude_quotad(daemon.socket().to_owned(), daemon.pid());

    let redis_dir = tempfile::tempdir()?;
    let redis = (!args.no_redis)
        .then(|| Redis::start(redis_dir.path()))
        .flatten();
    let theirs = redis
        .as_ref()
        .map(|redis| Target::redis(redis.socket.clone(), redis.pid()));

    let mut report = Report::default();
    let our_figures = runtime.block_on(measure(&ours, &args));
    let their_figures = theirs.as_ref().map(|t| runtime.block_on(measure(t, &args)));
    let value = |figures: &[Figure], metric: &str| {
        figures
            .iter()
            .find(|f| f.metric.starts_with(metric))
            .map(|f| f.value)
    };
    let ours_at = |metric| value(&our_figures, metric).expect("measured");
    let theirs_at = |metric| their_figures.as_deref().and_then(|f| value(f, metric));
    report.target(
        format!(
            "p50 RTT ≤ redis PING RTT ({:.1} µs vs {})",
            ours_at(RTT_P50),
            shown(theirs_at(RTT_P50), "µs")
        ),
        theirs_at(RTT_P50).is_some_and(|redis| ours_at(RTT_P50) <= redis),
    );
    report.target(
        format!("p99 RTT ≤ 100 µs ({:.1} µs)", ours_at(RTT_P99)),
        ours_at(RTT_P99) <= 100.0,
    );
    report.target(
        format!(
            "throughput at 50 connections ≥ 1.0× redis PING ({:.0} vs {} req/s)",
            ours_at(THROUGHPUT_50),
            shown(theirs_at(THROUGHPUT_50), "")
        ),
        theirs_at(THROUGHPUT_50).is_some_and(|redis| ours_at(THROUGHPUT_50) >= redis),
    );
    report.target(
        format!("daemon RSS ≤ 10 MiB idle ({:.1} MiB)", ours_at(RSS_IDLE)),
        ours_at(RSS_IDLE) <= 10.0,
    );
    report.target(
        format!(
            "daemon RSS ≤ 40 MiB with {} connections ({:.1} MiB)",
            args.held,
            ours_at(RSS_HELD)
        ),
        ours_at(RSS_HELD) <= 40.0,
    );
    report.compare(our_figures, their_figures);

    let cli = time_command(
        &bin("claude-quota"),
        &[
            "should-use-cloud",
            "high",
            "--socket",
            &ours.socket.display().to_string(),
        ],
        args.runs,
    );
    let redis_cli = theirs.as_ref().and_then(|t| {
        let socket = t.socket.display().to_string();
        which("redis-cli").map(|path| time_command(&path, &["-s", &socket, "PING"], args.runs))
    });
    let baseline = time_command(Path::new("/bin/true"), &[], args.runs);
    let cli_ms = cli.mean_ms();
    report.compare(
        vec![Figure::lower(
            "`claude-quota should-use-cloud high` process, mean (vs `redis-cli PING`)",
            "ms",
            cli_ms,
        )],
        redis_cli.map(|r| vec![Figure::lower("", "ms", r.mean_ms())]),
    );
    report.alone(Figure::lower(
        "`/bin/true` process, mean (the floor for any command)",
        "ms",
        baseline.mean_ms(),
    ));
    report.target(
        format!("CLI process ≤ 5 ms ({cli_ms:.2} ms)"),
        cli_ms <= 5.0,
    );

    let status = runtime.block_on(async { daemon.client().await.status().await })?;
    let seen = api.requests();
    let polls_at_most = (started.elapsed().as_secs_f64() / POLL_INTERVAL).floor() as u64 + 1;
    report.note(format!(
        "usage-API requests: {seen} seen by the fake API, {} counted by the daemon, at most {polls_at_most} polls scheduled in {:.0} s",
        status.api_calls,
        started.elapsed().as_secs_f64()
    ));
    report.target(
        format!("API calls = polls ({seen} requests, {polls_at_most} polls at most)"),
        seen as u64 == status.api_calls && seen as u64 <= polls_at_most,
    );
    if theirs.is_none() {
        report.note("redis-server was not run (not installed, or --no-redis): no ratios");
    }
    report.print();
    Ok(())
}

/// Every socket figure for one server, in the same order for each.
async fn measure(target: &Target, args: &Args) -> Vec<Figure> {
    eprintln!("measuring {}…", target.name);
    let seconds = Duration::from_secs_f64(args.seconds);
    settle();
    let mut figures = vec![Figure::lower(
        RSS_IDLE,
        "MiB",
        rss_mib(target.pid).unwrap_or(f64::NAN),
    )];
    let rtt = load::round_trips(target, args.samples).await;
    figures.push(Figure::lower(RTT_P50, "µs", rtt.percentile_us(50.0)));
    figures.push(Figure::lower(RTT_P99, "µs", rtt.percentile_us(99.0)));
    figures.push(Figure::lower(
        "RTT p99.9, one connection",
        "µs",
        rtt.percentile_us(99.9),
    ));
    for connections in [1, 50, 500] {
        let cpu_before = cpu_ns(target.pid);
        let (rate, answered) = load::throughput(target, connections, seconds).await;
        let cpu = cpu_ns(target.pid)
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        let plural = if connections == 1 { "" } else { "s" };
        figures.push(Figure::higher(
            format!("throughput, {connections} connection{plural}"),
            "req/s",
            rate,
        ));
        if connections == 50 {
            let per_request = cpu.map_or(f64::NAN, |ns| ns as f64 / 1e3 / answered as f64);
            figures.push(Figure::lower(CPU_PER_REQUEST, "µs", per_request));
        }
    }
    let rate = load::pipelined(target, 32, seconds).await;
    figures.push(Figure::higher(
        "throughput, 1 connection pipelining 32",
        "req/s",
        rate,
    ));
    let one_shots = load::one_shots(target, args.one_shots).await;
    figures.push(Figure::lower(
        "one-shot (connect, greet, ask, close) p50",
        "µs",
        one_shots.percentile_us(50.0),
    ));
    figures.push(Figure::lower(
        "one-shot p99",
        "µs",
        one_shots.percentile_us(99.0),
    ));
    let held = load::hold_open(target, args.held).await;
    settle();
    let metric = format!("{RSS_HELD} ({})", args.held);
    figures.push(Figure::lower(
        metric,
        "MiB",
        rss_mib(target.pid).unwrap_or(f64::NAN),
    ));
    drop(held);
    figures
}

/// A figure or a dash when it was not measured.
fn shown(value: Option<f64>, unit: &str) -> String {
    value.map_or("–".into(), |v| {
        format!("{v:.1} {unit}").trim_end().to_owned()
    })
}

/// The full path of `program` on PATH.
fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

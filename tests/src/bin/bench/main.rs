//! `bench`: the real `claude-quotad` against the fake usage API, and
//! `redis-server` on a Unix socket as the yardstick, driven by one load
//! generator in the same run. Prints a Markdown report with every figure as
//! a ratio to redis and a verdict on each target of issue 7; then a
//! simulated day that scores the daemon's answers against a true usage
//! curve, for the fixed and the adaptive poll schedule (issue 22), and the
//! day blind: usage only polls can see (issue 29). Beside the socket
//! figures: how often the daemon wakes while idle (issue 25) and what ten
//! accounts cost against one (issue 26).
//!
//! Run it with `cargo build --release --workspace --bins && target/release/bench`
//! (BENCHMARKS.md has the figures and how to read them).

mod accounts;
mod blind;
mod blind_report;
mod clock;
mod curve;
mod day;
mod day_report;
mod forecast;
mod goals;
mod history;
mod idle;
mod load;
mod machinery;
mod measure;
mod plan;
mod process;
mod report;
mod router;
mod tally;
mod target;
mod truth;

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use claude_quota::Tier;
use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

use crate::goals::CLI_PROCESS;
use crate::plan::Plan;
use crate::process::{raise_fd_limit, time_command};
use crate::report::{Figure, Report};
use crate::target::{Redis, Target};

/// Poll interval of the benched daemon, in seconds: short, so a run spans
/// many polls and "API calls = polls" is tested under load.
const POLL_INTERVAL: f64 = 2.0;

/// Connections held open while the idle daemon's wake-ups are counted.
const IDLE_CONNECTIONS: usize = 100;

/// Measures claude-quotad beside redis-server over Unix sockets.
#[derive(Parser)]
#[command(about)]
struct Args {
    /// Seconds per throughput round (three rounds per figure, the servers
    /// taking turns; the median counts).
    #[arg(long, default_value_t = 1.5)]
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
    /// A run of a few seconds that only shows the harness works (and a
    /// simulated day of 30 minutes).
    #[arg(long)]
    quick: bool,
    /// Only the simulated day: answers against the true usage and API
    /// calls, both poll schedules, without and with pushes, then blind
    /// (usage from elsewhere, only polls see it) (about 8 minutes).
    #[arg(long)]
    only_day: bool,
    /// Print the figures as one JSON object and nothing else on stdout
    /// (with --only-day, the day's figures alone).
    #[arg(long, conflicts_with_all = ["machinery", "only_history"])]
    json: bool,
    /// Seconds the idle daemon's wake-ups are counted over, with 100
    /// connections held open.
    #[arg(long, default_value_t = 60.0)]
    idle_seconds: f64,
    /// Only what each piece of the speed machinery is worth: the daemon
    /// whole and without each piece, beside redis (needs a daemon built
    /// with `--features speed-variants`)
    #[arg(long, conflicts_with = "only_day")]
    machinery: bool,
    /// Only whether keeping the history moves `route`'s latency: two
    /// daemons, with and without `[history]`, one writing a row every poll
    #[arg(long, conflicts_with_all = ["only_day", "machinery"])]
    only_history: bool,
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
            args.idle_seconds,
        ) = (0.1, 2_000, 100, 5, 50, 2.0);
    }
    if cfg!(debug_assertions) && !args.quick {
        eprintln!("warning: a debug build; build with --release for figures that mean anything");
    }
    raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    if args.only_history {
        return runtime.block_on(history::run(args.samples));
    }
    if args.only_day {
        let day = runtime.block_on(day::run(&plan))?;
        let blind = runtime.block_on(blind::run(args.quick))?;
        if args.json {
            let mut figures = day_report::json(&day);
            figures["blind"] = blind_report::json(&blind);
            println!("{figures}");
        } else {
            day_report::print(&day);
            println!();
            blind_report::print(&blind);
        }
        return Ok(());
    }

    let amounts = measure::Amounts {
        round: Duration::from_secs_f64(args.seconds),
        samples: args.samples,
        one_shots: args.one_shots,
        held: args.held,
    };
    let api = FakeApi::start();
    api.set_usage(20.0, Some(10.0));
    let redis_dir = tempfile::tempdir()?;
    let redis = (!args.no_redis)
        .then(|| Redis::start(redis_dir.path()))
        .flatten();
    let theirs = redis
        .as_ref()
        .map(|redis| Target::redis(redis.socket.clone(), redis.pid()));
    if args.machinery {
        let variants = runtime.block_on(machinery::start(&api, POLL_INTERVAL))?;
        runtime.block_on(machinery::report(&variants, theirs.as_ref(), &amounts));
        return Ok(());
    }
    let daemon = Daemon::builder()
        .api(&api.url(), POLL_INTERVAL)
        .credentials_file(TOKEN, None)
        .start();
    let started = Instant::now();
    runtime.block_on(daemon.wait_for(Duration::from_secs(10), |s| s.tier == Tier::Burst));
    let ours = Target::claude_quotad(daemon.socket().to_owned(), daemon.pid());
    let targets: Vec<&Target> = std::iter::once(&ours).chain(theirs.as_ref()).collect();
    let mut figures = runtime
        .block_on(measure::all(&targets, &amounts))
        .into_iter();
    let mut ours_figures = figures.next().expect("the daemon was measured");
    let mut redis_figures = figures.next();
    ours_figures.push(time_cli(&ours, args.runs));
    if let Some((redis, figures)) = theirs.as_ref().zip(redis_figures.as_mut()) {
        figures.extend(time_redis_cli(redis, args.runs));
    }

    let status = runtime.block_on(async { daemon.client().await.status().await })?;
    let seen = api.requests() as u64;
    let elapsed = started.elapsed().as_secs_f64();

    let mut report = Report::default();
    let (account_figures, accounts_note) =
        runtime.block_on(accounts::measure(args.samples / 4, POLL_INTERVAL));
    ours_figures.extend(account_figures);
    eprintln!("idle: counting wake-ups for {} s", args.idle_seconds);
    let span = Duration::from_secs_f64(args.idle_seconds);
    let idle = runtime.block_on(idle::measure(IDLE_CONNECTIONS, span));
    report.note(idle.note());
    report.note(accounts_note);
    ours_figures.push(idle.figure);
    goals::judge(&mut report, &ours_figures, redis_figures.as_deref());
    report.compare(ours_figures, redis_figures);
    let floor = time_command(Path::new("/bin/true"), &[], args.runs);
    report.alone(Figure::lower(
        "`/bin/true` process, mean (the floor for any command)",
        "ms",
        floor.mean_ms(),
    ));

    let polls_at_most = (elapsed / POLL_INTERVAL).floor() as u64 + 1;
    report.note(format!(
        "usage-API requests: {seen} seen by the fake API, {} counted by the daemon, at most {polls_at_most} polls scheduled in {elapsed:.0} s",
        status.api_calls,
    ));
    report.target(
        format!("API calls = polls ({seen} requests, {polls_at_most} polls at most)"),
        seen == status.api_calls && seen <= polls_at_most,
    );
    if theirs.is_none() {
        report.note("redis-server was not run (not installed, or --no-redis): no ratios");
    }
    if !args.json {
        report.print();
    }
    // The day's own daemons run alone.
    drop((daemon, redis));
    let day = runtime.block_on(day::run(&plan))?;
    let blind = runtime.block_on(blind::run(args.quick))?;
    if args.json {
        let mut day_figures = day_report::json(&day);
        day_figures["blind"] = blind_report::json(&blind);
        println!(
            "{}",
            serde_json::json!({"report": report.json(), "day": day_figures})
        );
    } else {
        println!();
        day_report::print(&day);
        println!();
        blind_report::print(&blind);
    }
    Ok(())
}

/// The CLI's whole process, as a router's shell script would run it.
fn time_cli(ours: &Target, runs: usize) -> Figure {
    let socket = ours.socket.display().to_string();
    let args = ["should-use-cloud", "high", "--socket", &socket];
    let cli = time_command(&bin("claude-quota"), &args, runs);
    Figure::lower(CLI_PROCESS, "ms", cli.mean_ms())
}

/// redis's own CLI asking `PING`, when it is installed.
fn time_redis_cli(redis: &Target, runs: usize) -> Option<Figure> {
    let socket = redis.socket.display().to_string();
    let redis_cli = which::which("redis-cli").ok()?;
    let timed = time_command(&redis_cli, &["-s", &socket, "PING"], runs);
    Some(Figure::lower(CLI_PROCESS, "ms", timed.mean_ms()))
}

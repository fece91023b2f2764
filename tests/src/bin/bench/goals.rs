//! The targets of issues 7, 25 and 26, each a test of one figure (and
//! redis's, where the target is relative to it).

use crate::report::{Figure, Report, figure};

/// Figures a target is judged on; `measure` names its figures with these.
pub const RTT_P50: &str = "RTT p50, one connection";
pub const RTT_P99: &str = "RTT p99, one connection";
pub const THROUGHPUT_50: &str = "throughput, 50 connections";
pub const THROUGHPUT_500: &str = "throughput, 500 connections";
pub const IDLE_WAKEUPS: &str = "idle wake-ups, all threads";
pub const ROUTE_ACCOUNTS: &str = "`route` p50, 10 accounts / 1 account";
pub const STATUS_ACCOUNTS: &str = "`status` p50, 10 accounts / 1 account";
pub const CALLS_ACCOUNTS: &str = "usage-API calls per account, 10 accounts / 1 account";
pub const RSS_IDLE: &str = "RSS idle";
pub const RSS_HELD: &str = "RSS with connections held";
pub const CLI_PROCESS: &str =
    "`claude-quota should-use-cloud high` process, mean (vs `redis-cli PING`)";

/// One target: its wording, its figure, and whether a value (with redis's
/// value for the same figure, if redis ran) meets it.
struct Goal {
    what: &'static str,
    metric: &'static str,
    met: fn(f64, Option<f64>) -> bool,
}

const GOALS: [Goal; 11] = [
    Goal {
        what: "p50 RTT ≤ 1.0× redis PING RTT",
        metric: RTT_P50,
        met: |ours, redis| redis.is_some_and(|redis| ours <= redis),
    },
    Goal {
        what: "p99 RTT ≤ 100 µs",
        metric: RTT_P99,
        met: |ours, _| ours <= 100.0,
    },
    Goal {
        what: "throughput at 50 connections ≥ 0.9× redis PING",
        metric: THROUGHPUT_50,
        met: |ours, redis| redis.is_some_and(|redis| ours >= 0.9 * redis),
    },
    Goal {
        what: "throughput at 500 connections ≥ 0.9× redis PING",
        metric: THROUGHPUT_500,
        met: |ours, redis| redis.is_some_and(|redis| ours >= 0.9 * redis),
    },
    Goal {
        what: "idle with connections held: ≤ 0.2 wake-ups a second",
        metric: IDLE_WAKEUPS,
        met: |ours, _| ours <= 0.2,
    },
    Goal {
        what: "`route` p50 with 10 accounts ≤ 1.2× one account",
        metric: ROUTE_ACCOUNTS,
        met: |ours, _| ours <= 1.2,
    },
    Goal {
        what: "`status` p50 with 10 accounts ≤ 3× one account",
        metric: STATUS_ACCOUNTS,
        met: |ours, _| ours <= 3.0,
    },
    Goal {
        what: "usage-API calls per account with 10 accounts ≤ one account's",
        metric: CALLS_ACCOUNTS,
        met: |ours, _| ours <= 1.0,
    },
    Goal {
        what: "CLI process ≤ 5 ms",
        metric: CLI_PROCESS,
        met: |ours, _| ours <= 5.0,
    },
    Goal {
        what: "daemon RSS ≤ 10 MiB idle",
        metric: RSS_IDLE,
        met: |ours, _| ours <= 10.0,
    },
    Goal {
        what: "daemon RSS ≤ 40 MiB with the connections held",
        metric: RSS_HELD,
        met: |ours, _| ours <= 40.0,
    },
];

/// Adds a verdict for every target to `report`.
pub fn judge(report: &mut Report, ours: &[Figure], redis: Option<&[Figure]>) {
    for goal in &GOALS {
        let Some(our) = find(ours, goal.metric) else {
            continue;
        };
        let theirs = redis.and_then(|redis| find(redis, goal.metric));
        let redis_shown =
            theirs.map_or("–".into(), |t| format!("{} {}", figure(t.value), t.unit));
        report.target(
            format!(
                "{} ({} {}; redis {redis_shown})",
                goal.what,
                figure(our.value),
                our.unit
            ),
            (goal.met)(our.value, theirs.map(|t| t.value)),
        );
    }
}

/// The figure named `metric` (or starting with it: some add a count).
pub fn find<'a>(figures: &'a [Figure], metric: &str) -> Option<&'a Figure> {
    figures.iter().find(|f| f.metric.starts_with(metric))
}

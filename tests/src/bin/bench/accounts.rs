//! What several accounts cost (issue 26): two daemons in one run, one
//! with Claude Code's default login (one account) and one with ten
//! `[[accounts]]`, each its own `CLAUDE_CONFIG_DIR` and token, the fake API
//! serving every token the same usage. `route` and `status` round trips are
//! timed on both in alternating rounds (so a drift of the machine falls on
//! both), and the usage-API calls each account cost over the same span,
//! both polling every `poll_interval` on the fixed schedule while the
//! questions keep them listened to: a scaled day, not the simulated one.

use std::time::{Duration, Instant};

use claude_quota::Tier;
use claude_quota_e2e::fake_api::usage_body;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};
use claude_quota_proto::Request;

use crate::goals::{CALLS_ACCOUNTS, ROUTE_ACCOUNTS, STATUS_ACCOUNTS};
use crate::load;
use crate::report::Figure;
use crate::target::Target;

/// Accounts of the larger daemon.
const ACCOUNTS: usize = 10;

/// Alternating rounds per question and daemon; the median round counts.
const ROUNDS: usize = 5;

/// The fewest polls the calls are counted over.
const MIN_POLLS: f64 = 3.0;

/// The usage every account reads: burst, so `route` answers the cloud.
const FIVE_HOUR: f64 = 20.0;

/// One daemon with its API, asked `route` and `status`.
struct Side {
    api: FakeApi,
    /// Kept running until the measurement ends.
    _daemon: Daemon,
    route: Target,
    status: Target,
    accounts: usize,
}

/// The figures (per-daemon p50s, their ratios, the calls) and a note.
pub async fn measure(samples: usize, poll_interval: f64) -> (Vec<Figure>, String) {
    let one = one_account(poll_interval).await;
    let ten = ten_accounts(poll_interval).await;
    let calls_before = [one.api.requests(), ten.api.requests()];
    let started = Instant::now();
    let per_round = (samples / ROUNDS).max(10);
    let mut p50s = [[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
    for _ in 0..ROUNDS {
        for (side, p50s) in [&one, &ten].into_iter().zip(&mut p50s) {
            for (target, p50s) in [&side.route, &side.status].into_iter().zip(p50s) {
                let rtt = load::round_trips(target, per_round).await;
                p50s.push(rtt.percentile_us(50.0));
            }
        }
    }
    // The calls need a span of a few polls, however few the samples.
    while started.elapsed().as_secs_f64() < MIN_POLLS * poll_interval {
        for side in [&one, &ten] {
            load::round_trips(&side.route, 100).await;
        }
    }
    let span = started.elapsed();
    let calls: Vec<f64> = [&one, &ten]
        .iter()
        .zip(calls_before)
        .map(|(side, before)| (side.api.requests() - before) as f64 / side.accounts as f64)
        .collect();
    let [[route_one, status_one], [route_ten, status_ten]] = p50s.map(|pair| pair.map(median));
    let figures = vec![
        Figure::lower("`route` p50, 1 account", "µs", route_one),
        Figure::lower("`route` p50, 10 accounts", "µs", route_ten),
        Figure::lower(ROUTE_ACCOUNTS, "×", route_ten / route_one),
        Figure::lower("`status` p50, 1 account", "µs", status_one),
        Figure::lower("`status` p50, 10 accounts", "µs", status_ten),
        Figure::lower(STATUS_ACCOUNTS, "×", status_ten / status_one),
        Figure::lower(CALLS_ACCOUNTS, "×", calls[1] / calls[0]),
    ];
    let note = format!(
        "accounts: usage-API calls per account in {:.0} s at poll_interval {poll_interval} s: {:.1} with 1 account, {:.1} with {ACCOUNTS}",
        span.as_secs_f64(),
        calls[0],
        calls[1],
    );
    (figures, note)
}

/// The default login, no `[[accounts]]`: today's one account.
async fn one_account(poll_interval: f64) -> Side {
    let api = FakeApi::start();
    api.set_usage(FIVE_HOUR, Some(10.0));
    let daemon = Daemon::builder()
        .api(&api.url(), poll_interval)
        .credentials_file(TOKEN, None)
        .start();
    daemon
        .wait_for(Duration::from_secs(10), |s| s.tier == Tier::Burst)
        .await;
    Side::new(api, daemon, 1)
}

/// Ten logins, each its own directory and token, in `[[accounts]]`.
async fn ten_accounts(poll_interval: f64) -> Side {
    let api = FakeApi::start();
    let mut builder = Daemon::builder().api(&api.url(), poll_interval);
    let names: Vec<String> = (0..ACCOUNTS).map(|n| format!("a{n}")).collect();
    for (n, name) in names.iter().enumerate() {
        let token = format!("sk-ant-oat01-bench-account-{n}");
        api.serve_account(&token, usage_body(FIVE_HOUR, Some(10.0)));
        builder = builder.login(name, &token);
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let config = builder.accounts_config(&names);
    let daemon = builder.config(&config).start();
    daemon
        .wait_for(Duration::from_secs(20), |s| {
            s.accounts.len() == ACCOUNTS && s.accounts.iter().all(|a| a.tier == Tier::Burst)
        })
        .await;
    Side::new(api, daemon, ACCOUNTS)
}

impl Side {
    fn new(api: FakeApi, daemon: Daemon, accounts: usize) -> Side {
        let route = Target::claude_quotad(daemon.socket().to_owned(), daemon.pid());
        let status = Target::claude_quotad(daemon.socket().to_owned(), daemon.pid())
            .asking(&Request::Status);
        Side {
            api,
            _daemon: daemon,
            route,
            status,
            accounts,
        }
    }
}

/// The median of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

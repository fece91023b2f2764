//! The simulated day (issue 22), four times at once: the fixed and the
//! adaptive poll schedule, each without and with Claude Code's status line
//! pushing. Each run has its own fake usage API serving the true curve at
//! the moment of each request and its own daemon, configured with the
//! contract's intervals divided by the plan's scale; all four follow one
//! simulated clock.

use std::time::Duration;

use claude_quota::{Tier, Window};
use claude_quota_e2e::fake_api::windows_body;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};
use futures_util::future::try_join_all;
use tokio::time::sleep_until;

use crate::clock::SimClock;
use crate::forecast::{self, Score};
use crate::plan::{
    ADAPTIVE_MAX_INTERVAL, BACKOFF_CAP, FASTEST_BURN_PCT_PER_MIN, IDLE_AFTER, IDLE_POLL_INTERVAL,
    POLL_INTERVAL, Plan, REFRESH_MIN_INTERVAL, STALE_AFTER,
};
use crate::router::{RouterLog, router, status_line};
use crate::tally::Tally;

/// How long a daemon may take to start and read the API once.
const READY: Duration = Duration::from_secs(10);

/// The least time between the daemons' first readings and the day's start
/// (which then waits for a whole wall-clock second).
const LEAD: Duration = Duration::from_millis(100);

/// Which poll schedule a daemon runs (`[policy] adaptive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// `adaptive = false`: every `poll_interval` while someone asks.
    Fixed,
    /// `adaptive = true`, the default: polls when the answer could change.
    Adaptive,
}

/// What one run of the day measured.
#[derive(Debug)]
pub struct Outcome {
    /// Requests the fake API saw during the day, scaled to 24 hours.
    pub calls_per_day: f64,
    /// The router's answers against the truth.
    pub tally: Tally,
    /// The slowest first answer after an idle spell to rest on a fresh
    /// poll, in real time (see [`RouterLog::woke`]).
    pub first_answer_after_idle: Duration,
    /// How far behind schedule the router's latest question went, in real
    /// time.
    pub latest_question: Duration,
    /// The daemon's forecasts, read every simulated minute, against the
    /// truth at each of [`forecast::HORIZONS`].
    pub forecast: [Score; 3],
}

/// The two schedules in one push scenario.
#[derive(Debug)]
pub struct Pair {
    /// `[policy] adaptive = false`.
    pub fixed: Outcome,
    /// `[policy] adaptive = true`.
    pub adaptive: Outcome,
}

/// The whole day's figures.
#[derive(Debug)]
pub struct Day {
    /// Without a status line.
    pub no_pushes: Pair,
    /// With Claude Code's status line pushing while it is open.
    pub with_pushes: Pair,
    /// The plan's scale, to turn real durations into simulated ones.
    pub scale: f64,
    /// The day's length in hours.
    pub hours: f64,
}

/// One daemon of a simulated day with its fake API and its plan.
pub struct Run {
    api: FakeApi,
    daemon: Daemon,
    pushes: bool,
    plan: Plan,
}

/// Runs the day of `plan` for both schedules, without and with pushes, at
/// once.
pub async fn run(plan: &Plan) -> anyhow::Result<Day> {
    let runs = [
        (Schedule::Fixed, false),
        (Schedule::Adaptive, false),
        (Schedule::Fixed, true),
        (Schedule::Adaptive, true),
    ]
    .map(|(schedule, pushes)| Run::start(plan, schedule, pushes));
    let outcomes = run_all(&runs, plan.scale).await?;
    let [no_fixed, no_adaptive, with_fixed, with_adaptive] = <[Outcome; 4]>::try_from(outcomes)
        .map_err(|_| anyhow::anyhow!("four runs give four outcomes"))?;
    Ok(Day {
        no_pushes: Pair {
            fixed: no_fixed,
            adaptive: no_adaptive,
        },
        with_pushes: Pair {
            fixed: with_fixed,
            adaptive: with_adaptive,
        },
        scale: plan.scale,
        hours: plan.hours,
    })
}

/// Runs every one of `runs` at once on one simulated clock at `scale`,
/// once each daemon has its first reading; their outcomes in order.
pub async fn run_all(runs: &[Run], scale: f64) -> anyhow::Result<Vec<Outcome>> {
    for run in runs {
        run.daemon
            .wait_for(READY, |status| status.tier != Tier::Unknown)
            .await;
    }
    let clock = SimClock::starting_in(LEAD, scale);
    for run in runs {
        let curve = run.plan.curve;
        run.api.serve_curve(move |arrived| {
            let (five_hour, seven_day) = curve.at(clock.sim(arrived)).reported(&clock);
            windows_body(five_hour, Some(seven_day))
        });
    }
    try_join_all(runs.iter().map(|run| run.simulate(&clock))).await
}

impl Run {
    /// A fake API serving the day's first values (no reset known before
    /// the clock starts) and a daemon configured for `schedule`.
    pub fn start(plan: &Plan, schedule: Schedule, pushes: bool) -> Run {
        let api = FakeApi::start();
        let first = plan.curve.at(0.0);
        api.set_body(windows_body(
            Window::new(first.five_hour.utilization, None),
            Some(Window::new(first.seven_day.utilization, None)),
        ));
        let daemon = Daemon::builder()
            .api(&api.url(), plan.real_secs(POLL_INTERVAL))
            .credentials_file(TOKEN, None)
            .config(&config(plan, schedule))
            .start();
        Run {
            api,
            daemon,
            pushes,
            plan: *plan,
        }
    }

    /// The day from this daemon's side: its router (and status line), then
    /// the idle rest of the day, then the calls the fake API saw.
    async fn simulate(&self, clock: &SimClock) -> anyhow::Result<Outcome> {
        let plan = &self.plan;
        let socket = self.daemon.socket();
        let pushes = async {
            if self.pushes {
                status_line(plan, clock, socket).await
            } else {
                Ok(())
            }
        };
        let (log, (), forecasts) = tokio::try_join!(
            router(plan, clock, socket),
            pushes,
            forecast::watch(plan, clock, socket)
        )?;
        let (start, end) = (clock.instant(0.0), clock.instant(plan.length()));
        sleep_until(end.into()).await;
        let calls = self
            .api
            .request_times()
            .into_iter()
            .filter(|at| (start..end).contains(at))
            .count();
        let RouterLog {
            tally,
            woke,
            latest,
        } = log;
        Ok(Outcome {
            calls_per_day: calls as f64 * 24.0 / plan.hours,
            tally,
            first_answer_after_idle: woke.into_iter().max().unwrap_or_default(),
            latest_question: latest,
            forecast: forecast::score(plan, &forecasts),
        })
    }
}

/// The daemon's config: every interval of the contract divided by the
/// plan's scale, and the fastest plausible climb multiplied by it (the
/// daemon takes intervals down to 0.1 s against a loopback API;
/// `refresh_min_interval`, 10 s, stays at that floor, and nothing in the
/// day asks for a refresh).
fn config(plan: &Plan, schedule: Schedule) -> String {
    let s = |simulated| plan.real_secs(simulated);
    format!(
        "stale_after = {}\nidle_after = {}\nidle_poll_interval = {}\nbackoff_cap = {}\nrefresh_min_interval = {}\n\n[policy]\nadaptive = {}\nadaptive_max_interval = {}\nfastest_burn_pct_per_min = {}\nforecast_span = {}\n",
        s(STALE_AFTER),
        s(IDLE_AFTER),
        s(IDLE_POLL_INTERVAL),
        s(BACKOFF_CAP),
        s(REFRESH_MIN_INTERVAL),
        schedule == Schedule::Adaptive,
        s(ADAPTIVE_MAX_INTERVAL),
        plan.real_pct_per_min(FASTEST_BURN_PCT_PER_MIN),
        s(forecast::SPAN),
    )
}

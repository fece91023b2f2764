//! A simulated day of usage-API calls (issue 14): a router asking every
//! 10 s for 8 hours, Claude Code's status line pushing during 4 of them,
//! then 16 idle hours; against the fake API, with every interval of the
//! daemon and of the load divided by [`Plan::scale`].
//!
//! Run twice side by side: as today's daemon would (never idle) and with
//! demand-driven polling at the contract's defaults. Calls per day are what
//! the fake API saw; the oldest answer is the age of the reading behind
//! each of the router's answers, in simulated seconds.

use std::time::{Duration, Instant};

use chrono::Utc;
use claude_quota::{TaskValue, Tier, Window};
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};
use tokio::time::MissedTickBehavior;

use crate::load::Latencies;

/// The contract's intervals, in simulated seconds.
const POLL_INTERVAL: f64 = 30.0;
const STALE_AFTER: f64 = 300.0;
const IDLE_AFTER: f64 = 600.0;
const IDLE_POLL_INTERVAL: f64 = 600.0;
/// "Never idle" for today's behaviour: the longest `idle_after` allowed.
const NEVER_IDLE: f64 = 86_400.0;
/// How often the router asks, and the status line pushes.
const ASK_EVERY: f64 = 10.0;
const PUSH_EVERY: f64 = 20.0;

/// The shape of the simulated day.
pub struct Plan {
    /// Simulated seconds per real second.
    pub scale: f64,
    /// Hours of the router asking.
    pub router_hours: f64,
    /// Hours (from the start) between which the status line pushes.
    pub pushes: (f64, f64),
    /// Idle hours after the router stops.
    pub idle_hours: f64,
}

impl Plan {
    /// The day of issue 14, at 1 s = 5 min: about 5 minutes.
    pub fn full() -> Plan {
        Plan {
            scale: 300.0,
            router_hours: 8.0,
            pushes: (2.0, 6.0),
            idle_hours: 16.0,
        }
    }

    /// 36 simulated minutes, enough to see every phase: about 7 s.
    pub fn quick() -> Plan {
        Plan {
            scale: 300.0,
            router_hours: 0.2,
            pushes: (0.05, 0.15),
            idle_hours: 0.4,
        }
    }

    fn hours(&self) -> f64 {
        self.router_hours + self.idle_hours
    }

    fn real(&self, simulated_secs: f64) -> Duration {
        Duration::from_secs_f64(simulated_secs / self.scale)
    }
}

/// What one simulated day cost.
pub struct Outcome {
    /// Requests the fake API saw, scaled to 24 hours.
    pub calls_per_day: f64,
    /// The age of the reading behind the router's answers, in simulated
    /// seconds: the 99th percentile (a stall of the machine is magnified by
    /// the scale) and the oldest.
    pub answer_age_p99: f64,
    /// The oldest, likewise.
    pub oldest_answer: f64,
}

/// Runs the day as today's daemon would (never idle) and with
/// demand-driven polling, side by side; returns (before, after).
pub async fn before_and_after(plan: &Plan) -> (Outcome, Outcome) {
    tokio::join!(simulate(plan, NEVER_IDLE), simulate(plan, IDLE_AFTER))
}

/// The poll interval the figures are judged against, in simulated seconds.
pub const fn poll_interval() -> f64 {
    POLL_INTERVAL
}

async fn simulate(plan: &Plan, idle_after: f64) -> Outcome {
    let api = FakeApi::start();
    api.set_usage(20.0, Some(10.0));
    let secs = |simulated: f64| plan.real(simulated).as_secs_f64();
    let daemon = Daemon::builder()
        .api(&api.url(), secs(POLL_INTERVAL))
        .credentials_file(TOKEN, None)
        .config(&format!(
            "stale_after = {}\nidle_after = {}\nidle_poll_interval = {}\n",
            secs(STALE_AFTER),
            secs(idle_after),
            secs(IDLE_POLL_INTERVAL),
        ))
        .start();
    daemon
        .wait_for(Duration::from_secs(10), |s| s.tier == Tier::Burst)
        .await;
    let start = Instant::now();
    let hours = |at: Instant| (at - start).as_secs_f64() * plan.scale / 3600.0;
    let mut router = daemon.client().await;
    let mut status_line = daemon.client().await;
    let mut tick = tokio::time::interval(plan.real(ASK_EVERY));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut ages = Vec::new();
    let mut asks = 0u64;
    while hours(Instant::now()) < plan.router_hours {
        tick.tick().await;
        let now = hours(Instant::now());
        let pushes_every = (PUSH_EVERY / ASK_EVERY) as u64;
        if (plan.pushes.0..plan.pushes.1).contains(&now) && asks % pushes_every == 0 {
            let five_hour = Window::new(20.0, None);
            status_line
                .ingest(Some(five_hour), None, Utc::now())
                .await
                .expect("push");
        }
        router.should_use_cloud(TaskValue::High).await.expect("ask");
        let status = router.status().await.expect("status");
        let age = status
            .as_of
            .and_then(|as_of| (Utc::now() - as_of).to_std().ok())
            .unwrap_or_default();
        ages.push(age);
        asks += 1;
    }
    drop((router, status_line));
    let left = plan.hours() - hours(Instant::now());
    tokio::time::sleep(plan.real(left.max(0.0) * 3600.0)).await;
    let ages = Latencies::new(ages);
    let simulated = |micros: f64| micros / 1e6 * plan.scale;
    Outcome {
        calls_per_day: api.requests() as f64 * 24.0 / plan.hours(),
        answer_age_p99: simulated(ages.percentile_us(99.0)),
        oldest_answer: simulated(ages.percentile_us(100.0)),
    }
}

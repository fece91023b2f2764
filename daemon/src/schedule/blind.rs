//! The schedule driven by the adaptive plan on tokio's paused clock,
//! against true 5-hour usage that nothing pushes (claude.ai, another
//! machine): the bound from the fastest plausible climb (docs/policy.md,
//! "Never blindsided") far from a threshold, near one, after a climb the
//! account showed, and within its clamps.

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_proto::Window;
use tokio::time::{Duration, Instant};

use super::{Intervals, Outcome, Schedule};
use crate::backoff::Backoff;
use crate::config::{Config, Settings};
use crate::forecast::Sample;
use crate::policy::{Now, next_poll_in};
use crate::reading::Reading;
use crate::state::Snapshot;

/// The contract's `poll_interval`.
const POLL: Duration = Duration::from_secs(30);

/// True 5-hour usage: percent at a minute.
type Curve = fn(f64) -> f64;

/// The adaptive plan and the schedule against `curve` (percent at a
/// minute): each poll reads the curve at the moment it is made, and the
/// schedule waits what the plan says.
struct Blind {
    schedule: Schedule,
    state: Snapshot,
    config: Config,
    curve: Curve,
    start: Instant,
    wall: DateTime<Utc>,
    /// (minute, percent) of every poll.
    polls: Vec<(f64, f64)>,
}

impl Blind {
    /// The contract's defaults, but for `fastest_burn_pct_per_min`.
    fn new(curve: Curve, fastest_burn_pct_per_min: f64) -> Blind {
        let mut settings = Settings::default();
        settings.policy.fastest_burn_pct_per_min = fastest_burn_pct_per_min;
        let intervals = Intervals {
            poll: POLL,
            idle_after: Duration::from_secs(600),
            idle_poll: Duration::from_secs(600),
            refresh_min: Duration::from_secs(10),
        };
        let backoff = Backoff::new(POLL, Duration::from_secs(600));
        Blind {
            schedule: Schedule::new(Instant::now(), intervals, backoff, None),
            state: Snapshot::default(),
            config: Config::check(settings).unwrap(),
            curve,
            start: Instant::now(),
            wall: Utc::now(),
            polls: Vec::new(),
        }
    }

    /// `curve` with the defaults but `fastest_burn_pct_per_min`, run for
    /// `minutes`.
    async fn ran(curve: Curve, fastest_burn_pct_per_min: f64, minutes: f64) -> Blind {
        let mut blind = Blind::new(curve, fastest_burn_pct_per_min);
        blind.run(minutes).await;
        blind
    }

    /// Runs until `minutes` into the curve, someone asking all along.
    async fn run(&mut self, minutes: f64) {
        let end = self.start + Duration::from_secs_f64(minutes * 60.0);
        while self.schedule.next_wake() <= end {
            tokio::time::sleep_until(self.schedule.next_wake()).await;
            if self.schedule.due(Instant::now(), true) {
                self.poll();
            }
        }
    }

    /// A poll now: the curve's reading, then the plan's wait.
    fn poll(&mut self) {
        let elapsed = Instant::now() - self.start;
        let now = Now {
            wall: self.wall + TimeDelta::from_std(elapsed).unwrap(),
            monotonic: Instant::now().into_std(),
        };
        let minute = elapsed.as_secs_f64() / 60.0;
        let five = (self.curve)(minute);
        self.state.history.record(Sample {
            at: now.wall,
            utilization: five,
            resets_at: None,
            seven_day: Some(20.0),
        });
        let window = |percent| Some(Window::new(percent, None));
        self.state.reading = Some(Reading::of_windows(
            window(five),
            window(20.0),
            now,
            Duration::ZERO,
        ));
        self.polls.push((minute, five));
        self.schedule.polling_now(Instant::now());
        let next_in = next_poll_in(&self.state, &self.config, now);
        self.schedule
            .after(Instant::now(), Outcome::Fresh { next_in });
    }

    /// Asserts that the polls from minute `from` on came `minutes` apart,
    /// and that there were a few.
    fn assert_every_gap(&self, from: f64, minutes: f64) {
        let after: Vec<f64> = self
            .polls
            .iter()
            .map(|p| p.0)
            .filter(|&m| m >= from)
            .collect();
        assert!(after.len() > 3, "{:?}", self.polls);
        for gap in after.windows(2).map(|w| w[1] - w[0]) {
            assert!(
                (gap - minutes).abs() < 1e-6,
                "{gap} min, not {minutes}: {:?}",
                self.polls
            );
        }
    }

    /// Minutes from `minute`, when the truth crossed `threshold`, to the
    /// first poll that saw it.
    fn seen_after(&self, threshold: f64, minute: f64) -> f64 {
        let (seen, _) = self.polls.iter().find(|p| p.1 >= threshold).unwrap();
        seen - minute
    }
}

/// Flat at 46 % until minute 32, when a poll reads it, then 2 %/min: 50 %
/// at minute 34, 80 % at minute 49.
fn quiet_then_climbing(minute: f64) -> f64 {
    46.0 + 2.0 * (minute - 32.0).max(0.0)
}

#[tokio::test(start_paused = true)]
async fn far_from_a_threshold_the_adaptive_plan_waits_the_longest() {
    let blind = Blind::ran(|_| 20.0, 2.0, 30.0).await;
    // 30 points to 50 % take 15 minutes at 2 %/min: the 4-minute cap.
    blind.assert_every_gap(3.0, 4.0);
}

#[tokio::test(start_paused = true)]
async fn near_a_threshold_it_looks_when_the_fastest_plausible_climb_could_arrive() {
    let blind = Blind::ran(|_| 46.0, 2.0, 30.0).await;
    // 4 points to 50 % at 2 %/min: every 2 minutes, though flat.
    blind.assert_every_gap(3.0, 2.0);
    let blind = Blind::ran(|_| 46.0, 1.0, 30.0).await;
    blind.assert_every_gap(3.0, 4.0);
}

#[tokio::test(start_paused = true)]
async fn a_climb_from_a_quiet_spell_is_seen_within_a_poll_interval() {
    let blind = Blind::ran(quiet_then_climbing, 2.0, 60.0).await;
    let late = blind.seen_after(50.0, 34.0);
    assert!((0.0..=0.5).contains(&late), "50 % seen {late} min late");
    let late = blind.seen_after(80.0, 49.0);
    assert!((0.0..=0.5).contains(&late), "80 % seen {late} min late");
}

#[tokio::test(start_paused = true)]
async fn a_fast_climb_the_account_showed_shortens_the_waits_after_it() {
    // 10 → 70 % at 6 %/min, seen by several polls, then flat: 10 points
    // from 80 % take 100 s at that pace, 5 minutes at the configured
    // 2 %/min.
    let blind = Blind::ran(|minute| (10.0 + 6.0 * minute).min(70.0), 2.0, 60.0).await;
    blind.assert_every_gap(20.0, 100.0 / 60.0);
}

#[tokio::test(start_paused = true)]
async fn the_waits_stay_within_the_poll_interval_and_the_cap() {
    // (curve, fastest_burn_pct_per_min, minutes between polls)
    let cases: [(Curve, f64, f64); 3] = [
        // At 49.9 % the next 2 %/min is 3 s away: a poll_interval.
        (|_| 49.9, 2.0, 0.5),
        // At 1000 %/min every threshold is a second away: still 30 s.
        (|_| 10.0, 1000.0, 0.5),
        // At 0.1 %/min nothing is near: the 4-minute cap.
        (|_| 49.0, 0.1, 4.0),
    ];
    for (curve, fastest, gap) in cases {
        let blind = Blind::ran(curve, fastest, 30.0).await;
        blind.assert_every_gap(3.0, gap);
    }
}

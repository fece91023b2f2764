//! When the next poll should come (docs/configuration.md, "Polling that
//! follows the information need"): not on a clock, but when the reading
//! could next change an answer. From the burn rates the daemon already
//! forecasts (the faster of the window's fit and its latest step), the
//! time until the nearest threshold could be crossed, with a safety
//! factor; never later than the fastest plausible climb would need to
//! reach a 5-hour threshold, since usage the daemon cannot see (claude.ai,
//! another machine) shows in no burn rate until a poll finds it
//! (docs/policy.md, "Never blindsided"); right after a window's reset;
//! never sooner than `poll_interval` (one poll per interval, however many
//! ask), never later than `[policy] adaptive_max_interval` (which keeps
//! readings fresh while someone asks). With `[policy] adaptive = false`,
//! every `poll_interval`.

use std::time::Duration;

use chrono::TimeDelta;

use super::Now;
use super::tier::Windows;
use crate::climb;
use crate::config::Config;
use crate::state::Snapshot;

/// Poll when this share of the time to the nearest threshold has passed:
/// a burn rate can double between two readings.
const SAFETY: f64 = 2.0;

/// The burn rate assumed, in percent per hour, before the readings of a
/// window tell one: a busy session's.
const PRIOR_RATE: f64 = 30.0;

/// The share of `stale_after` the longest wait may take: the poll and its
/// reply must land before the reading it replaces turns stale.
const FRESH_SHARE: f64 = 0.8;

/// How far, in points, a pushed reading may stray above the model's
/// prediction (or drop below the reading before it) and still agree.
const TOLERANCE: f64 = 5.0;

/// How long after a window's reset its poll comes: the endpoint needs a
/// moment to roll the window over.
const AFTER_RESET: Duration = Duration::from_secs(5);

/// A climb the account has shown counts when sustained over at least
/// this many poll intervals (3 minutes at the default), in two halves, so
/// that it rests on three readings and a step between two is no climb.
const CLIMB_SPAN_POLLS: u32 = 6;

/// How far back a climb the account has shown still counts: one 5-hour
/// window, a working session with its breaks, so one burst of work (or a
/// step the endpoint counted late) does not keep the daemon polling often
/// for the rest of the day.
const CLIMB_MEMORY: TimeDelta = TimeDelta::hours(5);

/// How long after the reading held the next poll should come, at `now`.
pub fn next_poll_in(state: &Snapshot, config: &Config, now: Now) -> Duration {
    let every = config.poll_interval.0;
    let Some(reading) = state.reading.as_ref().filter(|_| config.policy.adaptive) else {
        return every;
    };
    let cap = config
        .policy
        .adaptive_max_interval
        .0
        .min(config.stale_after.0.mul_f64(FRESH_SHARE))
        .max(every);
    let windows = Windows::of(reading, now.wall);
    let t = &config.thresholds;
    // The faster of the window's rate and its latest step: usage that
    // speeds up must bring the poll forward, not wait for the fit.
    let rate5 = state
        .history
        .five_hour_rate(now.wall)
        .unwrap_or(PRIOR_RATE)
        .max(state.history.latest_five_hour_rate(now.wall).unwrap_or(0.0));
    let rate7 = state.history.weekly_rate(now.wall).unwrap_or(rate5);
    let five = windows.five_hour.map_or(0.0, |w| w.utilization);
    let mut crossings = vec![(five, t.burst_below, rate5), (five, t.resting_above, rate5)];
    if let Some(seven) = windows.seven_day {
        crossings.push((seven.utilization, t.weekly_resting_above, rate7));
    }
    let family_cap = config
        .models
        .family()
        .and_then(|family| windows.cap(family));
    if let Some(cap) = family_cap {
        crossings.push((cap.utilization, t.weekly_resting_above, rate7));
    }
    let to_wait = |hours: f64| Duration::try_from_secs_f64(hours * 3600.0).unwrap_or(cap);
    let soonest = crossings
        .into_iter()
        .filter_map(|(now_at, threshold, rate)| hours_to(now_at, threshold, rate))
        .map(|hours| to_wait(hours / SAFETY))
        .fold(cap, Duration::min);
    // Usage from elsewhere shows in no burn rate until a poll finds it:
    // look no later than the fastest plausible climb would reach a 5-hour
    // threshold from here.
    let plausible = fastest_plausible(state, config, now);
    let blind = [t.burst_below, t.resting_above]
        .into_iter()
        .filter_map(|threshold| hours_to(five, threshold, plausible))
        .map(to_wait)
        .fold(cap, Duration::min);
    let mut next = soonest.min(blind).clamp(every, cap);
    let resets = [
        reading.five_hour.and_then(|w| w.resets_at),
        reading.seven_day.and_then(|w| w.resets_at),
        family_cap.and_then(|cap| cap.resets_at),
    ];
    for reset in resets.into_iter().flatten().filter(|at| *at > now.wall) {
        let until = (reset - now.wall).to_std().unwrap_or_default() + AFTER_RESET;
        next = next.min(until.max(every));
    }
    next
}

/// The fastest 5-hour climb deemed plausible at `now`, in percent an hour:
/// `[policy] fastest_burn_pct_per_min`, or the fastest climb the account
/// has shown in the last [`CLIMB_MEMORY`] when that is faster.
fn fastest_plausible(state: &Snapshot, config: &Config, now: Now) -> f64 {
    let configured = config.policy.fastest_burn_pct_per_min * 60.0;
    let span = config.poll_interval.0.saturating_mul(CLIMB_SPAN_POLLS);
    let since = now
        .wall
        .checked_sub_signed(CLIMB_MEMORY)
        .unwrap_or(now.wall);
    let recent = state.history.since(since);
    climb::fastest(recent, span).map_or(configured, |shown| shown.max(configured))
}

/// Whether the newest reading contradicts the model made of the readings
/// before it: its 5-hour utilization ran ahead of what the burn rate (at
/// least [`PRIOR_RATE`]) allowed since the reading before, or dropped
/// without a reset, by more than [`TOLERANCE`]. Such a push calls for a
/// poll at once: the plan rested on a model that no longer holds, and only
/// the usage API has the whole picture (per-model caps, extra usage).
pub fn contradicts_model(state: &Snapshot, now: Now) -> bool {
    let Some((before, newest)) = state.history.last_two() else {
        return false;
    };
    let hours = (newest.at - before.at).num_milliseconds().max(0) as f64 / 3_600_000.0;
    let rate = state
        .history
        .five_hour_rate(now.wall)
        .unwrap_or_default()
        .max(PRIOR_RATE);
    let ran_ahead = newest.utilization > before.utilization + rate * hours + TOLERANCE;
    let same_window = newest.resets_at.is_none() || newest.resets_at == before.resets_at;
    let dropped = same_window && newest.utilization < before.utilization - TOLERANCE;
    ran_ahead || dropped
}

/// Hours until a window at `now_at` percent, rising `rate` percent an hour,
/// passes `threshold`; `None` when it is past it or not rising.
fn hours_to(now_at: f64, threshold: f64, rate: f64) -> Option<f64> {
    (now_at <= threshold && rate > 0.0).then(|| (threshold - now_at) / rate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Settings};
    use crate::forecast::Sample;
    use crate::reading::Reading;
    use chrono::{DateTime, TimeDelta, Utc};
    use claude_quota_proto::Window;

    fn config(adaptive: bool) -> Config {
        let mut settings = Settings::default();
        settings.policy.adaptive = adaptive;
        Config::check(settings).unwrap()
    }

    /// A state whose 5-hour window climbed `rate` %/h to `five` over the
    /// last half hour, resetting at `resets_at`.
    fn climbing(five: f64, rate: f64, resets_at: Option<DateTime<Utc>>, now: Now) -> Snapshot {
        let mut state = Snapshot::default();
        for minutes in (0..=30i64).rev().step_by(5) {
            let before = TimeDelta::minutes(minutes);
            state.history.record(Sample {
                at: now.wall - before,
                utilization: five - rate * minutes as f64 / 60.0,
                resets_at,
                seven_day: Some(20.0),
            });
        }
        state.reading = Some(Reading::of_windows(
            Some(Window::new(five, resets_at)),
            Some(Window::new(20.0, None)),
            now,
            Duration::ZERO,
        ));
        state
    }

    #[test]
    fn the_next_poll_follows_the_time_to_the_nearest_threshold() {
        let now = Now::current();
        let secs = |s: u64| Duration::from_secs(s);
        let cases = [
            // (5h %, %/h) → next poll
            (10.0, 0.0, secs(240)),  // flat: the cap
            (10.0, 10.0, secs(240)), // 4 h to 50 %
            (40.0, 45.0, secs(240)), // 13 min to 50 %, halved
            (42.0, 80.0, secs(180)), // 6 min to 50 %, halved
            (46.0, 0.0, secs(120)),  // 2 min to 50 % at the fastest plausible 2 %/min
            (46.0, 12.0, secs(120)), // 20 min at the burn rate, 2 at 2 %/min
            (49.0, 60.0, secs(30)),  // a minute away: every poll_interval
            (60.0, 20.0, secs(240)), // an hour to 80 %
            (75.0, 0.0, secs(150)),  // 5 points at 2 %/min
            (79.0, 30.0, secs(30)),  // a point at 2 %/min
            (90.0, 30.0, secs(240)), // past every threshold but the 7-day's
        ];
        for (five, rate, expected) in cases {
            let state = climbing(five, rate, None, now);
            let next = next_poll_in(&state, &config(true), now);
            let expected = expected.min(secs(240));
            let off = next.abs_diff(expected);
            assert!(
                off <= secs(2),
                "{five}% at {rate} %/h: {next:?}, not {expected:?}"
            );
        }
    }

    #[test]
    fn usage_that_speeds_up_brings_the_poll_forward_before_the_fit_sees_it() {
        let now = Now::current();
        // A quiet half hour at 10 %/h, then 2 points in the last minute.
        let mut state = climbing(70.0, 10.0, None, now);
        state.history.record(Sample {
            at: now.wall + TimeDelta::minutes(1),
            utilization: 72.0,
            resets_at: None,
            seven_day: Some(20.0),
        });
        if let Some(reading) = state.reading.as_mut() {
            reading.five_hour = Some(Window::new(72.0, None));
        }
        let later = Now {
            wall: now.wall + TimeDelta::minutes(1),
            monotonic: now.monotonic + Duration::from_secs(60),
        };
        // 8 points to go at 120 %/h: 4 minutes, halved.
        let next = next_poll_in(&state, &config(true), later);
        assert!((118..=122).contains(&next.as_secs()), "{next:?}");
    }

    /// A state that climbed to `five` at `climb` %/min over 5 minutes
    /// `hours_ago` (or was there already), and has stayed there since.
    fn after_a_climb(five: f64, climb: Option<f64>, hours_ago: i64, now: Now) -> Snapshot {
        let mut state = climbing(five, 0.0, None, now);
        state.history = crate::forecast::History::default();
        let start = now.wall - TimeDelta::hours(hours_ago);
        let rate = climb.unwrap_or(0.0);
        let minutes = (0..=5)
            .chain((9..hours_ago * 60).step_by(4))
            .chain([hours_ago * 60]);
        for minute in minutes {
            state.history.record(Sample {
                at: start + TimeDelta::minutes(minute),
                utilization: five - rate * (5 - minute).max(0) as f64,
                resets_at: None,
                seven_day: Some(20.0),
            });
        }
        state
    }

    #[test]
    fn a_climb_the_account_has_shown_raises_the_fastest_plausible_one() {
        let now = Now::current();
        let next = |state: &Snapshot| next_poll_in(state, &config(true), now).as_secs();
        // 10 points from 50 %: 5 minutes at 2 %/min, the cap.
        assert_eq!(next(&after_a_climb(40.0, None, 1, now)), 240);
        assert_eq!(next(&after_a_climb(40.0, Some(1.0), 1, now)), 240);
        // At 6 %/min, shown an hour ago: 100 s.
        assert_eq!(next(&after_a_climb(40.0, Some(6.0), 1, now)), 100);
        // Shown more than 5 hours ago: forgotten.
        assert_eq!(next(&after_a_climb(40.0, Some(6.0), 6, now)), 240);
    }

    #[test]
    fn the_fastest_plausible_climb_is_held_to_the_interval_and_the_cap() {
        let now = Now::current();
        let with = |fastest: f64, max_interval: f64, five: f64| {
            let mut settings = Settings::default();
            settings.policy.fastest_burn_pct_per_min = fastest;
            settings.policy.adaptive_max_interval =
                crate::config::Seconds::try_from_secs(max_interval).unwrap();
            let config = Config::check(settings).unwrap();
            next_poll_in(&climbing(five, 0.0, None, now), &config, now).as_secs()
        };
        assert_eq!(with(1000.0, 240.0, 10.0), 30, "never under poll_interval");
        assert_eq!(with(2.0, 240.0, 49.9), 30, "nor near a threshold");
        assert_eq!(with(0.1, 240.0, 49.0), 240, "never over the cap");
        assert_eq!(with(2.0, 60.0, 40.0), 60, "the configured cap");
        assert_eq!(with(2.0, 3600.0, 10.0), 240, "4/5 of stale_after");
        assert_eq!(with(2.0, 3600.0, 46.0), 120, "within it, the bound");
    }

    #[test]
    fn a_reset_brings_the_poll_forward_but_never_under_the_interval() {
        let now = Now::current();
        let soon = Some(now.wall + TimeDelta::seconds(100));
        let state = climbing(90.0, 0.0, soon, now);
        let next = next_poll_in(&state, &config(true), now);
        assert!((104..=105).contains(&next.as_secs()), "{next:?}");
        let very_soon = Some(now.wall + TimeDelta::seconds(3));
        let state = climbing(90.0, 0.0, very_soon, now);
        assert_eq!(
            next_poll_in(&state, &config(true), now),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn a_push_contradicts_the_model_when_it_runs_ahead_of_the_burn_rate() {
        let now = Now::current();
        let with_push = |pushed: f64, after: TimeDelta| {
            // 20 % an hour up to 40 % now, then a reading `after` later.
            let mut state = climbing(40.0, 20.0, None, now);
            state.history.record(Sample {
                at: now.wall + after,
                utilization: pushed,
                resets_at: None,
                seven_day: None,
            });
            contradicts_model(&state, now)
        };
        assert!(
            !with_push(40.5, TimeDelta::seconds(20)),
            "on the model's line"
        );
        assert!(
            !with_push(44.0, TimeDelta::seconds(20)),
            "within the tolerance"
        );
        assert!(with_push(79.0, TimeDelta::seconds(20)), "far ahead");
        assert!(
            !with_push(52.0, TimeDelta::minutes(30)),
            "30 %/h for half an hour"
        );
        assert!(
            with_push(30.0, TimeDelta::seconds(20)),
            "a drop without a reset"
        );
    }

    #[test]
    fn the_fixed_schedule_is_the_poll_interval() {
        let now = Now::current();
        let state = climbing(49.0, 60.0, None, now);
        assert_eq!(
            next_poll_in(&state, &config(false), now),
            Duration::from_secs(30)
        );
        let state = climbing(10.0, 0.0, None, now);
        assert_eq!(
            next_poll_in(&state, &config(false), now),
            Duration::from_secs(30)
        );
    }
}

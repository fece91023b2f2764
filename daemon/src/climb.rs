//! The fastest climb an account has shown: the steepest rise of its 5-hour
//! window over a few minutes of its readings. The poll plan takes it as
//! the fastest plausible climb when it beats `[policy]
//! fastest_burn_pct_per_min` (docs/policy.md, "Never blindsided"): an
//! account that has burned that fast may do so again where the daemon
//! cannot see it.
//!
//! It is computed from the readings alone, whatever keeps them, so it
//! moves with them (per account, from a longer history).

use std::collections::VecDeque;
use std::time::Duration;

use crate::forecast::Sample;

/// The steepest rise, in percent an hour, between two of `samples`
/// (oldest first) at least `span` apart, taking for each reading the
/// newest one at least `span` before it; `None` with no such pair or no
/// rise.
///
/// A shorter span would read a whole-number utilization's single step
/// as a climb. A window that reset between the two readings only
/// understates the rise (the new window climbed from 0, further than
/// from the older reading), so no pair has to be refused for it.
pub fn fastest<'a>(samples: impl IntoIterator<Item = &'a Sample>, span: Duration) -> Option<f64> {
    let span = chrono::TimeDelta::from_std(span).ok()?;
    // Earlier readings, oldest first: the front is the newest one at least
    // `span` before the reading in hand, once one is.
    let mut earlier: VecDeque<&Sample> = VecDeque::new();
    let mut steepest: Option<f64> = None;
    for sample in samples {
        while earlier
            .get(1)
            .is_some_and(|next| sample.at - next.at >= span)
        {
            earlier.pop_front();
        }
        if let Some(from) = earlier.front().filter(|from| sample.at - from.at >= span) {
            let hours = (sample.at - from.at).num_milliseconds() as f64 / 3_600_000.0;
            let rate = (sample.utilization - from.utilization) / hours;
            if rate > 0.0 && steepest.is_none_or(|s| rate > s) {
                steepest = Some(rate);
            }
        }
        earlier.push_back(sample);
    }
    steepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeDelta, Utc};

    const SPAN: Duration = Duration::from_secs(180);

    /// Readings at (seconds, percent) after `start`.
    fn samples(start: DateTime<Utc>, points: &[(i64, f64)]) -> Vec<Sample> {
        points
            .iter()
            .map(|&(secs, utilization)| Sample {
                at: start + TimeDelta::seconds(secs),
                utilization,
                resets_at: None,
                seven_day: None,
            })
            .collect()
    }

    fn per_min(points: &[(i64, f64)]) -> Option<f64> {
        fastest(&samples(Utc::now(), points), SPAN).map(|rate| rate / 60.0)
    }

    #[test]
    fn the_steepest_rise_over_the_span_counts() {
        // 1 %/min for six minutes, then 5 %/min for three.
        let mut points: Vec<(i64, f64)> = (0..=12).map(|i| (i * 30, i as f64 * 0.5)).collect();
        points.extend((1..=6).map(|i| (360 + i * 30, 6.0 + i as f64 * 2.5)));
        let rate = per_min(&points).unwrap();
        assert!((rate - 5.0).abs() < 1e-9, "{rate}");
    }

    #[test]
    fn a_step_within_the_span_is_spread_over_it() {
        // One point between two readings 30 s apart is no 2 %/min climb.
        let rate = per_min(&[(0, 40.0), (30, 40.0), (60, 41.0), (210, 41.0)]).unwrap();
        assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{rate}");
        assert_eq!(per_min(&[(0, 40.0), (60, 45.0), (120, 50.0)]), None);
    }

    #[test]
    fn sparse_readings_give_the_average_rise_between_them() {
        let rate = per_min(&[(0, 40.0), (240, 48.0), (480, 48.0)]).unwrap();
        assert!((rate - 2.0).abs() < 1e-9, "{rate}");
    }

    #[test]
    fn flat_or_falling_readings_show_no_climb() {
        assert_eq!(per_min(&[(0, 40.0), (300, 40.0), (600, 40.0)]), None);
        assert_eq!(per_min(&[(0, 90.0), (300, 2.0), (600, 2.0)]), None);
        assert_eq!(per_min(&[]), None);
    }
}

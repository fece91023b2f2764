//! The fastest climb an account has shown: the steepest rise of its 5-hour
//! window that its readings show sustained over a few minutes. The poll
//! plan takes it as the fastest plausible climb when it beats `[policy]
//! fastest_burn_pct_per_min` (docs/policy.md, "Never blindsided"): an
//! account that has burned that fast may do so again where the daemon
//! cannot see it.
//!
//! It is computed from the readings alone, whatever keeps them, so it
//! moves with them (per account, from a longer history).

use std::time::Duration;

use chrono::TimeDelta;

use crate::forecast::Sample;

/// The steepest climb, in percent an hour, sustained across three of
/// `samples` (oldest first) that are at least half of `span` apart in
/// turn: for each reading, the newest one half a span before it, and the
/// newest one half a span before that. The slower of the two halves
/// counts, so a step between two readings, however large, is no climb
/// (no bound short of polling every interval could catch a step, so
/// learning from one would only buy calls), and neither is one step of
/// a whole-number utilization. `None` with no such climb.
///
/// A window that reset between the readings only understates a climb
/// (the new window rose from 0, further than from the older reading), so
/// no reading has to be refused for it.
pub fn fastest<'a>(samples: impl IntoIterator<Item = &'a Sample>, span: Duration) -> Option<f64> {
    let half = TimeDelta::from_std(span / 2).ok()?;
    let samples: Vec<&Sample> = samples.into_iter().collect();
    // For each reading: the newest one at least half a span before it, and
    // the rate from there.
    let mut halves: Vec<Option<(usize, f64)>> = Vec::with_capacity(samples.len());
    let mut from = 0;
    for (i, sample) in samples.iter().enumerate() {
        while from + 1 < i && sample.at - samples[from + 1].at >= half {
            from += 1;
        }
        let earlier = samples[from];
        let apart = sample.at - earlier.at;
        halves.push((from < i && apart >= half).then(|| {
            let hours = apart.num_milliseconds() as f64 / 3_600_000.0;
            (from, (sample.utilization - earlier.utilization) / hours)
        }));
    }
    halves
        .iter()
        .filter_map(|half| {
            let (middle, later) = (*half)?;
            let (_, earlier) = halves[middle]?;
            Some(later.min(earlier))
        })
        .filter(|rate| *rate > 0.0)
        .max_by(f64::total_cmp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

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

    /// Readings every 30 s for `minutes`, flat at `at` percent.
    fn flat(from_secs: i64, minutes: i64, at: f64) -> Vec<(i64, f64)> {
        (0..minutes * 2).map(|i| (from_secs + i * 30, at)).collect()
    }

    #[test]
    fn the_steepest_climb_sustained_over_the_span_counts() {
        // 1 %/min for six minutes, then 5 %/min for three.
        let mut points: Vec<(i64, f64)> = (0..=12).map(|i| (i * 30, i as f64 * 0.5)).collect();
        points.extend((1..=6).map(|i| (360 + i * 30, 6.0 + i as f64 * 2.5)));
        let rate = per_min(&points).unwrap();
        assert!((rate - 5.0).abs() < 1e-9, "{rate}");
        // Only two minutes at 5 %/min: the halves before them were slower.
        points.truncate(points.len() - 2);
        let rate = per_min(&points).unwrap();
        assert!(rate < 5.0, "{rate}");
    }

    #[test]
    fn a_step_between_two_readings_is_no_climb() {
        let mut points = flat(0, 5, 40.0);
        points.extend(flat(300, 5, 70.0));
        assert_eq!(per_min(&points), None);
        let mut points = flat(0, 5, 40.0);
        points.extend(flat(300, 5, 41.0));
        assert_eq!(per_min(&points), None, "one whole-number step");
    }

    #[test]
    fn sparse_readings_show_the_climb_they_share() {
        let rate = per_min(&[(0, 40.0), (240, 48.0), (480, 56.0)]).unwrap();
        assert!((rate - 2.0).abs() < 1e-9, "{rate}");
        assert_eq!(per_min(&[(0, 40.0), (240, 48.0), (480, 48.0)]), None);
        assert_eq!(per_min(&[(0, 40.0), (60, 45.0), (120, 50.0)]), None);
    }

    #[test]
    fn flat_or_falling_readings_show_no_climb() {
        assert_eq!(per_min(&flat(0, 10, 40.0)), None);
        assert_eq!(per_min(&[(0, 90.0), (300, 2.0), (600, 2.0)]), None);
        assert_eq!(per_min(&[]), None);
    }
}

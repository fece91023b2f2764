//! Where the 5-hour window is heading: a least-squares burn rate over the
//! readings of the current window, and when, at that pace, it crosses the
//! resting threshold and reaches 100 %.

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_proto::Forecast;

/// One 5-hour reading, as kept for the forecast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// The 5-hour utilization then.
    pub utilization: f64,
    /// When that window resets, when known: it names the window.
    pub resets_at: Option<DateTime<Utc>>,
    /// The 7-day utilization then, when reported.
    pub seven_day: Option<f64>,
}

/// How many samples are kept, the oldest dropped first. The default 30 s
/// poll interval fills half of it in a 5-hour window; faster polling or
/// frequent status-line pushes fill it sooner, and the fit then covers
/// only the latest part of the window (at one sample every 10 s, the last
/// 3 h 20 min), which still shows the pace now.
const MAX_SAMPLES: usize = 1200;

/// The length of the window the forecast speaks about.
const WINDOW: TimeDelta = TimeDelta::hours(5);

/// Fewer than this many seconds of data say nothing about a pace.
const MIN_SPAN_SECS: f64 = 120.0;

/// Burn rates below this (percent per hour) count as flat.
const FLAT_PCT_PER_HOUR: f64 = 0.1;

/// Readings differing in `resets_at` by more than this belong to
/// different windows (the endpoint's value jitters by milliseconds).
const SAME_WINDOW_SLACK: TimeDelta = TimeDelta::minutes(1);

/// The recent 5-hour readings, oldest first.
#[derive(Debug, Clone, Default)]
pub struct History {
    samples: VecDeque<Sample>,
}

impl History {
    /// Records a reading, which the caller took as newer than the last by
    /// the monotonic clock. One stamped at the same wall-clock moment adds
    /// nothing; one stamped earlier means the wall clock stepped back, and
    /// the samples before it no longer line up with it: start afresh.
    pub fn record(&mut self, sample: Sample) {
        match self.samples.back() {
            Some(last) if sample.at == last.at => return,
            Some(last) if sample.at < last.at => self.samples.clear(),
            _ => {}
        }
        if self.samples.len() == MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    /// The forecast at `now` against `resting_above`; `None` when the
    /// current window holds too little data or the pace is flat.
    pub fn forecast(&self, resting_above: f64, now: DateTime<Utc>) -> Option<Forecast> {
        let window = self.current_window(now);
        let last = window.last()?;
        let rate = self.five_hour_rate(now)?;
        if rate < FLAT_PCT_PER_HOUR {
            return None;
        }
        // Checked: a pace near flat puts the moment centuries away.
        let reach = |target: f64| {
            if last.utilization >= target {
                return None;
            }
            let hours = (target - last.utilization) / rate;
            TimeDelta::try_milliseconds((hours * 3_600_000.0) as i64)
                .and_then(|ahead| last.at.checked_add_signed(ahead))
        };
        Some(Forecast {
            five_hour_pct_per_hour: rate,
            resting_at: reach(resting_above),
            exhausted_at: reach(100.0),
            confidence: None,
        })
    }

    /// The readings kept that were taken at `since` or later, oldest first.
    pub fn since(&self, since: DateTime<Utc>) -> impl Iterator<Item = &Sample> {
        self.samples.iter().skip_while(move |s| s.at < since)
    }

    /// The newest reading kept and the one before it.
    pub fn last_two(&self) -> Option<(Sample, Sample)> {
        let mut newest = self.samples.iter().rev();
        let last = *newest.next()?;
        Some((*newest.next()?, last))
    }

    /// The 5-hour window's burn rate in percent per hour over the readings
    /// of the current window, flat or not; `None` with too little data.
    pub fn five_hour_rate(&self, now: DateTime<Utc>) -> Option<f64> {
        let window = self.current_window(now);
        let span = (window.last()?.at - window.first()?.at).num_seconds() as f64;
        (span > MIN_SPAN_SECS)
            .then(|| slope_per_hour(&window))
            .flatten()
    }

    /// The 5-hour window's burn rate between its last two readings, in
    /// percent per hour (0 when it fell); `None` without two readings of
    /// the current window. A least-squares rate over the window lags when
    /// usage speeds up after a quiet spell; this one does not.
    pub fn latest_five_hour_rate(&self, now: DateTime<Utc>) -> Option<f64> {
        let window = self.current_window(now);
        let [.., before, last] = window.as_slice() else {
            return None;
        };
        let hours = (last.at - before.at).num_milliseconds() as f64 / 3_600_000.0;
        (hours > 0.0).then(|| ((last.utilization - before.utilization) / hours).max(0.0))
    }

    /// The 7-day window's burn rate in percent per hour over the last five
    /// hours of readings (since its last drop, which is a reset); `None`
    /// with too little data. The weekly window moves too slowly for the
    /// samples of one 5-hour window to miss a step.
    pub fn weekly_rate(&self, now: DateTime<Utc>) -> Option<f64> {
        let mut run: Vec<Sample> = Vec::new();
        for sample in self.samples.iter().rev() {
            let Some(seven) = sample.seven_day else {
                continue;
            };
            if now - sample.at > WINDOW {
                break;
            }
            if run
                .last()
                .and_then(|later| later.seven_day)
                .is_some_and(|later| seven > later)
            {
                break;
            }
            run.push(Sample {
                utilization: seven,
                ..*sample
            });
        }
        run.reverse();
        let span = (run.last()?.at - run.first()?.at).num_seconds() as f64;
        (span > MIN_SPAN_SECS)
            .then(|| slope_per_hour(&run))
            .flatten()
    }

    /// The newest run of samples from one window: same reset time, no
    /// drop in utilization (a drop is a reset), none older than 5 hours.
    fn current_window(&self, now: DateTime<Utc>) -> Vec<Sample> {
        let mut run: Vec<Sample> = Vec::new();
        for sample in self.samples.iter().rev() {
            if now - sample.at > WINDOW {
                break;
            }
            if let Some(later) = run.last() {
                let other_window = match (sample.resets_at, later.resets_at) {
                    (Some(a), Some(b)) => (a - b).abs() > SAME_WINDOW_SLACK,
                    _ => false,
                };
                if other_window || sample.utilization > later.utilization {
                    break;
                }
            }
            run.push(*sample);
        }
        run.reverse();
        run
    }
}

/// The least-squares slope of utilization over time, in percent per hour.
fn slope_per_hour(samples: &[Sample]) -> Option<f64> {
    let origin = samples.first()?.at;
    let points: Vec<(f64, f64)> = samples
        .iter()
        .map(|s| {
            (
                (s.at - origin).num_milliseconds() as f64 / 3_600_000.0,
                s.utilization,
            )
        })
        .collect();
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let covariance: f64 = points
        .iter()
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let variance: f64 = points.iter().map(|(x, _)| (x - mean_x).powi(2)).sum();
    (variance > 0.0).then(|| covariance / variance)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(start: DateTime<Utc>, series: &[(i64, f64, i64)]) -> History {
        let mut history = History::default();
        for &(minute, utilization, reset_hour) in series {
            history.record(Sample {
                at: start + TimeDelta::minutes(minute),
                utilization,
                resets_at: Some(start + TimeDelta::hours(reset_hour)),
                seven_day: None,
            });
        }
        history
    }

    #[test]
    fn a_rising_series_gives_its_pace_and_crossing_times() {
        let start = Utc::now() - TimeDelta::minutes(60);
        // 10 % an hour: 20 % at 0, 30 % at 60 minutes.
        let series: Vec<_> = (0..=6)
            .map(|i| (i * 10, 20.0 + i as f64 * 10.0 / 6.0, 3))
            .collect();
        let forecast = history(start, &series)
            .forecast(80.0, start + TimeDelta::minutes(60))
            .unwrap();
        assert!((forecast.five_hour_pct_per_hour - 10.0).abs() < 1e-6);
        let resting = forecast.resting_at.unwrap() - (start + TimeDelta::minutes(60));
        assert_eq!(resting.num_minutes(), 300, "50 points at 10 %/h");
        let exhausted = forecast.exhausted_at.unwrap() - (start + TimeDelta::minutes(60));
        assert_eq!(exhausted.num_minutes(), 420);
    }

    #[test]
    fn a_flat_series_or_thin_data_gives_none() {
        let start = Utc::now() - TimeDelta::minutes(30);
        let flat = history(start, &[(0, 40.0, 3), (10, 40.0, 3), (20, 40.0, 3)]);
        assert!(flat.forecast(80.0, Utc::now()).is_none());
        let thin = history(start, &[(0, 40.0, 3), (1, 45.0, 3)]);
        assert!(thin.forecast(80.0, Utc::now()).is_none());
        assert!(History::default().forecast(80.0, Utc::now()).is_none());
    }

    #[test]
    fn a_reset_in_the_middle_starts_a_new_window() {
        let start = Utc::now() - TimeDelta::minutes(60);
        // Steep climb in the old window, then a reset and a slow climb.
        let series = [
            (0, 50.0, 1),
            (10, 70.0, 1),
            (20, 90.0, 1),
            (30, 2.0, 6),
            (40, 3.0, 6),
            (50, 4.0, 6),
            (60, 5.0, 6),
        ];
        let forecast = history(start, &series)
            .forecast(80.0, start + TimeDelta::minutes(60))
            .unwrap();
        assert!(
            (forecast.five_hour_pct_per_hour - 6.0).abs() < 1e-6,
            "{forecast:?}"
        );
    }

    #[test]
    fn past_the_threshold_only_exhaustion_is_forecast() {
        let start = Utc::now() - TimeDelta::minutes(20);
        let forecast = history(start, &[(0, 82.0, 3), (10, 84.0, 3), (20, 86.0, 3)])
            .forecast(80.0, start + TimeDelta::minutes(20))
            .unwrap();
        assert!(forecast.resting_at.is_none());
        assert!(forecast.exhausted_at.is_some());
    }

    #[test]
    fn a_sample_stamped_before_the_last_starts_the_history_afresh() {
        let start = Utc::now() - TimeDelta::minutes(30);
        let mut stepped = history(start, &[(0, 20.0, 3), (10, 25.0, 3), (20, 30.0, 3)]);
        // The wall clock stepped back two hours: the samples before no
        // longer line up with the new ones.
        stepped.record(Sample {
            at: start - TimeDelta::hours(2),
            utilization: 35.0,
            resets_at: None,
            seven_day: None,
        });
        assert_eq!(stepped.samples.len(), 1);
        assert_eq!(stepped.samples[0].utilization, 35.0);
    }
}

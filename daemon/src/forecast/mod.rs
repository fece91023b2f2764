//! Where the 5-hour window is heading: a least-squares burn rate over the
//! recent readings of the current window (polls and pushes alike, and after
//! a restart the stored history), when, at that pace, it crosses the
//! resting threshold and reaches 100 %, and how far to trust that.

mod fit;

use std::collections::VecDeque;

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_proto::Forecast;

use fit::Fit;

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

/// Less data than this says nothing about a pace.
const MIN_SPAN: TimeDelta = TimeDelta::minutes(2);

/// Burn rates below this (percent per hour) count as flat.
const FLAT_PCT_PER_HOUR: f64 = 0.1;

/// The fewest readings the forecast fits, older ones than its span
/// included when the recent ones are fewer (idle polling).
const MIN_FIT_READINGS: usize = 3;

/// The least span of readings a forecast rests on, as a share of the span
/// it fits (2 minutes of the default 30).
const MIN_FIT_SHARE: i32 = 15;

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

    /// Adds `older` readings (oldest first: the stored history at start)
    /// before those held; any not older than the oldest held is already
    /// here and skipped.
    pub fn seed(&mut self, older: impl IntoIterator<Item = Sample>) {
        let first = self.samples.front().map(|s| s.at);
        let mut seeded: VecDeque<Sample> = older
            .into_iter()
            .filter(|s| first.is_none_or(|first| s.at < first))
            .collect();
        seeded.extend(self.samples.drain(..));
        let excess = seeded.len().saturating_sub(MAX_SAMPLES);
        seeded.drain(..excess);
        self.samples = seeded;
    }

    /// The forecast at `now` against `resting_above`, from the readings
    /// of the current window taken within `span` of the newest (the pace
    /// now, not the window's average: a quiet morning would hide a busy
    /// hour); `None` when they are too few or the pace is flat.
    pub fn forecast(
        &self,
        resting_above: f64,
        span: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Option<Forecast> {
        let span = TimeDelta::from_std(span).unwrap_or(WINDOW);
        let window = self.current_window(now);
        let last = window.last()?;
        let recent = window
            .iter()
            .take_while(|s| last.at - s.at > span)
            .count()
            .min(window.len().saturating_sub(MIN_FIT_READINGS));
        let fit = Fit::of(&window[recent..]).filter(|fit| fit.span > span / MIN_FIT_SHARE)?;
        let rate = fit.rate;
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
            confidence: Some(fit.confidence(span)),
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
        rate(&self.current_window(now))
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
        rate(&run)
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

/// The least-squares slope of `samples` in percent per hour, when they
/// span more than [`MIN_SPAN`].
fn rate(samples: &[Sample]) -> Option<f64> {
    Fit::of(samples)
        .filter(|fit| fit.span > MIN_SPAN)
        .map(|fit| fit.rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default `[policy] forecast_span`.
    const SPAN: std::time::Duration = std::time::Duration::from_secs(1800);

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
            .forecast(80.0, SPAN, start + TimeDelta::minutes(60))
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
        assert!(flat.forecast(80.0, SPAN, Utc::now()).is_none());
        let thin = history(start, &[(0, 40.0, 3), (1, 45.0, 3)]);
        assert!(thin.forecast(80.0, SPAN, Utc::now()).is_none());
        assert!(
            History::default()
                .forecast(80.0, SPAN, Utc::now())
                .is_none()
        );
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
            .forecast(80.0, SPAN, start + TimeDelta::minutes(60))
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
            .forecast(80.0, SPAN, start + TimeDelta::minutes(20))
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

    #[test]
    fn the_forecast_follows_the_pace_of_the_last_half_hour() {
        let start = Utc::now() - TimeDelta::minutes(120);
        // A quiet hour and a half at 2 %/h, then 30 minutes at 40 %/h.
        let mut series: Vec<_> = (0..=9)
            .map(|i| (i * 10, 10.0 + i as f64 / 3.0, 4))
            .collect();
        series.extend((1..=6).map(|i| (90 + i * 5, 13.0 + i as f64 * 40.0 / 12.0, 4)));
        let forecast = history(start, &series)
            .forecast(80.0, SPAN, start + TimeDelta::minutes(120))
            .unwrap();
        assert!(
            (forecast.five_hour_pct_per_hour - 40.0).abs() < 1e-6,
            "{forecast:?}"
        );
        assert_eq!(
            forecast.confidence,
            Some(claude_quota_proto::Confidence::High)
        );
    }

    #[test]
    fn seeding_puts_older_readings_before_those_held() {
        let start = Utc::now() - TimeDelta::minutes(30);
        let stored = history(start, &[(0, 10.0, 3), (10, 15.0, 3), (20, 20.0, 3)]);
        // After a restart only the saved reading (the newest) is held.
        let mut restarted = history(start, &[(20, 20.0, 3)]);
        assert!(
            restarted
                .forecast(80.0, SPAN, start + TimeDelta::minutes(20))
                .is_none()
        );
        restarted.seed(stored.samples.iter().copied());
        assert_eq!(restarted.samples, stored.samples);
        let forecast = restarted
            .forecast(80.0, SPAN, start + TimeDelta::minutes(20))
            .unwrap();
        assert!((forecast.five_hour_pct_per_hour - 30.0).abs() < 1e-6);
    }
}

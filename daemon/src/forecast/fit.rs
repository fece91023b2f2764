//! A least-squares line through readings, and how far it can be trusted:
//! the span the readings cover, how many there are, and how much the
//! slope could be off given their scatter around the line (its standard
//! error). docs/policy.md, "Forecast", states the rule.

use chrono::TimeDelta;
use claude_quota_proto::Confidence;

use super::Sample;

/// A line through readings: utilization against time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    /// The slope, in percent per hour.
    pub rate: f64,
    /// How many readings it went through.
    pub readings: usize,
    /// From the first reading fitted to the last.
    pub span: TimeDelta,
    /// The standard error of the slope, in percent per hour; `None` with
    /// two readings, which any line fits exactly.
    pub rate_error: Option<f64>,
}

/// What `high` takes: readings, the share of the forecast's span they
/// cover (in thirds), and the slope's standard error as a share of the
/// slope.
const HIGH: (usize, i32, f64) = (6, 2, 0.10);

/// What `medium` takes.
const MEDIUM: (usize, i32, f64) = (4, 1, 0.25);

impl Fit {
    /// The least-squares line through `samples`; `None` for fewer than two
    /// or all at one moment.
    pub fn of(samples: &[Sample]) -> Option<Fit> {
        let origin = samples.first()?.at;
        let hours = |s: &Sample| (s.at - origin).num_milliseconds() as f64 / 3_600_000.0;
        let n = samples.len() as f64;
        let mean_x = samples.iter().map(hours).sum::<f64>() / n;
        let mean_y = samples.iter().map(|s| s.utilization).sum::<f64>() / n;
        let variance: f64 = samples.iter().map(|s| (hours(s) - mean_x).powi(2)).sum();
        if variance <= 0.0 {
            return None;
        }
        let covariance: f64 = samples
            .iter()
            .map(|s| (hours(s) - mean_x) * (s.utilization - mean_y))
            .sum();
        let rate = covariance / variance;
        let residuals: f64 = samples
            .iter()
            .map(|s| (s.utilization - mean_y - rate * (hours(s) - mean_x)).powi(2))
            .sum();
        let rate_error = (samples.len() > 2).then(|| (residuals / (n - 2.0) / variance).sqrt());
        Some(Fit {
            rate,
            readings: samples.len(),
            span: samples.last()?.at - origin,
            rate_error,
        })
    }

    /// How far a forecast from this line, fitted over at most `span`, can
    /// be trusted.
    pub fn confidence(&self, span: TimeDelta) -> Confidence {
        let relative = match self.rate_error {
            Some(error) if self.rate > 0.0 => error / self.rate,
            _ => f64::INFINITY,
        };
        let meets = |(readings, thirds, error): (usize, i32, f64)| {
            self.readings >= readings && self.span * 3 >= span * thirds && relative <= error
        };
        if meets(HIGH) {
            Confidence::High
        } else if meets(MEDIUM) {
            Confidence::Medium
        } else {
            Confidence::Low
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    /// The default `[policy] forecast_span`.
    const SPAN: TimeDelta = TimeDelta::minutes(30);

    fn samples(points: &[(i64, f64)]) -> Vec<Sample> {
        let start = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(20_000);
        points
            .iter()
            .map(|&(minute, utilization)| Sample {
                at: start + TimeDelta::minutes(minute),
                utilization,
                resets_at: None,
                seven_day: None,
            })
            .collect()
    }

    #[test]
    fn a_straight_line_is_fitted_exactly() {
        let fit = Fit::of(&samples(&[(0, 10.0), (30, 15.0), (60, 20.0)])).unwrap();
        assert!((fit.rate - 10.0).abs() < 1e-9);
        assert_eq!(fit.rate_error, Some(0.0));
        assert_eq!(fit.span, TimeDelta::minutes(60));
        assert!(Fit::of(&samples(&[(0, 10.0), (0, 12.0)])).is_none());
    }

    #[test]
    fn confidence_grows_with_span_and_readings_and_falls_with_scatter() {
        let steady: Vec<(i64, f64)> = (0..8).map(|i| (i * 4, 10.0 + i as f64 * 2.0)).collect();
        assert_eq!(
            Fit::of(&samples(&steady)).unwrap().confidence(SPAN),
            Confidence::High
        );
        assert_eq!(
            Fit::of(&samples(&steady[..4])).unwrap().confidence(SPAN),
            Confidence::Medium,
            "12 minutes, 4 readings"
        );
        assert_eq!(
            Fit::of(&samples(&steady[..2])).unwrap().confidence(SPAN),
            Confidence::Low,
            "two readings say nothing of scatter"
        );
        let scattered: Vec<(i64, f64)> = steady
            .iter()
            .enumerate()
            .map(|(i, &(m, u))| (m, u + if i % 2 == 0 { 4.0 } else { -4.0 }))
            .collect();
        assert_eq!(
            Fit::of(&samples(&scattered)).unwrap().confidence(SPAN),
            Confidence::Low
        );
    }
}

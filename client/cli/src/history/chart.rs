//! What a history chart shows, worked out once from the stored rows and
//! the daemon's status, then drawn twice: in the terminal
//! ([`super::terminal`]) and as SVG ([`super::svg`]), so both say the same.

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota::{AccountStatus, Forecast, Thresholds, Window};
use claude_quota_history::Row;

/// How long a reading stands for when no newer one follows: a little more
/// than the daemon's idle poll (10 min). Past that, the daemon was down or
/// nobody listened, and the chart shows a gap rather than invent values.
pub const MAX_HOLD: TimeDelta = TimeDelta::minutes(15);

/// One reading of one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// The utilization in percent.
    pub value: f64,
    /// When the window it belongs to resets: from then on it counts 0 %.
    pub resets_at: Option<DateTime<Utc>>,
}

/// A window's readings over the span, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series(pub Vec<Point>);

impl Series {
    /// The window's utilization at `t`: the latest reading at or before
    /// `t` while it stands ([`MAX_HOLD`]), 0 % once its window has reset;
    /// `None` in a gap.
    pub fn at(&self, t: DateTime<Utc>) -> Option<f64> {
        let before = self.0.partition_point(|p| p.at <= t);
        let point = self.0[..before].last()?;
        if t - point.at > MAX_HOLD {
            return None;
        }
        Some(match point.resets_at {
            Some(reset) if reset <= t => 0.0,
            _ => point.value,
        })
    }

    /// The highest utilization from `start` to `end` (exclusive): what
    /// stood at `start` and every reading taken until `end`.
    pub fn peak(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Option<f64> {
        let first = self.0.partition_point(|p| p.at < start);
        let last = self.0.partition_point(|p| p.at < end);
        self.0[first..last]
            .iter()
            .map(|p| p.value)
            .chain(self.at(start))
            .reduce(f64::max)
    }

    /// The readings as unbroken runs: split where no reading stood, with
    /// the drop to 0 % drawn at each reset between two readings.
    pub fn runs(&self) -> Vec<Vec<(DateTime<Utc>, f64)>> {
        let mut runs: Vec<Vec<(DateTime<Utc>, f64)>> = Vec::new();
        let mut previous: Option<&Point> = None;
        for point in &self.0 {
            let joined = previous.is_some_and(|p| point.at - p.at <= MAX_HOLD);
            match (previous, runs.last_mut()) {
                (Some(p), Some(run)) if joined => {
                    if let Some(reset) = p.resets_at.filter(|r| *r > p.at && *r < point.at) {
                        run.extend([(reset, p.value), (reset, 0.0)]);
                    }
                    run.push((point.at, point.value));
                }
                _ => runs.push(vec![(point.at, point.value)]),
            }
            previous = Some(point);
        }
        runs
    }
}

/// How to read one window off a row: its utilization and reset.
type WindowOf = fn(&Row) -> Option<(f64, Option<DateTime<Utc>>)>;

/// Where the 5-hour window is heading from now, as the daemon forecast it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// Now, and the window's utilization now.
    pub start: (DateTime<Utc>, f64),
    /// Where the line ends: the window's reset, 100 %, or the chart's edge.
    pub end: (DateTime<Utc>, f64),
    /// The daemon's forecast itself, for the words under the chart.
    pub forecast: Forecast,
    /// When the current window resets, if known.
    pub reset: Option<DateTime<Utc>>,
}

/// Everything one chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Whose readings.
    pub account: String,
    /// The span's start.
    pub from: DateTime<Utc>,
    /// The moment the chart was drawn.
    pub now: DateTime<Utc>,
    /// The right edge: some room past now for the forecast.
    pub until: DateTime<Utc>,
    /// The 5-hour window.
    pub five_hour: Series,
    /// The 7-day window.
    pub seven_day: Series,
    /// When a 5-hour window reset within the chart.
    pub resets: Vec<DateTime<Utc>>,
    /// The forecast ahead of now, when the daemon gave one.
    pub projection: Option<Projection>,
    /// Where the tiers begin.
    pub thresholds: Thresholds,
}

impl Chart {
    /// The chart of `account`'s `rows` from `from` to `now`, with the
    /// daemon's `thresholds` (the contract's defaults when `None`) and the
    /// forecast in `daemon`, the daemon's status of this account (when it
    /// answered).
    /// A fifth of the width lies ahead of now, for the forecast.
    pub fn new(
        account: &str,
        rows: &[Row],
        from: DateTime<Utc>,
        now: DateTime<Utc>,
        thresholds: Option<Thresholds>,
        daemon: Option<&AccountStatus>,
    ) -> Self {
        let until = now + (now - from) / 4;
        let mine = || rows.iter().filter(|row| row.account == account);
        let series = |pick: WindowOf| {
            Series(
                mine()
                    .filter_map(|row| {
                        let (value, resets_at) = pick(row)?;
                        Some(Point {
                            at: row.at,
                            value,
                            resets_at,
                        })
                    })
                    .collect(),
            )
        };
        let five_hour = series(|row| Some((row.five_hour?, row.five_hour_resets_at)));
        let seven_day = series(|row| Some((row.seven_day?, row.seven_day_resets_at)));
        let mut resets: Vec<DateTime<Utc>> = five_hour
            .0
            .iter()
            .filter_map(|p| p.resets_at)
            .chain(daemon.and_then(|s| s.five_hour?.resets_at))
            .map(to_minute)
            .filter(|at| (from..=until).contains(at))
            .collect();
        resets.sort();
        resets.dedup();
        Chart {
            account: account.to_owned(),
            from,
            now,
            until,
            five_hour,
            seven_day,
            resets,
            projection: daemon.and_then(|s| projection(s, now, until)),
            thresholds: thresholds.unwrap_or_default(),
        }
    }
}

/// The moment truncated to its minute: one window's `resets_at` varies by
/// milliseconds from reading to reading.
fn to_minute(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp().div_euclid(60) * 60, 0).unwrap_or(at)
}

/// The line the daemon's forecast draws from now: at its burn rate from
/// the window's utilization now, until the window resets, reaches 100 %,
/// or the chart ends.
fn projection(
    daemon: &AccountStatus,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<Projection> {
    let forecast = daemon.forecast?;
    let Window {
        utilization,
        resets_at,
        ..
    } = daemon.five_hour?;
    let rate = forecast.five_hour_pct_per_hour;
    let full = (rate > 0.0 && utilization < 100.0).then(|| {
        let hours = (100.0 - utilization) / rate;
        now + TimeDelta::milliseconds((hours * 3_600_000.0) as i64)
    });
    let end = [Some(until), resets_at, full]
        .into_iter()
        .flatten()
        .filter(|at| *at > now)
        .min()?;
    let hours = (end - now).num_milliseconds() as f64 / 3_600_000.0;
    Some(Projection {
        start: (now, utilization),
        end: (end, (utilization + rate * hours).clamp(0.0, 100.0)),
        forecast,
        reset: resets_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
    }

    fn point(minutes: i64, value: f64, reset: Option<i64>) -> Point {
        Point {
            at: at(minutes),
            value,
            resets_at: reset.map(at),
        }
    }

    #[test]
    fn a_reading_stands_until_its_window_resets_or_it_is_too_old() {
        let series = Series(vec![point(0, 40.0, Some(10)), point(20, 5.0, None)]);
        assert_eq!(series.at(at(-1)), None);
        assert_eq!(series.at(at(5)), Some(40.0));
        assert_eq!(series.at(at(12)), Some(0.0), "past its reset");
        assert_eq!(series.at(at(30)), Some(5.0));
        assert_eq!(series.at(at(36)), None, "a gap: nothing stood");
        assert_eq!(series.peak(at(1), at(25)), Some(40.0));
    }

    #[test]
    fn runs_break_at_gaps_and_drop_at_resets() {
        let series = Series(vec![
            point(0, 40.0, Some(10)),
            point(12, 2.0, None),
            point(60, 9.0, None),
        ]);
        assert_eq!(
            series.runs(),
            vec![
                vec![(at(0), 40.0), (at(10), 40.0), (at(10), 0.0), (at(12), 2.0)],
                vec![(at(60), 9.0)],
            ]
        );
    }
}

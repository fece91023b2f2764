//! A line per day under the chart: the 5-hour window's peak, the hours
//! spent resting, how many 5-hour windows reached 100 %, and the tier of
//! most of the day, in the local calendar.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use claude_quota::Tier;
use claude_quota_history::Row;

use super::chart::MAX_HOLD;

/// One local day.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// The date.
    pub date: NaiveDate,
    /// The highest 5-hour utilization read that day.
    pub peak_five_hour: Option<f64>,
    /// How long the tier was `resting`.
    pub resting: TimeDelta,
    /// How many 5-hour windows reached 100 % that day.
    pub full_windows: usize,
    /// The tier held longest, when any was known.
    pub mostly: Option<Tier>,
}

/// What one day gathers while the rows are read.
#[derive(Default)]
struct Tally {
    peak: Option<f64>,
    held: BTreeMap<usize, TimeDelta>,
    full: BTreeSet<Option<i64>>,
}

/// Every local day (in `tz`) from `from` to `now`, oldest first, from the
/// rows of one account (oldest first). A row's tier holds until the next
/// row, at most [`MAX_HOLD`].
pub fn days<Tz: TimeZone>(
    rows: &[&Row],
    from: DateTime<Utc>,
    now: DateTime<Utc>,
    tz: &Tz,
) -> Vec<Day> {
    let date = |at: DateTime<Utc>| at.with_timezone(tz).date_naive();
    let mut tallies: BTreeMap<NaiveDate, Tally> = BTreeMap::new();
    let mut day = Some(date(from));
    while let Some(today) = day.filter(|d| *d <= date(now)) {
        tallies.insert(today, Tally::default());
        day = today.succ_opt();
    }
    let in_span = rows.iter().filter(|row| (from..=now).contains(&row.at));
    let mut rows = in_span.peekable();
    while let Some(row) = rows.next() {
        let tally = tallies.entry(date(row.at)).or_default();
        if let Some(value) = row.five_hour {
            tally.peak = Some(tally.peak.map_or(value, |peak| peak.max(value)));
            if value >= 100.0 {
                let window = row.five_hour_resets_at.map(|at| at.timestamp() / 60);
                tally.full.insert(window);
            }
        }
        let next = rows.peek().map_or(now, |next| next.at);
        let mut start = row.at;
        let end = next.min(row.at + MAX_HOLD).min(now);
        while start < end {
            let cut = next_midnight(start, tz).min(end);
            let tally = tallies.entry(date(start)).or_default();
            *tally.held.entry(slot(row.tier)).or_default() += cut - start;
            start = cut;
        }
    }
    tallies
        .into_iter()
        .map(|(date, tally)| Day {
            date,
            peak_five_hour: tally.peak,
            resting: tally
                .held
                .get(&slot(Tier::Resting))
                .copied()
                .unwrap_or_default(),
            full_windows: tally.full.len(),
            mostly: tally
                .held
                .iter()
                .max_by_key(|(_, held)| **held)
                .map(|(slot, _)| Tier::ALL[*slot]),
        })
        .collect()
}

/// The tier's place in [`Tier::ALL`], to tally by.
fn slot(tier: Tier) -> usize {
    Tier::ALL.iter().position(|t| *t == tier).unwrap_or(0)
}

/// The first local midnight (in `tz`) after `at`.
fn next_midnight<Tz: TimeZone>(at: DateTime<Utc>, tz: &Tz) -> DateTime<Utc> {
    let tomorrow = at.with_timezone(tz).date_naive().succ_opt();
    tomorrow
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .and_then(|midnight| tz.from_local_datetime(&midnight).earliest())
        .map_or(at + TimeDelta::days(1), |midnight| {
            midnight.with_timezone(&Utc)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_quota::ReadingSource;

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, hour, minute, 0).unwrap()
    }

    fn row(at: DateTime<Utc>, tier: Tier, five_hour: f64, resets: DateTime<Utc>) -> Row {
        Row {
            account: "default".into(),
            at,
            source: ReadingSource::Api,
            tier,
            five_hour: Some(five_hour),
            five_hour_resets_at: Some(resets),
            seven_day: Some(10.0),
            seven_day_resets_at: None,
            weekly_scoped: Vec::new(),
            extra_usage: None,
        }
    }

    #[test]
    fn a_day_tallies_its_peak_resting_hours_full_windows_and_main_tier() {
        let rows = [
            row(at(8, 0), Tier::Burst, 10.0, at(12, 0)),
            row(at(8, 10), Tier::Burst, 30.0, at(12, 0)),
            row(at(8, 20), Tier::Resting, 100.0, at(12, 0)),
            row(at(8, 30), Tier::Resting, 100.0, at(12, 0)),
            row(at(13, 0), Tier::Burst, 5.0, at(17, 0)),
        ];
        let rows: Vec<&Row> = rows.iter().collect();
        let days = days(&rows, at(0, 0), at(13, 5), &Utc);
        assert_eq!(
            days,
            [Day {
                date: at(0, 0).date_naive(),
                peak_five_hour: Some(100.0),
                // 8:20 to 8:30, then 8:30 for at most 15 minutes.
                resting: TimeDelta::minutes(25),
                full_windows: 1,
                mostly: Some(Tier::Resting),
            }]
        );
    }

    #[test]
    fn time_is_split_at_local_midnight() {
        let late = Utc.with_ymd_and_hms(2026, 3, 1, 23, 55, 0).unwrap();
        let rows = [row(late, Tier::Resting, 90.0, at(2, 0))];
        let rows: Vec<&Row> = rows.iter().collect();
        let days = days(&rows, late, at(1, 0), &Utc);
        let resting: Vec<i64> = days.iter().map(|d| d.resting.num_minutes()).collect();
        assert_eq!(resting, [5, 10]);
    }
}

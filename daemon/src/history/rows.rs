//! Which readings become rows: every accepted reading (a poll, a status
//! line's push, a router's headers), at most one per account every
//! [`MIN_GAP`] unless the tier changed, so pushes every few seconds do not
//! grow the file; never the reading restored at start, which is a row
//! already.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_history::Row;
use claude_quota_proto::{ReadingSource, Tier};

use crate::reading::Reading;

/// The least time between two rows of one account with the same tier.
pub const MIN_GAP: TimeDelta = TimeDelta::seconds(30);

/// The last reading seen and the last row kept, per account.
#[derive(Debug, Default)]
pub struct Recorder {
    accounts: HashMap<String, Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// The moment and source of the last reading looked at.
    reading: Option<(DateTime<Utc>, ReadingSource)>,
    /// The moment and tier of the last row kept.
    row: Option<(DateTime<Utc>, Tier)>,
}

impl Recorder {
    /// The row to keep for `reading`, which put `account` in `tier`; `None`
    /// when it is not new, was restored from disk, or comes within
    /// [`MIN_GAP`] of the last row at the same tier.
    pub fn row(&mut self, account: &str, reading: &Reading, tier: Tier) -> Option<Row> {
        let seen = self.accounts.entry(account.to_owned()).or_default();
        let key = (reading.as_of, reading.source);
        if seen.reading == Some(key) {
            return None;
        }
        seen.reading = Some(key);
        if reading.source == ReadingSource::Persisted {
            return None;
        }
        // A clock stepped back counts as a gap: the rows are keyed by time.
        let soon = |(at, kept): (DateTime<Utc>, Tier)| {
            kept == tier && (reading.as_of - at).abs() < MIN_GAP
        };
        if seen.row.is_some_and(soon) {
            return None;
        }
        seen.row = Some((reading.as_of, tier));
        Some(Row {
            account: account.to_owned(),
            at: reading.as_of,
            source: reading.source,
            tier,
            five_hour: reading.five_hour.map(|w| w.utilization),
            five_hour_resets_at: reading.five_hour.and_then(|w| w.resets_at),
            seven_day: reading.seven_day.map(|w| w.utilization),
            seven_day_resets_at: reading.seven_day.and_then(|w| w.resets_at),
            weekly_scoped: reading.weekly_scoped.clone(),
            extra_usage: reading.extra_usage.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Now;
    use claude_quota_proto::Window;

    fn reading(seconds: i64, source: ReadingSource) -> Reading {
        let now = Now::current();
        Reading {
            as_of: DateTime::UNIX_EPOCH + TimeDelta::seconds(1_800_000_000 + seconds),
            source,
            ..Reading::of_windows(
                Some(Window::new(40.0, None)),
                None,
                now,
                std::time::Duration::ZERO,
            )
        }
    }

    #[test]
    fn one_row_per_account_per_30_seconds_unless_the_tier_changes() {
        let mut recorder = Recorder::default();
        let mut kept = |seconds, tier, account| {
            recorder
                .row(account, &reading(seconds, ReadingSource::Statusline), tier)
                .is_some()
        };
        assert!(kept(0, Tier::Burst, "default"));
        assert!(!kept(0, Tier::Burst, "default"), "the same reading again");
        assert!(!kept(10, Tier::Burst, "default"));
        assert!(kept(10, Tier::Burst, "work"), "another account");
        assert!(kept(20, Tier::Active, "default"), "the tier changed");
        assert!(!kept(45, Tier::Active, "default"));
        assert!(kept(50, Tier::Active, "default"));
        assert!(
            kept(-100, Tier::Active, "default"),
            "the clock stepped back"
        );
    }

    #[test]
    fn the_reading_restored_at_start_is_no_row() {
        let mut recorder = Recorder::default();
        let restored = reading(0, ReadingSource::Persisted);
        assert_eq!(recorder.row("default", &restored, Tier::Burst), None);
        let polled = reading(5, ReadingSource::Api);
        let row = recorder.row("default", &polled, Tier::Burst).unwrap();
        assert_eq!(row.five_hour, Some(40.0));
        assert_eq!(row.source, ReadingSource::Api);
    }
}

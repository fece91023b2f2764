//! The size the contract promises: a year of one row a minute stays under
//! 50 MB.

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_history::{Row, Store};
use claude_quota_proto::{ExtraUsage, ReadingSource, ScopedCap, Tier};

/// Minutes in a (non-leap) year.
const YEAR: i64 = 365 * 24 * 60;

/// A year of readings as a busy user's would be: the 5-hour window climbing
/// and resetting, the weekly one and its per-model caps moving by a point
/// every hour or so, extra usage spent now and then, all at full precision.
fn minute(start: DateTime<Utc>, m: i64) -> Row {
    let at = start + TimeDelta::minutes(m) + TimeDelta::milliseconds(m * 7 % 1000);
    let window = m / 300;
    let week = m / (7 * 24 * 60);
    let hour_of_week = (m % (7 * 24 * 60)) / 60;
    let five_hour = (m % 300) as f64 * 0.31 + (m % 7) as f64 * 0.01;
    let seven_day = (hour_of_week as f64 * 0.5).min(100.0);
    let seven_day_resets_at = start + TimeDelta::weeks(week + 1);
    Row {
        account: "default".into(),
        at,
        source: if m % 3 == 0 {
            ReadingSource::Api
        } else {
            ReadingSource::Statusline
        },
        tier: match five_hour {
            x if x < 50.0 => Tier::Burst,
            x if x < 80.0 => Tier::Active,
            _ => Tier::Resting,
        },
        five_hour: Some(five_hour),
        five_hour_resets_at: Some(start + TimeDelta::minutes((window + 1) * 300)),
        seven_day: Some(seven_day),
        seven_day_resets_at: Some(seven_day_resets_at),
        weekly_scoped: vec![
            ScopedCap {
                model: "Sonnet".into(),
                utilization: (hour_of_week as f64 * 0.4).min(100.0),
                resets_at: Some(seven_day_resets_at),
                severity: Some("normal".into()),
                status: None,
            },
            ScopedCap {
                model: "Opus".into(),
                utilization: (hour_of_week as f64 * 0.3).min(100.0),
                resets_at: Some(seven_day_resets_at),
                severity: Some("normal".into()),
                status: None,
            },
        ],
        extra_usage: Some(ExtraUsage {
            enabled: true,
            utilization: Some((hour_of_week / 4) as f64),
            used: Some((hour_of_week / 4) as f64 * 0.5),
            limit: Some(50.0),
            currency: Some("EUR".into()),
            disabled_reason: None,
        }),
    }
}

/// The size of the database after `minutes` rows, one a minute.
fn size_after(minutes: i64) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let rows: Vec<Row> = (0..minutes).map(|m| minute(start, m)).collect();
    for day in rows.chunks(24 * 60) {
        store.insert(day).unwrap();
    }
    assert_eq!(store.stats().unwrap().rows, minutes as u64);
    drop(store);
    std::fs::metadata(&path).unwrap().len()
}

/// A month, twelve times over, within the budget: the rows and their index
/// grow linearly, and a month takes seconds where the year takes minutes
/// in a debug build.
#[test]
fn a_month_of_a_row_a_minute_is_a_twelfth_of_under_50_mb() {
    let bytes = size_after(YEAR / 12);
    assert!(bytes * 12 < 50_000_000, "{bytes} bytes a month");
}

/// The year itself, for BENCHMARKS.md (`cargo test --release -p
/// claude-quota-history --test size -- --ignored --nocapture`).
#[test]
#[ignore = "a minute in a release build, several in a debug one"]
fn a_year_of_a_row_a_minute_stays_under_50_mb() {
    let bytes = size_after(YEAR);
    eprintln!("a year of a row a minute: {bytes} bytes");
    assert!(bytes < 50_000_000, "{bytes} bytes");
}

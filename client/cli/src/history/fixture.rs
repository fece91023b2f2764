//! A day of readings to draw in tests: from 18:00 on March 1st (UTC) to
//! 18:00 the next day, a row every 10 minutes while someone worked, four
//! 5-hour windows (the second reaching 100 %), a night with no readings,
//! and the daemon's forecast for the window under way.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use claude_quota::{AccountStatus, Confidence, Forecast, ReadingSource, Status, Thresholds, Tier};
use claude_quota_history::Row;

use super::chart::Chart;

/// When the chart is drawn.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 18, 0, 0).unwrap()
}

/// The span: a day.
pub fn from() -> DateTime<Utc> {
    now() - TimeDelta::hours(24)
}

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, minute, 0).unwrap()
}

/// The rows of one 5-hour window opening at `open`, read every 10
/// minutes from `first` to `last` (exclusive), its utilization rising by
/// `per_hour` and capped at 100.
fn window(
    open: DateTime<Utc>,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    per_hour: f64,
) -> Vec<Row> {
    let resets = open + TimeDelta::hours(5);
    let mut rows = Vec::new();
    let mut t = first;
    while t < last {
        let hours = (t - open).num_minutes() as f64 / 60.0;
        let five_hour = (hours * per_hour).min(100.0);
        let seven_day = 30.0 + (t - from()).num_minutes() as f64 / 80.0;
        let tier = if five_hour > 80.0 {
            Tier::Resting
        } else if five_hour >= 50.0 {
            Tier::Active
        } else {
            Tier::Burst
        };
        rows.push(Row {
            account: "default".into(),
            at: t,
            source: ReadingSource::Api,
            tier,
            five_hour: Some((five_hour * 10.0).round() / 10.0),
            five_hour_resets_at: Some(resets + TimeDelta::milliseconds(571)),
            seven_day: Some((seven_day * 10.0).round() / 10.0),
            seven_day_resets_at: Some(at(6, 9, 0)),
            weekly_scoped: Vec::new(),
            extra_usage: None,
        });
        t += TimeDelta::minutes(10);
    }
    rows
}

/// Every row of the day, oldest first.
pub fn rows() -> Vec<Row> {
    [
        window(at(1, 19, 0), at(1, 19, 0), at(2, 0, 0), 9.5),
        window(at(2, 7, 0), at(2, 7, 0), at(2, 12, 0), 30.0),
        window(at(2, 12, 0), at(2, 12, 0), at(2, 17, 0), 14.0),
        window(at(2, 17, 0), at(2, 17, 0), at(2, 18, 0), 25.0),
    ]
    .concat()
}

/// The daemon's status of the account now: the window under way at
/// 25 %, 20 %/h.
pub fn account() -> AccountStatus {
    let mut account: AccountStatus = serde_json::from_value(serde_json::json!({
        "name": "default", "claude_config_dir": null, "priority": 1,
        "tier": "burst", "reason": "r",
        "five_hour": {"utilization": 25.0, "resets_at": "2026-03-02T22:00:00.571Z"},
        "seven_day": {"utilization": 48.0, "resets_at": "2026-03-06T09:00:00Z"},
        "extra_usage": null, "as_of": "2026-03-02T17:59:50Z", "stale": false,
        "credentials": "file", "last_error": null, "next_poll_at": null
    }))
    .expect("an account's status");
    account.forecast = Some(Forecast {
        five_hour_pct_per_hour: 20.0,
        resting_at: Some(at(2, 20, 45)),
        exhausted_at: Some(at(2, 21, 45)),
        confidence: Some(Confidence::High),
    });
    account
}

/// The daemon's status now, of [`account`] alone.
pub fn status() -> Status {
    let mut status: Status = serde_json::from_value(serde_json::json!({
        "tier": "burst", "reason": "r",
        "five_hour": {"utilization": 25.0, "resets_at": "2026-03-02T22:00:00.571Z"},
        "seven_day": {"utilization": 48.0, "resets_at": "2026-03-06T09:00:00Z"},
        "seven_day_opus": null, "seven_day_sonnet": null,
        "as_of": "2026-03-02T17:59:50Z", "source": "api", "age_s": 10, "stale": false,
        "credentials": "file", "last_error": null, "next_poll_at": null, "api_calls": 7,
        "daemon": {"version": "0.1.0", "pid": 1, "uptime_s": 60}
    }))
    .expect("a status");
    let account = account();
    status.forecast = account.forecast;
    status.thresholds = Some(Thresholds::default());
    status.accounts = vec![account];
    status
}

/// The chart of the day, with the forecast.
pub fn chart() -> Chart {
    Chart::new(
        "default",
        &rows(),
        from(),
        now(),
        Some(Thresholds::default()),
        Some(&account()),
    )
}

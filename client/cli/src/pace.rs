//! The daemon's forecast in words, the same wherever it is shown
//! (`status`, `history`): "at this pace (20.0 %/h, high confidence):
//! RESTING at 15:40, 100 % at 16:25, before the reset at 16:59", each
//! moment worded by the view (a clock time, or a countdown).

use chrono::{DateTime, TimeZone, Utc};
use claude_quota::{Confidence, Forecast};

/// A moment on the clock of `tz`: `15:40` today, `Tue 09:10` another day.
pub fn clock<Tz: TimeZone>(at: DateTime<Utc>, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let local = at.with_timezone(tz);
    if local.date_naive() == now.with_timezone(tz).date_naive() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%a %H:%M").to_string()
    }
}

/// The marks `forecast` reaches before the window resets at `reset`
/// (RESTING, then 100 %), with when.
pub fn marks(
    forecast: &Forecast,
    reset: Option<DateTime<Utc>>,
) -> impl Iterator<Item = (&'static str, DateTime<Utc>)> {
    [
        ("RESTING", forecast.resting_at),
        ("100 %", forecast.exhausted_at),
    ]
    .into_iter()
    .filter_map(|(name, at)| Some((name, at?)))
    .filter(move |(_, at)| reset.is_none_or(|reset| *at < reset))
}

/// What `forecast` says of the 5-hour window that resets at `reset`:
/// each mark (RESTING, 100 %) it reaches before the reset, with when
/// (`when` words a moment: `at 15:40`, `in 47m`); that the window resets
/// first when it reaches none; `None` when there is nothing to say (no
/// mark ahead and no reset known).
pub fn at_this_pace(
    forecast: &Forecast,
    reset: Option<DateTime<Utc>>,
    when: impl Fn(DateTime<Utc>) -> String,
) -> Option<String> {
    let confidence = match forecast.confidence {
        Some(Confidence::Low) => ", low confidence",
        Some(Confidence::Medium) => ", medium confidence",
        Some(Confidence::High) => ", high confidence",
        None => "",
    };
    let head = format!(
        "at this pace ({:.1} %/h{confidence}):",
        forecast.five_hour_pct_per_hour
    );
    let marks: Vec<String> = marks(forecast, reset)
        .map(|(name, at)| format!("{name} {}", when(at)))
        .collect();
    match (marks.is_empty(), reset) {
        (true, None) => None,
        (true, Some(reset)) => Some(format!("{head} the window resets first, {}", when(reset))),
        (false, Some(reset)) => Some(format!(
            "{head} {}, before the reset {}",
            marks.join(", "),
            when(reset)
        )),
        (false, None) => Some(format!("{head} {}", marks.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn forecast(resting: Option<i64>, full: Option<i64>) -> (Forecast, DateTime<Utc>) {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).unwrap();
        let at = |m: i64| now + TimeDelta::minutes(m);
        let forecast = Forecast {
            five_hour_pct_per_hour: 20.0,
            resting_at: resting.map(at),
            exhausted_at: full.map(at),
            confidence: Some(Confidence::Medium),
        };
        (forecast, now)
    }

    #[test]
    fn the_marks_before_the_reset_are_told_by_the_clock() {
        let (f, now) = forecast(Some(100), Some(145));
        let reset = Some(now + TimeDelta::minutes(179));
        let when = |at| format!("at {}", clock(at, now, &Utc));
        assert_eq!(
            at_this_pace(&f, reset, when).unwrap(),
            "at this pace (20.0 %/h, medium confidence): RESTING at 15:40, 100 % at 16:25, before the reset at 16:59"
        );
        let early = Some(now + TimeDelta::minutes(120));
        assert_eq!(
            at_this_pace(&f, early, when).unwrap(),
            "at this pace (20.0 %/h, medium confidence): RESTING at 15:40, before the reset at 16:00"
        );
        let soon = Some(now + TimeDelta::minutes(30));
        assert_eq!(
            at_this_pace(&f, soon, when).unwrap(),
            "at this pace (20.0 %/h, medium confidence): the window resets first, at 14:30"
        );
        let (none, _) = forecast(None, None);
        assert_eq!(at_this_pace(&none, None, when), None);
        let tomorrow = now + TimeDelta::hours(20);
        assert_eq!(clock(tomorrow, now, &Utc), "Tue 10:00");
    }
}

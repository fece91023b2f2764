//! Pace (docs/policy.md, "Pace", opt-in with `[policy] pace = true`): in
//! burst, when at the current burn rate the 5-hour window passes the
//! resting threshold before it resets, the tier is `active`, so the router
//! saves the cloud now instead of falling off a cliff at the threshold.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_proto::{Forecast, Tier};

use super::Now;
use super::tier::Assessment;

/// How long a pace assessment holds: its reason quotes minutes, and the
/// forecast behind it is worth a fresh look as often.
const PACE_LIFETIME: Duration = Duration::from_secs(60);

/// Applies the pace rule to `assessment`, given the `forecast` of the
/// current 5-hour window and when that window resets.
pub fn pace(
    assessment: Assessment,
    forecast: Option<&Forecast>,
    resets_at: Option<DateTime<Utc>>,
    now: Now,
) -> Assessment {
    let (Tier::Burst, Some(forecast), Some(resets_at)) = (assessment.tier, forecast, resets_at)
    else {
        return assessment;
    };
    let Some(resting_at) = forecast.resting_at.filter(|&at| at < resets_at) else {
        return assessment;
    };
    let relook = now.monotonic.checked_add(PACE_LIFETIME);
    let until = |held: Option<std::time::Instant>| match (held, relook) {
        (Some(held), Some(relook)) => Some(held.min(relook)),
        (held, relook) => held.or(relook),
    };
    Assessment {
        tier: Tier::Active,
        reason: format!(
            "pace: at {:.0} %/h RESTING in {}, before the reset in {}",
            forecast.five_hour_pct_per_hour,
            hours_minutes(resting_at - now.wall),
            hours_minutes(resets_at - now.wall)
        ),
        changes_at: until(assessment.changes_at),
        ..assessment
    }
}

/// `1h20m`, `4h`, `20m`: a span as the pace reason quotes it.
fn hours_minutes(span: TimeDelta) -> String {
    let minutes = span.num_minutes().max(0);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Thresholds;
    use crate::policy::tier::assess;
    use crate::reading::Reading;
    use claude_quota_proto::Window;

    /// A burst-or-not reading at `five` percent, taken just now.
    fn plain(five: f64, now: Now) -> Assessment {
        let reading = Reading::of_windows(Some(Window::new(five, None)), None, now, Duration::ZERO);
        let stale_after = Duration::from_secs(300);
        assess(
            &Thresholds::default(),
            None,
            Some(&reading),
            stale_after,
            now,
        )
    }

    /// Pace, beside the table: a burst reading becomes `active` only when
    /// the forecast crosses the resting threshold before the reset.
    #[test]
    fn pace_turns_burst_active_only_when_resting_comes_before_the_reset() {
        let now = Now::current();
        let at = |minutes| Some(now.wall + TimeDelta::minutes(minutes));
        let forecast = |rate, resting_in| Forecast {
            five_hour_pct_per_hour: rate,
            resting_at: at(resting_in),
            exhausted_at: None,
            confidence: None,
        };
        let cases = [
            // (5h %, pace %/h, resting in, reset in) → tier, reason
            (
                40.0,
                Some(forecast(30.0, 80)),
                at(240),
                Tier::Active,
                Some("pace: at 30 %/h RESTING in 1h20m, before the reset in 4h"),
            ),
            (40.0, Some(forecast(5.0, 480)), at(240), Tier::Burst, None),
            (40.0, Some(forecast(30.0, 80)), None, Tier::Burst, None),
            (40.0, None, at(240), Tier::Burst, None),
            (
                10.0,
                Some(forecast(90.0, 20)),
                at(30),
                Tier::Active,
                Some("pace: at 90 %/h RESTING in 20m, before the reset in 30m"),
            ),
            (
                60.0,
                Some(forecast(30.0, 40)),
                at(240),
                Tier::Active,
                Some("5-hour window at 60.0%"),
            ),
            (
                90.0,
                Some(forecast(30.0, 40)),
                at(240),
                Tier::Resting,
                Some("5-hour window at 90.0%"),
            ),
        ];
        for (five, forecast, resets_at, tier, reason) in cases {
            let plain = plain(five, now);
            let paced = pace(plain.clone(), forecast.as_ref(), resets_at, now);
            assert_eq!(paced.tier, tier, "{five}% {forecast:?}");
            match reason {
                Some(reason) => assert!(paced.reason.starts_with(reason), "{}", paced.reason),
                None => assert_eq!(paced, plain),
            }
            if paced.tier != plain.tier {
                assert!(paced.changes_at <= now.monotonic.checked_add(PACE_LIFETIME));
            }
        }
    }
}

//! The `forecast` notice: at the current pace the 5-hour window reaches
//! 100 % before it resets. Told once per window, and only on a forecast
//! of medium or high confidence: a low one is a hint, and would cry wolf
//! at the first steep minutes of a window.

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_proto::Confidence;

use crate::policy::Verdict;

/// Readings differing in `resets_at` by more than this belong to
/// different windows (the endpoint's value jitters by milliseconds).
const SAME_WINDOW_SLACK: TimeDelta = TimeDelta::minutes(1);

/// Which window's early exhaustion was told.
#[derive(Debug, Default)]
pub struct EarlyExhaustion {
    /// The reset of that window.
    told: Option<DateTime<Utc>>,
}

impl EarlyExhaustion {
    /// The first verdict after a start: an early exhaustion it already
    /// shows (the forecast is seeded from the history) was told before.
    pub fn start(&mut self, verdict: &Verdict) {
        self.told = early(verdict).map(|(_, resets_at)| resets_at);
    }

    /// When the 5-hour window reaches 100 % and when it resets, if that is
    /// news: before the reset, and not told for this window yet.
    pub fn news(&mut self, verdict: &Verdict) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let (exhausted_at, resets_at) = early(verdict)?;
        let told = self
            .told
            .is_some_and(|told| (told - resets_at).abs() <= SAME_WINDOW_SLACK);
        if told {
            return None;
        }
        self.told = Some(resets_at);
        Some((exhausted_at, resets_at))
    }
}

/// When the forecast puts 100 % of the 5-hour window before its reset,
/// and that reset.
fn early(verdict: &Verdict) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let forecast = verdict.forecast.as_ref()?;
    if forecast.confidence == Some(Confidence::Low) {
        return None;
    }
    let exhausted_at = forecast.exhausted_at?;
    let resets_at = verdict.assessment.windows.five_hour?.resets_at?;
    (exhausted_at < resets_at).then_some((exhausted_at, resets_at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::forecast::Sample;
    use crate::policy::{self, Now};
    use crate::reading::Reading;
    use crate::state::Snapshot;
    use claude_quota_proto::{LocalInfo, Window};

    /// The verdict on a window climbing 60 %/h for the last half hour to
    /// 60 % now (100 % in 40 minutes), resetting in `resets_in`; `scatter`
    /// shakes every other reading by that many points.
    fn racing(resets_in: TimeDelta, scatter: f64) -> Verdict {
        let now = Now::current();
        let resets_at = Some(now.wall + resets_in);
        let mut state = Snapshot::default();
        state.offer(Reading::of_windows(
            Some(Window::new(60.0, resets_at)),
            None,
            now,
            std::time::Duration::ZERO,
        ));
        state.history.seed((1..=6).rev().map(|i| Sample {
            at: now.wall - TimeDelta::minutes(5 * i),
            utilization: 60.0 - 5.0 * i as f64 + if i % 2 == 0 { scatter } else { -scatter },
            resets_at,
            seven_day: None,
        }));
        let local = LocalInfo {
            url: String::new(),
            up: false,
            models: Vec::new(),
        };
        policy::verdict(&state, &Config::default(), &local, now)
    }

    #[test]
    fn exhaustion_before_the_reset_is_told_once_per_window() {
        let mut watch = EarlyExhaustion::default();
        assert!(watch.news(&racing(TimeDelta::hours(2), 0.0)).is_some());
        assert!(watch.news(&racing(TimeDelta::hours(2), 0.0)).is_none());
        assert!(
            watch.news(&racing(TimeDelta::hours(4), 0.0)).is_some(),
            "the next window is another"
        );
    }

    #[test]
    fn nothing_is_told_when_the_reset_comes_first_the_fit_is_loose_or_just_after_a_start() {
        let mut watch = EarlyExhaustion::default();
        assert_eq!(watch.news(&racing(TimeDelta::minutes(30), 0.0)), None);
        let loose = racing(TimeDelta::hours(2), 6.0);
        assert_eq!(loose.forecast.unwrap().confidence, Some(Confidence::Low));
        assert_eq!(watch.news(&loose), None);

        let mut restarted = EarlyExhaustion::default();
        restarted.start(&racing(TimeDelta::hours(2), 0.0));
        assert_eq!(restarted.news(&racing(TimeDelta::hours(2), 0.0)), None);
    }
}

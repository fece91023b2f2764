//! What is worth telling, found by comparing each verdict with the last:
//! a change of tier (or of the cloud model's own cap), a window crossing a
//! `[notify] thresholds` percentage upwards, a window resetting (and so
//! opening the cloud again), extra usage starting to be spent, the
//! forecast putting 100 % before the 5-hour window's reset. Pure: the
//! [`Watcher`] sees verdicts and readings, never a clock or a process.

use chrono::{DateTime, Utc};
use claude_quota_proto::{ExtraUsage, Tier};

use super::forecast::EarlyExhaustion;
use crate::policy::Verdict;
use crate::reading::Reading;

/// The kinds of news, in the order they are told when several come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// The tier changed, or the cloud model's own weekly cap closed or
    /// reopened the cloud.
    Tier,
    /// A window reset; the tier it leads to is in the event.
    Reset,
    /// A window passed one of `[notify] thresholds` on its way up.
    Threshold,
    /// Extra usage started being spent.
    ExtraUsage,
    /// At the current pace the 5-hour window reaches 100 % before it
    /// resets; told once per window.
    Forecast,
}

impl EventKind {
    /// The value of `CLAUDE_QUOTA_EVENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Tier => "tier",
            EventKind::Reset => "reset",
            EventKind::Threshold => "threshold",
            EventKind::ExtraUsage => "extra_usage",
            EventKind::Forecast => "forecast",
        }
    }
}

/// One piece of news, with what a hook is told about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The account it happened to (set by whoever watches that account).
    pub account: String,
    /// What happened.
    pub kind: EventKind,
    /// The tier now.
    pub tier: Tier,
    /// The tier before (the same as `tier` when it did not change).
    pub previous: Tier,
    /// In words: the tier's reason, or what crossed, reset or started.
    pub reason: String,
    /// The 5-hour utilization now, when there is a reading.
    pub five_hour: Option<f64>,
    /// The 7-day utilization now, when reported.
    pub seven_day: Option<f64>,
    /// When the 5-hour window resets, when known.
    pub resets_at: Option<DateTime<Utc>>,
    /// The model family whose weekly cap closes the cloud now, if one does.
    pub cloud_capped_by: Option<String>,
    /// The window a threshold or reset event is about.
    pub window: Option<Window>,
    /// The threshold crossed, for a threshold event.
    pub threshold: Option<f64>,
    /// When the 5-hour window reaches 100 % at this pace, for a forecast
    /// event.
    pub exhausted_at: Option<DateTime<Utc>>,
}

/// The windows thresholds and resets are told for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The 5-hour window.
    FiveHour,
    /// The 7-day window.
    SevenDay,
}

impl Window {
    /// The value of `CLAUDE_QUOTA_WINDOW`.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::FiveHour => "five_hour",
            Window::SevenDay => "seven_day",
        }
    }

    /// How the window is named in words.
    fn words(self) -> &'static str {
        match self {
            Window::FiveHour => "5-hour",
            Window::SevenDay => "7-day",
        }
    }

    /// The window the policy names `name` in its list of resets.
    fn named(name: &str) -> Option<Window> {
        match name {
            "5-hour" => Some(Window::FiveHour),
            "7-day" => Some(Window::SevenDay),
            _ => None,
        }
    }
}

/// What was last told, to find what is new.
#[derive(Debug, Default)]
pub struct Watcher {
    /// The tier and the cap closing the cloud, once a verdict was seen.
    shown: Option<(Tier, Option<String>)>,
    /// Per window (5-hour, 7-day): how many thresholds it is at or above,
    /// once a fresh reading was seen.
    levels: [Option<usize>; 2],
    /// The resets already told (each window's reset time).
    told_resets: Vec<(Window, DateTime<Utc>)>,
    /// Whether extra usage was being spent, once known.
    spending: Option<bool>,
    /// Which window's early exhaustion was told.
    forecast: EarlyExhaustion,
}

impl Watcher {
    /// The news in `verdict` (of `reading`, with `thresholds` ascending),
    /// against what was seen before. The first fresh verdict sets the
    /// levels without telling them: a restart at 60 % is no crossing. A
    /// stale verdict tells nothing (between idle polls a reading turns
    /// stale every time, which would notify all night).
    pub fn observe(
        &mut self,
        verdict: &Verdict,
        reading: Option<&Reading>,
        thresholds: &[f64],
    ) -> Vec<Event> {
        let assessment = &verdict.assessment;
        let notable = (
            assessment.tier,
            assessment
                .cloud_capped_by
                .as_ref()
                .map(|cap| cap.model.clone()),
        );
        let Some(previous) = self.shown.clone() else {
            self.shown = Some(notable);
            self.forecast.start(verdict);
            return Vec::new();
        };
        if assessment.stale {
            return Vec::new();
        }
        let capped_by = notable.1.clone();
        let event = |kind, reason: String| Event {
            account: String::new(),
            kind,
            tier: assessment.tier,
            previous: previous.0,
            reason,
            five_hour: Some(assessment.windows.five_hour.map_or(0.0, |w| w.utilization)),
            seven_day: assessment.windows.seven_day.map(|w| w.utilization),
            resets_at: assessment.windows.five_hour.and_then(|w| w.resets_at),
            cloud_capped_by: capped_by.clone(),
            window: None,
            threshold: None,
            exhausted_at: None,
        };
        let mut events = Vec::new();
        let resets = self.resets(verdict, reading, thresholds);
        let tier_changed = notable != previous;
        match resets.first() {
            // A reset that moves the tier is told once, as the reset.
            Some(&(window, at)) => events.push(Event {
                window: Some(window),
                ..event(
                    EventKind::Reset,
                    format!(
                        "{} window reset at {}; {}",
                        window.words(),
                        at.format("%H:%M UTC"),
                        assessment.reason
                    ),
                )
            }),
            None if tier_changed => events.push(event(EventKind::Tier, assessment.reason.clone())),
            None => {}
        }
        self.shown = Some(notable);
        let current = [
            (
                Window::FiveHour,
                assessment.windows.five_hour.map_or(0.0, |w| w.utilization),
            ),
            (
                Window::SevenDay,
                assessment.windows.seven_day.map_or(0.0, |w| w.utilization),
            ),
        ];
        for (slot, (window, utilization)) in current.into_iter().enumerate() {
            let level = thresholds.iter().filter(|t| **t <= utilization).count();
            let crossed = self.levels[slot].is_some_and(|was| level > was);
            self.levels[slot] = Some(level);
            if crossed {
                let threshold = thresholds[level - 1];
                events.push(Event {
                    window: Some(window),
                    threshold: Some(threshold),
                    ..event(
                        EventKind::Threshold,
                        format!(
                            "{} window at {utilization:.1}% (passed {threshold}%)",
                            window.words()
                        ),
                    )
                });
            }
        }
        let extra = reading.and_then(|r| r.extra_usage.as_ref());
        let spending = extra.is_some_and(spent);
        if self.spending == Some(false) && spending {
            let money = extra.map(describe_money).unwrap_or_default();
            events.push(event(
                EventKind::ExtraUsage,
                format!("extra usage is being spent{money}"),
            ));
        }
        self.spending = Some(spending);
        if let Some((exhausted_at, resets_at)) = self.forecast.news(verdict) {
            let rate = verdict.forecast.map_or(0.0, |f| f.five_hour_pct_per_hour);
            events.push(Event {
                window: Some(Window::FiveHour),
                exhausted_at: Some(exhausted_at),
                ..event(
                    EventKind::Forecast,
                    format!(
                        "at {rate:.0} %/h the 5-hour window reaches 100% at {}, before its reset at {}",
                        exhausted_at.format("%H:%M UTC"),
                        resets_at.format("%H:%M UTC")
                    ),
                )
            });
        }
        events
    }

    /// The resets in `verdict` not told yet that are worth telling: the
    /// window was at or above the lowest threshold before it reset, or the
    /// reset opens the cloud again.
    fn resets(
        &mut self,
        verdict: &Verdict,
        reading: Option<&Reading>,
        thresholds: &[f64],
    ) -> Vec<(Window, DateTime<Utc>)> {
        let lowest = thresholds.first().copied().unwrap_or(f64::INFINITY);
        let opens_cloud = verdict.assessment.tier == Tier::Burst
            && self
                .shown
                .as_ref()
                .is_some_and(|(tier, _)| *tier != Tier::Burst);
        let before = |window| {
            let read = match window {
                Window::FiveHour => reading.and_then(|r| r.five_hour),
                Window::SevenDay => reading.and_then(|r| r.seven_day),
            };
            read.map_or(0.0, |w| w.utilization)
        };
        let mut new = Vec::new();
        for &(name, at) in &verdict.assessment.windows.reset {
            let Some(window) = Window::named(name) else {
                continue;
            };
            if self.told_resets.contains(&(window, at)) {
                continue;
            }
            self.told_resets.push((window, at));
            if opens_cloud || before(window) >= lowest {
                new.push((window, at));
            }
        }
        // Only the resets the verdict still shows can come again.
        self.told_resets.retain(|told| {
            verdict
                .assessment
                .windows
                .reset
                .iter()
                .any(|(_, at)| *at == told.1)
        });
        new
    }
}

/// Whether extra usage is being spent: switched on, with money or a share
/// of its limit used.
fn spent(extra: &ExtraUsage) -> bool {
    extra.enabled
        && (extra.used.is_some_and(|used| used > 0.0)
            || extra.utilization.is_some_and(|share| share > 0.0))
}

/// ": 2.44 of 5.00 EUR", as much of it as is known.
fn describe_money(extra: &ExtraUsage) -> String {
    let currency = extra.currency.as_deref().unwrap_or("");
    match (extra.used, extra.limit) {
        (Some(used), Some(limit)) => format!(": {used:.2} of {limit:.2} {currency}"),
        (Some(used), None) => format!(": {used:.2} {currency}"),
        _ => String::new(),
    }
    .trim_end()
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::policy::{self, Now};
    use crate::state::Snapshot;
    use chrono::TimeDelta;
    use claude_quota_proto::LocalInfo;

    const THRESHOLDS: [f64; 3] = [50.0, 80.0, 95.0];

    /// A state whose fresh reading has these windows (resetting when
    /// given) and extra usage.
    fn state(five: f64, resets_at: Option<DateTime<Utc>>, extra: Option<ExtraUsage>) -> Snapshot {
        let mut state = Snapshot::default();
        let windows = Reading::of_windows(
            Some(claude_quota_proto::Window::new(five, resets_at)),
            Some(claude_quota_proto::Window::new(10.0, None)),
            Now::current(),
            std::time::Duration::ZERO,
        );
        state.offer(Reading {
            extra_usage: extra,
            ..windows
        });
        state
    }

    /// What `watcher` makes of `state` now.
    fn observe(
        watcher: &mut Watcher,
        state: &Snapshot,
    ) -> Vec<(EventKind, Tier, Tier, Option<f64>)> {
        let local = LocalInfo {
            url: String::new(),
            up: false,
            models: Vec::new(),
        };
        let verdict = policy::verdict(state, &Config::default(), &local, Now::current());
        watcher
            .observe(&verdict, state.reading.as_ref(), &THRESHOLDS)
            .into_iter()
            .map(|e| (e.kind, e.tier, e.previous, e.threshold))
            .collect()
    }

    #[test]
    fn a_tier_change_and_the_highest_threshold_crossed_are_told_once() {
        use EventKind::{Threshold, Tier as TierChange};
        use claude_quota_proto::Tier::{Active, Burst, Resting, Unknown};
        let mut watcher = Watcher::default();
        assert_eq!(observe(&mut watcher, &Snapshot::default()), []);
        assert_eq!(
            observe(&mut watcher, &state(20.0, None, None)),
            [(TierChange, Burst, Unknown, None)]
        );
        assert_eq!(observe(&mut watcher, &state(30.0, None, None)), []);
        assert_eq!(
            observe(&mut watcher, &state(85.0, None, None)),
            [
                (TierChange, Resting, Burst, None),
                (Threshold, Resting, Burst, Some(80.0))
            ]
        );
        assert_eq!(
            observe(&mut watcher, &state(90.0, None, None)),
            [],
            "once per crossing"
        );
        assert_eq!(
            observe(&mut watcher, &state(96.0, None, None)),
            [(Threshold, Resting, Resting, Some(95.0))]
        );
        // Down below 80 re-arms it.
        observe(&mut watcher, &state(60.0, None, None));
        assert_eq!(
            observe(&mut watcher, &state(81.0, None, None)),
            [
                (TierChange, Resting, Active, None),
                (Threshold, Resting, Active, Some(80.0))
            ]
        );
    }

    #[test]
    fn the_first_reading_sets_the_levels_without_telling_them() {
        let mut watcher = Watcher::default();
        observe(&mut watcher, &Snapshot::default());
        let told = observe(&mut watcher, &state(60.0, None, None));
        assert_eq!(told, [(EventKind::Tier, Tier::Active, Tier::Unknown, None)]);
    }

    #[test]
    fn a_reset_that_opens_the_cloud_is_told_as_the_reset() {
        let mut watcher = Watcher::default();
        observe(&mut watcher, &Snapshot::default());
        let at = Utc::now() - TimeDelta::seconds(1);
        observe(
            &mut watcher,
            &state(92.0, Some(at + TimeDelta::hours(1)), None),
        );
        let reset = observe(&mut watcher, &state(92.0, Some(at), None));
        assert_eq!(
            reset,
            [(EventKind::Reset, Tier::Burst, Tier::Resting, None)]
        );
        assert_eq!(
            observe(&mut watcher, &state(92.0, Some(at), None)),
            [],
            "told once"
        );
    }

    #[test]
    fn extra_usage_is_told_when_spending_starts() {
        let extra = |used: f64| ExtraUsage {
            enabled: true,
            utilization: None,
            used: Some(used),
            limit: Some(5.0),
            currency: Some("EUR".into()),
            disabled_reason: None,
        };
        let mut watcher = Watcher::default();
        observe(&mut watcher, &Snapshot::default());
        observe(&mut watcher, &state(20.0, None, Some(extra(0.0))));
        let started = observe(&mut watcher, &state(20.0, None, Some(extra(2.44))));
        assert_eq!(
            started,
            [(EventKind::ExtraUsage, Tier::Burst, Tier::Burst, None)]
        );
        assert_eq!(
            observe(&mut watcher, &state(20.0, None, Some(extra(3.0)))),
            []
        );
    }
}

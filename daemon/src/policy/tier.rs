//! The tier table (docs/policy.md, "The tier"): which tier a reading puts
//! the subscription in at a given moment, and why, in words a user can act
//! on.
//!
//! The reading is taken as the field gives it: a window may be missing (no
//! session open: idle), past its reset (it counts as 0 % from then on,
//! whatever the last reading said), refused by the rate limiter (at its
//! limit whatever its number), over 100 % (counted as 100), or absent
//! altogether on a plan whose only limit is money (the spend percent
//! decides).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use claude_quota_proto::{ExtraUsage, ScopedCap, Tier, Window, WindowStatus};

use super::Now;
use crate::config::Thresholds;
use crate::reading::Reading;

/// The tier and what it rests on, at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The tier.
    pub tier: Tier,
    /// Why, in words a user can act on.
    pub reason: String,
    /// Whether the reading is missing or older than `stale_after`.
    pub stale: bool,
    /// The cloud model's own weekly cap, when it is above
    /// `weekly_resting_above` (or refused): the cloud is then closed
    /// whatever the tier, since the API would refuse that model.
    pub cloud_capped_by: Option<ScopedCap>,
    /// The windows as they count now: a window past its reset is 0 %.
    pub windows: Windows,
    /// When the clock alone changes the assessment, its words included (a
    /// fresh reading turning stale, a window resetting, a pace forecast to
    /// look at again); whoever holds it (subscribers, notifications, the
    /// daemon's encoded answers) looks again then. `None`: not before new
    /// input.
    pub changes_at: Option<Instant>,
}

impl Assessment {
    /// Whether the cloud may be spent at all: only in `burst`, and only
    /// while the cloud model's own weekly cap has room.
    pub fn cloud_open(&self) -> bool {
        self.tier == Tier::Burst && self.cloud_capped_by.is_none()
    }
}

/// The windows of the reading held, as they count at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Windows {
    /// The 5-hour window; `None` when none is open (idle, 0 %).
    pub five_hour: Option<Window>,
    /// The 7-day window, when reported.
    pub seven_day: Option<Window>,
    /// The per-model weekly caps.
    pub weekly_scoped: Vec<ScopedCap>,
    /// Windows whose reset has passed since the reading, newest last: the
    /// window's name and when it reset.
    pub reset: Vec<(&'static str, DateTime<Utc>)>,
}

/// The most a utilization counts for: a window over 100 % is as spent as
/// one at 100 %.
const FULL: f64 = 100.0;

/// Assesses `reading` at `now`: `unknown` when there is none or it is older
/// than `stale_after`; otherwise the tier of the windows as they count now.
/// `cloud_family` names the family whose weekly cap closes the cloud.
pub fn assess(
    thresholds: &Thresholds,
    cloud_family: Option<&str>,
    reading: Option<&Reading>,
    stale_after: Duration,
    now: Now,
) -> Assessment {
    let Some(reading) = reading else {
        return Assessment {
            tier: Tier::Unknown,
            reason: "no usage reading yet".into(),
            stale: true,
            cloud_capped_by: None,
            windows: Windows::default(),
            changes_at: None,
        };
    };
    let windows = Windows::of(reading, now.wall);
    let age = reading.age(now.monotonic);
    if age > stale_after {
        // The reason does not quote the age, which changes every second:
        // the status shows it (`age_s`), and an answer worded the same for
        // as long as it stands needs no rewording by the clock.
        return Assessment {
            tier: Tier::Unknown,
            reason: format!(
                "the last reading is older than stale_after ({}s)",
                stale_after.as_secs()
            ),
            stale: true,
            cloud_capped_by: None,
            windows,
            changes_at: None,
        };
    }
    let (tier, mut reason) = match windows.spend_only(reading) {
        Some(spend) => spend_tier(thresholds, spend),
        None => window_tier(thresholds, &windows),
    };
    let cloud_capped_by = cloud_family
        .and_then(|family| windows.cap(family))
        .filter(|cap| closes(cap.utilization, cap.status, thresholds.weekly_resting_above))
        .cloned();
    if let Some(cap) = &cloud_capped_by {
        reason = format!(
            "{reason}; the {} weekly cap {} closes the cloud",
            cap.model,
            at_limit(cap.utilization, cap.status, thresholds.weekly_resting_above)
        );
    }
    if let Some((name, at)) = windows.reset.last() {
        reason = format!(
            "{reason}; {name} window reset at {}",
            at.format("%H:%M UTC")
        );
    }
    let turns_stale = now.monotonic.checked_add(stale_after - age);
    let next_reset = reading
        .resets(cloud_family)
        .filter(|at| *at > now.wall)
        .min()
        .and_then(|at| now.instant_at(at));
    Assessment {
        tier,
        reason,
        stale: false,
        cloud_capped_by,
        windows,
        changes_at: earliest(turns_stale, next_reset),
    }
}

/// The tier of the 5-hour and 7-day windows as they count now.
fn window_tier(thresholds: &Thresholds, windows: &Windows) -> (Tier, String) {
    let five = windows.five_hour;
    let five_pct = five.map_or(0.0, |w| w.utilization);
    if let Some(w) = five.filter(|w| closes(w.utilization, w.status, thresholds.resting_above)) {
        let why = at_limit(w.utilization, w.status, thresholds.resting_above);
        return (Tier::Resting, format!("5-hour window {why}"));
    }
    if let Some(w) = windows
        .seven_day
        .filter(|w| closes(w.utilization, w.status, thresholds.weekly_resting_above))
    {
        let why = at_limit(w.utilization, w.status, thresholds.weekly_resting_above);
        return (Tier::Resting, format!("7-day window {why}"));
    }
    let counted = five_pct.min(FULL);
    if counted >= thresholds.burst_below {
        return (
            Tier::Active,
            format!(
                "5-hour window at {five_pct:.1}% (from {}% to {}%)",
                thresholds.burst_below, thresholds.resting_above
            ),
        );
    }
    let reason = match five {
        Some(_) => format!(
            "5-hour window at {five_pct:.1}% (below {}%)",
            thresholds.burst_below
        ),
        None if windows.reset.iter().any(|(name, _)| *name == "5-hour") => {
            "5-hour window at 0.0% since its reset".to_owned()
        }
        None => "no 5-hour window open".to_owned(),
    };
    (Tier::Burst, reason)
}

/// The tier of a plan whose only limit is money (docs/policy.md,
/// "Spend-only plans"): the spend percent against the 5-hour thresholds;
/// spending switched off, or out of credits, is resting.
fn spend_tier(thresholds: &Thresholds, spend: &ExtraUsage) -> (Tier, String) {
    if !spend.enabled || spend.disabled_reason.is_some() {
        let why = spend.disabled_reason.as_deref().unwrap_or("disabled");
        return (Tier::Resting, format!("spend limit reached: {why}"));
    }
    let of = match (spend.limit, &spend.currency) {
        (Some(limit), Some(currency)) => format!(" of {limit:.2} {currency}"),
        (Some(limit), None) => format!(" of {limit:.2}"),
        _ => String::new(),
    };
    let Some(percent) = spend.percent() else {
        return (Tier::Burst, "spend limit with no cap set".to_owned());
    };
    let reason = format!("spend at {percent:.0}%{of}");
    let tier = if percent.min(FULL) > thresholds.resting_above {
        Tier::Resting
    } else if percent.min(FULL) >= thresholds.burst_below {
        Tier::Active
    } else {
        Tier::Burst
    };
    (tier, reason)
}

/// Whether a window of `utilization` (or the rate limiter's `status`)
/// is past `threshold`.
fn closes(utilization: f64, status: Option<WindowStatus>, threshold: f64) -> bool {
    status == Some(WindowStatus::Rejected) || utilization.min(FULL) > threshold
}

/// How a window past its threshold is described.
fn at_limit(utilization: f64, status: Option<WindowStatus>, threshold: f64) -> String {
    if status == Some(WindowStatus::Rejected) {
        format!("at {utilization:.1}%, refused by the rate limiter (at its limit)")
    } else {
        format!("at {utilization:.1}% (above {threshold}%)")
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (one, other) => one.or(other),
    }
}

impl Windows {
    /// The windows of `reading` as they count at `wall`: one whose reset
    /// has passed is 0 % (the 5-hour one is then no open window).
    pub fn of(reading: &Reading, wall: DateTime<Utc>) -> Windows {
        let mut reset = Vec::new();
        let mut past = |name: &'static str, resets_at: Option<DateTime<Utc>>| match resets_at {
            Some(at) if at <= wall => {
                reset.push((name, at));
                true
            }
            _ => false,
        };
        let five_hour = reading.five_hour.filter(|w| !past("5-hour", w.resets_at));
        let seven_day = reading.seven_day.map(|w| {
            if past("7-day", w.resets_at) {
                Window::new(0.0, None)
            } else {
                w
            }
        });
        let weekly_scoped = reading
            .weekly_scoped
            .iter()
            .map(|cap| match cap.resets_at {
                Some(at) if at <= wall => ScopedCap {
                    utilization: 0.0,
                    resets_at: None,
                    status: None,
                    ..cap.clone()
                },
                _ => cap.clone(),
            })
            .collect();
        reset.sort_by_key(|(_, at)| *at);
        Windows {
            five_hour,
            seven_day,
            weekly_scoped,
            reset,
        }
    }

    /// The weekly cap of model `family`, matched case-insensitively (the
    /// API spells families differently in its two reply forms).
    pub fn cap(&self, family: &str) -> Option<&ScopedCap> {
        self.weekly_scoped
            .iter()
            .find(|cap| cap.model.eq_ignore_ascii_case(family))
    }

    /// The spend limit, when it is the only limit the plan reports: no
    /// 5-hour or 7-day window was read at all.
    fn spend_only<'r>(&self, reading: &'r Reading) -> Option<&'r ExtraUsage> {
        let no_windows = reading.five_hour.is_none() && reading.seven_day.is_none();
        reading
            .extra_usage
            .as_ref()
            .filter(|_| no_windows && reading.spend_limit)
    }
}

/// What an `ExtraUsage` says of how much of its limit is spent.
trait SpendPercent {
    /// Percent of the limit spent: as reported, else from the amounts.
    fn percent(&self) -> Option<f64>;
}

impl SpendPercent for ExtraUsage {
    fn percent(&self) -> Option<f64> {
        self.utilization.or_else(|| match (self.used, self.limit) {
            (Some(used), Some(limit)) if limit > 0.0 => Some(used / limit * 100.0),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::cap;
    use chrono::TimeDelta;

    /// A reading `age` old at `now`, with these windows.
    fn reading(five: Option<Window>, seven: Option<Window>, now: Now, age: Duration) -> Reading {
        Reading::of_windows(five, seven, now, age)
    }

    fn pct(utilization: f64) -> Option<Window> {
        Some(Window::new(utilization, None))
    }

    fn assessed(reading: &Reading, now: Now) -> Assessment {
        assess(
            &Thresholds::default(),
            Some("Sonnet"),
            Some(reading),
            Duration::from_secs(300),
            now,
        )
    }

    #[test]
    fn tier_boundaries_follow_the_contract() {
        let now = Now::current();
        let rejected = |u: f64| {
            Some(Window {
                status: Some(WindowStatus::Rejected),
                ..Window::new(u, None)
            })
        };
        let cases = [
            (pct(0.0), None, Tier::Burst),
            (pct(49.99), pct(10.0), Tier::Burst),
            (pct(50.0), pct(10.0), Tier::Active),
            (pct(80.0), pct(10.0), Tier::Active),
            (pct(80.01), pct(10.0), Tier::Resting),
            (pct(10.0), pct(80.0), Tier::Burst),
            (pct(10.0), pct(80.01), Tier::Resting),
            (pct(60.0), pct(80.01), Tier::Resting),
            (pct(100.0), None, Tier::Resting),
            (pct(130.0), pct(130.0), Tier::Resting),
            // No 5-hour window open: idle, whatever else is known.
            (None, pct(30.0), Tier::Burst),
            (None, pct(85.0), Tier::Resting),
            // The rate limiter's own word beats the number.
            (rejected(20.0), pct(10.0), Tier::Resting),
            (pct(20.0), rejected(10.0), Tier::Resting),
        ];
        for (five, seven, expected) in cases {
            let r = reading(five, seven, now, Duration::ZERO);
            assert_eq!(assessed(&r, now).tier, expected, "5h {five:?} 7d {seven:?}");
        }
    }

    #[test]
    fn an_absent_window_is_idle_and_says_so() {
        let now = Now::current();
        let r = reading(None, pct(30.0), now, Duration::ZERO);
        let assessment = assessed(&r, now);
        assert_eq!(assessment.reason, "no 5-hour window open");
        assert!(!assessment.stale);
    }

    #[test]
    fn missing_or_stale_readings_are_unknown() {
        let now = Now::current();
        let stale_after = Duration::from_secs(300);
        let at = |age| {
            let r = reading(pct(10.0), None, now, Duration::from_secs(age));
            assess(&Thresholds::default(), None, Some(&r), stale_after, now)
        };
        let missing = assess(&Thresholds::default(), None, None, stale_after, now);
        assert_eq!((missing.tier, missing.stale), (Tier::Unknown, true));
        assert_eq!(at(300).tier, Tier::Burst, "fresh at the boundary itself");
        assert_eq!((at(301).tier, at(301).stale), (Tier::Unknown, true));
    }

    #[test]
    fn an_assessment_says_when_the_clock_alone_changes_it() {
        let now = Now::current();
        let stale_after = Duration::from_secs(300);
        let holds = |r: &Reading| assess(&Thresholds::default(), None, Some(r), stale_after, now);
        assert_eq!(
            assess(&Thresholds::default(), None, None, stale_after, now).changes_at,
            None
        );
        let fresh = reading(pct(10.0), None, now, Duration::from_secs(100));
        let assessment = holds(&fresh);
        assert_eq!(
            assessment.changes_at,
            Some(now.monotonic + Duration::from_secs(200))
        );
        let old = reading(pct(10.0), None, now, Duration::from_secs(400));
        let stale = holds(&old);
        assert_eq!(
            stale.changes_at, None,
            "stale stays stale, in the same words"
        );
        let later = Now {
            wall: now.wall + TimeDelta::seconds(30),
            monotonic: now.monotonic + Duration::from_secs(30),
        };
        let stale_later = assess(&Thresholds::default(), None, Some(&old), stale_after, later);
        assert_eq!(stale_later.reason, stale.reason);
        // A reset coming before the staleness boundary is the next change.
        let resets = Some(Window::new(90.0, Some(now.wall + TimeDelta::seconds(60))));
        let resetting = holds(&reading(resets, None, now, Duration::ZERO));
        let at = resetting.changes_at.unwrap() - now.monotonic;
        assert!((59..=60).contains(&at.as_secs()), "{at:?}");
    }

    #[test]
    fn a_window_past_its_reset_counts_as_zero_until_the_next_reading() {
        let now = Now::current();
        let reset_at = now.wall - TimeDelta::minutes(1);
        let five = Some(Window::new(92.0, Some(reset_at)));
        let r = reading(five, pct(40.0), now, Duration::from_secs(120));
        let assessment = assessed(&r, now);
        assert_eq!(assessment.tier, Tier::Burst);
        let expected = format!(
            "5-hour window at 0.0% since its reset; 5-hour window reset at {}",
            reset_at.format("%H:%M UTC")
        );
        assert_eq!(assessment.reason, expected);
        assert_eq!(assessment.windows.five_hour, None);
        assert_eq!(assessment.windows.seven_day, pct(40.0));
        // The 7-day window resets too, and a reset never revives a stale reading.
        let seven = Some(Window::new(95.0, Some(reset_at)));
        let r = reading(pct(10.0), seven, now, Duration::ZERO);
        assert_eq!(assessed(&r, now).tier, Tier::Burst);
        let stale = reading(five, None, now, Duration::from_secs(301));
        assert_eq!(assessed(&stale, now).tier, Tier::Unknown);
    }

    #[test]
    fn only_the_cloud_family_cap_above_the_weekly_threshold_closes_the_cloud() {
        let now = Now::current();
        let with_caps = |caps: Vec<ScopedCap>| Reading {
            weekly_scoped: caps,
            ..reading(pct(10.0), pct(30.0), now, Duration::ZERO)
        };
        let closed = assessed(&with_caps(vec![cap("Sonnet", 97.0)]), now);
        assert_eq!(closed.tier, Tier::Burst, "the tier is still the windows'");
        assert_eq!(closed.cloud_capped_by, Some(cap("Sonnet", 97.0)));
        assert!(
            closed
                .reason
                .contains("Sonnet weekly cap at 97.0% (above 80%) closes the cloud"),
            "{}",
            closed.reason
        );
        let refused = ScopedCap {
            status: Some(WindowStatus::Rejected),
            ..cap("sonnet", 10.0)
        };
        assert!(
            assessed(&with_caps(vec![refused]), now)
                .cloud_capped_by
                .is_some()
        );
        let past_reset = ScopedCap {
            resets_at: Some(now.wall - TimeDelta::hours(1)),
            ..cap("Sonnet", 99.0)
        };
        for open in [
            vec![cap("Opus", 99.0)],
            vec![cap("Sonnet", 80.0)],
            vec![past_reset],
            vec![],
        ] {
            let assessment = assessed(&with_caps(open.clone()), now);
            assert_eq!(assessment.cloud_capped_by, None, "{open:?}");
        }
        let no_family = assess(
            &Thresholds::default(),
            None,
            Some(&with_caps(vec![cap("Sonnet", 97.0)])),
            Duration::from_secs(300),
            now,
        );
        assert_eq!(no_family.cloud_capped_by, None);
    }

    fn spend(enabled: bool, utilization: Option<f64>, reason: Option<&str>) -> ExtraUsage {
        ExtraUsage {
            enabled,
            utilization,
            used: Some(7.6),
            limit: Some(20.0),
            currency: Some("EUR".into()),
            disabled_reason: reason.map(Into::into),
        }
    }

    #[test]
    fn a_spend_only_plan_takes_its_tier_from_the_spend_percent() {
        let now = Now::current();
        let plan = |money: ExtraUsage, five: Option<Window>| Reading {
            extra_usage: Some(money),
            spend_limit: true,
            ..reading(five, None, now, Duration::ZERO)
        };
        let cases = [
            (
                spend(true, None, None),
                Tier::Burst,
                "spend at 38% of 20.00 EUR",
            ),
            (
                spend(true, Some(62.0), None),
                Tier::Active,
                "spend at 62% of 20.00 EUR",
            ),
            (
                spend(true, Some(120.0), None),
                Tier::Resting,
                "spend at 120% of 20.00 EUR",
            ),
            (
                spend(false, Some(1.0), None),
                Tier::Resting,
                "spend limit reached: disabled",
            ),
            (
                spend(true, Some(99.0), Some("out_of_credits")),
                Tier::Resting,
                "spend limit reached: out_of_credits",
            ),
        ];
        for (money, tier, reason) in cases {
            let assessment = assessed(&plan(money.clone(), None), now);
            assert_eq!(
                (assessment.tier, assessment.reason.as_str()),
                (tier, reason),
                "{money:?}"
            );
        }
        // With a window, the windows decide and the money is only shown.
        let windows_decide = assessed(&plan(spend(false, None, None), pct(10.0)), now);
        assert_eq!(windows_decide.tier, Tier::Burst);
        // Overage credits (not a spend limit) never decide a tier.
        let credits = Reading {
            spend_limit: false,
            ..plan(spend(false, None, None), None)
        };
        assert_eq!(assessed(&credits, now).reason, "no 5-hour window open");
    }
}

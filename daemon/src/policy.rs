//! The policy table (docs/policy.md), as pure functions of a reading and the
//! configuration: which tier, whether to use the cloud, which model.
//!
//! Nothing here does I/O or reads the clock, so every rule is tested
//! exhaustively below and the socket server only looks answers up.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_proto::{Forecast, Provider, ScopedCap, TaskComplexity, TaskValue, Tier};

use crate::config::{Models, Thresholds};
use crate::reading::Reading;

/// The tier and what it rests on, computed once per question.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The tier.
    pub tier: Tier,
    /// Why, in words a user can act on.
    pub reason: String,
    /// Whether the reading is missing or older than `stale_after`.
    pub stale: bool,
    /// The cloud model's own weekly cap, when it is above
    /// `weekly_resting_above`: the cloud is then closed whatever the tier,
    /// since the API would refuse that model. The poller's notification
    /// and the status view read it from here.
    pub cloud_capped_by: Option<ScopedCap>,
    /// Until when, on the monotonic clock, this assessment holds with
    /// nothing but the clock moving (`None`: until the reading or config
    /// changes), so answers built from it may be kept that long.
    pub holds_until: Option<Instant>,
}

/// The moment an assessment is made, on both clocks: the monotonic one
/// ages readings (a wall-clock step changes nothing), the wall one reads
/// forecasts and reset times, which are wall-clock moments themselves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Now {
    /// The wall clock.
    pub wall: DateTime<Utc>,
    /// The monotonic clock.
    pub monotonic: Instant,
}

impl Now {
    /// This moment.
    pub fn current() -> Self {
        Now {
            wall: Utc::now(),
            monotonic: Instant::now(),
        }
    }
}

/// How long an assessment of a stale reading holds: its reason quotes the
/// reading's age in whole seconds.
const STALE_REASON_LIFETIME: Duration = Duration::from_secs(1);

/// Names the tier for a reading at `now` (monotonic: a wall-clock step
/// changes nothing), and whether the weekly cap of model family
/// `cloud_family` closes the cloud. A missing or stale reading is
/// `unknown`, so no answer ever rests on a guess.
pub fn assess(
    thresholds: &Thresholds,
    cloud_family: Option<&str>,
    reading: Option<&Reading>,
    stale_after: Duration,
    now: Instant,
) -> Assessment {
    let Some(reading) = reading else {
        return Assessment {
            tier: Tier::Unknown,
            reason: "no usage reading yet".into(),
            stale: true,
            cloud_capped_by: None,
            holds_until: None,
        };
    };
    let age = reading.age(now);
    if age > stale_after {
        return Assessment {
            tier: Tier::Unknown,
            reason: format!(
                "last reading is {}s old (stale after {}s)",
                age.as_secs(),
                stale_after.as_secs()
            ),
            stale: true,
            cloud_capped_by: None,
            holds_until: now.checked_add(STALE_REASON_LIFETIME),
        };
    }
    let open = reading.five_hour.map(|w| w.utilization);
    let five = open.unwrap_or(0.0);
    let seven = reading.seven_day.map(|w| w.utilization);
    let (tier, mut reason) = if five > thresholds.resting_above {
        (
            Tier::Resting,
            format!(
                "5-hour window at {five:.1}% (above {}%)",
                thresholds.resting_above
            ),
        )
    } else if let Some(seven) = seven.filter(|&s| s > thresholds.weekly_resting_above) {
        (
            Tier::Resting,
            format!(
                "7-day window at {seven:.1}% (above {}%)",
                thresholds.weekly_resting_above
            ),
        )
    } else if five >= thresholds.burst_below {
        (
            Tier::Active,
            format!(
                "5-hour window at {five:.1}% (from {}% to {}%)",
                thresholds.burst_below, thresholds.resting_above
            ),
        )
    } else if open.is_none() {
        (Tier::Burst, "no 5-hour window open (idle, 0%)".to_owned())
    } else {
        (
            Tier::Burst,
            format!(
                "5-hour window at {five:.1}% (below {}%)",
                thresholds.burst_below
            ),
        )
    };
    let cloud_capped_by = cloud_family
        .and_then(|family| reading.cap(family))
        .filter(|cap| cap.utilization > thresholds.weekly_resting_above)
        .cloned();
    if let Some(cap) = &cloud_capped_by {
        reason = format!(
            "{reason}; the {} weekly cap at {:.1}% (above {}%) closes the cloud",
            cap.model, cap.utilization, thresholds.weekly_resting_above
        );
    }
    Assessment {
        tier,
        reason,
        stale: false,
        cloud_capped_by,
        holds_until: now.checked_add(stale_after - age),
    }
}

/// How long a pace assessment holds: its reason quotes minutes.
const PACE_REASON_LIFETIME: Duration = Duration::from_secs(60);

/// The opt-in pace rule (`[policy] pace = true`): in burst, when at the
/// current pace the 5-hour window passes the resting threshold before it
/// resets (`resets_at`), the tier is `active`, so the router saves the
/// cloud now instead of falling off a cliff at the threshold.
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
    let reason_changes = now.monotonic.checked_add(PACE_REASON_LIFETIME);
    let holds_until = match (assessment.holds_until, reason_changes) {
        (Some(until), Some(changes)) => Some(until.min(changes)),
        (until, changes) => until.or(changes),
    };
    Assessment {
        tier: Tier::Active,
        reason: format!(
            "pace: at {:.0} %/h RESTING in {}, before the reset in {}",
            forecast.five_hour_pct_per_hour,
            hours_minutes(resting_at - now.wall),
            hours_minutes(resets_at - now.wall)
        ),
        stale: assessment.stale,
        cloud_capped_by: assessment.cloud_capped_by,
        holds_until,
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

impl Assessment {
    /// Whether the cloud may be spent at all: only in `burst`, and only
    /// while the cloud model's own weekly cap has room.
    fn cloud_open(&self) -> bool {
        self.tier == Tier::Burst && self.cloud_capped_by.is_none()
    }
}

/// Whether a task of `value` may go to the cloud. Only an open cloud
/// (`burst`, the cloud model's cap not spent) is used, and only for
/// critical or high-value work; `routine` never is.
pub fn should_use_cloud(assessment: &Assessment, value: TaskValue) -> bool {
    match value {
        TaskValue::Routine | TaskValue::Medium | TaskValue::Low => false,
        TaskValue::Critical | TaskValue::High => assessment.cloud_open(),
    }
}

/// The model for a task of `complexity`, and where it runs.
pub fn select_model<'m>(
    models: &'m Models,
    assessment: &Assessment,
    complexity: TaskComplexity,
) -> (&'m str, Provider) {
    match (assessment.tier, complexity) {
        (Tier::Burst, TaskComplexity::High) if assessment.cloud_open() => {
            (&models.cloud, Provider::Anthropic)
        }
        (Tier::Resting, _) => (&models.local_small, Provider::Ollama),
        _ => (&models.local_large, Provider::Ollama),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::Received;
    use chrono::Utc;
    use claude_quota_proto::{ReadingSource, Window};

    /// A reading `age` old at `now`.
    fn reading(five: f64, seven: Option<f64>, now: Instant, age: Duration) -> Reading {
        let window = |utilization| Window::new(utilization, None);
        Reading {
            five_hour: Some(window(five)),
            seven_day: seven.map(window),
            weekly_scoped: Vec::new(),
            extra_usage: None,
            spend_limit: false,
            representative_claim: None,
            as_of: Utc::now(),
            source: ReadingSource::Api,
            received: Received { at: now, age },
        }
    }

    fn tier_at(five: f64, seven: Option<f64>) -> Tier {
        let now = Instant::now();
        let r = reading(five, seven, now, Duration::ZERO);
        assess(
            &Thresholds::default(),
            None,
            Some(&r),
            Duration::from_secs(300),
            now,
        )
        .tier
    }

    #[test]
    fn tier_boundaries_follow_the_contract() {
        let cases = [
            (0.0, None, Tier::Burst),
            (49.99, Some(10.0), Tier::Burst),
            (50.0, Some(10.0), Tier::Active),
            (80.0, Some(10.0), Tier::Active),
            (80.01, Some(10.0), Tier::Resting),
            (10.0, Some(80.0), Tier::Burst),
            (10.0, Some(80.01), Tier::Resting),
            (60.0, Some(80.01), Tier::Resting),
            (100.0, None, Tier::Resting),
            (130.0, Some(130.0), Tier::Resting),
        ];
        for (five, seven, expected) in cases {
            assert_eq!(tier_at(five, seven), expected, "5h {five} 7d {seven:?}");
        }
    }

    #[test]
    fn missing_or_stale_readings_are_unknown() {
        let now = Instant::now();
        let thresholds = Thresholds::default();
        let stale_after = Duration::from_secs(300);
        let missing = assess(&thresholds, None, None, stale_after, now);
        assert_eq!((missing.tier, missing.stale), (Tier::Unknown, true));
        let edge = reading(10.0, None, now, Duration::from_secs(300));
        assert_eq!(
            assess(&thresholds, None, Some(&edge), stale_after, now).tier,
            Tier::Burst
        );
        let old = reading(10.0, None, now, Duration::from_secs(301));
        let stale = assess(&thresholds, None, Some(&old), stale_after, now);
        assert_eq!((stale.tier, stale.stale), (Tier::Unknown, true));
    }

    #[test]
    fn an_assessment_holds_until_the_clock_alone_would_change_it() {
        let now = Instant::now();
        let thresholds = Thresholds::default();
        let stale_after = Duration::from_secs(300);
        assert_eq!(
            assess(&thresholds, None, None, stale_after, now).holds_until,
            None
        );
        let fresh = reading(10.0, None, now, Duration::from_secs(100));
        let turns_stale = now + Duration::from_secs(200);
        let holds = assess(&thresholds, None, Some(&fresh), stale_after, now).holds_until;
        assert_eq!(holds, Some(turns_stale));
        assert_eq!(
            assess(&thresholds, None, Some(&fresh), stale_after, turns_stale).tier,
            Tier::Burst,
            "still fresh at the boundary itself"
        );
        let old = reading(10.0, None, now, Duration::from_secs(400));
        let quoted_age = assess(&thresholds, None, Some(&old), stale_after, now).holds_until;
        assert_eq!(quoted_age, Some(now + Duration::from_secs(1)));
    }

    /// An assessment in `tier` with the cloud model's cap open or spent.
    fn in_tier(tier: Tier, capped: Option<ScopedCap>) -> Assessment {
        Assessment {
            tier,
            reason: String::new(),
            stale: tier == Tier::Unknown,
            cloud_capped_by: capped,
            holds_until: None,
        }
    }

    fn cap(model: &str, utilization: f64) -> ScopedCap {
        ScopedCap {
            model: model.into(),
            utilization,
            resets_at: None,
            severity: None,
            status: None,
        }
    }

    /// The whole table of docs/policy.md: every tier × value × complexity,
    /// with the cloud model's weekly cap open and then spent (which keeps
    /// everything local and changes nothing else).
    #[test]
    fn the_policy_table_holds_for_every_combination() {
        use Tier::*;
        let table = [
            (
                Burst,
                [true, true, false, false, false],
                ["claude-sonnet-4-6", "qwen3:14b", "qwen3:14b"],
            ),
            (Active, [false; 5], ["qwen3:14b"; 3]),
            (Resting, [false; 5], ["qwen3:8b"; 3]),
            (Unknown, [false; 5], ["qwen3:14b"; 3]),
        ];
        let models = Models::default();
        for (tier, cloud, chosen) in table {
            for capped in [None, Some(cap("Sonnet", 97.0))] {
                let assessment = in_tier(tier, capped.clone());
                for (value, expected) in TaskValue::ALL.into_iter().zip(cloud) {
                    let expected = expected && capped.is_none();
                    let answer = should_use_cloud(&assessment, value);
                    assert_eq!(answer, expected, "{tier} {value} {capped:?}");
                }
                for (complexity, expected) in TaskComplexity::ALL.into_iter().zip(chosen) {
                    let expected = match capped {
                        Some(_) if expected == models.cloud => models.local_large.as_str(),
                        _ => expected,
                    };
                    let (model, provider) = select_model(&models, &assessment, complexity);
                    assert_eq!(model, expected, "{tier} {complexity} {capped:?}");
                    let cloud_model = model == models.cloud;
                    assert_eq!(provider == Provider::Anthropic, cloud_model);
                }
            }
        }
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
            let r = reading(five, None, now.monotonic, Duration::ZERO);
            let plain = assess(
                &Thresholds::default(),
                None,
                Some(&r),
                Duration::from_secs(300),
                now.monotonic,
            );
            let paced = pace(plain.clone(), forecast.as_ref(), resets_at, now);
            assert_eq!(paced.tier, tier, "{five}% {forecast:?}");
            match reason {
                Some(reason) => assert!(paced.reason.starts_with(reason), "{}", paced.reason),
                None => assert_eq!(paced, plain),
            }
            if paced.tier != plain.tier {
                assert!(paced.holds_until <= now.monotonic.checked_add(PACE_REASON_LIFETIME));
            }
        }
    }

    #[test]
    fn only_the_cloud_family_cap_above_the_weekly_threshold_closes_the_cloud() {
        let now = Instant::now();
        let thresholds = Thresholds::default();
        let with_caps = |caps: Vec<ScopedCap>| Reading {
            weekly_scoped: caps,
            extra_usage: None,
            spend_limit: false,
            representative_claim: None,
            ..reading(10.0, Some(30.0), now, Duration::ZERO)
        };
        let assessed = |r: &Reading| {
            assess(
                &thresholds,
                Some("sonnet"),
                Some(r),
                Duration::from_secs(300),
                now,
            )
        };
        let closed = assessed(&with_caps(vec![cap("Sonnet", 97.0)]));
        assert_eq!(closed.tier, Tier::Burst, "the tier is still the windows'");
        assert_eq!(closed.cloud_capped_by, Some(cap("Sonnet", 97.0)));
        assert!(
            closed.reason.contains("Sonnet weekly cap at 97.0%"),
            "{}",
            closed.reason
        );
        for open in [vec![cap("Opus", 99.0)], vec![cap("Sonnet", 80.0)], vec![]] {
            let assessment = assessed(&with_caps(open.clone()));
            assert_eq!(assessment.cloud_capped_by, None, "{open:?}");
            assert!(should_use_cloud(&assessment, TaskValue::High));
        }
        let no_family = assess(
            &thresholds,
            None,
            Some(&with_caps(vec![cap("Sonnet", 97.0)])),
            Duration::from_secs(300),
            now,
        );
        assert_eq!(no_family.cloud_capped_by, None);
    }

    #[test]
    fn routine_is_never_cloud() {
        for tier in Tier::ALL {
            assert!(!should_use_cloud(&in_tier(tier, None), TaskValue::Routine));
        }
    }
}

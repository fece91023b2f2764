//! The right answer at an instant: the default policy of docs/policy.md
//! applied to the true usage, which the daemon's answers are judged against.

use claude_quota::{Decision, Tier};

use crate::curve::{TrueWindow, Usage};

/// The policy's default thresholds, in percent (`[thresholds]`).
const BURST_BELOW: f64 = 50.0;
const RESTING_ABOVE: f64 = 80.0;
const WEEKLY_RESTING_ABOVE: f64 = 80.0;

/// What a router is told: the tier, and whether a `high` task may go to
/// the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The tier.
    pub tier: Tier,
    /// `should_use_cloud(high)`.
    pub use_cloud: bool,
}

impl Answer {
    /// The daemon's answer to `should_use_cloud(high)`.
    pub fn given(decision: &Decision) -> Answer {
        Answer {
            tier: decision.tier,
            use_cloud: decision.use_cloud,
        }
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = if self.use_cloud { "cloud" } else { "local" };
        write!(f, "{} ({place})", self.tier.as_str())
    }
}

/// The answer the true usage gives at simulated second `at`: burst below
/// 50 %, active from 50 to 80 %, resting above 80 % or with the 7-day
/// window above 80 %; a window past its reset counts 0 %. Only a burst
/// sends a `high` task to the cloud. (The per-model weekly caps stay low
/// all day, so they close nothing.)
pub fn truth(usage: &Usage, at: f64) -> Answer {
    let counted = |window: TrueWindow| match window.resets_at {
        Some(reset) if at >= reset => 0.0,
        _ => window.utilization,
    };
    let (five, seven) = (counted(usage.five_hour), counted(usage.seven_day));
    let tier = if five > RESTING_ABOVE || seven > WEEKLY_RESTING_ABOVE {
        Tier::Resting
    } else if five >= BURST_BELOW {
        Tier::Active
    } else {
        Tier::Burst
    };
    Answer {
        tier,
        use_cloud: tier == Tier::Burst,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(five: f64, five_resets: Option<f64>, seven: f64) -> Usage {
        Usage {
            five_hour: TrueWindow {
                utilization: five,
                resets_at: five_resets,
            },
            seven_day: TrueWindow {
                utilization: seven,
                resets_at: Some(1e9),
            },
        }
    }

    fn tier(five: f64, seven: f64) -> Tier {
        truth(&usage(five, None, seven), 0.0).tier
    }

    #[test]
    fn each_threshold_splits_the_tiers_as_the_policy_does() {
        assert_eq!(tier(49.9, 0.0), Tier::Burst);
        assert_eq!(tier(50.0, 0.0), Tier::Active);
        assert_eq!(tier(80.0, 0.0), Tier::Active);
        assert_eq!(tier(80.1, 0.0), Tier::Resting);
        assert_eq!(tier(10.0, 80.0), Tier::Burst);
        assert_eq!(tier(10.0, 80.1), Tier::Resting);
        assert_eq!(tier(60.0, 90.0), Tier::Resting);
    }

    #[test]
    fn only_a_burst_sends_a_high_task_to_the_cloud() {
        for (five, cloud) in [(10.0, true), (60.0, false), (90.0, false)] {
            assert_eq!(truth(&usage(five, None, 0.0), 0.0).use_cloud, cloud);
        }
    }

    #[test]
    fn a_window_past_its_reset_counts_nothing() {
        let full = usage(95.0, Some(100.0), 0.0);
        assert_eq!(truth(&full, 99.9).tier, Tier::Resting);
        assert_eq!(
            truth(&full, 100.0),
            Answer {
                tier: Tier::Burst,
                use_cloud: true
            }
        );
        let mut weekly = usage(10.0, None, 85.0);
        weekly.seven_day.resets_at = Some(50.0);
        assert_eq!(truth(&weekly, 49.0).tier, Tier::Resting);
        assert_eq!(truth(&weekly, 50.0).tier, Tier::Burst);
    }
}

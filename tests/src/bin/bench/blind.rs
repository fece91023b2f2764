//! The day, blind (issue 29): usage that climbs where the daemon cannot
//! see it (claude.ai, another machine, a teammate on a shared seat), so no
//! status line pushes and the router's cloud calls hand over no headers;
//! only polls show it. Each scenario is a quiet spell at one level, then a
//! climb or a step, with a router asking throughout, for both schedules.

use crate::curve::{Curve, HOUR, Span};
use crate::day::{Outcome, Run, Schedule, run_all};
use crate::plan::Plan;

/// How long the quiet spells last, in simulated minutes.
const QUIET_MIN: [f64; 3] = [10.0, 30.0, 60.0];
/// The levels they sit at, in percent of the 5-hour window: 30 and 10
/// points below a threshold, and 4, where a climb of 2 %/min crosses
/// within one longest wait.
const LEVELS: [f64; 4] = [20.0, 40.0, 46.0, 70.0];
/// What follows a quiet spell.
const CHANGES: [Change; 4] = [
    Change::Climb(1.0),
    Change::Climb(2.0),
    Change::Climb(4.0),
    Change::Step(30.0),
];

/// The quick pass: one spell, a climb as fast as plausible, a step.
const QUICK: [Scenario; 2] = [
    Scenario {
        quiet_min: 4.0,
        level: 40.0,
        change: Change::Climb(2.0),
    },
    Scenario {
        quiet_min: 4.0,
        level: 40.0,
        change: Change::Step(30.0),
    },
];

/// How long a scenario goes on after its change has passed every
/// threshold it will pass, in simulated minutes.
const AFTER_MIN: f64 = 10.0;

/// The 5-hour window's highest threshold (`[thresholds] resting_above`).
const RESTING_ABOVE: f64 = 80.0;

/// The simulated day's scale, as the day's.
const SCALE: f64 = 300.0;

/// How many scenarios run at once (each with two daemons and two
/// routers): one level's four changes after one quiet spell, so the
/// batch's runs end close together and the machine keeps the pace (the
/// day itself runs four daemons).
const AT_ONCE: usize = CHANGES.len();

/// What usage does after the quiet spell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Climbs this many percent a minute, to 100 %.
    Climb(f64),
    /// Jumps this many points within a second.
    Step(f64),
}

/// One blind scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scenario {
    /// The quiet spell, in simulated minutes.
    pub quiet_min: f64,
    /// Its level, in percent.
    pub level: f64,
    /// What follows it.
    pub change: Change,
}

/// One scenario's two runs.
#[derive(Debug)]
pub struct Blind {
    /// What was run.
    pub scenario: Scenario,
    /// `[policy] adaptive = false`.
    pub fixed: Outcome,
    /// `[policy] adaptive = true`.
    pub adaptive: Outcome,
}

/// Every scenario (or the quick pass's two), [`AT_ONCE`] at a time, both
/// schedules of each together.
pub async fn run(quick: bool) -> anyhow::Result<Vec<Blind>> {
    let scenarios = if quick { QUICK.to_vec() } else { all() };
    let mut blind = Vec::new();
    for batch in scenarios.chunks(AT_ONCE) {
        let runs: Vec<Run> = batch
            .iter()
            .flat_map(|scenario| {
                let plan = scenario.plan();
                [Schedule::Fixed, Schedule::Adaptive]
                    .map(|schedule| Run::start(&plan, schedule, false))
            })
            .collect();
        let mut outcomes = run_all(&runs, SCALE).await?.into_iter();
        for &scenario in batch {
            let (Some(fixed), Some(adaptive)) = (outcomes.next(), outcomes.next()) else {
                anyhow::bail!("two runs give two outcomes");
            };
            blind.push(Blind {
                scenario,
                fixed,
                adaptive,
            });
        }
    }
    Ok(blind)
}

/// Every spell at every level with every change.
fn all() -> Vec<Scenario> {
    let mut scenarios = Vec::new();
    for quiet_min in QUIET_MIN {
        for level in LEVELS {
            for change in CHANGES {
                scenarios.push(Scenario {
                    quiet_min,
                    level,
                    change,
                });
            }
        }
    }
    scenarios
}

impl Scenario {
    /// Its day: the router asking from start to end, no status line, no
    /// headers; the 5-hour window at `level` through the quiet spell, then
    /// the change; the 7-day window flat at 30 %.
    fn plan(&self) -> Plan {
        let quiet_h = self.quiet_min / 60.0;
        let (points, changed_min) = match self.change {
            Change::Climb(per_min) => {
                let to_full = (100.0 - self.level) / per_min;
                let past_thresholds = (RESTING_ABOVE - self.level) / per_min;
                (
                    vec![
                        (0.0, self.level),
                        (quiet_h, self.level),
                        (quiet_h + to_full / 60.0, 100.0),
                    ],
                    past_thresholds,
                )
            }
            Change::Step(points) => (
                vec![
                    (0.0, self.level),
                    (quiet_h, self.level),
                    (quiet_h + 1.0 / HOUR, (self.level + points).min(100.0)),
                ],
                0.0,
            ),
        };
        let hours = (self.quiet_min + changed_min + AFTER_MIN) / 60.0;
        Plan {
            scale: SCALE,
            hours,
            asking: leak(vec![(0.0, hours)]),
            pushing: &[],
            headers: false,
            curve: Curve {
                five_hour: leak(vec![Span {
                    points: leak(points),
                    resets_at_h: 5.0,
                }]),
                seven_day: Span {
                    points: &[(0.0, 30.0)],
                    resets_at_h: 61.0,
                },
            },
        }
    }

    /// How it reads in a table: "40 % for 30 min, then +2 %/min".
    pub fn label(&self) -> String {
        let change = match self.change {
            Change::Climb(per_min) => format!("+{per_min} %/min"),
            Change::Step(points) => format!("a step of +{points} points"),
        };
        format!("{} % for {} min, then {change}", self.level, self.quiet_min)
    }
}

/// A plan borrows its script for the whole run, as the day's constants
/// do; a blind scenario's is built once at start and lives until the
/// bench exits (a few hundred bytes).
fn leak<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use claude_quota::Tier;

    use super::*;
    use crate::plan::{ASK_EVERY, ASK_OFFSET, beats};
    use crate::truth::truth;

    #[test]
    fn every_scenario_is_quiet_then_crosses_a_threshold_while_the_router_asks() {
        for scenario in all().into_iter().chain(QUICK) {
            let plan = scenario.plan();
            let quiet_end = scenario.quiet_min * 60.0;
            let tiers: Vec<Tier> = beats(plan.asking[0], 1.0, 0.0)
                .map(|t| truth(&plan.curve.at(t), t).tier)
                .collect();
            let first_change = tiers.windows(2).position(|w| w[0] != w[1]);
            let first_change = first_change.unwrap_or_else(|| panic!("{scenario:?}"));
            assert!(first_change as f64 >= quiet_end, "{scenario:?}");
            assert_eq!(
                plan.curve.at(quiet_end).five_hour.utilization,
                scenario.level
            );
        }
    }

    #[test]
    fn no_change_of_the_truth_falls_within_a_second_of_a_question() {
        for scenario in all().into_iter().chain(QUICK) {
            let plan = scenario.plan();
            for t in beats(plan.asking[0], ASK_EVERY, ASK_OFFSET) {
                let at = |t: f64| truth(&plan.curve.at(t), t);
                assert_eq!(at(t - 1.0), at(t + 1.0), "{scenario:?} at {t} s");
            }
        }
    }

    #[test]
    fn there_are_forty_eight_scenarios_and_the_window_resets_after_each() {
        let scenarios = all();
        assert_eq!(scenarios.len(), 48);
        for scenario in scenarios {
            let plan = scenario.plan();
            assert!(
                plan.hours < plan.curve.five_hour[0].resets_at_h,
                "{scenario:?}"
            );
        }
    }
}

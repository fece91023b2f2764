//! What happens in the simulated day: when the router asks, when Claude
//! Code is open (its status line pushing), and the true usage curve; and
//! the contract's intervals every daemon of the day is configured with,
//! divided by the plan's scale.

use crate::curve::{Curve, HOUR, Span};

/// The contract's intervals (docs/configuration.md), in simulated seconds.
pub const POLL_INTERVAL: f64 = 30.0;
pub const STALE_AFTER: f64 = 300.0;
pub const IDLE_AFTER: f64 = 600.0;
pub const IDLE_POLL_INTERVAL: f64 = 600.0;
pub const BACKOFF_CAP: f64 = 600.0;
pub const REFRESH_MIN_INTERVAL: f64 = 10.0;
/// `[policy] adaptive_max_interval`: the adaptive schedule's longest gap
/// between polls while someone asks.
pub const ADAPTIVE_MAX_INTERVAL: f64 = 240.0;
/// `[policy] fastest_burn_pct_per_min`, in percent a simulated minute: the
/// fastest climb the adaptive schedule deems plausible from usage it cannot
/// see.
pub const FASTEST_BURN_PCT_PER_MIN: f64 = 2.0;

/// How often the router asks, in simulated seconds, on the dot, and how
/// far past each multiple of that: resets fall on whole minutes, never at
/// the instant of a question.
pub const ASK_EVERY: f64 = 10.0;
pub const ASK_OFFSET: f64 = 2.5;
/// How often the status line pushes while Claude Code is open, and how
/// far past each multiple of that, so pushes fall between questions.
pub const PUSH_EVERY: f64 = 20.0;
pub const PUSH_OFFSET: f64 = 7.5;

/// The shape of one simulated day.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Simulated seconds per real second.
    pub scale: f64,
    /// The day's length in hours, idle end included.
    pub hours: f64,
    /// (from, to) hours during which the router asks every [`ASK_EVERY`];
    /// idle in between.
    pub asking: &'static [(f64, f64)],
    /// (from, to) hours during which Claude Code is open and its status
    /// line pushes every [`PUSH_EVERY`] (in the "with pushes" runs only);
    /// always inside an asking spell.
    pub pushing: &'static [(f64, f64)],
    /// Whether the router's cloud calls hand their response headers to the
    /// daemon; without them (and without pushes) only polls show usage.
    pub headers: bool,
    /// The true usage.
    pub curve: Curve,
}

/// The full day, 08:00 to 08:00, at 1 s = 5 min (about 5 minutes).
///
/// | hours | router | Claude Code | 5-hour window | 7-day |
/// |---|---|---|---|---|
/// | 0–2 | asks | closed | quiet: 2 → 20 % | 58 → 61 % |
/// | 2–3 | idle (lunch) | | flat | flat |
/// | 3–5 | asks | open from 3:15 | burst: 50 % at 3:51:26, 80 % at 4:26:40, 94 % at 5:00 | → 70 % |
/// | 5:00 | | | resets; the next window opens at 0 % | |
/// | 5–8 | asks | open until 6:30 | 0 → 54 %: 50 % at 7:42:51 | → 77 % |
/// | 8–9:30 | idle | | flat (54 %) | flat |
/// | 9:30–11 | asks | open from 10:15 | resets at 10:00, then 0 → 14 % | 80 % at 10:32:44, → 82.5 % |
/// | 11–24 | idle | | flat | flat |
const FULL: Plan = Plan {
    scale: 300.0,
    hours: 24.0,
    asking: &[(0.0, 2.0), (3.0, 8.0), (9.5, 11.0)],
    pushing: &[(3.25, 6.5), (10.25, 11.0)],
    headers: true,
    curve: Curve {
        five_hour: &[
            Span {
                points: &[
                    (0.0, 2.0),
                    (2.0, 20.0),
                    (3.0, 20.0),
                    (3.5, 35.0),
                    (4.0, 56.0),
                    (4.5, 83.0),
                    (5.0, 94.0),
                ],
                resets_at_h: 5.0,
            },
            Span {
                points: &[(5.0, 0.0), (6.5, 30.0), (7.5, 47.0), (8.0, 54.0)],
                resets_at_h: 10.0,
            },
            Span {
                points: &[(10.0, 0.0), (11.0, 14.0)],
                resets_at_h: 15.0,
            },
        ],
        // Resets two and a half days later, Saturday 21:00.
        seven_day: Span {
            points: &[
                (0.0, 58.0),
                (2.0, 61.0),
                (3.0, 61.0),
                (5.0, 70.0),
                (8.0, 77.0),
                (10.0, 77.0),
                (11.0, 82.5),
            ],
            resets_at_h: 61.0,
        },
    },
};

/// 30 simulated minutes that pass every phase once (about 7 s): asking
/// with a status line and a crossing of 50 %, an idle spell, asking again
/// across a reset.
const QUICK: Plan = Plan {
    scale: 300.0,
    hours: 30.0 / 60.0,
    asking: &[(0.0, 8.0 / 60.0), (24.0 / 60.0, 30.0 / 60.0)],
    pushing: &[(3.0 / 60.0, 7.0 / 60.0)],
    headers: true,
    curve: Curve {
        five_hour: &[
            Span {
                points: &[(0.0, 41.0), (0.1, 60.0)],
                resets_at_h: 25.0 / 60.0,
            },
            Span {
                points: &[(25.0 / 60.0, 0.0), (1.0, 10.0)],
                resets_at_h: 5.0 + 25.0 / 60.0,
            },
        ],
        seven_day: Span {
            points: &[(0.0, 30.0)],
            resets_at_h: 61.0,
        },
    },
};

impl Plan {
    /// The full day.
    pub fn full() -> Plan {
        FULL
    }

    /// The quick pass's day.
    pub fn quick() -> Plan {
        QUICK
    }

    /// The day's length in simulated seconds.
    pub fn length(&self) -> f64 {
        self.hours * HOUR
    }

    /// A rate in percent a simulated minute as the daemon reads it, in
    /// percent a real minute.
    pub fn real_pct_per_min(&self, simulated: f64) -> f64 {
        simulated * self.scale
    }

    /// An interval of the contract in real seconds, for the daemon's config:
    /// `simulated` divided by the scale, and never under the daemon's
    /// shortest (0.1 s, allowed against a loopback API only).
    pub fn real_secs(&self, simulated: f64) -> f64 {
        (simulated / self.scale).max(0.1)
    }
}

/// The moments, in simulated seconds, `offset + k·every` within `from..to`
/// hours.
pub fn beats((from, to): (f64, f64), every: f64, offset: f64) -> impl Iterator<Item = f64> {
    let first = ((from * HOUR - offset) / every).ceil().max(0.0) as u64;
    (first..)
        .map(move |k| offset + k as f64 * every)
        .take_while(move |&t| t < to * HOUR)
}

#[cfg(test)]
mod tests {
    use claude_quota::Tier;

    use super::*;
    use crate::truth::truth;

    /// The tier changes the router meets, in order.
    fn transitions(plan: &Plan) -> Vec<(Tier, Tier)> {
        let mut seen = Vec::new();
        for &spell in plan.asking {
            let tiers: Vec<Tier> = beats(spell, 1.0, 0.0)
                .map(|t| truth(&plan.curve.at(t), t).tier)
                .collect();
            seen.extend(
                tiers
                    .windows(2)
                    .filter(|w| w[0] != w[1])
                    .map(|w| (w[0], w[1])),
            );
        }
        seen
    }

    #[test]
    fn the_full_day_crosses_every_threshold_and_resets_while_the_router_asks() {
        use Tier::{Active, Burst, Resting};
        assert_eq!(
            transitions(&FULL),
            [
                (Burst, Active),
                (Active, Resting),
                (Resting, Burst),
                (Burst, Active),
                (Active, Burst),
                (Burst, Resting),
            ]
        );
        let weekly = FULL.curve.at(10.9 * HOUR).seven_day.utilization;
        assert!(weekly > 80.0, "{weekly}");
    }

    #[test]
    fn the_quick_day_crosses_a_threshold_and_resets() {
        use Tier::{Active, Burst};
        assert_eq!(transitions(&QUICK), [(Burst, Active), (Active, Burst)]);
    }

    #[test]
    fn idle_spells_idle_the_daemon_and_claude_code_opens_only_while_asked() {
        // The poller notes demand when it wakes, as far apart as the
        // adaptive schedule's cap: idling may take that much longer.
        let idles = IDLE_AFTER + ADAPTIVE_MAX_INTERVAL;
        for plan in [FULL, QUICK] {
            for pair in plan.asking.windows(2) {
                assert!((pair[1].0 - pair[0].1) * HOUR >= idles, "{pair:?}");
            }
            for &(from, to) in plan.pushing {
                assert!(
                    plan.asking
                        .iter()
                        .any(|&(a, b)| a * HOUR + IDLE_AFTER / 4.0 <= from * HOUR && to <= b),
                    "pushes {from}–{to} must start a while into an asking spell, so the \
                     first answer after idling is the poller's"
                );
            }
            assert!(plan.asking.last().unwrap().1 <= plan.hours);
        }
    }

    #[test]
    fn the_truth_never_changes_within_a_second_of_a_question() {
        // Else the few microseconds between the daemon's answer and the
        // moment it is judged could decide whether it was right.
        for plan in [FULL, QUICK] {
            for &spell in plan.asking {
                for t in beats(spell, ASK_EVERY, ASK_OFFSET) {
                    let at = |t: f64| truth(&plan.curve.at(t), t);
                    assert_eq!(at(t - 1.0), at(t + 1.0), "at {t} s");
                }
            }
        }
    }

    #[test]
    fn every_reset_falls_on_a_whole_real_second() {
        for plan in [FULL, QUICK] {
            let spans = plan.curve.five_hour.iter().chain([&plan.curve.seven_day]);
            for reset in spans.map(|span| span.resets_at_h * HOUR) {
                let real = reset / plan.scale;
                assert!((real - real.round()).abs() < 1e-6, "{reset} s");
            }
        }
    }

    #[test]
    fn beats_fall_on_the_grid_within_the_spell() {
        let t: Vec<f64> = beats((0.0, 60.0 / HOUR), 20.0, 5.0).collect();
        assert_eq!(t, [5.0, 25.0, 45.0]);
        let t: Vec<f64> = beats((100.0 / HOUR, 130.0 / HOUR), 10.0, 0.0).collect();
        assert_eq!(t, [100.0, 110.0, 120.0]);
    }
}

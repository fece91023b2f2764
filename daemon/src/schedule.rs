//! When the poller asks the usage API next, as an explicit state: polling
//! for listeners, idling without them, cooling down after a fault, or
//! resting on a fresh pushed reading. Every transition is a method taking
//! the moment it happens, and [`Schedule::next_wake`] is a pure function of
//! the state, so the whole schedule is tested without a network or a clock
//! of its own (docs/decisions.md, "Polling").

use claude_quota_proto::Polling;
use tokio::time::{Duration, Instant};

use crate::backoff::Backoff;

/// Why the poller waits, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Someone listens: poll at `next`.
    Active {
        /// The next poll.
        next: Instant,
    },
    /// Nobody asked, subscribed or pushed for `idle_after`: poll at `next`
    /// (`idle_poll_interval` after the last round); the first question
    /// wakes it at once.
    Idle {
        /// The next poll.
        next: Instant,
    },
    /// After a fault: nothing polls before `until`, not a `refresh`, not a
    /// reload, not a restart (the cooldown is saved).
    CoolingDown {
        /// When polling may resume.
        until: Instant,
    },
    /// A pushed reading is fresh: no poll before `until`, when it would be
    /// as old as a poll interval.
    Pushed {
        /// When the pushed reading stops sparing the API.
        until: Instant,
    },
}

/// The intervals the schedule follows, from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Intervals {
    /// Between polls while someone listens (`poll_interval`).
    pub poll: Duration,
    /// Without a listener this long, idle (`idle_after`).
    pub idle_after: Duration,
    /// Between polls while idle (`idle_poll_interval`).
    pub idle_poll: Duration,
    /// The shortest gap a `refresh` may force (`refresh_min_interval`).
    pub refresh_min: Duration,
}

/// What a round of the poller came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A reading arrived; poll again after `next_in`.
    Fresh {
        /// While someone listens, when the reading could next change an
        /// answer (`poll_interval` on the fixed schedule); while idle, the
        /// idle interval.
        next_in: Duration,
    },
    /// A pushed reading is fresh for `fresh_for` more: no call was made.
    Pushed {
        /// How long it stays fresher than a poll interval.
        fresh_for: Duration,
    },
    /// No usable credentials: look again after a poll interval.
    NoCredentials,
    /// The API failed; back off (at least `retry_after` when it said so).
    Failed {
        /// The server's `Retry-After`, when positive.
        retry_after: Option<Duration>,
    },
}

/// Why a client wants a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wish {
    /// `refresh`: poll now, unless the last poll is younger than
    /// `refresh_min_interval`.
    Refresh,
    /// The first question after an idle spell: back to active polling,
    /// polling now.
    Wake,
}

/// The poll schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    phase: Phase,
    every: Intervals,
    backoff: Backoff,
    /// Whether nobody listened for `idle_after`.
    idle: bool,
    /// When a request, a subscriber or a push was last seen.
    last_demand: Instant,
    /// When the last request to the API began.
    last_poll: Option<Instant>,
    /// When the last round ended, whether or not it asked the API: the
    /// idle schedule counts from there.
    last_round: Option<Instant>,
}

impl Schedule {
    /// A schedule starting at `now` with a poll at once, or at the end of
    /// a cooldown `cooldown` long restored from before a restart (with the
    /// faults behind it, so the backoff goes on from there).
    pub fn new(
        now: Instant,
        every: Intervals,
        mut backoff: Backoff,
        cooldown: Option<(Duration, u32)>,
    ) -> Self {
        let phase = match cooldown {
            Some((wait, faults)) => {
                backoff.restore(faults);
                Phase::CoolingDown {
                    until: after(now, wait),
                }
            }
            None => Phase::Active { next: now },
        };
        Schedule {
            phase,
            every,
            backoff,
            idle: false,
            last_demand: now,
            last_poll: None,
            last_round: None,
        }
    }

    /// The state now.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// When the poller wakes next.
    pub fn next_wake(&self) -> Instant {
        match self.phase {
            Phase::Active { next } | Phase::Idle { next } => next,
            Phase::CoolingDown { until } | Phase::Pushed { until } => until,
        }
    }

    /// How the API is polled, as the status shows it.
    pub fn polling(&self) -> Polling {
        match (self.idle, self.phase) {
            (true, _) => Polling::Idle,
            (false, Phase::Pushed { .. }) => Polling::Pushed,
            (false, _) => Polling::Active,
        }
    }

    /// Whether nobody listens: the next question must wake the poller.
    pub fn is_idle(&self) -> bool {
        self.idle
    }

    /// The cooldown in force, with the faults behind it, to save.
    pub fn cooldown(&self) -> Option<(Instant, u32)> {
        match self.phase {
            Phase::CoolingDown { until } => Some((until, self.backoff.faults())),
            _ => None,
        }
    }

    /// At the wake-up `now`: notes whether anyone `listened` since the last
    /// one, idles when nobody did for `idle_after`, and says whether to
    /// poll now; when not, [`Self::next_wake`] says when to look again.
    pub fn due(&mut self, now: Instant, listened: bool) -> bool {
        if listened {
            self.last_demand = now;
        }
        self.idle = now.saturating_duration_since(self.last_demand) >= self.every.idle_after;
        if now < self.next_wake() {
            return false;
        }
        if self.idle {
            let next = self
                .last_round
                .map_or(now, |at| after(at, self.every.idle_poll));
            if next > now {
                self.phase = Phase::Idle { next };
                return false;
            }
        }
        true
    }

    /// Whether `wish` polls now. Nothing cuts a cooldown or a fresh push
    /// short; a wake from idle is demand, and the schedule turns active.
    pub fn grant(&mut self, wish: Wish, now: Instant) -> bool {
        if wish == Wish::Wake {
            self.last_demand = now;
            self.idle = false;
            if let Phase::Idle { .. } = self.phase {
                self.phase = Phase::Active { next: now };
            }
        }
        match self.phase {
            Phase::CoolingDown { until } | Phase::Pushed { until } if now < until => false,
            _ => match wish {
                Wish::Wake => now >= self.next_wake(),
                Wish::Refresh => self
                    .last_poll
                    .is_none_or(|at| now.saturating_duration_since(at) >= self.every.refresh_min),
            },
        }
    }

    /// Notes that a request to the API begins at `now`.
    pub fn polling_now(&mut self, now: Instant) {
        self.last_poll = Some(now);
    }

    /// Moves on after a round that ended at `now` with `outcome`.
    pub fn after(&mut self, now: Instant, outcome: Outcome) {
        self.last_round = Some(now);
        self.phase = match outcome {
            Outcome::Fresh { next_in } => {
                self.backoff.success();
                let next = after(now, next_in);
                if self.idle {
                    Phase::Idle { next }
                } else {
                    Phase::Active { next }
                }
            }
            Outcome::Pushed { fresh_for } => Phase::Pushed {
                until: after(now, fresh_for),
            },
            Outcome::NoCredentials => Phase::Active {
                next: after(now, self.every.poll),
            },
            Outcome::Failed { retry_after } => Phase::CoolingDown {
                until: after(now, self.backoff.failure(retry_after)),
            },
        };
    }

    /// Brings the next active poll forward to `at` (a pushed reading said
    /// the plan's model was wrong), but never within `poll_interval` of the
    /// last poll. Idle, cooling down or resting on a push: nothing changes.
    pub fn hasten(&mut self, at: Instant) {
        if let Phase::Active { next } = self.phase {
            let earliest = self
                .last_poll
                .map_or(at, |last| after(last, self.every.poll));
            self.phase = Phase::Active {
                next: next.min(at.max(earliest)),
            };
        }
    }

    /// Takes reloaded intervals; polls at once unless a cooldown is in force.
    pub fn reconfigure(&mut self, every: Intervals, backoff_cap: Duration, now: Instant) {
        self.every = every;
        self.backoff.reconfigure(every.poll, backoff_cap);
        if !matches!(self.phase, Phase::CoolingDown { until } if now < until) {
            self.phase = Phase::Active { next: now };
        }
    }
}

/// The longest wait the schedule can represent: a saved cooldown is at
/// most an hour, a `Retry-After` is capped at one, and the longest config
/// interval is a day.
const LONGEST_WAIT: Duration = Duration::from_secs(86_400);

/// `wait` after `at`, a wait too long to represent becoming the longest.
fn after(at: Instant, wait: Duration) -> Instant {
    at.checked_add(wait)
        .unwrap_or_else(|| at + LONGEST_WAIT.min(wait))
}

#[cfg(test)]
mod blind;

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    const POLL: Duration = Duration::from_secs(30);

    fn every() -> Intervals {
        Intervals {
            poll: POLL,
            idle_after: Duration::from_secs(600),
            idle_poll: Duration::from_secs(600),
            refresh_min: Duration::from_secs(10),
        }
    }

    fn schedule(cooldown: Option<(Duration, u32)>) -> Schedule {
        let backoff = Backoff::new(POLL, Duration::from_secs(600));
        Schedule::new(Instant::now(), every(), backoff, cooldown)
    }

    fn fresh() -> Outcome {
        Outcome::Fresh { next_in: POLL }
    }

    #[tokio::test(start_paused = true)]
    async fn it_polls_at_once_then_every_interval_while_someone_listens() {
        let mut s = schedule(None);
        assert_eq!(s.next_wake(), Instant::now());
        assert!(s.due(Instant::now(), true));
        s.after(Instant::now(), fresh());
        assert_eq!(
            s.phase(),
            Phase::Active {
                next: Instant::now() + POLL
            }
        );
        advance(POLL).await;
        assert!(s.due(Instant::now(), true));
        assert_eq!(s.polling(), Polling::Active);
    }

    #[tokio::test(start_paused = true)]
    async fn without_listeners_it_idles_and_the_first_question_polls_at_once() {
        let mut s = schedule(None);
        s.after(Instant::now(), fresh());
        for _ in 0..20 {
            advance(POLL).await;
            if s.due(Instant::now(), false) {
                s.after(Instant::now(), fresh());
            }
        }
        assert!(s.is_idle());
        assert_eq!(s.polling(), Polling::Idle);
        let Phase::Idle { next } = s.phase() else {
            panic!("{:?}", s.phase())
        };
        assert!(next > Instant::now(), "idle polls wait idle_poll_interval");
        advance(Duration::from_secs(5)).await;
        assert!(
            s.grant(Wish::Wake, Instant::now()),
            "a question polls at once"
        );
        assert!(!s.is_idle());
        s.after(Instant::now(), fresh());
        assert_eq!(
            s.phase(),
            Phase::Active {
                next: Instant::now() + POLL
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_cuts_a_cooldown_short() {
        let mut s = schedule(None);
        s.after(
            Instant::now(),
            Outcome::Failed {
                retry_after: Some(Duration::from_secs(120)),
            },
        );
        let until = Instant::now() + Duration::from_secs(120);
        assert_eq!(s.phase(), Phase::CoolingDown { until });
        assert_eq!(s.cooldown(), Some((until, 1)));
        advance(Duration::from_secs(60)).await;
        assert!(!s.grant(Wish::Refresh, Instant::now()));
        assert!(!s.grant(Wish::Wake, Instant::now()));
        assert!(
            !s.due(Instant::now(), true),
            "an early wake-up does not poll"
        );
        s.reconfigure(every(), Duration::from_secs(600), Instant::now());
        assert_eq!(s.next_wake(), until, "nor does a reload");
        advance(Duration::from_secs(60)).await;
        assert!(s.due(Instant::now(), true));
    }

    #[tokio::test(start_paused = true)]
    async fn a_restored_cooldown_is_waited_out_and_backs_off_from_its_faults() {
        let mut s = schedule(Some((Duration::from_secs(90), 3)));
        assert!(!s.due(Instant::now(), true));
        assert_eq!(s.next_wake(), Instant::now() + Duration::from_secs(90));
        advance(Duration::from_secs(90)).await;
        assert!(s.due(Instant::now(), true));
        s.after(Instant::now(), Outcome::Failed { retry_after: None });
        let (until, faults) = s.cooldown().unwrap();
        assert_eq!(faults, 4);
        let wait = until - Instant::now();
        assert!(
            wait >= Duration::from_secs(384),
            "30 s × 2^4 less jitter: {wait:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_fresh_push_spares_polls_until_it_ages() {
        let mut s = schedule(None);
        s.after(
            Instant::now(),
            Outcome::Pushed {
                fresh_for: Duration::from_secs(20),
            },
        );
        assert_eq!(s.polling(), Polling::Pushed);
        assert!(!s.grant(Wish::Wake, Instant::now()));
        advance(Duration::from_secs(20)).await;
        assert!(s.due(Instant::now(), true));
    }

    #[tokio::test(start_paused = true)]
    async fn a_push_brings_the_next_poll_forward_but_not_within_an_interval() {
        let mut s = schedule(None);
        s.polling_now(Instant::now());
        s.after(
            Instant::now(),
            Outcome::Fresh {
                next_in: Duration::from_secs(240),
            },
        );
        advance(Duration::from_secs(10)).await;
        s.hasten(Instant::now());
        assert_eq!(s.next_wake(), Instant::now() + Duration::from_secs(20));
        s.hasten(Instant::now() + Duration::from_secs(500));
        assert_eq!(s.next_wake(), Instant::now() + Duration::from_secs(20));
        s.after(Instant::now(), Outcome::Failed { retry_after: None });
        let cooling = s.next_wake();
        s.hasten(Instant::now());
        assert_eq!(s.next_wake(), cooling, "a cooldown stands");
    }

    #[tokio::test(start_paused = true)]
    async fn refresh_is_held_to_its_minimum_gap() {
        let mut s = schedule(None);
        s.polling_now(Instant::now());
        s.after(Instant::now(), fresh());
        advance(Duration::from_secs(5)).await;
        assert!(!s.grant(Wish::Refresh, Instant::now()));
        advance(Duration::from_secs(5)).await;
        assert!(s.grant(Wish::Refresh, Instant::now()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_reload_polls_at_once_and_huge_waits_do_not_overflow() {
        let mut s = schedule(None);
        s.after(Instant::now(), fresh());
        s.reconfigure(every(), Duration::from_secs(600), Instant::now());
        assert_eq!(s.next_wake(), Instant::now());
        s.after(
            Instant::now(),
            Outcome::Fresh {
                next_in: Duration::MAX,
            },
        );
        assert!(s.next_wake() > Instant::now());
    }
}

/// Cadence over many rounds on the paused clock, where the end-to-end
/// tests used to sleep and count.
#[cfg(test)]
mod cadence;

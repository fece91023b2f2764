//! The schedule's cadence over many rounds, on tokio's paused clock: how
//! many polls in how many seconds, which the end-to-end tests cannot count
//! without sleeping. [`Driver`] plays the poller's loop as the schedule
//! sees it (wake at [`Schedule::next_wake`], poll when due, report the
//! round), so every count here is exact.

use claude_quota_proto::Polling;
use tokio::time::{Duration, Instant, advance};

use super::{Intervals, Outcome, Schedule, Wish};
use crate::backoff::Backoff;

/// `s` seconds.
fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Polling every `poll` s while someone listens, idle after `idle_after`
/// s without a listener, then every `idle_poll` s; a `refresh` at most
/// every 0.1 s.
fn every(poll: f64, idle_after: f64, idle_poll: f64) -> Intervals {
    Intervals {
        poll: secs(poll),
        idle_after: secs(idle_after),
        idle_poll: secs(idle_poll),
        refresh_min: secs(0.1),
    }
}

/// What happens around the poller while it runs.
#[derive(Debug, Default, Clone, Copy)]
struct World {
    /// Someone asks (or subscribes) between every two wake-ups.
    asked: bool,
    /// Every poll fails, with this `Retry-After` or none.
    failing: Option<Option<Duration>>,
    /// The status line pushes a reading this often.
    pushes_every: Option<Duration>,
}

impl World {
    fn asked() -> Self {
        World {
            asked: true,
            ..World::default()
        }
    }
}

/// The poller's loop as the schedule sees it, recording its polls.
struct Driver {
    schedule: Schedule,
    every: Intervals,
    /// When each poll began.
    polls: Vec<Instant>,
    /// When the status line last pushed a reading.
    last_push: Option<Instant>,
}

impl Driver {
    fn new(every: Intervals, backoff_cap: Duration) -> Self {
        let backoff = Backoff::new(every.poll, backoff_cap);
        Driver {
            schedule: Schedule::new(Instant::now(), every, backoff, None),
            every,
            polls: Vec::new(),
            last_push: None,
        }
    }

    /// Runs the loop in `world` for `span`: at each wake-up the round is
    /// spared while a push is fresher than a poll interval (as the poller
    /// does), else it polls.
    async fn run(&mut self, world: World, span: Duration) {
        let start = Instant::now();
        let end = start + span;
        // The pushes from `start` on, up to now.
        let pushed = |driver: &mut Driver| {
            if let Some(every) = world.pushes_every {
                let pushes = (Instant::now() - start).as_nanos() / every.as_nanos();
                let pushes = u32::try_from(pushes).expect("a test's number of pushes");
                driver.last_push = Some(start + every * pushes);
            }
        };
        loop {
            let wake = self.schedule.next_wake().max(Instant::now());
            if wake > end {
                advance(end - Instant::now()).await;
                pushed(self);
                return;
            }
            advance(wake - Instant::now()).await;
            pushed(self);
            let now = Instant::now();
            if !self.schedule.due(now, world.asked) {
                continue;
            }
            let fresh_push = self
                .last_push
                .filter(|&push| self.polls.last().is_none_or(|&poll| poll < push))
                .map(|push| now - push)
                .filter(|&age| age < self.every.poll);
            let outcome = match fresh_push {
                Some(age) => Outcome::Pushed {
                    fresh_for: self.every.poll - age,
                },
                None => self.poll(now, world),
            };
            self.schedule.after(now, outcome);
        }
    }

    /// A client's wish now, settled as the poller settles it: a poll at
    /// once when granted.
    fn wish(&mut self, wish: Wish) -> bool {
        let now = Instant::now();
        let granted = self.schedule.grant(wish, now);
        if granted {
            let outcome = self.poll(now, World::default());
            self.schedule.after(now, outcome);
        }
        granted
    }

    fn poll(&mut self, now: Instant, world: World) -> Outcome {
        self.schedule.polling_now(now);
        self.polls.push(now);
        match world.failing {
            Some(retry_after) => Outcome::Failed { retry_after },
            None if self.schedule.is_idle() => Outcome::Fresh {
                next_in: self.every.idle_poll,
            },
            None => Outcome::Fresh {
                next_in: self.every.poll,
            },
        }
    }

    /// The gaps between consecutive polls from the `from`th on.
    fn gaps(&self, from: usize) -> Vec<Duration> {
        self.polls[from..]
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .collect()
    }
}

#[tokio::test(start_paused = true)]
async fn while_someone_asks_it_polls_once_per_interval() {
    let mut poller = Driver::new(every(0.2, 0.5, 60.0), secs(600.0));
    poller.run(World::asked(), secs(2.9)).await;
    assert_eq!(poller.polls.len(), 15, "at 0, 0.2, … 2.8 s");
    assert!(poller.gaps(0).iter().all(|&gap| gap == secs(0.2)));
    assert_eq!(poller.schedule.polling(), Polling::Active);
}

#[tokio::test(start_paused = true)]
async fn without_a_listener_it_idles_and_polls_once_per_idle_interval() {
    let mut poller = Driver::new(every(0.25, 0.5, 2.0), secs(600.0));
    poller.run(World::default(), secs(9.0)).await;
    // Active at 0 and 0.25 s; idle from 0.5 s, polling 2 s after the last.
    assert_eq!(poller.polls.len(), 6, "{:?}", poller.gaps(0));
    assert_eq!(poller.gaps(0)[0], secs(0.25));
    assert!(poller.gaps(1).iter().all(|&gap| gap == secs(2.0)));
    assert_eq!(poller.schedule.polling(), Polling::Idle);

    // The first question polls at once, and questions keep polling at the
    // poll interval.
    let woken = Instant::now();
    assert!(poller.wish(Wish::Wake));
    assert_eq!(poller.polls.last(), Some(&woken));
    poller.run(World::asked(), secs(2.0)).await;
    assert_eq!(poller.polls.len(), 6 + 1 + 8);
    assert!(poller.gaps(6).iter().all(|&gap| gap == secs(0.25)));
    assert_eq!(poller.schedule.polling(), Polling::Active);
}

#[tokio::test(start_paused = true)]
async fn persistent_faults_back_off_to_the_cap_and_stay_there() {
    let (interval, cap) = (0.1, 1.6);
    let mut poller = Driver::new(every(interval, 600.0, 600.0), secs(cap));
    let failing = World {
        failing: Some(None),
        ..World::asked()
    };
    poller.run(failing, secs(8.0)).await;
    let gaps = poller.gaps(0);
    assert!((5..=10).contains(&gaps.len()), "{gaps:?}");
    for (faults, &gap) in (1..).zip(&gaps) {
        // interval × 2^faults, capped, less up to 20 % of jitter.
        let ceiling = secs((interval * f64::from(1 << faults)).min(cap));
        assert!(
            gap <= ceiling && gap >= ceiling.mul_f64(0.8),
            "{faults}: {gaps:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn no_refresh_wake_or_reload_polls_through_a_cooldown() {
    let cooldown = secs(120.0);
    let mut poller = Driver::new(every(0.2, 600.0, 600.0), secs(3600.0));
    let limited = World {
        failing: Some(Some(cooldown)),
        ..World::asked()
    };
    poller.run(limited, secs(0.0)).await;
    let limited_at = poller.polls[0];
    // Asked and refreshed every 0.1 s, reloaded halfway: no poll.
    for tick in 1..1200 {
        poller.run(World::asked(), secs(0.1)).await;
        assert!(!poller.wish(Wish::Refresh), "{tick}");
        assert!(!poller.wish(Wish::Wake), "{tick}");
        if tick == 600 {
            let every = poller.every;
            poller
                .schedule
                .reconfigure(every, secs(3600.0), Instant::now());
        }
    }
    assert_eq!(poller.polls.len(), 1);
    poller.run(World::asked(), secs(0.2)).await;
    assert_eq!(poller.polls[1..], [limited_at + cooldown], "once it ends");
}

#[tokio::test(start_paused = true)]
async fn steady_pushes_spare_every_poll_and_polling_resumes_when_they_stop() {
    let interval = secs(0.5);
    let mut poller = Driver::new(every(0.5, 600.0, 600.0), secs(600.0));
    poller.run(World::asked(), secs(0.1)).await;
    assert_eq!(poller.polls.len(), 1);
    // A push every 250 ms for 4 s (eight poll intervals): no poll.
    let pushing = World {
        pushes_every: Some(secs(0.25)),
        ..World::asked()
    };
    poller.run(pushing, secs(4.0)).await;
    assert_eq!(poller.polls.len(), 1);
    assert_eq!(poller.schedule.polling(), Polling::Pushed);
    // The pushes stop: a poll comes once the last is a poll interval old.
    let last_push = poller.last_push.expect("pushes");
    poller.run(World::asked(), secs(1.0)).await;
    assert_eq!(poller.polls[1], last_push + interval);
}

//! One account's poll loop: wait for the [`Schedule`]'s next wake-up, a
//! client's wish for a poll, a pushed reading or a reloaded config; then
//! poll once ([`Fetch`]), unless a fresh pushed reading spares the API, and
//! let the schedule say when the next poll is.
//!
//! It is the only task that talks to the API for its account, so there is
//! never more than one request in flight per account and client load cannot
//! multiply polls: clients only read the published state, and their wishes
//! for a poll (`refresh`, the first question after an idle spell) queue
//! here, are coalesced, and are refused while a cooldown is in force.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_credentials::Account;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::time::{Duration, Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::config::Config;
use crate::demand::DemandWatcher;
use crate::fetch::{Fetch, Fetched};
use crate::policy::{self, Now};
pub use crate::schedule::Wish;
use crate::schedule::{Intervals, Outcome, Schedule};
use crate::state::{AccountCell, Cooldown};

/// A client's wish for a poll; `done` is answered once the poll is over,
/// or at once when it is refused (too soon, or a cooldown is in force).
pub struct PollRequest {
    /// Why the client wants a poll.
    pub wish: Wish,
    /// Answered when the wish is settled.
    pub done: oneshot::Sender<()>,
}

/// How many times in a row an idle poll that found nothing new doubles the
/// idle interval (adaptive polling): at most 4 × `idle_poll_interval`.
const QUIET_DOUBLINGS: u32 = 2;

/// The longest saved cooldown honored after a restart, unless
/// `backoff_cap` is longer: what a `Retry-After` may ask for.
const MAX_SAVED_COOLDOWN: Duration = Duration::from_secs(3600);

/// What the rest of the daemon holds of a poller: where to send wishes
/// for a poll and how to tell it of a pushed reading.
#[derive(Debug, Clone)]
pub struct PollerLine {
    /// Wishes for a poll.
    pub wishes: mpsc::Sender<PollRequest>,
    /// Told when a pushed reading became current.
    pub pushed: Arc<Notify>,
}

/// The ends of a [`PollerLine`] the poller keeps.
pub struct PollerEnds {
    wishes: mpsc::Receiver<PollRequest>,
    pushed: Arc<Notify>,
}

/// A new line to a poller, and the ends it keeps.
pub fn line() -> (PollerLine, PollerEnds) {
    let (wishes, received) = mpsc::channel(POLL_QUEUE);
    let pushed = Arc::new(Notify::new());
    (
        PollerLine {
            wishes,
            pushed: Arc::clone(&pushed),
        },
        PollerEnds {
            wishes: received,
            pushed,
        },
    )
}

/// Queued wishes for a poll (`refresh`, waking from idle); more than this
/// many waiting clients simply wait for the next slot.
const POLL_QUEUE: usize = 256;

/// The task that owns one account's schedule and API client.
pub struct Poller {
    fetch: Fetch,
    account: String,
    state: AccountCell,
    config: watch::Receiver<Arc<Config>>,
    requests: mpsc::Receiver<PollRequest>,
    pushed: Arc<Notify>,
    demand: DemandWatcher,
    schedule: Schedule,
    /// The cooldown last published, by the schedule's instant: its wall
    /// time is worked out once, so the saved file does not churn.
    cooldown_shown: Option<(Instant, Cooldown)>,
    /// Idle polls in a row that found the windows unchanged.
    quiet: u32,
    /// A push contradicted the model: the next round asks the API even
    /// though that push is fresh.
    must_poll: bool,
}

impl Poller {
    /// `account`'s poller, publishing into its `state`, configured by
    /// `config`, polling often while `demand` shows someone listens,
    /// taking wishes and news of pushes on `ends`. A cooldown restored
    /// into `state` is waited out first (at most `backoff_cap` or an hour).
    pub fn new(
        account: Account,
        state: AccountCell,
        config: watch::Receiver<Arc<Config>>,
        ends: PollerEnds,
        demand: DemandWatcher,
    ) -> anyhow::Result<Self> {
        let current = config.borrow().clone();
        let restored = state.read(|s| s.cooldown).map(|cooldown| {
            let longest = current.backoff_cap.0.max(MAX_SAVED_COOLDOWN);
            let wait = (cooldown.until - Utc::now())
                .to_std()
                .unwrap_or_default()
                .min(longest);
            tracing::info!(
                account = %account.name,
                ?wait,
                faults = cooldown.faults,
                "waiting out the saved cooldown before polling"
            );
            (wait, cooldown.faults)
        });
        let backoff = Backoff::new(current.poll_interval.0, current.backoff_cap.0);
        let schedule = Schedule::new(Instant::now(), intervals(&current), backoff, restored);
        let mut poller = Poller {
            account: account.name.clone(),
            fetch: Fetch::new(&current, account, state.clone())?,
            state,
            config,
            requests: ends.wishes,
            pushed: ends.pushed,
            demand,
            schedule,
            cooldown_shown: None,
            quiet: 0,
            must_poll: false,
        };
        poller.publish();
        Ok(poller)
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let waiters = tokio::select! {
                () = shutdown.cancelled() => return,
                () = sleep_until(self.schedule.next_wake()) => {
                    let listened = self.demand.listened();
                    if !self.schedule.due(Instant::now(), listened) {
                        self.publish();
                        continue;
                    }
                    Vec::new()
                }
                Some(first) = self.requests.recv() => match self.accept(first) {
                    Some(waiters) => waiters,
                    None => continue,
                },
                Ok(()) = self.config.changed() => {
                    self.reconfigure();
                    continue;
                }
                () = self.pushed.notified() => {
                    self.replan();
                    continue;
                }
            };
            // A poll may hang on a credential read or the network; shutdown
            // does not wait for it.
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.poll_once() => {}
            }
            for waiter in waiters {
                let _ = waiter.send(());
            }
        }
    }

    /// Settles a wish and every one already queued with it: returns them
    /// to answer after a poll now, or answers them at once (`None`) when
    /// no poll is allowed.
    fn accept(&mut self, first: PollRequest) -> Option<Vec<oneshot::Sender<()>>> {
        let mut wishes = vec![first];
        while let Ok(more) = self.requests.try_recv() {
            wishes.push(more);
        }
        let now = Instant::now();
        let granted: Vec<bool> = wishes
            .iter()
            .map(|w| self.schedule.grant(w.wish, now))
            .collect();
        self.publish();
        let waiters = wishes.into_iter().map(|w| w.done);
        if granted.contains(&true) {
            return Some(waiters.collect());
        }
        for waiter in waiters {
            let _ = waiter.send(());
        }
        None
    }

    /// Applies a reloaded config, then polls at once, unless a cooldown is
    /// in force.
    fn reconfigure(&mut self) {
        let config = self.config.borrow_and_update().clone();
        self.fetch.reconfigure(&config);
        self.schedule
            .reconfigure(intervals(&config), config.backoff_cap.0, Instant::now());
        tracing::info!(account = %self.account, poll_interval = %config.poll_interval, api_url = %config.api_url, "config reloaded");
        self.publish();
    }

    /// One round, then the schedule it leads to.
    async fn poll_once(&mut self) {
        let spared = if std::mem::take(&mut self.must_poll) {
            None
        } else {
            self.pushed_reading_fresh_for()
        };
        let outcome = match spared {
            Some(fresh_for) => {
                tracing::debug!(account = %self.account, ?fresh_for, "pushed reading is fresh; not polling");
                Outcome::Pushed { fresh_for }
            }
            None => {
                self.schedule.polling_now(Instant::now());
                let before = self.utilizations();
                match self.fetch.poll().await {
                    Fetched::Reading => Outcome::Fresh {
                        next_in: self.next_in(before),
                    },
                    Fetched::NoCredentials => Outcome::NoCredentials,
                    Fetched::Failed { retry_after } => Outcome::Failed { retry_after },
                }
            }
        };
        self.schedule.after(Instant::now(), outcome);
        tracing::debug!(account = %self.account, ?outcome, phase = ?self.schedule.phase(), "polled");
        self.publish();
    }

    /// When to poll after a fresh reading: the plan of the policy while
    /// someone listens; while idle, `idle_poll_interval`, doubled (up to
    /// [`QUIET_DOUBLINGS`] times, when adaptive) for every idle poll in a
    /// row that found the windows as they were (`before`).
    fn next_in(&mut self, before: Option<(Option<f64>, Option<f64>)>) -> Duration {
        let config = self.config.borrow().clone();
        if !self.schedule.is_idle() {
            self.quiet = 0;
            return self
                .state
                .read(|s| policy::next_poll_in(s, &config, Now::current()));
        }
        if config.policy.adaptive && before.is_some() && before == self.utilizations() {
            self.quiet = (self.quiet + 1).min(QUIET_DOUBLINGS);
        } else {
            self.quiet = 0;
        }
        config.idle_poll_interval.0.saturating_mul(1 << self.quiet)
    }

    /// The 5-hour and 7-day utilization of the reading held.
    fn utilizations(&self) -> Option<(Option<f64>, Option<f64>)> {
        let utilization = |w: Option<claude_quota_proto::Window>| w.map(|w| w.utilization);
        self.state.read(|s| {
            let reading = s.reading.as_ref()?;
            Some((
                utilization(reading.five_hour),
                utilization(reading.seven_day),
            ))
        })
    }

    /// A pushed reading became current. When it contradicts the model the
    /// plan rested on, the next poll comes at once (within the limits of
    /// the schedule: never within `poll_interval` of the last, never in a
    /// cooldown); otherwise the plan moves forward if the push says it
    /// should.
    fn replan(&mut self) {
        let config = self.config.borrow().clone();
        if !config.policy.adaptive {
            return;
        }
        let now = Now::current();
        let (contradicts, next_in) = self.state.read(|s| {
            (
                policy::contradicts_model(s, now),
                policy::next_poll_in(s, &config, now),
            )
        });
        if contradicts {
            tracing::debug!(account = %self.account, "a pushed reading contradicts the model; polling at once");
            self.must_poll = true;
            self.schedule.hasten(Instant::now());
        } else {
            self.schedule.hasten(Instant::now() + next_in);
        }
        self.publish();
    }

    /// How much longer a pushed reading spares the API: until it is as old
    /// as the plan says a reading may get (`poll_interval` on the fixed
    /// schedule).
    fn pushed_reading_fresh_for(&self) -> Option<Duration> {
        let config = self.config.borrow().clone();
        self.state.read(|s| {
            let reading = s.reading.as_ref()?;
            if !reading.source.is_pushed() {
                return None;
            }
            let now = Now::current();
            let horizon = policy::next_poll_in(s, &config, now);
            let age = reading.age(now.monotonic);
            horizon.checked_sub(age).filter(|left| !left.is_zero())
        })
    }

    /// Shows the schedule: how the API is polled, when next, the cooldown
    /// to save; and tells requests whether the poller idles.
    fn publish(&mut self) {
        self.demand.set_idle(self.schedule.is_idle());
        let now = Instant::now();
        let polling = self.schedule.polling();
        let next_poll_at = wall_after(self.schedule.next_wake().saturating_duration_since(now));
        self.cooldown_shown =
            self.schedule
                .cooldown()
                .map(|(until, faults)| match self.cooldown_shown {
                    Some((shown, cooldown)) if shown == until => (shown, cooldown),
                    _ => {
                        let wall = wall_after(until.saturating_duration_since(now));
                        (
                            until,
                            Cooldown {
                                until: wall,
                                faults,
                            },
                        )
                    }
                });
        let cooldown = self.cooldown_shown.map(|(_, cooldown)| cooldown);
        if self.state.read(|s| s.polling != polling) {
            tracing::info!(account = %self.account, "polling {polling}");
        }
        self.state.modify_if(|s| {
            let changed = s.polling != polling || s.cooldown != cooldown;
            s.polling = polling;
            s.cooldown = cooldown;
            s.next_poll_at = Some(next_poll_at);
            changed
        });
    }
}

/// The schedule's intervals in `config`.
fn intervals(config: &Config) -> Intervals {
    Intervals {
        poll: config.poll_interval.0,
        idle_after: config.idle_after.0,
        idle_poll: config.idle_poll_interval.0,
        refresh_min: config.refresh_min_interval.0,
    }
}

/// The wall time `wait` from now, saturating far in the future.
fn wall_after(wait: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(wait)
        .ok()
        .and_then(|wait| Utc::now().checked_add_signed(wait))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

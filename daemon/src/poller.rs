//! The poll loop: at start and then every `poll_interval` while someone
//! listens, every `idle_poll_interval` while nobody does, longer while
//! backing off; read the token, ask the usage API, publish the reading.
//!
//! It is the only task that talks to the API, so there is never more than
//! one request in flight and client load cannot multiply polls: clients
//! only read the published state, and their wishes for a poll (`refresh`,
//! the first question after an idle spell) queue here, are coalesced, and
//! are refused while a cooldown is in force.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_proto::{CredentialSource, LastErrorKind, Polling};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Duration, Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use claude_quota_credentials::Credentials;

use crate::backoff::Backoff;
use crate::config::Config;
use crate::credential_cache::CredentialCache;
use crate::demand::Demand;
use crate::state::{Cooldown, CredentialInfo, Snapshot};
use crate::usage_api::{ApiError, UsageApi, default_user_agent};
use crate::usage_reply::Parsed;

/// The usage API client `config` describes, with its `User-Agent`.
fn api_client(config: &Config) -> anyhow::Result<UsageApi> {
    let agent = config.user_agent.clone().unwrap_or_else(default_user_agent);
    UsageApi::new(&config.api_url, agent)
}

/// Which sources lacked the scope and what to do, for the
/// `insufficient_scope` message.
fn scope_fix(lacking: &[CredentialSource]) -> String {
    let names: Vec<&str> = lacking.iter().map(|source| source.as_str()).collect();
    let unset = if lacking.contains(&CredentialSource::Env) {
        "unset CLAUDE_CODE_OAUTH_TOKEN for the daemon so it reads Claude Code's login, or "
    } else {
        "log in with `claude` (not `claude setup-token`), or "
    };
    format!(
        "; sources lacking user:profile: {}. Fix: {unset}rely on pushed readings (`claude-quota statusline`, `ingest_headers`)",
        names.join(", ")
    )
}

/// A client's wish for a poll; `done` is answered once the poll is over,
/// or at once when it is refused (too soon, or a cooldown is in force).
pub struct PollRequest {
    /// Why the client wants a poll.
    pub wish: Wish,
    /// Answered when the wish is settled.
    pub done: oneshot::Sender<()>,
}

/// Why a client wants a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wish {
    /// `refresh`: poll now, unless the last poll is younger than
    /// `refresh_min_interval`.
    Refresh,
    /// The first question after an idle spell: back to active polling, and
    /// poll now if the active schedule would have by now.
    Wake,
}

/// The longest saved cooldown honored after a restart, unless
/// `backoff_cap` is longer: what a `Retry-After` may ask for.
const MAX_SAVED_COOLDOWN: Duration = Duration::from_secs(3600);

/// The task that owns the API client and the credentials.
pub struct Poller {
    api: UsageApi,
    credentials: CredentialCache,
    state: Arc<watch::Sender<Snapshot>>,
    config: watch::Receiver<Arc<Config>>,
    requests: mpsc::Receiver<PollRequest>,
    demand: Arc<Demand>,
    backoff: Backoff,
    /// When the last request to the API began.
    last_poll: Option<Instant>,
    /// When the last round ended, whether or not it asked the API: the
    /// idle schedule counts from there.
    last_round: Option<Instant>,
    /// When the active schedule polls next (the end of a cooldown when
    /// `cooling`).
    next_allowed: Instant,
    /// Whether the last round failed: until `next_allowed` nothing polls,
    /// not `refresh`, not a reload, not a restart.
    cooling: bool,
    /// Whether the last round was skipped for a fresh pushed reading.
    skipped: bool,
    /// Whether nobody listened for `idle_after`.
    idle: bool,
    /// When a request, a subscriber or a push was last seen.
    last_demand: Instant,
    /// When the loop wakes next.
    due: Instant,
}

/// What one round of the loop did, which decides when the next one runs.
enum Outcome {
    /// A reading arrived.
    Fresh,
    /// A pushed reading is fresh; look again when it would be due.
    Skipped(Duration),
    /// No usable credentials: try again at the plain interval.
    NoCredentials,
    /// The API failed.
    Failed(Option<Duration>),
}

impl Poller {
    /// A poller publishing into `state`, configured by `config`, polling
    /// often while `demand` shows someone listens. A cooldown restored
    /// into `state` is waited out first (at most `backoff_cap` or an hour).
    pub fn new(
        state: Arc<watch::Sender<Snapshot>>,
        config: watch::Receiver<Arc<Config>>,
        requests: mpsc::Receiver<PollRequest>,
        demand: Arc<Demand>,
    ) -> anyhow::Result<Self> {
        let current = config.borrow().clone();
        let mut backoff = Backoff::new(current.poll_interval.0, current.backoff_cap.0);
        let now = Instant::now();
        let restored = state.borrow().cooldown;
        let next_allowed = match restored {
            Some(cooldown) => {
                backoff.restore(cooldown.faults);
                let longest = current.backoff_cap.0.max(MAX_SAVED_COOLDOWN);
                let wait = (cooldown.until - Utc::now())
                    .to_std()
                    .unwrap_or_default()
                    .min(longest);
                tracing::info!(
                    ?wait,
                    faults = cooldown.faults,
                    "waiting out the saved cooldown before polling"
                );
                let until = wall_after(wait);
                state.send_modify(|s| s.cooldown = Some(Cooldown { until, ..cooldown }));
                instant_after(now, wait)
            }
            None => now,
        };
        let poller = Poller {
            api: api_client(&current)?,
            credentials: CredentialCache::standard(current.keychain),
            state,
            backoff,
            config,
            requests,
            demand,
            last_poll: None,
            last_round: None,
            next_allowed,
            cooling: restored.is_some(),
            skipped: false,
            idle: false,
            last_demand: now,
            due: next_allowed,
        };
        poller.publish_schedule();
        Ok(poller)
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let waiters = tokio::select! {
                () = shutdown.cancelled() => return,
                () = sleep_until(self.due) => {
                    if !self.due_to_poll() {
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

    /// At a scheduled wake-up: notes whether anyone listened since the last
    /// one, idles when nobody did for `idle_after`, and says whether to
    /// poll now (else the next wake-up is scheduled).
    fn due_to_poll(&mut self) -> bool {
        let now = Instant::now();
        let config = self.config.borrow().clone();
        if self.demand.take_asked() || self.demand.has_subscribers() {
            self.last_demand = now;
        }
        let idle = now.saturating_duration_since(self.last_demand) >= config.idle_after.0;
        self.set_idle(idle);
        if idle {
            let idle_due = self
                .last_round
                .and_then(|at| at.checked_add(config.idle_poll_interval.0))
                .unwrap_or(now)
                .max(self.next_allowed);
            if idle_due > now {
                self.schedule(idle_due);
                return false;
            }
        }
        true
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
        if wishes.iter().any(|w| w.wish == Wish::Wake) {
            self.last_demand = now;
            self.set_idle(false);
            self.schedule(self.next_allowed.max(now));
        }
        let poll = wishes.iter().any(|w| self.grants(w.wish, now));
        let waiters = wishes.into_iter().map(|w| w.done);
        if poll {
            return Some(waiters.collect());
        }
        for waiter in waiters {
            let _ = waiter.send(());
        }
        None
    }

    /// Whether `wish` may poll now. Nothing overrides a cooldown.
    fn grants(&self, wish: Wish, now: Instant) -> bool {
        if self.cooling && now < self.next_allowed {
            return false;
        }
        match wish {
            Wish::Wake => now >= self.next_allowed,
            Wish::Refresh => {
                let min_gap = self.config.borrow().refresh_min_interval.0;
                self.last_poll
                    .is_none_or(|at| now.saturating_duration_since(at) >= min_gap)
            }
        }
    }

    /// Applies a reloaded config, then polls at once, unless a cooldown is
    /// in force.
    fn reconfigure(&mut self) {
        let config = self.config.borrow_and_update().clone();
        if config.keychain != self.credentials.keychain() {
            self.credentials = CredentialCache::standard(config.keychain);
        }
        self.backoff
            .reconfigure(config.poll_interval.0, config.backoff_cap.0);
        match api_client(&config) {
            Ok(api) => self.api = api,
            Err(err) => {
                tracing::error!(%err, "cannot build the usage API client; keeping the old one")
            }
        }
        tracing::info!(poll_interval = %config.poll_interval, api_url = %config.api_url, "config reloaded");
        let now = Instant::now();
        self.schedule(if self.cooling {
            self.next_allowed.max(now)
        } else {
            now
        });
    }

    /// One round, then the schedule it leads to.
    async fn poll_once(&mut self) {
        let interval = self.config.borrow().poll_interval.0;
        let outcome = self.round(interval).await;
        let delay = match outcome {
            Outcome::Fresh => self.backoff.success(),
            Outcome::Skipped(wait) => wait,
            Outcome::NoCredentials => interval,
            Outcome::Failed(retry_after) => self.backoff.failure(retry_after),
        };
        self.skipped = matches!(outcome, Outcome::Skipped(_));
        self.cooling = matches!(outcome, Outcome::Failed(_));
        let now = Instant::now();
        self.last_round = Some(now);
        self.next_allowed = instant_after(now, delay);
        let cooldown = self.cooling.then(|| Cooldown {
            until: wall_after(delay),
            faults: self.backoff.faults(),
        });
        self.state.send_if_modified(|s| {
            let changed = s.cooldown != cooldown;
            s.cooldown = cooldown;
            changed
        });
        self.set_idle(self.idle);
        self.schedule(self.next_allowed);
    }

    /// Idles or not, and shows how the API is polled.
    fn set_idle(&mut self, idle: bool) {
        if idle != self.idle {
            let every = if idle {
                self.config.borrow().idle_poll_interval
            } else {
                self.config.borrow().poll_interval
            };
            let mode = if idle { "idle" } else { "active" };
            tracing::info!(%every, "polling {mode}");
        }
        self.idle = idle;
        self.demand.set_idle(idle);
        let polling = match (idle, self.skipped) {
            (true, _) => Polling::Idle,
            (false, true) => Polling::Pushed,
            (false, false) => Polling::Active,
        };
        self.state.send_if_modified(|s| {
            let changed = s.polling != polling;
            s.polling = polling;
            changed
        });
    }

    /// Sets the next wake-up and shows it as `next_poll_at`.
    fn schedule(&mut self, at: Instant) {
        self.due = at;
        self.publish_schedule();
    }

    fn publish_schedule(&self) {
        let next = wall_after(self.due.saturating_duration_since(Instant::now()));
        self.state.send_modify(|s| s.next_poll_at = Some(next));
    }

    async fn round(&mut self, interval: Duration) -> Outcome {
        if let Some(wait) = self.pushed_reading_fresh_for(interval) {
            tracing::debug!(?wait, "pushed reading is fresh; not polling");
            return Outcome::Skipped(wait);
        }
        let now = Utc::now();
        let credentials = match self.credentials.current(now).await {
            Ok(credentials) => credentials,
            Err(message) => {
                self.publish_credentials(None);
                self.fault(LastErrorKind::NoCredentials, message, now);
                return Outcome::NoCredentials;
            }
        };
        self.publish_credentials(Some(&credentials));
        self.last_poll = Some(Instant::now());
        let scopes = credentials.scopes.join(" ");
        match self.fetch(credentials).await {
            Ok(parsed) => {
                let recovered = self.state.borrow().last_error.is_some();
                self.state.send_modify(|s| {
                    s.offer(parsed.reading);
                    s.last_reply_shape = Some(parsed.shape);
                    s.last_reply_dropped = parsed.dropped;
                    s.last_error = None;
                });
                if recovered {
                    tracing::info!("usage API answered again");
                }
                Outcome::Fresh
            }
            Err(err) => {
                let retry_after = match &err {
                    ApiError::RateLimited { retry_after } => *retry_after,
                    _ => None,
                };
                let mut message = err.to_string();
                if err == ApiError::InsufficientScope {
                    if !scopes.is_empty() {
                        message.push_str(&format!(" (its scopes: {scopes})"));
                    }
                    message.push_str(&scope_fix(self.credentials.lacking_scope()));
                }
                self.fault(err.kind(), message, Utc::now());
                Outcome::Failed(retry_after)
            }
        }
    }

    /// How much longer a pushed reading stays fresher than `interval`.
    fn pushed_reading_fresh_for(&self, interval: Duration) -> Option<Duration> {
        let state = self.state.borrow();
        let reading = state.reading.as_ref()?;
        if !reading.source.is_pushed() {
            return None;
        }
        let age = reading.age(std::time::Instant::now());
        interval.checked_sub(age).filter(|left| !left.is_zero())
    }

    /// Asks the API; on 401 reads the sources again and, if they now hold
    /// another token, asks once more with it. On 403 (the token lacks
    /// `user:profile`, as an inference-only one does) the sources are read
    /// again and the first token not yet refused so is asked, until none is
    /// left: so a login made while every token lacked the scope is found
    /// at the next poll.
    async fn fetch(&mut self, mut credentials: Credentials) -> Result<Parsed, ApiError> {
        loop {
            match self.call(&credentials).await {
                Err(ApiError::InsufficientScope) => {
                    self.credentials.lacks_scope(&credentials);
                    let next = self.credentials.reload().await.ok();
                    self.publish_credentials(next.as_ref());
                    match next {
                        Some(next) if !self.credentials.known_to_lack_scope(&next) => {
                            tracing::warn!(
                                lacking = %credentials.source.as_str(),
                                next = %next.source.as_str(),
                                "token lacks the user:profile scope; trying the next source"
                            );
                            credentials = next;
                        }
                        _ => return Err(ApiError::InsufficientScope),
                    }
                }
                other => return self.after_unauthorized(credentials, other).await,
            }
        }
    }

    /// On 401 reads the sources again and, if they now hold another token,
    /// asks once more with it; any other answer stands.
    async fn after_unauthorized(
        &mut self,
        credentials: Credentials,
        answer: Result<Parsed, ApiError>,
    ) -> Result<Parsed, ApiError> {
        match answer {
            Err(ApiError::Unauthorized) => {
                let fresh = self.credentials.reload().await.ok();
                self.publish_credentials(fresh.as_ref());
                match fresh {
                    Some(fresh) if fresh.token != credentials.token => {
                        tracing::info!(source = %fresh.source.as_str(), "token refused; retrying with the re-read one");
                        self.call(&fresh).await
                    }
                    _ => Err(ApiError::Unauthorized),
                }
            }
            other => other,
        }
    }

    async fn call(&mut self, credentials: &Credentials) -> Result<Parsed, ApiError> {
        self.state.send_modify(|s| s.api_calls += 1);
        self.api.fetch(&credentials.token, Utc::now()).await
    }

    fn publish_credentials(&self, credentials: Option<&Credentials>) {
        let lacking_scope = self.credentials.lacking_scope().to_vec();
        let info = match credentials {
            Some(c) => CredentialInfo {
                source: c.source,
                subscription_type: c.subscription_type.clone(),
                expires_at: c.expires_at,
                lacking_scope,
            },
            None => CredentialInfo {
                lacking_scope,
                ..Snapshot::default().credentials
            },
        };
        self.state.send_if_modified(|s| {
            let changed = s.credentials != info;
            s.credentials = info;
            changed
        });
    }

    /// Shows a fault in `last_error` and logs it once.
    fn fault(&self, kind: LastErrorKind, message: String, at: DateTime<Utc>) {
        let mut new = false;
        self.state
            .send_modify(|s| new = s.record_error(kind, message.clone(), at));
        if new {
            tracing::warn!(kind = kind.as_str(), %message, "poll failed; keeping the last good reading");
        } else {
            tracing::debug!(kind = kind.as_str(), "poll failed again");
        }
    }
}

/// `wait` after `now`; an instant too far to represent becomes the longest
/// cooldown honored.
fn instant_after(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait)
        .unwrap_or_else(|| now + MAX_SAVED_COOLDOWN)
}

/// The wall time `wait` from now, saturating far in the future.
fn wall_after(wait: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(wait)
        .ok()
        .and_then(|wait| Utc::now().checked_add_signed(wait))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

//! The poll loop: at start and then every `poll_interval` (longer while
//! backing off), read the token, ask the usage API, publish the reading.
//!
//! It is the only task that talks to the API, so there is never more than
//! one request in flight and client load cannot multiply polls: clients
//! only read the published state, and `refresh` requests queue here, are
//! coalesced, and are rate-limited.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use claude_quota_proto::LastErrorKind;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Duration, Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::config::Config;
use crate::credentials::{CredentialCache, Credentials};
use crate::reading::Reading;
use crate::state::{CredentialInfo, Snapshot};
use crate::usage_api::{ApiError, UsageApi};

/// A client's wish for a poll now; answered once the poll is done (or at
/// once when a poll happened too recently to allow another).
pub type RefreshRequest = oneshot::Sender<()>;

/// The task that owns the API client and the credentials.
pub struct Poller {
    api: UsageApi,
    credentials: CredentialCache,
    state: Arc<watch::Sender<Snapshot>>,
    config: watch::Receiver<Arc<Config>>,
    refresh: mpsc::Receiver<RefreshRequest>,
    backoff: Backoff,
    last_poll: Option<Instant>,
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
    /// A poller publishing into `state`, configured by `config`.
    pub fn new(
        state: Arc<watch::Sender<Snapshot>>,
        config: watch::Receiver<Arc<Config>>,
        refresh: mpsc::Receiver<RefreshRequest>,
    ) -> anyhow::Result<Self> {
        let current = config.borrow().clone();
        Ok(Poller {
            api: UsageApi::new(&current.api_url)?,
            credentials: CredentialCache::standard(current.keychain),
            state,
            backoff: Backoff::new(current.poll_interval.0, current.backoff_cap.0),
            config,
            refresh,
            last_poll: None,
        })
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut due = Instant::now();
        loop {
            let waiters = tokio::select! {
                () = shutdown.cancelled() => return,
                () = sleep_until(due) => Vec::new(),
                Some(first) = self.refresh.recv() => match self.accept_refresh(first) {
                    Some(waiters) => waiters,
                    None => continue,
                },
                Ok(()) = self.config.changed() => {
                    due = self.reconfigure();
                    continue;
                }
            };
            let delay = self.poll_once().await;
            due = Instant::now() + delay;
            let next = Utc::now() + delay;
            self.state.send_modify(|s| s.next_poll_at = Some(next));
            for waiter in waiters {
                let _ = waiter.send(());
            }
        }
    }

    /// Turns a refresh request into a poll now, together with every request
    /// already queued; or answers it at once when the last poll is younger
    /// than `refresh_min_interval`.
    fn accept_refresh(&mut self, first: RefreshRequest) -> Option<Vec<RefreshRequest>> {
        let min_gap = self.config.borrow().refresh_min_interval.0;
        if self.last_poll.is_some_and(|at| at.elapsed() < min_gap) {
            let _ = first.send(());
            return None;
        }
        let mut waiters = vec![first];
        while let Ok(more) = self.refresh.try_recv() {
            waiters.push(more);
        }
        Some(waiters)
    }

    /// Applies a reloaded config; returns when the next poll is due.
    fn reconfigure(&mut self) -> Instant {
        let config = self.config.borrow_and_update().clone();
        if config.keychain != self.credentials.keychain() {
            self.credentials = CredentialCache::standard(config.keychain);
        }
        self.backoff
            .reconfigure(config.poll_interval.0, config.backoff_cap.0);
        match UsageApi::new(&config.api_url) {
            Ok(api) => self.api = api,
            Err(err) => {
                tracing::error!(%err, "cannot build the usage API client; keeping the old one")
            }
        }
        tracing::info!(poll_interval = %config.poll_interval, api_url = %config.api_url, "config reloaded");
        Instant::now()
    }

    /// One round: returns how long to wait before the next.
    async fn poll_once(&mut self) -> Duration {
        let interval = self.config.borrow().poll_interval.0;
        let outcome = self.round(interval).await;
        match outcome {
            Outcome::Fresh => self.backoff.success(),
            Outcome::Skipped(wait) => wait,
            Outcome::NoCredentials => interval,
            Outcome::Failed(retry_after) => self.backoff.failure(retry_after),
        }
    }

    async fn round(&mut self, interval: Duration) -> Outcome {
        let now = Utc::now();
        if let Some(wait) = self.pushed_reading_fresh_for(interval, now) {
            tracing::debug!(?wait, "pushed reading is fresh; not polling");
            return Outcome::Skipped(wait);
        }
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
            Ok(reading) => {
                let recovered = self.state.borrow().last_error.is_some();
                self.state.send_modify(|s| {
                    s.offer(reading);
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
                if err == ApiError::InsufficientScope && !scopes.is_empty() {
                    message.push_str(&format!(" (its scopes: {scopes})"));
                }
                self.fault(err.kind(), message, Utc::now());
                Outcome::Failed(retry_after)
            }
        }
    }

    /// How much longer a pushed reading stays fresher than `interval`.
    fn pushed_reading_fresh_for(&self, interval: Duration, now: DateTime<Utc>) -> Option<Duration> {
        let state = self.state.borrow();
        let reading = state.reading.as_ref()?;
        if !reading.source.is_pushed() {
            return None;
        }
        let age = reading.age(now).to_std().unwrap_or_default();
        interval.checked_sub(age).filter(|left| !left.is_zero())
    }

    /// Asks the API; on 401 reads the sources again and, if they now hold
    /// another token, asks once more with it.
    async fn fetch(&mut self, credentials: Credentials) -> Result<Reading, ApiError> {
        match self.call(&credentials).await {
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

    async fn call(&mut self, credentials: &Credentials) -> Result<Reading, ApiError> {
        self.state.send_modify(|s| s.api_calls += 1);
        self.api.fetch(&credentials.token, Utc::now()).await
    }

    fn publish_credentials(&self, credentials: Option<&Credentials>) {
        let info = match credentials {
            Some(c) => CredentialInfo {
                source: c.source,
                subscription_type: c.subscription_type.clone(),
                expires_at: c.expires_at,
            },
            None => Snapshot::default().credentials,
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

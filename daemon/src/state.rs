//! What the daemon knows, for every account, as one value published
//! through a `tokio::sync::watch` channel: each account's poller and
//! `ingest` write their account's part ([`AccountCell`]), every connection
//! reads the latest without waiting on anyone.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use claude_quota_credentials::Account;
use claude_quota_proto::{CredentialSource, LastError, LastErrorKind, Polling, ReplyShape};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::forecast::{History, Sample};
use crate::reading::Reading;

/// What the daemon knows of every account it runs, in order of preference
/// (lowest `priority` first), as the config lists them.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// One entry per account.
    pub accounts: Vec<AccountState>,
}

/// One account and what the daemon knows of it.
#[derive(Debug, Clone)]
pub struct AccountState {
    /// The account, as configured.
    pub account: Account,
    /// What is known of its usage.
    pub snapshot: Snapshot,
}

impl State {
    /// The state of the account named `name`.
    pub fn get(&self, name: &str) -> Option<&AccountState> {
        self.accounts.iter().find(|held| held.account.name == name)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Snapshot> {
        self.accounts
            .iter_mut()
            .find(|held| held.account.name == name)
            .map(|held| &mut held.snapshot)
    }
}

/// One account's part of the shared state, for the tasks that write it
/// (its poller, `ingest`): they read and change their own account only,
/// and every reader of the state sees the change.
#[derive(Clone)]
pub struct AccountCell {
    state: Arc<watch::Sender<State>>,
    name: Arc<str>,
}

impl AccountCell {
    /// The part of `state` that belongs to the account named `name`.
    pub fn new(state: Arc<watch::Sender<State>>, name: &str) -> Self {
        AccountCell {
            state,
            name: name.into(),
        }
    }

    /// `read` of the account's snapshot (an empty one once the account is
    /// gone from the config, which its poller is stopped before).
    pub fn read<T>(&self, read: impl FnOnce(&Snapshot) -> T) -> T {
        let state = self.state.borrow();
        match state.get(&self.name) {
            Some(held) => read(&held.snapshot),
            None => read(&Snapshot::default()),
        }
    }

    /// Changes the account's snapshot and tells every reader.
    pub fn modify(&self, change: impl FnOnce(&mut Snapshot)) {
        self.modify_if(|snapshot| {
            change(snapshot);
            true
        });
    }

    /// Changes the account's snapshot; tells every reader when `change`
    /// says it changed something they show.
    pub fn modify_if(&self, change: impl FnOnce(&mut Snapshot) -> bool) {
        self.state
            .send_if_modified(|state| state.get_mut(&self.name).is_some_and(change));
    }
}

/// The daemon's state at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The newest good reading, from any source.
    pub reading: Option<Reading>,
    /// The most recent fault, cleared by the next good poll.
    pub last_error: Option<LastError>,
    /// Which credentials are in use, never the token itself.
    pub credentials: CredentialInfo,
    /// The form of the last good usage reply.
    pub last_reply_shape: Option<ReplyShape>,
    /// The parts of the last good usage reply that could not be read.
    pub last_reply_dropped: Vec<String>,
    /// When the poller will next ask the API.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Requests made to the usage API since start.
    pub api_calls: u64,
    /// Faults recorded since start, by kind, for the metrics.
    pub faults: FaultCounts,
    /// When a valid reading was last pushed through `ingest`.
    pub last_push_at: Option<DateTime<Utc>>,
    /// The recent 5-hour readings, for the forecast.
    pub history: History,
    /// How the API is being polled now.
    pub polling: Polling,
    /// While backing off after a fault: when the next poll may happen.
    /// Saved with the reading, so a restart does not poll before then.
    pub cooldown: Option<Cooldown>,
}

/// A wait imposed by faults (backoff) or by the API (`Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cooldown {
    /// No poll before this moment (wall time: it must survive a restart).
    pub until: DateTime<Utc>,
    /// Faults in a row so far, which set how long the next backoff is.
    pub faults: u32,
}

/// How many faults of each kind were recorded since the daemon started:
/// `last_error` shows only the latest, a dashboard wants the rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
/// (A fieldless enum's discriminant is its place, below `ALL.len()`.)
pub struct FaultCounts([u64; LastErrorKind::ALL.len()]);

impl FaultCounts {
    /// Counts one fault of `kind`.
    pub fn count(&mut self, kind: LastErrorKind) {
        let slot = &mut self.0[kind as usize];
        *slot = slot.saturating_add(1);
    }

    /// The faults of `kind` so far.
    pub fn of(&self, kind: LastErrorKind) -> u64 {
        self.0[kind as usize]
    }
}

/// What may be shown of the credentials in use.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialInfo {
    /// Which source yielded the token.
    pub source: CredentialSource,
    /// The plan, when stored.
    pub subscription_type: Option<String>,
    /// When the token expires, when stored.
    pub expires_at: Option<DateTime<Utc>>,
    /// The sources whose tokens the usage API refused for want of
    /// `user:profile`, whether or not another source stood in.
    pub lacking_scope: Vec<CredentialSource>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            reading: None,
            last_error: None,
            credentials: CredentialInfo {
                source: CredentialSource::None,
                subscription_type: None,
                expires_at: None,
                lacking_scope: Vec::new(),
            },
            last_reply_shape: None,
            last_reply_dropped: Vec::new(),
            next_poll_at: None,
            api_calls: 0,
            faults: FaultCounts::default(),
            last_push_at: None,
            history: History::default(),
            polling: Polling::Active,
            cooldown: None,
        }
    }
}

impl Snapshot {
    /// Takes `reading` if it is newer than the one held, by the monotonic
    /// clock; returns whether it was taken, so an older push never
    /// overwrites a newer poll, and a wall clock that steps back never
    /// makes a new reading look older than the held one.
    pub fn offer(&mut self, reading: Reading) -> bool {
        let now = std::time::Instant::now();
        let newer = self
            .reading
            .as_ref()
            .is_none_or(|held| reading.is_newer_than(held, now));
        if newer {
            self.history.record(Sample {
                at: reading.as_of,
                utilization: reading.five_hour.map_or(0.0, |w| w.utilization),
                resets_at: reading.five_hour.and_then(|w| w.resets_at),
                seven_day: reading.seven_day.map(|w| w.utilization),
            });
            self.reading = Some(reading);
        }
        newer
    }

    /// Records a fault and counts it; returns whether it differs from the
    /// one already shown, so the caller logs each fault once rather than
    /// every poll.
    pub fn record_error(
        &mut self,
        kind: LastErrorKind,
        message: String,
        at: DateTime<Utc>,
    ) -> bool {
        let new = self
            .last_error
            .as_ref()
            .is_none_or(|held| held.kind != kind || held.message != message);
        self.last_error = Some(LastError { kind, message, at });
        self.faults.count(kind);
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_is_counted_by_kind_also_when_it_repeats() {
        let mut state = Snapshot::default();
        let at = Utc::now();
        assert!(state.record_error(LastErrorKind::RateLimited, "429".into(), at));
        assert!(!state.record_error(LastErrorKind::RateLimited, "429".into(), at));
        assert!(state.record_error(LastErrorKind::Network, "refused".into(), at));
        assert_eq!(state.faults.of(LastErrorKind::RateLimited), 2);
        assert_eq!(state.faults.of(LastErrorKind::Network), 1);
        assert_eq!(state.faults.of(LastErrorKind::BadResponse), 0);
    }
}

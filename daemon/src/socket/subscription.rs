//! What a subscriber is told, and when: a `status` at once, then one at
//! every change of any account's tier, staleness, reading or fault. Ages,
//! counters and the next poll time change constantly and are left out.
//!
//! A subscriber holds only a `watch` receiver, so an idle one costs no CPU,
//! and a slow one never holds up the poller: it skips straight to the
//! latest state instead of queueing a backlog.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use claude_quota_proto::{AccountStatus, LastError, LastErrorKind, Status, Tier};
use tokio::sync::watch;

use crate::demand::Listening;
use crate::service::Service;
use crate::state::State;

/// The longest a subscriber sleeps when nothing changes.
const LONGEST_SLEEP: Duration = Duration::from_secs(86_400);

/// What a subscriber is told about: a change in any of these, for the top
/// level or any account, sends a frame.
#[derive(PartialEq)]
struct Visible {
    top: Seen,
    accounts: Vec<(String, Seen)>,
}

/// What is visible of one account.
#[derive(PartialEq)]
struct Seen {
    tier: Tier,
    stale: bool,
    as_of: Option<DateTime<Utc>>,
    error: Option<(LastErrorKind, String)>,
}

impl Seen {
    fn new(
        tier: Tier,
        stale: bool,
        as_of: Option<DateTime<Utc>>,
        error: Option<&LastError>,
    ) -> Self {
        Seen {
            tier,
            stale,
            as_of,
            error: error.map(|e| (e.kind, e.message.clone())),
        }
    }
}

impl Visible {
    fn of(status: &Status) -> Self {
        let account = |a: &AccountStatus| {
            let seen = Seen::new(a.tier, a.stale, a.as_of, a.last_error.as_ref());
            (a.name.clone(), seen)
        };
        Visible {
            top: Seen::new(
                status.tier,
                status.stale,
                status.as_of,
                status.last_error.as_ref(),
            ),
            accounts: status.accounts.iter().map(account).collect(),
        }
    }
}

/// One subscriber's view: what it was last told.
pub struct Subscription<'s> {
    service: &'s Service,
    changes: watch::Receiver<State>,
    shown: Option<Visible>,
    /// Counts the subscriber as listening (the poller polls for it).
    _listening: Listening,
}

impl<'s> Subscription<'s> {
    /// Subscribes to `service`'s state.
    pub async fn start(service: &'s Service) -> Self {
        let (listening, mut changes) = service.subscribe().await;
        changes.mark_unchanged();
        Subscription {
            service,
            changes,
            shown: None,
            _listening: listening,
        }
    }

    /// The next status to send: the current one the first time, then the
    /// first that differs visibly; `None` once the daemon stops. Dropping
    /// the future loses nothing (it is polled in a `select!`).
    pub async fn next(&mut self) -> Option<Status> {
        loop {
            let (status, changes_at) = self.service.status();
            let visible = Visible::of(&status);
            if self.shown.as_ref() != Some(&visible) {
                self.shown = Some(visible);
                return Some(status);
            }
            // A fresh reading turns stale, a window resets, with no event
            // of their own: wake just after.
            let by_itself = changes_at
                .map(|at| at.saturating_duration_since(Instant::now()))
                .unwrap_or(LONGEST_SLEEP)
                .min(LONGEST_SLEEP);
            tokio::select! {
                changed = self.changes.changed() => changed.ok()?,
                () = tokio::time::sleep(by_itself + Duration::from_millis(1)) => {}
            }
        }
    }
}

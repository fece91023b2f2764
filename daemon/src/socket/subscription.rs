//! What a subscriber is told, and when: a `status` at once, then one at
//! every change of tier, staleness, reading or fault. Ages, counters and
//! the next poll time change constantly and are left out.
//!
//! A subscriber holds only a `watch` receiver, so an idle one costs no CPU,
//! and a slow one never holds up the poller: it skips straight to the
//! latest state instead of queueing a backlog.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use claude_quota_proto::{LastErrorKind, Status, Tier};
use tokio::sync::watch;

use crate::demand::Listening;
use crate::service::Service;
use crate::state::Snapshot;

/// The longest a subscriber sleeps when nothing changes.
const LONGEST_SLEEP: Duration = Duration::from_secs(86_400);

/// What a subscriber is told about: a change in any of these sends a frame.
#[derive(PartialEq)]
struct Visible {
    tier: Tier,
    stale: bool,
    as_of: Option<DateTime<Utc>>,
    error: Option<(LastErrorKind, String)>,
}

impl Visible {
    fn of(status: &Status) -> Self {
        Visible {
            tier: status.tier,
            stale: status.stale,
            as_of: status.as_of,
            error: status
                .last_error
                .as_ref()
                .map(|e| (e.kind, e.message.clone())),
        }
    }
}

/// One subscriber's view: what it was last told.
pub struct Subscription<'s> {
    service: &'s Service,
    changes: watch::Receiver<Snapshot>,
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

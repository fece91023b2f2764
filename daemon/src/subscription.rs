//! `subscribe`: a `status` at once, then one at every change of tier or
//! reading, until the client goes away.
//!
//! Each subscriber holds only a `watch` receiver, so an idle one costs no
//! CPU, and a slow one never holds up the poller: it skips straight to the
//! latest state instead of queueing a backlog.

use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_quota_proto::{LastErrorKind, Reply, Status, Tier};
use futures_util::{SinkExt, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::outgoing::{Connection, feed_reply};
use crate::service::Service;

/// The longest a subscriber sleeps when nothing changes.
const LONGEST_SLEEP: Duration = Duration::from_secs(86_400);

/// What a subscriber is told about: a change in any of these sends a frame.
/// Ages, counters and the next poll time change constantly and are left out.
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

/// Streams status frames to `conn` until it closes or the daemon stops.
pub async fn stream(mut conn: Connection, service: &Service, shutdown: &CancellationToken) {
    let _listening = service.listen();
    service.attend().await;
    let mut changes = service.watch_state();
    changes.mark_unchanged();
    let mut shown = None;
    loop {
        let (status, changes_at) = service.look();
        let visible = Visible::of(&status);
        if shown.as_ref() != Some(&visible) {
            let frame = Reply::Status(Box::new(status.clone())).into();
            if feed_reply(&mut conn, frame).await.is_err() || conn.flush().await.is_err() {
                return;
            }
            shown = Some(visible);
        }
        // A fresh reading turns stale, a window resets, with no event of
        // their own: wake just after.
        let by_itself = changes_at
            .map(|at| at.saturating_duration_since(std::time::Instant::now()))
            .unwrap_or(LONGEST_SLEEP)
            .min(LONGEST_SLEEP);
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = changes.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(by_itself + Duration::from_millis(1)) => {}
            incoming = conn.next() => match incoming {
                // Requests on a subscribed connection are not answered; the
                // stream is one-way until the client closes.
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
        }
    }
}

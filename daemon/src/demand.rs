//! Whether anyone listens, so the API is polled often only while someone
//! does (README, "Polling only while someone listens").
//!
//! Connections mark each request here with two relaxed atomic operations
//! and no lock, clock read or allocation; the poller reads and clears the
//! mark when it decides whether to poll. Only the first request after an
//! idle spell takes the slow path: it wakes the poller and waits for the
//! reading.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use tokio::sync::Notify;

/// The demand for fresh readings, shared by the connections and the poller.
#[derive(Debug, Default)]
pub struct Demand {
    /// A request arrived since the poller last looked.
    asked: AtomicBool,
    /// The poller is idling: the next request must wake it.
    idle: AtomicBool,
    /// Connections streaming `subscribe`.
    subscribers: AtomicUsize,
    /// A pushed reading became current: the poller re-plans its next poll.
    pushes: Notify,
}

impl Demand {
    /// Notes a request; returns whether the poller is idle, in which case
    /// the caller wakes it. The steady state only reads: the flag is
    /// written once per poll interval, not once per request.
    pub fn touch(&self) -> bool {
        if !self.asked.load(Relaxed) {
            self.asked.store(true, Relaxed);
        }
        self.idle.load(Relaxed)
    }

    /// Whether a request arrived since the last call (for the poller).
    pub fn take_asked(&self) -> bool {
        self.asked.swap(false, Relaxed)
    }

    /// Tells requests whether the poller idles (for the poller).
    pub fn set_idle(&self, idle: bool) {
        self.idle.store(idle, Relaxed);
    }

    /// Whether a subscriber is connected: one keeps polling active.
    pub fn has_subscribers(&self) -> bool {
        self.subscribers.load(Relaxed) > 0
    }

    /// Tells the poller a pushed reading became current.
    pub fn pushed(&self) {
        self.pushes.notify_one();
    }

    /// Waits for a pushed reading (for the poller); pushes that came while
    /// nobody waited are seen at once, as one.
    pub async fn next_push(&self) {
        self.pushes.notified().await;
    }

    /// Counts a subscriber for as long as the guard lives.
    pub fn listen(self: &Arc<Self>) -> Listening {
        self.subscribers.fetch_add(1, Relaxed);
        Listening(Arc::clone(self))
    }
}

/// A subscriber counted in [`Demand`]; uncounted on drop, however the
/// subscription ends.
pub struct Listening(Arc<Demand>);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.subscribers.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_seen_once_and_reports_idleness() {
        let demand = Demand::default();
        assert!(!demand.take_asked());
        assert!(!demand.touch());
        assert!(demand.take_asked());
        assert!(!demand.take_asked());
        demand.set_idle(true);
        assert!(demand.touch());
    }

    #[test]
    fn subscribers_count_while_their_guard_lives() {
        let demand = Arc::new(Demand::default());
        let first = demand.listen();
        let second = demand.listen();
        drop(first);
        assert!(demand.has_subscribers());
        drop(second);
        assert!(!demand.has_subscribers());
    }
}

//! Whether anyone listens, so the API is polled often only while someone
//! does (README, "Polling only while someone listens"). Demand is shared:
//! whoever asks keeps every account fresh.
//!
//! Connections mark each request here with two relaxed atomic operations
//! and no lock, clock read or allocation; each account's poller reads the
//! count when it decides whether to poll. Only the first request after an
//! idle spell takes the slow path: it wakes the pollers and waits for the
//! readings.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};

use tokio::sync::Notify;

/// The demand for fresh readings, shared by the connections and the pollers.
#[derive(Debug, Default)]
pub struct Demand {
    /// Requests so far; each poller remembers how many it has seen.
    requests: AtomicU64,
    /// Pollers idling: the next request must wake them.
    idle: AtomicUsize,
    /// Connections streaming `subscribe`.
    subscribers: AtomicUsize,
    /// The Ollama watcher waits for the next request before asking Ollama
    /// again (nobody asked since its last look).
    local_waiting: AtomicBool,
    /// Wakes the Ollama watcher.
    local_asked: Notify,
}

impl Demand {
    /// Notes a request; returns whether a poller is idle, in which case the
    /// caller wakes them.
    pub fn touch(&self) -> bool {
        self.requests.fetch_add(1, Relaxed);
        self.idle.load(Relaxed) > 0
    }

    /// Notes a request whose reply shows Ollama's state (any but `hello`):
    /// wakes the Ollama watcher if it waits for one. One relaxed load when
    /// it does not.
    pub fn wants_local(&self) {
        if self.local_waiting.load(Relaxed) && self.local_waiting.swap(false, Relaxed) {
            self.local_asked.notify_one();
        }
    }

    /// Waits until a request wants Ollama's state (see [`Self::wants_local`]).
    pub async fn local_wanted(&self) {
        self.local_waiting.store(true, Relaxed);
        self.local_asked.notified().await;
    }

    /// Whether a subscriber is connected: one keeps polling active.
    pub fn has_subscribers(&self) -> bool {
        self.subscribers.load(Relaxed) > 0
    }

    /// Counts a subscriber for as long as the guard lives.
    pub fn listen(self: &Arc<Self>) -> Listening {
        self.subscribers.fetch_add(1, Relaxed);
        Listening(Arc::clone(self))
    }

    /// What one poller sees of the demand.
    pub fn watcher(self: &Arc<Self>) -> DemandWatcher {
        DemandWatcher {
            seen: self.requests.load(Relaxed),
            idle: false,
            demand: Arc::clone(self),
        }
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

/// One poller's view of the demand: the requests it has seen, and whether
/// it idles (counted in [`Demand`] until it stops idling or is dropped).
#[derive(Debug)]
pub struct DemandWatcher {
    demand: Arc<Demand>,
    seen: u64,
    idle: bool,
}

impl DemandWatcher {
    /// Whether someone listened since the last call: a request arrived, or
    /// a subscriber is connected.
    pub fn listened(&mut self) -> bool {
        let requests = self.demand.requests.load(Relaxed);
        let asked = requests != self.seen;
        self.seen = requests;
        asked || self.demand.has_subscribers()
    }

    /// Tells requests whether this poller idles.
    pub fn set_idle(&mut self, idle: bool) {
        match (self.idle, idle) {
            (false, true) => self.demand.idle.fetch_add(1, Relaxed),
            (true, false) => self.demand.idle.fetch_sub(1, Relaxed),
            _ => return,
        };
        self.idle = idle;
    }
}

impl Drop for DemandWatcher {
    fn drop(&mut self) {
        self.set_idle(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_poller_sees_each_request_once_and_requests_see_idleness() {
        let demand = Arc::new(Demand::default());
        let (mut first, mut second) = (demand.watcher(), demand.watcher());
        assert!(!first.listened());
        assert!(!demand.touch());
        assert!(first.listened());
        assert!(!first.listened());
        assert!(second.listened(), "shared: the other poller sees it too");
        first.set_idle(true);
        second.set_idle(true);
        assert!(demand.touch());
        first.set_idle(false);
        assert!(demand.touch(), "one poller still idles");
        drop(second);
        assert!(
            !demand.touch(),
            "a poller stopped while idle is no longer counted"
        );
    }

    #[tokio::test]
    async fn a_request_wakes_the_ollama_watcher_only_when_it_waits() {
        let demand = Arc::new(Demand::default());
        demand.wants_local();
        let waiting = tokio::spawn({
            let demand = Arc::clone(&demand);
            async move { demand.local_wanted().await }
        });
        tokio::task::yield_now().await;
        assert!(
            !waiting.is_finished(),
            "a request before the wait does not count"
        );
        demand.wants_local();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the request wakes the watcher")
            .unwrap();
    }

    #[test]
    fn subscribers_count_while_their_guard_lives() {
        let demand = Arc::new(Demand::default());
        let first = demand.listen();
        let second = demand.listen();
        drop(first);
        let mut watcher = demand.watcher();
        assert!(watcher.listened());
        drop(second);
        assert!(!demand.has_subscribers());
        assert!(!watcher.listened());
    }
}

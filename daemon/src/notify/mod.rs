//! Tells people what changed (README, "Be told when the tier changes"): a
//! watcher finds the news in each verdict ([`events`]), and one task per
//! channel tells it ([`deliver`]): the user's `[notify] command` and a
//! desktop notification. Nothing here is on the path that answers clients.

mod deliver;
mod events;
mod forecast;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use claude_quota_proto::LocalInfo;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::policy::{self, Now};
use crate::state::State;
use deliver::{Channel, Queue};
use events::Watcher;

/// The longest the watcher sleeps when nothing changes.
const LONGEST_SLEEP: Duration = Duration::from_secs(86_400);

/// Watches for news and tells it on every channel until `shutdown`; the
/// channels' tasks end with it (they live in a `JoinSet`, which aborts
/// them when dropped, also when this future is).
pub async fn run(
    state: watch::Receiver<State>,
    config: watch::Receiver<Arc<Config>>,
    local: watch::Receiver<LocalInfo>,
    shutdown: CancellationToken,
) {
    let queues =
        [Channel::Command, Channel::Desktop].map(|channel| (channel, Arc::new(Queue::default())));
    let mut channels = JoinSet::new();
    for (channel, queue) in &queues {
        channels.spawn(deliver::tell(*channel, Arc::clone(queue), config.clone()));
    }
    let queues = queues.map(|(_, queue)| queue);
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = watch(state, config, local, &queues) => {}
    }
}

/// Looks at every account's new reading, every new config, and when the
/// clock alone changes a verdict (a reset, a reading turning stale), and
/// queues the news, each account watched on its own.
async fn watch(
    mut state: watch::Receiver<State>,
    mut config: watch::Receiver<Arc<Config>>,
    local: watch::Receiver<LocalInfo>,
    queues: &[Arc<Queue>],
) {
    let mut watchers: HashMap<String, Watcher> = HashMap::new();
    loop {
        let now = Now::current();
        let wake = {
            let config = config.borrow_and_update().clone();
            let state = state.borrow_and_update();
            let mut thresholds = config.notify.thresholds.clone();
            thresholds.sort_by(f64::total_cmp);
            watchers.retain(|name, _| state.get(name).is_some());
            let mut wake = LONGEST_SLEEP;
            for held in &state.accounts {
                let name = &held.account.name;
                let snapshot = &held.snapshot;
                let verdict = policy::verdict(snapshot, &config, &local.borrow(), now);
                let watcher = watchers.entry(name.clone()).or_default();
                for mut event in watcher.observe(&verdict, snapshot.reading.as_ref(), &thresholds) {
                    event.account.clone_from(name);
                    tracing::info!(account = %name, event = event.kind.as_str(), tier = %event.tier, previous = %event.previous, reason = %event.reason, "notable");
                    for queue in queues {
                        queue.push(event.clone());
                    }
                }
                if let Some(at) = verdict.assessment.changes_at {
                    wake = wake.min(at.saturating_duration_since(now.monotonic));
                }
            }
            wake
        };
        tokio::select! {
            changed = state.changed() => if changed.is_err() { return },
            changed = config.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(wake + Duration::from_millis(1)) => {}
        }
    }
}

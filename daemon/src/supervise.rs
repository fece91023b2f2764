//! The daemon's long-lived tasks (poller, accept loop, persistence, notifier,
//! Ollama watcher), watched: none of them may end before shutdown, so the first
//! one that does, by returning or panicking, stops the daemon with a
//! non-zero exit, and launchd or systemd start a whole one again. A daemon
//! that lived on without its poller would serve an ageing reading forever.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use tokio::task::{self, JoinError, JoinSet};

/// The environment variable that makes a task panic, to test the
/// supervision; honored only in debug builds (the end-to-end tests run
/// those), as no fault from outside can reach a panic any more.
#[cfg(debug_assertions)]
const INJECT_PANIC: &str = "CLAUDE_QUOTAD_TEST_PANIC";

/// The watched tasks.
#[derive(Default)]
pub struct Supervisor {
    tasks: JoinSet<()>,
    names: HashMap<task::Id, &'static str>,
}

/// A task that ended before shutdown, and how.
#[derive(Debug, thiserror::Error)]
#[error("the {name} task {how}; exiting so that the service manager restarts the daemon")]
pub struct Ended {
    name: &'static str,
    how: String,
}

impl Supervisor {
    /// Runs `task` under watch as `name`.
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        let handle = self.tasks.spawn(watched(name, task));
        self.names.insert(handle.id(), name);
    }

    /// Waits until a task ends; pending forever when none runs.
    pub async fn first_to_end(&mut self) -> Ended {
        let Some(ended) = self.tasks.join_next_with_id().await else {
            return std::future::pending().await;
        };
        let (id, how) = match ended {
            Ok((id, ())) => (id, "ended".to_owned()),
            Err(err) => (err.id(), describe(err)),
        };
        Ended {
            name: self.names.get(&id).copied().unwrap_or("unnamed"),
            how,
        }
    }

    /// After shutdown was signalled: gives the tasks `grace` to return (the
    /// last reading is being saved), then aborts what still runs (a poll
    /// stuck on a hung credential read).
    pub async fn finish(mut self, grace: Duration) {
        let all_done = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all_done).await.is_err() {
            tracing::debug!("aborting tasks that did not stop in time");
            self.tasks.shutdown().await;
        }
    }
}

/// `task` as a supervised task named `name` runs it: in a debug build,
/// made to panic when [`INJECT_PANIC`] names it, to test the supervision.
pub async fn watched(name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
    #[cfg(debug_assertions)]
    if std::env::var(INJECT_PANIC).is_ok_and(|wanted| wanted == name) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        panic!("{INJECT_PANIC} made the {name} task panic");
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
    task.await;
}

/// How a task that ended early ended, in words.
pub fn describe(err: JoinError) -> String {
    if !err.is_panic() {
        return "was cancelled".to_owned();
    }
    let payload = err.into_panic();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    format!("panicked: {message}")
}

//! How often the daemon wakes while nothing asks (issue 25): a daemon run
//! the way a user runs it (default config, adaptive polling, no Claude Code
//! login, no Ollama), 100 connections held open after one question each,
//! and, once it idles (nobody asked for `idle_after`), the context switches
//! of all its threads counted over a span. `idle_after` is shortened to
//! [`IDLE_AFTER`] so the bench does not wait the default 600 s for it. A
//! context switch is a thread going to sleep (voluntary) or being put off
//! the CPU (nonvoluntary); an idle thread has neither, so the sum over the
//! threads counts every wake-up, the blocking pool's included.

use std::collections::BTreeMap;
use std::time::Duration;

use claude_quota_e2e::Daemon;

use crate::goals::IDLE_WAKEUPS;
use crate::load;
use crate::process::settle;
use crate::report::Figure;
use crate::target::Target;

/// The `idle_after` the measured daemon runs with, in seconds: after this
/// long without a question it idles, as it does after 600 s by default
/// (30 s is the least the config takes: `poll_interval`).
const IDLE_AFTER: u64 = 30;

/// Context switches per thread: thread id → (name, switches).
type Switches = BTreeMap<u32, (String, u64)>;

/// What the span showed.
pub struct Idle {
    /// Wake-ups a second, all threads together.
    pub figure: Figure,
    /// Per thread name: its switches over the span, for the notes.
    pub by_thread: Vec<(String, u64)>,
    /// Threads that ran during the span but were gone at its end (a
    /// blocking-pool thread lives 10 s after its last job): their switches
    /// are not in the sum, their births are counted here.
    pub threads_born: usize,
}

/// Holds `connections` open on a fresh daemon for `span` and counts.
pub async fn measure(connections: usize, span: Duration) -> Idle {
    let daemon = Daemon::builder()
        // The defaults a user runs with; the harness's tests pin a fixed
        // schedule unless the config names `adaptive`.
        .config(&format!(
            "idle_after = {IDLE_AFTER}\n\n[policy]\nadaptive = true\n"
        ))
        .env("RUST_LOG", "info")
        .start();
    let target = Target::claude_quotad(daemon.socket().to_owned(), daemon.pid());
    let held = load::hold_open(&target, connections).await;
    // The first poll (here: the credential read that finds none) is done.
    daemon
        .wait_for(Duration::from_secs(10), |s| s.last_error.is_some())
        .await;
    // Idle once the poller wakes after `idle_after` without a question
    // (the waits above were the last): at most one poll interval later.
    daemon
        .wait_for_log("polling idle", Duration::from_secs(120))
        .await;
    settle();
    let before = switches(daemon.pid());
    tokio::time::sleep(span).await;
    let after = switches(daemon.pid());
    drop(held);
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    for (tid, (name, now)) in &after {
        let was = before.get(tid).map_or(0, |(_, was)| *was);
        *by_name.entry(name.clone()).or_default() += now - was;
    }
    let total: u64 = by_name.values().sum();
    let threads_born = after.keys().filter(|tid| !before.contains_key(tid)).count();
    Idle {
        figure: Figure::lower(
            format!("{IDLE_WAKEUPS} ({connections} connections held, {span:?})"),
            "/s",
            total as f64 / span.as_secs_f64(),
        ),
        by_thread: by_name.into_iter().collect(),
        threads_born,
    }
}

impl Idle {
    /// The breakdown, one line.
    pub fn note(&self) -> String {
        let threads: Vec<String> = self
            .by_thread
            .iter()
            .map(|(name, count)| format!("{name} {count}"))
            .collect();
        format!(
            "idle wake-ups by thread: {}; threads alive at the end that were born during the span: {}",
            threads.join(", "),
            self.threads_born
        )
    }
}

/// Every thread's voluntary + nonvoluntary context switches now.
fn switches(pid: u32) -> Switches {
    let mut all = Switches::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return all;
    };
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let field = |key: &str| -> u64 {
            status
                .lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0)
        };
        let name = field_text(&status, "Name:");
        let count = field("voluntary_ctxt_switches:") + field("nonvoluntary_ctxt_switches:");
        all.insert(tid, (name, count));
    }
    all
}

/// A text field of `/proc/.../status`.
fn field_text(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .map_or_else(String::new, |value| value.trim().to_owned())
}

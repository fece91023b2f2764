//! What `status.history` shows: how much the database holds and the last
//! failure to write it. One value for the whole process (there is one
//! database, whatever the accounts), set by the writer and read by every
//! `status`, so the serving path needs nothing threaded through it.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use claude_quota_history::Stats;
use claude_quota_proto::HistoryInfo;

/// The history as last reported; `None` while it is not kept.
static REPORT: Mutex<Option<HistoryInfo>> = Mutex::new(None);

/// The history as `status` shows it; `None` when `[history] enabled` is
/// false.
pub fn current() -> Option<HistoryInfo> {
    lock().clone()
}

/// The history is not kept.
pub fn off() {
    *lock() = None;
}

/// Writing succeeded: the database holds `stats`.
pub fn written(stats: Stats) {
    *lock() = Some(HistoryInfo {
        rows: stats.rows,
        oldest: stats.oldest,
        last_error: None,
    });
}

/// Writing (or opening) failed with `error`; what is known of the
/// database stays as it was.
pub fn failed(error: String) {
    let mut report = lock();
    let info = report.get_or_insert(HistoryInfo {
        rows: 0,
        oldest: None,
        last_error: None,
    });
    info.last_error = Some(error);
}

/// The oldest of two moments, either of which may be unknown.
pub fn older(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<HistoryInfo>> {
    REPORT.lock().unwrap_or_else(|poison| poison.into_inner())
}

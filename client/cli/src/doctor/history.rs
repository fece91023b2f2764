//! The history check: whether the daemon keeps its history of readings,
//! and whether it ever found the database unusable and moved it aside (the
//! moved files are the lasting record of that, after the log is gone).

use std::path::Path;

use claude_quota::Status;
use claude_quota_history::{Store, moved_aside};

use super::check::Check;

/// What `path` (the history database) and the daemon's `status`, when it
/// answered, say of the history.
pub fn check(path: &Path, status: Option<&Status>) -> Check {
    let moved = moved_aside(path);
    if let Some(last) = moved.last() {
        return Check::warn(
            "history",
            format!(
                "{} was not SQLite or was corrupt and was moved aside to {}{}; a fresh history was started",
                path.display(),
                last.display(),
                match moved.len() {
                    1 => String::new(),
                    n => format!(" ({n} such files)"),
                }
            ),
            format!(
                "look into it with `sqlite3 '{}'` if you want its rows; otherwise delete it, nothing reads it",
                last.display()
            ),
        );
    }
    let kept = match status {
        Some(status) => status
            .history
            .clone()
            .map(|info| (info.rows, info.last_error)),
        // The daemon is down: read the file itself, changing nothing.
        None => Store::open_read_only(path)
            .and_then(|store| store.stats())
            .map(|stats| (stats.rows, None))
            .ok(),
    };
    match kept {
        Some((_, Some(error))) => Check::warn(
            "history",
            format!("the daemon cannot write the history: {error}"),
            format!(
                "free disk space and make {} writable by you; answers are not affected",
                path.parent().unwrap_or(path).display()
            ),
        ),
        Some((rows, None)) => Check::ok(
            "history",
            format!("{rows} readings kept in {}", path.display()),
        ),
        None => Check::ok(
            "history",
            "no history kept ([history] enabled = false, or none yet)",
        ),
    }
}

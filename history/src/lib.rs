//! The history of readings, one SQLite database beside the daemon's saved
//! reading: `claude-quotad` appends every accepted reading to it, and
//! `claude-quota history`, `doctor` and the daemon's forecast read it back,
//! the CLI also while the daemon is down.
//!
//! The daemon opens it with [`Store::open`], which creates the file (0600),
//! migrates an older schema forward and moves a file that is not SQLite or
//! is corrupt aside ([`moved_aside`] lists what was), starting afresh. The
//! CLI opens it with [`Store::open_read_only`], which changes nothing on
//! disk. SQLite's write-ahead log lets both read while the daemon writes.

mod aside;
mod codec;
mod error;
mod schema;
mod store;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use claude_quota_proto::{ExtraUsage, ReadingSource, ScopedCap, Tier};
use serde::{Deserialize, Serialize};

pub use aside::{MovedAside, moved_aside};
pub use error::Error;
pub use store::Store;

/// The file name of the database inside [`state_dir`].
pub const FILE_NAME: &str = "history.sqlite3";

/// One reading as kept: what one account's windows stood at, at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The account the reading is of (`default` when none is configured).
    pub account: String,
    /// When the reading was taken.
    pub at: DateTime<Utc>,
    /// Where it came from.
    pub source: ReadingSource,
    /// The tier it put the account in.
    pub tier: Tier,
    /// The 5-hour utilization in percent, when reported.
    pub five_hour: Option<f64>,
    /// When that 5-hour window resets, when known.
    pub five_hour_resets_at: Option<DateTime<Utc>>,
    /// The 7-day utilization in percent, when reported.
    pub seven_day: Option<f64>,
    /// When that 7-day window resets, when known.
    pub seven_day_resets_at: Option<DateTime<Utc>>,
    /// The per-model weekly caps.
    pub weekly_scoped: Vec<ScopedCap>,
    /// Extra usage, when reported.
    pub extra_usage: Option<ExtraUsage>,
}

/// How much the database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Rows kept, over every account.
    pub rows: u64,
    /// When the oldest row kept was taken.
    pub oldest: Option<DateTime<Utc>>,
}

/// The daemon's state directory: `$XDG_STATE_HOME/claude-quota/` on Linux
/// (`~/.local/state/claude-quota/`), `~/Library/Application
/// Support/claude-quota/` on macOS. The saved reading lives there too.
pub fn state_dir() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("claude-quota")
}

/// Where the daemon keeps the history: [`FILE_NAME`] in [`state_dir`].
pub fn default_path() -> PathBuf {
    state_dir().join(FILE_NAME)
}

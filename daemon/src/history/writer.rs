//! The blocking side of the history: one thread that owns the database and
//! writes the rows handed to it. A write that fails (a full disk, a
//! read-only file or directory, a lock held by another program) is logged
//! once, shown in `status.history`, and its rows are held and written with
//! the next ones, up to [`MAX_HELD`]; a database found corrupt is moved
//! aside and started afresh. Nothing here can stop the daemon.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_history::{Error, Row, Stats, Store};
use tokio::sync::{mpsc, watch};

use super::report;
use crate::config::Config;

/// The most rows held while the database cannot be written (over eight
/// hours of rows at one every 30 s); the oldest go first beyond it.
const MAX_HELD: usize = 1024;

/// How long after a failed open the next is tried.
const REOPEN_AFTER: Duration = Duration::from_secs(60);

/// How often rows older than `[history] keep_days` are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The database and what is waiting to go into it.
pub struct Writer {
    path: PathBuf,
    config: watch::Receiver<Arc<Config>>,
    store: Option<Store>,
    stats: Stats,
    held: VecDeque<Row>,
    tried_open: Option<Instant>,
    pruned: Option<Instant>,
    /// The failure last logged, so each is logged once.
    failing: Option<String>,
}

impl Writer {
    /// A writer for the database at `path`, pruning by `config`; nothing
    /// is opened yet.
    pub fn new(path: PathBuf, config: watch::Receiver<Arc<Config>>) -> Writer {
        Writer {
            path,
            config,
            store: None,
            stats: Stats {
                rows: 0,
                oldest: None,
            },
            held: VecDeque::new(),
            tried_open: None,
            pruned: None,
            failing: None,
        }
    }

    /// Opens the database and reads the rows of every account taken since
    /// `since`, for the forecasts to start from; none when it cannot.
    pub fn open_and_read(&mut self, since: DateTime<Utc>) -> Vec<Row> {
        self.open_if_due();
        let Some(store) = self.store.as_ref() else {
            return Vec::new();
        };
        // A reading stamped a little ahead of this clock still counts.
        let until = Utc::now() + TimeDelta::minutes(5);
        match store.rows(None, since, until) {
            Ok(rows) => rows,
            Err(err) => {
                self.failed(err);
                Vec::new()
            }
        }
    }

    /// Writes every row that comes until the sending side closes.
    pub fn run(mut self, mut rows: mpsc::Receiver<Row>) {
        while let Some(row) = rows.blocking_recv() {
            self.hold(row);
            while let Ok(row) = rows.try_recv() {
                self.hold(row);
            }
            self.flush();
        }
    }

    fn hold(&mut self, row: Row) {
        if self.held.len() == MAX_HELD {
            self.held.pop_front();
        }
        self.held.push_back(row);
    }

    /// Writes what is held, then prunes when it is time.
    fn flush(&mut self) {
        self.open_if_due();
        let Some(store) = self.store.as_mut() else {
            return;
        };
        let written = store.insert(self.held.make_contiguous());
        if let Err(err) = written {
            self.failed(err);
            return;
        }
        let oldest = self.held.iter().map(|row| row.at).min();
        self.stats.rows += self.held.len() as u64;
        self.stats.oldest = report::older(self.stats.oldest, oldest);
        self.held.clear();
        if self.pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            self.prune();
        }
        if let Some(error) = self.failing.take() {
            tracing::info!(%error, "writing the history again");
        }
        report::written(self.stats);
    }

    /// Deletes the rows older than `keep_days` and counts what is left.
    fn prune(&mut self) {
        let Some(store) = self.store.as_mut() else {
            return;
        };
        self.pruned = Some(Instant::now());
        let keep = TimeDelta::days(i64::from(self.config.borrow().history.keep_days));
        let pruned = store
            .prune(Utc::now() - keep)
            .and_then(|deleted| Ok((deleted, store.stats()?)));
        match pruned {
            Ok((deleted, stats)) => {
                if deleted > 0 {
                    tracing::info!(deleted, "pruned the history");
                }
                self.stats = stats;
            }
            Err(err) => self.failed(err),
        }
    }

    /// Opens the database when it is not open, at most once every
    /// [`REOPEN_AFTER`].
    fn open_if_due(&mut self) {
        let due = self
            .tried_open
            .is_none_or(|at| at.elapsed() >= REOPEN_AFTER);
        if self.store.is_none() && due {
            self.tried_open = Some(Instant::now());
            match Store::open(&self.path) {
                Ok(store) => {
                    let moved = store.moved_aside().map(|moved| {
                        format!(
                            "{} was unusable ({}); moved it aside to {} and started afresh",
                            self.path.display(),
                            moved.reason,
                            moved.to.display()
                        )
                    });
                    self.store = Some(store);
                    self.prune();
                    report::written(self.stats);
                    if let Some(moved) = moved {
                        report::failed(moved);
                    }
                }
                Err(err) => self.failed(err),
            }
        }
    }

    /// Logs `err` once, shows it, and lets go of a database that turned out
    /// corrupt, so the next write moves it aside.
    fn failed(&mut self, err: Error) {
        if err.is_corrupt() {
            self.store = None;
            self.tried_open = None;
        }
        let message = err.to_string();
        if self.failing.as_ref() != Some(&message) {
            tracing::warn!(error = %message, held = self.held.len(), "cannot write the history");
            self.failing = Some(message.clone());
        }
        report::failed(message);
    }
}

//! The history of readings (`[history]`): every accepted reading is kept
//! in SQLite ([`claude_quota_history`]) for `claude-quota history` and for
//! a forecast that survives a restart. This task follows the state like
//! the persistence task does and hands rows to a blocking [`Writer`]
//! through a bounded queue, so no answer ever waits on the disk; at start
//! it seeds each account's forecast with its stored readings of the
//! current window.

mod report;
mod rows;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use claude_quota_history::Row;
use claude_quota_proto::LocalInfo;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

pub use report::current as info;

use crate::config::Config;
use crate::forecast::Sample;
use crate::policy::{self, Now};
use crate::state::State;
use rows::Recorder;
use writer::Writer;

/// Rows waiting for the writer; beyond this (the disk stalled for many
/// minutes) a row is dropped and said, rather than an answer delayed.
const QUEUE: usize = 64;

/// How far back the forecast is seeded: one 5-hour window.
const SEED_SPAN: TimeDelta = TimeDelta::hours(5);

/// Keeps every new reading in the database at `path` until `shutdown`.
pub async fn run(
    path: PathBuf,
    state: Arc<watch::Sender<State>>,
    config: watch::Receiver<Arc<Config>>,
    local: watch::Receiver<LocalInfo>,
    shutdown: CancellationToken,
) {
    let (rows, queue) = mpsc::channel(QUEUE);
    let (seed_tx, mut seed) = oneshot::channel();
    let enabled = config.borrow().history.enabled;
    let mut writer = Writer::new(path, config.clone());
    let mut writing = tokio::task::spawn_blocking(move || {
        if enabled {
            let _ = seed_tx.send(writer.open_and_read(Utc::now() - SEED_SPAN));
        }
        writer.run(queue);
    });
    let mut recorder = Recorder::default();
    let mut watched = state.subscribe();
    let mut seeded = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            // Only a panic ends it while rows can come: end the task with
            // it, and the supervisor restarts the daemon.
            ended = &mut writing => {
                tracing::error!(?ended, "the history writer ended");
                return;
            }
            stored = &mut seed, if !seeded => {
                seeded = true;
                if let Ok(stored) = stored {
                    seed_forecast(&state, &stored);
                }
            }
            changed = watched.changed() => if changed.is_err() { break },
        }
        let config = config.borrow().clone();
        if !config.history.enabled {
            report::off();
            continue;
        }
        let new: Vec<Row> = {
            let state = watched.borrow_and_update();
            let now = Now::current();
            state
                .accounts
                .iter()
                .filter_map(|held| {
                    let snapshot = &held.snapshot;
                    let reading = snapshot.reading.as_ref()?;
                    let verdict = policy::verdict(snapshot, &config, &local.borrow(), now);
                    recorder.row(&held.account.name, reading, verdict.assessment.tier)
                })
                .collect()
        };
        for row in new {
            queue_row(&rows, row);
        }
    }
    // The writer writes what it holds and ends when the queue closes.
    drop(rows);
    let _ = writing.await;
}

/// Hands `row` to the writer without waiting.
fn queue_row(rows: &mpsc::Sender<Row>, row: Row) {
    if let Err(mpsc::error::TrySendError::Full(row)) = rows.try_send(row) {
        let message = "the history writer is behind; a reading was not kept";
        tracing::warn!(at = %row.at, "{message}");
        report::failed(message.to_owned());
    }
}

/// Adds each account's stored 5-hour readings before those taken since
/// start, so the forecast comes back at once after a restart.
fn seed_forecast(state: &watch::Sender<State>, stored: &[Row]) {
    state.send_if_modified(|state| {
        let mut seeded = false;
        for held in &mut state.accounts {
            let name = &held.account.name;
            let samples: Vec<Sample> = stored
                .iter()
                .filter(|row| row.account == *name)
                .filter_map(|row| {
                    Some(Sample {
                        at: row.at,
                        utilization: row.five_hour?,
                        resets_at: row.five_hour_resets_at,
                        seven_day: row.seven_day,
                    })
                })
                .collect();
            if samples.is_empty() {
                continue;
            }
            tracing::info!(
                account = %name,
                readings = samples.len(),
                "the forecast starts from the stored history"
            );
            held.snapshot.history.seed(samples);
            seeded = true;
        }
        seeded
    });
}

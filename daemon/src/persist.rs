//! The last good reading on disk, so a restart (even after `kill -9`)
//! serves it at once with its true age instead of starting blind.
//!
//! Writes are atomic (temp file, then rename) and private (0600); a
//! missing or unreadable file only means starting without a reading.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use claude_quota_proto::ReadingSource;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::reading::Reading;
use crate::state::Snapshot;

/// Where the reading is kept: `$XDG_STATE_HOME/claude-quota/` on Linux
/// (`~/.local/state/claude-quota/`), `~/Library/Application
/// Support/claude-quota/` on macOS.
pub fn default_path() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("claude-quota")
        .join("last-reading.json")
}

/// Reads the kept reading, marked as `persisted`; `None` when there is
/// none or it cannot be used (which is logged).
pub fn load(path: &Path) -> Option<Reading> {
    let text = match fs::read(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(err) => {
            tracing::warn!(%err, path = %path.display(), "cannot read the saved reading");
            return None;
        }
    };
    match serde_json::from_slice::<Reading>(&text) {
        Ok(reading) => Some(Reading {
            source: ReadingSource::Persisted,
            ..reading
        }),
        Err(err) => {
            tracing::warn!(%err, path = %path.display(), "ignoring an unreadable saved reading");
            None
        }
    }
}

/// Saves every new reading until `shutdown`; runs as its own task so the
/// poller and `ingest` never wait on the disk.
pub async fn run(path: PathBuf, mut state: watch::Receiver<Snapshot>, shutdown: CancellationToken) {
    let mut saved_as_of = state.borrow().reading.as_ref().map(|r| r.as_of);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = state.changed() => if changed.is_err() { return },
        }
        let reading = match state.borrow_and_update().reading.clone() {
            Some(reading) if Some(reading.as_of) != saved_as_of => reading,
            _ => continue,
        };
        saved_as_of = Some(reading.as_of);
        let path = path.clone();
        let written = tokio::task::spawn_blocking(move || save(&path, &reading)).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(%err, "cannot save the reading"),
            Err(err) => tracing::warn!(%err, "saving the reading failed"),
        }
    }
}

/// Writes `reading` to `path` atomically with mode 0600.
pub fn save(path: &Path, reading: &Reading) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(&serde_json::to_vec(reading)?)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use claude_quota_proto::Window;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_saved_reading_comes_back_as_persisted_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/last-reading.json");
        let reading = Reading {
            five_hour: Window {
                utilization: 42.0,
                resets_at: Some(Utc::now()),
            },
            seven_day: None,
            seven_day_opus: None,
            seven_day_sonnet: None,
            as_of: Utc::now(),
            source: ReadingSource::Api,
        };
        save(&path, &reading).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.source, ReadingSource::Persisted);
        assert_eq!(loaded.as_of, reading.as_of);
        assert_eq!(loaded.five_hour, reading.five_hour);
    }

    #[test]
    fn garbage_on_disk_means_no_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last-reading.json");
        fs::write(&path, "{not json").unwrap();
        assert!(load(&path).is_none());
        assert!(load(&dir.path().join("absent.json")).is_none());
    }
}

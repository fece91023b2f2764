//! Each account's last good reading on disk, so a restart (even after
//! `kill -9`) serves it at once with its true age instead of starting
//! blind; and the cooldown with the fault behind it, so a restart (a crash
//! loop, an upgrade) neither polls before the API allows nor hides why it
//! waits.
//!
//! Writes are atomic (temp file, then rename) and private (0600); a
//! missing or unreadable file only means starting without a reading.

use std::collections::HashMap;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::Utc;
use claude_quota_proto::{LastError, ReadingSource};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use claude_quota_credentials::small_file;

use crate::ownership::{self, NotOwn};
use crate::reading::Reading;
use crate::state::{Cooldown, Snapshot, State};

/// What survives a restart. Unknown fields (from a later version) are
/// ignored, so a downgrade keeps what it understands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// The newest good reading.
    pub reading: Option<Reading>,
    /// The backoff or `Retry-After` in force.
    #[serde(default)]
    pub cooldown: Option<Cooldown>,
    /// The fault behind it, shown again after the restart.
    #[serde(default)]
    pub last_error: Option<LastError>,
}

impl Saved {
    /// Whether `now` would write what is on disk already, up to the time
    /// of a fault that repeats (same kind, same message): a daemon without
    /// a login, or one the API keeps refusing, would otherwise rewrite and
    /// fsync its file at every retry (a wake-up of the blocking pool and of
    /// the runtime each time) to move one timestamp. The file keeps when
    /// the fault was first seen; the live status shows the latest.
    fn same_on_disk(&self, now: &Saved) -> bool {
        let same_fault = match (&self.last_error, &now.last_error) {
            (Some(was), Some(is)) => was.kind == is.kind && was.message == is.message,
            (was, is) => was == is,
        };
        self.reading == now.reading && self.cooldown == now.cooldown && same_fault
    }

    /// The parts of `state` worth keeping.
    pub fn of(state: &Snapshot) -> Self {
        Saved {
            reading: state.reading.clone(),
            cooldown: state.cooldown,
            last_error: state.last_error.clone(),
        }
    }
}

/// The file as this version writes it, or as earlier ones did (the bare
/// reading), so an upgrade keeps the reading.
#[derive(Deserialize)]
#[serde(untagged)]
enum OnDisk {
    Bare(Reading),
    Saved(Saved),
}

/// Where the daemon keeps its state: `$XDG_STATE_HOME/claude-quota/` on
/// Linux (`~/.local/state/claude-quota/`), `~/Library/Application
/// Support/claude-quota/` on macOS.
pub fn state_dir() -> PathBuf {
    claude_quota_history::state_dir()
}

/// Where the account named `account` keeps its reading:
/// `last-reading.json` for `default` (the one file of a daemon without
/// accounts, so an upgrade keeps it), `last-reading.<name>.json` for the
/// others (names are `[a-z0-9_-]`, safe in a file name).
pub fn path_for(account: &str) -> PathBuf {
    let file = if account == claude_quota_credentials::accounts::DEFAULT_NAME {
        "last-reading.json".to_owned()
    } else {
        format!("last-reading.{account}.json")
    };
    state_dir().join(file)
}

/// Reads what was kept, the reading marked as `persisted` and aged from
/// its `as_of` (one in the future, written under a clock that has since
/// stepped back, counts as now); nothing when there is no file or it
/// cannot be used (which is logged).
pub fn load(path: &Path) -> Saved {
    // Another user's or a writable file is refused: a planted reading would
    // be served as fresh (cloud answers), a planted cooldown stop polling.
    let text = match ownership::read_own(path, small_file::read_open) {
        Ok(text) => text,
        Err(NotOwn::Io(err)) if err.kind() == std::io::ErrorKind::NotFound => {
            return Saved::default();
        }
        Err(NotOwn::Io(err)) => {
            tracing::warn!(%err, path = %path.display(), "ignoring the saved reading");
            return Saved::default();
        }
        Err(NotOwn::Untrusted(reason)) => {
            tracing::warn!(path = %path.display(), "ignoring the saved reading: it {reason}");
            return Saved::default();
        }
    };
    let saved = match serde_json::from_slice::<OnDisk>(&text) {
        Ok(OnDisk::Saved(saved)) => saved,
        Ok(OnDisk::Bare(reading)) => Saved {
            reading: Some(reading),
            ..Saved::default()
        },
        Err(err) => {
            tracing::warn!(%err, path = %path.display(), "ignoring an unreadable saved reading");
            return Saved::default();
        }
    };
    Saved {
        reading: saved.reading.map(|reading| {
            Reading {
                source: ReadingSource::Persisted,
                ..reading
            }
            .arrived(Utc::now())
        }),
        ..saved
    }
}

/// Saves every account's new reading, cooldown or fault until `shutdown`;
/// runs as its own task so the pollers and `ingest` never wait on the disk.
pub async fn run(mut state: watch::Receiver<State>, shutdown: CancellationToken) {
    let mut saved: HashMap<String, Saved> = HashMap::new();
    loop {
        let changed: Vec<(String, Saved)> = {
            let state = state.borrow_and_update();
            state
                .accounts
                .iter()
                .map(|held| (held.account.name.clone(), Saved::of(&held.snapshot)))
                .collect()
        };
        for (name, now) in changed {
            let new = match saved.get(&name) {
                Some(before) => !before.same_on_disk(&now),
                // What an account starts with was loaded from its file,
                // unless a reading came in before this task looked.
                None => now
                    .reading
                    .as_ref()
                    .is_some_and(|r| r.source != ReadingSource::Persisted),
            };
            saved.insert(name.clone(), now.clone());
            if !new {
                continue;
            }
            let path = path_for(&name);
            let written = tokio::task::spawn_blocking(move || save(&path, &now)).await;
            match written {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(account = %name, %err, "cannot save the reading"),
                Err(err) => tracing::warn!(account = %name, %err, "saving the reading failed"),
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = state.changed() => if changed.is_err() { return },
        }
    }
}

/// Writes `saved` to `path` atomically with mode 0600.
pub fn save(path: &Path, saved: &Saved) -> std::io::Result<()> {
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
    file.write_all(&serde_json::to_vec(saved)?)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_quota_proto::Window;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_fault_that_repeats_is_not_written_again_but_a_new_one_is() {
        let fault = |message: &str, seconds: i64| Saved {
            last_error: Some(LastError {
                kind: claude_quota_proto::LastErrorKind::NoCredentials,
                message: message.into(),
                at: Utc::now() + chrono::Duration::seconds(seconds),
            }),
            ..Saved::default()
        };
        let first = fault("no login", 0);
        assert!(first.same_on_disk(&fault("no login", 30)));
        assert!(!first.same_on_disk(&fault("another fault", 30)));
        assert!(!first.same_on_disk(&Saved::default()));
    }

    #[test]
    fn a_saved_reading_comes_back_as_persisted_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/last-reading.json");
        let reading = Reading {
            five_hour: Some(Window::new(42.0, Some(Utc::now()))),
            seven_day: None,
            weekly_scoped: vec![claude_quota_proto::ScopedCap {
                model: "Sonnet".into(),
                utilization: 97.0,
                resets_at: None,
                severity: Some("critical".into()),
                status: None,
            }],
            extra_usage: None,
            spend_limit: false,
            representative_claim: None,
            as_of: Utc::now(),
            source: ReadingSource::Api,
            received: Default::default(),
        };
        let cooldown = Cooldown {
            until: Utc::now(),
            faults: 3,
        };
        let saved = Saved {
            reading: Some(reading.clone()),
            cooldown: Some(cooldown),
            last_error: None,
        };
        save(&path, &saved).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let loaded = load(&path);
        assert_eq!(loaded.cooldown, Some(cooldown));
        let loaded = loaded.reading.unwrap();
        assert_eq!(loaded.source, ReadingSource::Persisted);
        assert_eq!(loaded.as_of, reading.as_of);
        assert_eq!(loaded.five_hour, reading.five_hour);
        assert_eq!(loaded.weekly_scoped, reading.weekly_scoped);

        // A file of an earlier version holds the bare reading.
        fs::write(&path, serde_json::to_vec(&reading).unwrap()).unwrap();
        let bare = load(&path);
        assert_eq!(bare.reading.unwrap().five_hour, reading.five_hour);
        assert_eq!(bare.cooldown, None);
    }

    #[test]
    fn a_saved_reading_from_the_future_counts_as_taken_now() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last-reading.json");
        let future = Utc::now() + chrono::TimeDelta::hours(2);
        let text = format!(
            r#"{{"five_hour":{{"utilization":90.0,"resets_at":null}},"seven_day":null,"seven_day_opus":null,"seven_day_sonnet":null,"as_of":"{}","source":"api"}}"#,
            future.to_rfc3339()
        );
        fs::write(&path, text).unwrap();
        let loaded = load(&path).reading.unwrap();
        assert!(loaded.as_of <= Utc::now());
        assert_eq!(loaded.received.age, std::time::Duration::ZERO);
    }

    #[test]
    fn a_reading_saved_before_scoped_caps_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last-reading.json");
        fs::write(
            &path,
            r#"{"five_hour":{"utilization":12.0,"resets_at":null},"seven_day":null,
                "seven_day_opus":null,"seven_day_sonnet":null,
                "as_of":"2026-01-28T07:59:59Z","source":"api"}"#,
        )
        .unwrap();
        let loaded = load(&path).reading.unwrap();
        assert_eq!(loaded.five_hour.unwrap().utilization, 12.0);
        assert!(loaded.weekly_scoped.is_empty());
    }

    #[test]
    fn garbage_on_disk_means_no_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("last-reading.json");
        fs::write(&path, "{not json").unwrap();
        assert_eq!(load(&path), Saved::default());
        assert_eq!(load(&dir.path().join("absent.json")), Saved::default());
    }
}

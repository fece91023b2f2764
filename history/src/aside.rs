//! A database that is not SQLite or is damaged is moved aside, renamed
//! with the moment, and a fresh one started: the history goes on and the
//! old file stays for the user to look at. The moved files are the record
//! `doctor` reads, so it can say so long after the daemon's log has gone.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::Error;

/// What stands between the database's name and the moment in a moved
/// file's name: `history.sqlite3.corrupt-20260428T101500Z`.
const MARK: &str = ".corrupt-";

/// The files SQLite keeps beside a database that belong to it: the
/// write-ahead log and the rollback journal go with it; the shared-memory
/// index is rebuilt from them and is removed.
const COMPANIONS: [&str; 2] = ["-wal", "-journal"];
const SHARED_MEMORY: &str = "-shm";

/// A database moved aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedAside {
    /// Where it went.
    pub to: PathBuf,
    /// Why: what SQLite said of it.
    pub reason: String,
}

/// Moves the database at `path` (and its log) aside for `reason`, named
/// with `now`.
pub fn move_aside(path: &Path, reason: String, now: DateTime<Utc>) -> Result<MovedAside, Error> {
    let stamp = now.format("%Y%m%dT%H%M%SZ");
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let to = (1..)
        .map(|n| {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!("-{n}")
            };
            path.with_file_name(format!("{name}{MARK}{stamp}{suffix}"))
        })
        .find(|to| !to.exists())
        .expect("some suffix is free");
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    fs::rename(path, &to).map_err(io(path))?;
    for companion in COMPANIONS {
        let from = with_suffix(path, companion);
        if from.exists() {
            fs::rename(&from, with_suffix(&to, companion)).map_err(io(&from))?;
        }
    }
    let shm = with_suffix(path, SHARED_MEMORY);
    if shm.exists() {
        fs::remove_file(&shm).map_err(io(&shm))?;
    }
    Ok(MovedAside { to, reason })
}

/// The databases moved aside from `path` so far, oldest first.
pub fn moved_aside(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let prefix = format!("{}{MARK}", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut moved: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|moved| {
            let name = moved.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(&prefix)
                && !COMPANIONS
                    .iter()
                    .chain([&SHARED_MEMORY])
                    .any(|companion| name.ends_with(companion))
        })
        .collect();
    moved.sort();
    moved
}

/// `path` with `suffix` added to its file name, as SQLite names its files.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_database_takes_its_log_and_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.sqlite3");
        for file in [
            "history.sqlite3",
            "history.sqlite3-wal",
            "history.sqlite3-shm",
        ] {
            fs::write(dir.path().join(file), "junk").unwrap();
        }
        let now = DateTime::parse_from_rfc3339("2026-04-28T10:15:00Z")
            .unwrap()
            .to_utc();
        let first = move_aside(&path, "not SQLite".into(), now).unwrap();
        assert_eq!(
            first.to,
            dir.path().join("history.sqlite3.corrupt-20260428T101500Z")
        );
        assert!(
            dir.path()
                .join("history.sqlite3.corrupt-20260428T101500Z-wal")
                .exists()
        );
        assert!(!dir.path().join("history.sqlite3-shm").exists());
        assert!(!path.exists());

        fs::write(&path, "junk again").unwrap();
        let second = move_aside(&path, "not SQLite".into(), now).unwrap();
        assert_eq!(
            second.to,
            dir.path()
                .join("history.sqlite3.corrupt-20260428T101500Z-2")
        );
        assert_eq!(moved_aside(&path), vec![first.to, second.to]);
    }
}

//! What tier each Claude Code session was last told, so `UserPromptSubmit`
//! adds a line only when the tier changed since that session's last prompt.
//!
//! A small file beside the daemon's socket (the user's runtime directory,
//! which the daemon refuses to use unless it is the user's alone): mode
//! 0600, at most [`MAX_SESSIONS`] sessions, none older than [`MAX_AGE`].
//! A file that is not the user's alone, not a regular file, too large or
//! not ours to read is ignored and replaced: the worst it can cost is one
//! line more or less.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota::Tier;
use serde::{Deserialize, Serialize};

/// The file's name, beside the socket.
const FILE_NAME: &str = "hook-sessions.json";

/// The most sessions remembered; the least recently seen go first.
const MAX_SESSIONS: usize = 64;

/// How long a session is remembered after its last event.
const MAX_AGE: TimeDelta = TimeDelta::days(7);

/// The remembered sessions.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Sessions {
    sessions: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    id: String,
    tier: Tier,
    seen: DateTime<Utc>,
}

/// Where the file of the daemon on `socket` is.
pub fn path_beside(socket: &Path) -> Option<PathBuf> {
    Some(socket.parent()?.join(FILE_NAME))
}

impl Sessions {
    /// The sessions in the file at `path`; none when it is missing or not
    /// to be trusted.
    pub fn load(path: &Path) -> Sessions {
        read(path).unwrap_or_default()
    }

    /// The tier the session was last told, if it is remembered.
    pub fn last_tier(&self, id: &str) -> Option<Tier> {
        self.sessions.iter().find(|e| e.id == id).map(|e| e.tier)
    }

    /// Remembers `tier` for session `id` at `now`, and forgets sessions
    /// past [`MAX_AGE`] or beyond [`MAX_SESSIONS`].
    pub fn record(&mut self, id: &str, tier: Tier, now: DateTime<Utc>) {
        self.sessions.retain(|e| e.id != id);
        self.sessions.push(Entry {
            id: id.to_owned(),
            tier,
            seen: now,
        });
        // A time in the future (a clock set back) counts as old.
        self.sessions
            .retain(|e| e.seen <= now && now - e.seen <= MAX_AGE);
        self.sessions.sort_by_key(|e| std::cmp::Reverse(e.seen));
        self.sessions.truncate(MAX_SESSIONS);
    }

    /// Writes the file at `path`: a new file, 0600, renamed over the old
    /// one, so a reader never sees half of it.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut file = tempfile::Builder::new()
            .prefix(".hook-sessions")
            .tempfile_in(dir)?;
        serde_json::to_writer(&mut file, self)?;
        file.flush()?;
        file.persist(path).map_err(|err| err.error)?;
        Ok(())
    }
}

fn read(path: &Path) -> Option<Sessions> {
    // Not through a symlink, and without blocking on a FIFO.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    if !trusted(&file) {
        return None;
    }
    let bytes = claude_quota_credentials::small_file::read_open(file).ok()?;
    let mut sessions: Sessions = serde_json::from_slice(&bytes).ok()?;
    sessions.sessions.truncate(MAX_SESSIONS);
    Some(sessions)
}

/// A regular file of this user that nobody else can write.
fn trusted(file: &File) -> bool {
    let Ok(meta) = file.metadata() else {
        return false;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let own = meta.uid() == unsafe { libc::geteuid() };
    meta.is_file() && own && meta.mode() & 0o022 == 0
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_session_is_remembered_across_loads_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let now = Utc::now();
        let mut sessions = Sessions::load(&path);
        assert_eq!(sessions.last_tier("a"), None);
        sessions.record("a", Tier::Active, now);
        sessions.save(&path).unwrap();
        assert_eq!(Sessions::load(&path).last_tier("a"), Some(Tier::Active));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn old_sessions_are_pruned_and_the_count_is_bounded() {
        let now = Utc::now();
        let mut sessions = Sessions::default();
        sessions.record("old", Tier::Burst, now - MAX_AGE - TimeDelta::seconds(1));
        sessions.record("future", Tier::Burst, now + TimeDelta::days(1));
        for i in 0..MAX_SESSIONS + 10 {
            sessions.record(
                &format!("s{i}"),
                Tier::Resting,
                now + TimeDelta::milliseconds(i as i64),
            );
        }
        sessions.record("last", Tier::Active, now + TimeDelta::seconds(1));
        assert_eq!(sessions.sessions.len(), MAX_SESSIONS);
        assert_eq!(sessions.last_tier("old"), None);
        assert_eq!(sessions.last_tier("future"), None);
        assert_eq!(sessions.last_tier("s0"), None, "the least recent went");
        assert_eq!(sessions.last_tier("last"), Some(Tier::Active));
    }

    #[test]
    fn a_hostile_or_corrupt_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let planted = r#"{"sessions":[{"id":"a","tier":"burst","seen":"2100-01-01T00:00:00Z"}]}"#;
        std::fs::write(&path, planted).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            Sessions::load(&path).last_tier("a"),
            Some(Tier::Burst),
            "a good file is read"
        );

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o622)).unwrap();
        assert_eq!(
            Sessions::load(&path).last_tier("a"),
            None,
            "others could write it"
        );

        std::fs::remove_file(&path).unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, planted).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert_eq!(Sessions::load(&path).last_tier("a"), None, "a symlink");
        Sessions::default().save(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            planted,
            "the link's target is untouched"
        );

        for corrupt in [&b"{not json"[..], b"\xff\xff", &vec![b' '; 2 * 1024 * 1024]] {
            std::fs::write(&path, corrupt).unwrap();
            assert_eq!(Sessions::load(&path).last_tier("a"), None);
        }
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert_eq!(Sessions::load(&path).last_tier("a"), None, "a directory");
    }
}

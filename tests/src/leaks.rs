//! The token-hygiene check: a secret must appear in no log line, no reply
//! and no file the daemon wrote.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Daemon;

/// The refresh token every credentials file written by the harness holds.
pub const REFRESH_TOKEN: &str = "sk-ant-ort01-REFRESH-do-not-leak";

/// Asserts that none of `secrets` (nor the refresh token) appears in the
/// daemon's log, in `claude-quota status --json`, or in any file under the
/// daemon's temp dir except the credentials file the test itself wrote.
pub fn assert_never_leaked(daemon: &Daemon, secrets: &[&str]) {
    let status = daemon.cli(&["status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "status --json failed");
    let reply = String::from_utf8_lossy(&status.stdout);
    assert!(reply.contains("\"credentials\""), "not a status: {reply}");
    let written = daemon.claude_dir().join(".credentials.json");
    let mut texts = vec![
        ("status --json".to_owned(), reply.into_owned()),
        ("the log".to_owned(), daemon.log()),
    ];
    for file in files_under(daemon.root()) {
        if file != written {
            let text = String::from_utf8_lossy(&fs::read(&file).unwrap_or_default()).into_owned();
            texts.push((file.display().to_string(), text));
        }
    }
    for secret in secrets.iter().chain([&REFRESH_TOKEN]) {
        for (place, text) in &texts {
            assert!(!text.contains(secret), "{secret} leaked into {place}");
        }
    }
}

/// Every regular file below `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => dirs.push(entry.path()),
                Ok(kind) if kind.is_file() => files.push(entry.path()),
                _ => {}
            }
        }
    }
    files
}

//! `claude-quotad --check-config`, asked by the CLI for what only the
//! daemon's own reading of its config can tell: whether it would start,
//! how it reads the Keychain, and the accounts as it resolves them. The
//! CLI never parses the file itself, so it can never disagree with the
//! daemon about it.

use std::path::PathBuf;
use std::time::Duration;

use claude_quota_credentials::Account;
use serde::Deserialize;

/// How long the daemon binary may take to check its config: it reads one
/// small file, so longer means something is wrong with it.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What `claude-quotad --check-config` prints for a config it would take
/// (the part read here; it also names the file and the keychain method).
#[derive(Debug, Clone, Deserialize)]
pub struct Report {
    /// The accounts, in order of preference (`default` alone when none is
    /// configured). Absent from an older daemon's report.
    #[serde(default)]
    pub accounts: Vec<Account>,
}

/// Why the config could not be checked, or why the daemon would refuse it.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No `claude-quotad` beside this binary or on `PATH`.
    #[error("{0:#}")]
    NoDaemon(anyhow::Error),
    /// It could not be run.
    #[error("cannot run {}: {source}", daemon.display())]
    CannotRun {
        /// The binary.
        daemon: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It did not finish within [`CHECK_TIMEOUT`].
    #[error("`{} --check-config` did not finish within {}s", daemon.display(), CHECK_TIMEOUT.as_secs())]
    TimedOut {
        /// The binary.
        daemon: PathBuf,
    },
    /// It refuses the config: the daemon would not start.
    #[error("claude-quotad would not start: {0}")]
    Refused(String),
    /// It printed something this CLI cannot read (another version).
    #[error("{} answered --check-config with something else ({source})", daemon.display())]
    Unreadable {
        /// The binary.
        daemon: PathBuf,
        /// The parser's complaint.
        source: serde_json::Error,
    },
}

/// Runs `claude-quotad --check-config` (the one beside this binary, else
/// on `PATH`) with this process's environment, so it reads the config the
/// daemon started from this shell would.
pub async fn run() -> Result<Report, CheckError> {
    let daemon = crate::service::find_daemon().map_err(CheckError::NoDaemon)?;
    let mut command = tokio::process::Command::new(&daemon);
    command.arg("--check-config").kill_on_drop(true);
    let output = match tokio::time::timeout(CHECK_TIMEOUT, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(source)) => return Err(CheckError::CannotRun { daemon, source }),
        Err(_) => return Err(CheckError::TimedOut { daemon }),
    };
    if !output.status.success() {
        let refusal = String::from_utf8_lossy(&output.stderr);
        let refusal = refusal.trim().trim_start_matches("claude-quotad: ");
        return Err(CheckError::Refused(refusal.to_owned()));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|source| CheckError::Unreadable { daemon, source })
}

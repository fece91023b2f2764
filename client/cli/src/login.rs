//! The Claude Code login this process runs under, and its account in the
//! daemon's status. Claude Code runs the status line and the hooks in its
//! own environment, so `CLAUDE_CONFIG_DIR` tells which login a session
//! is; this is the one place the CLI reads it, and where a session finds
//! its own account among `status.accounts`, so that each session speaks
//! (and is answered) for its own login.

use std::path::{Path, PathBuf};

use claude_quota::{AccountStatus, Status};
use claude_quota_credentials::accounts::{DEFAULT_NAME, same_dir};

/// The variable that points Claude Code at a login.
pub const VAR: &str = "CLAUDE_CONFIG_DIR";

/// `CLAUDE_CONFIG_DIR` when set and not empty (as Claude Code reads it);
/// `None` for the default login.
pub fn config_dir() -> Option<PathBuf> {
    std::env::var_os(VAR)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

/// A session's view of the daemon: the status as its own account sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The account's name; `None` when the daemon lists no accounts (one
    /// from before them), whose top level is the only reading.
    pub account: Option<String>,
    /// Whether the daemon has more accounts than this one.
    pub several: bool,
    /// The status with the account's tier, windows, forecast and faults
    /// at its top level (see [`narrowed`]).
    pub status: Status,
}

/// The session of the login `dir` (`None`: the default login) in
/// `status`; `None` when no configured account is that login. Without
/// `[[accounts]]` (one account, `default`, with no directory) every
/// login is that account's, as before accounts existed. Directories
/// compare as the daemon compares a push's `claude_config_dir`.
pub fn session(status: Status, dir: Option<&Path>) -> Option<Session> {
    if status.accounts.is_empty() {
        return Some(Session {
            account: None,
            several: false,
            status,
        });
    }
    let own = match status.accounts.as_slice() {
        [only] if only.name == DEFAULT_NAME && only.claude_config_dir.is_none() => only,
        accounts => accounts
            .iter()
            .find(|account| match (&account.claude_config_dir, dir) {
                (Some(own), Some(dir)) => same_dir(Path::new(own), &dir.to_string_lossy()),
                (None, None) => true,
                _ => false,
            })?,
    }
    .clone();
    Some(Session {
        account: Some(own.name.clone()),
        several: status.accounts.len() > 1,
        status: narrowed(status, &own),
    })
}

/// `status` with `own`'s tier, reason, windows, caps, extra usage,
/// reading time, staleness, credentials, fault, poll, forecast and API
/// calls at its top level, which describes the account a `high` task goes
/// to. The cap that keeps the cloud closed is kept only when `own` carries
/// it; the fields `accounts` does not carry (the reading's source and
/// age, the token's expiry, the older per-model windows) stay the top
/// account's: the status line and the hook read none of them.
fn narrowed(mut status: Status, own: &AccountStatus) -> Status {
    status.cloud_capped_by = status
        .cloud_capped_by
        .filter(|cap| own.weekly_scoped.contains(cap));
    status.tier = own.tier;
    status.reason.clone_from(&own.reason);
    status.five_hour = own.five_hour;
    status.seven_day = own.seven_day;
    status.weekly_scoped.clone_from(&own.weekly_scoped);
    status.extra_usage.clone_from(&own.extra_usage);
    status.as_of = own.as_of;
    status.stale = own.stale;
    status.credentials = own.credentials;
    status.last_error.clone_from(&own.last_error);
    status.next_poll_at = own.next_poll_at;
    status.forecast = own.forecast;
    status.api_calls = own.api_calls;
    status
}

#[cfg(test)]
mod tests {
    use claude_quota::{Tier, Window};

    use super::*;

    fn account(name: &str, dir: Option<&str>, tier: Tier, five: f64) -> AccountStatus {
        serde_json::from_value(serde_json::json!({
            "name": name, "claude_config_dir": dir, "priority": 0, "tier": tier,
            "reason": format!("{name}'s reason"),
            "five_hour": Window::new(five, None), "seven_day": null, "as_of": null,
            "stale": false, "credentials": "file", "last_error": null, "next_poll_at": null,
        }))
        .expect("an account")
    }

    fn status(accounts: Vec<AccountStatus>) -> Status {
        let mut status = crate::history::fixture::status();
        status.accounts = accounts;
        status
    }

    #[test]
    fn a_session_is_the_account_of_its_directory_or_of_the_default_login() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().to_str().unwrap().to_owned();
        let both = status(vec![
            account("work", Some(&work), Tier::Resting, 90.0),
            account("personal", None, Tier::Burst, 10.0),
        ]);
        let on_work = session(both.clone(), Some(&dir.path().join("."))).unwrap();
        assert_eq!(on_work.account.as_deref(), Some("work"));
        assert!(on_work.several);
        assert_eq!(
            (on_work.status.tier, on_work.status.reason.as_str()),
            (Tier::Resting, "work's reason")
        );
        assert_eq!(on_work.status.five_hour.unwrap().utilization, 90.0);
        let default = session(both.clone(), None).unwrap();
        assert_eq!(default.account.as_deref(), Some("personal"));
        assert_eq!(default.status.tier, Tier::Burst);
        assert_eq!(
            session(both, Some(Path::new("/nowhere/.claude-x"))),
            None,
            "a login no account is"
        );
    }

    #[test]
    fn without_accounts_every_login_is_default_and_an_older_daemon_its_top_level() {
        let only = status(vec![account("default", None, Tier::Active, 50.0)]);
        let elsewhere = session(only, Some(Path::new("/somewhere/.claude-x"))).unwrap();
        assert_eq!(
            (elsewhere.account.as_deref(), elsewhere.several),
            (Some("default"), false)
        );
        let older = status(Vec::new());
        let top = session(older.clone(), Some(Path::new("/x"))).unwrap();
        assert_eq!((top.account, top.status), (None, older));
    }
}

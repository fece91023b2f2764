//! The checks that read the daemon's answers: who answers, which
//! credentials it holds, and what the usage API said last.

use chrono::{DateTime, Utc};
use claude_quota::{CredentialSource, LastErrorKind, ReadingSource, Status};

use super::check::Check;

/// What to run when the daemon is not running.
const START_IT: &str =
    "start it: `claude-quota service install` (a login agent), or run `claude-quotad`";

/// What to do when Claude Code's login is missing or spoiled.
const LOG_IN: &str = "log in with Claude Code (run `claude`, then /login), or set CLAUDE_CODE_OAUTH_TOKEN for the daemon";

/// The daemon answered: its name, version and age.
pub fn daemon(hello: &str, status: &Status) -> Check {
    let info = &status.daemon;
    let message = format!(
        "{hello} answers (pid {}, up {})",
        info.pid,
        span(info.uptime_s)
    );
    let ours = env!("CARGO_PKG_VERSION");
    if info.version == ours {
        Check::ok("daemon", message)
    } else {
        Check::warn(
            "daemon",
            format!("{message}; this claude-quota is {ours}"),
            "restart the daemon so both are the same version: `claude-quota service install`",
        )
    }
}

/// The daemon could not be asked.
pub fn unreachable(err: &claude_quota::Error) -> Check {
    if err.is_unreachable() {
        let why = std::error::Error::source(err).map_or_else(String::new, |e| format!(" ({e})"));
        return Check::fail(
            "daemon",
            format!("nothing answers on the socket{why}"),
            START_IT,
        );
    }
    Check::fail(
        "daemon",
        err.to_string(),
        "restart the daemon (`claude-quota service install`) and read its log",
    )
}

/// Where the token comes from, the plan, and when the token expires.
pub fn credentials(status: &Status, now: DateTime<Utc>) -> Check {
    if status.credentials == CredentialSource::None {
        return Check::fail(
            "credentials",
            "no Claude Code login found (env, keychain, credentials file)",
            LOG_IN,
        );
    }
    let plan = status
        .subscription_type
        .as_deref()
        .map(|plan| format!(", {plan} plan"))
        .unwrap_or_default();
    let source = format!("from {}{plan}", status.credentials);
    match status.token_expires_at {
        Some(at) if at <= now => Check::warn(
            "credentials",
            format!(
                "{source}; the token expired {} ago",
                span((now - at).num_seconds().unsigned_abs())
            ),
            "run Claude Code once (`claude`) so it refreshes its login; the daemon re-reads it",
        ),
        Some(at) => Check::ok(
            "credentials",
            format!(
                "{source}; the token expires in {}",
                span((at - now).num_seconds().unsigned_abs())
            ),
        ),
        None => Check::ok("credentials", format!("{source}; no expiry stored")),
    }
}

/// Whether the token may read usage (`user:profile`); only known once the
/// usage API has answered, and only asked with credentials.
pub fn scope(status: &Status) -> Option<Check> {
    if status.credentials == CredentialSource::None {
        return None;
    }
    let refused = status
        .last_error
        .as_ref()
        .is_some_and(|e| e.kind == LastErrorKind::InsufficientScope);
    Some(if refused {
        Check::fail(
            "scope",
            "the token lacks the user:profile scope, so usage cannot be read",
            "log in again with Claude Code (`claude`, then /login); tokens from `claude setup-token` carry only user:inference",
        )
    } else if status.source == Some(ReadingSource::Api) {
        Check::ok("scope", "user:profile (the usage API accepted the token)")
    } else {
        Check::warn(
            "scope",
            "not confirmed yet: the usage API has not answered",
            "run `claude-quota doctor` again after the next poll",
        )
    })
}

/// What the usage API said last, and how old the reading is.
pub fn api(status: &Status) -> Check {
    let calls = format!("{} API call(s) since start", status.api_calls);
    if let Some(error) = &status.last_error {
        let message = format!("{} ({}); {calls}", error.message, error.kind);
        return match error.kind {
            LastErrorKind::NoCredentials => {
                Check::fail("api", message, "see the credentials check above")
            }
            LastErrorKind::Unauthorized => Check::fail(
                "api",
                message,
                "run Claude Code once (`claude`) so it refreshes its login; the daemon re-reads it",
            ),
            LastErrorKind::InsufficientScope => {
                Check::fail("api", message, "see the scope check above")
            }
            LastErrorKind::RateLimited => Check::warn(
                "api",
                message,
                "nothing to do: the daemon backs off; `claude-quota statusline` in Claude Code pushes readings without API calls",
            ),
            LastErrorKind::Network => Check::warn(
                "api",
                message,
                "check the network path to the usage API (`api_url` in the config)",
            ),
            LastErrorKind::BadResponse => Check::warn(
                "api",
                message,
                "the usage API may have changed: update claude-quota",
            ),
        };
    }
    match (status.as_of, status.source) {
        (Some(_), Some(source)) if !status.stale => Check::ok(
            "api",
            format!(
                "last reading {} old, from {source}; {calls}",
                span(status.age_s.unwrap_or(0))
            ),
        ),
        (Some(_), _) => Check::warn(
            "api",
            format!("the last reading is stale; {calls}"),
            "wait for the next poll; if it stays stale, read the daemon's log",
        ),
        (None, _) => Check::warn(
            "api",
            format!("no reading yet; {calls}"),
            "wait for the first poll and run `claude-quota doctor` again",
        ),
    }
}

/// A duration as people say it: `45s`, `12m`, `3h 5m`, `2d 4h`.
fn span(seconds: u64) -> String {
    let (d, h, m) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_like_speech() {
        assert_eq!(span(45), "45s");
        assert_eq!(span(720), "12m");
        assert_eq!(span(3 * 3600 + 300), "3h 5m");
        assert_eq!(span(2 * 86_400 + 4 * 3600 + 59), "2d 4h");
    }
}

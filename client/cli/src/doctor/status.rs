//! The checks that read the daemon's answers: who answers, which
//! credentials it holds, and what the usage API said last.

use chrono::{DateTime, Utc};
use claude_quota::{CredentialSource, LastErrorKind, ReadingSource, ReplyShape, Status};

use super::check::{Check, Verdict};
use crate::style::span;

/// What to run when the daemon is not running.
const START_IT: &str =
    "start it: `claude-quota service install` (a login agent), or run `claude-quotad`";

/// What to do when Claude Code's login is missing or spoiled.
pub const LOG_IN: &str = "log in with Claude Code (run `claude`, then /login), or set CLAUDE_CODE_OAUTH_TOKEN for the daemon";

/// What to do when the token has expired or was refused: Claude Code owns
/// it and refreshes it; the daemon never does.
pub const REFRESH_LOGIN: &str =
    "run Claude Code once (`claude`) so it refreshes its login; the daemon re-reads it";

/// What to do when every token lacks `user:profile`: an inference-only
/// token (`claude setup-token`) cannot read usage.
pub const SCOPE_FIX: &str = "unset CLAUDE_CODE_OAUTH_TOKEN for the daemon (a `claude setup-token` token is inference-only) so it reads Claude Code's login, log in again with `claude`, or rely on pushed readings (`claude-quota statusline`, `ingest_headers`)";

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
    match err {
        claude_quota::Error::DaemonUnreachable { source, .. } => Check::fail(
            "daemon",
            format!("nothing answers on the socket ({source})"),
            START_IT,
        ),
        claude_quota::Error::WrongOwner { .. } => Check::fail(
            "daemon",
            err.to_string(),
            "find and stop that process (`ss -xp` or `lsof -U` names it), remove its socket, and start claude-quotad again",
        ),
        _ => Check::fail(
            "daemon",
            err.to_string(),
            "restart the daemon (`claude-quota service install`) and read its log",
        ),
    }
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
            REFRESH_LOGIN,
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
            "no credential source holds a token with the user:profile scope, so usage cannot be read (the last error names the sources)",
            SCOPE_FIX,
        )
    } else if !status.lacking_scope.is_empty() {
        let lacking: Vec<&str> = status.lacking_scope.iter().map(|s| s.as_str()).collect();
        Check::warn(
            "scope",
            format!(
                "the token from {} lacks user:profile (inference-only); the daemon reads usage with the one from {}",
                lacking.join(", "),
                status.credentials
            ),
            SCOPE_FIX,
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
        let (verdict, fix) = match error.kind {
            LastErrorKind::NoCredentials => (Verdict::Fail, "see the credentials check above"),
            LastErrorKind::Unauthorized => (Verdict::Fail, REFRESH_LOGIN),
            LastErrorKind::InsufficientScope => (Verdict::Fail, "see the scope check above"),
            LastErrorKind::RateLimited => (
                Verdict::Warn,
                "nothing to do: the daemon backs off; `claude-quota statusline` in Claude Code pushes readings without API calls",
            ),
            LastErrorKind::Network => (
                Verdict::Warn,
                "check the network path to the usage API (`api_url` in the config)",
            ),
            LastErrorKind::BadResponse => (
                Verdict::Warn,
                "the usage API may have changed: update claude-quota",
            ),
        };
        return Check {
            verdict,
            ..Check::warn("api", message, fix)
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

/// Which form the last usage reply had, so a user reporting a problem can
/// say which API shape their account is served.
pub fn reply_shape(status: &Status) -> Check {
    let message = match status.last_reply_shape {
        Some(ReplyShape::Flat) => "the last usage reply had the flat form (five_hour, seven_day)",
        Some(ReplyShape::Limits) => "the last usage reply had the limits form (2026)",
        Some(ReplyShape::Mixed) => {
            "the last usage reply had both forms (flat keys and limits; limits win)"
        }
        None => "no usage reply read yet",
    };
    Check::ok("reply", message)
}

/// Whether Claude Code's status line pushes readings, which spares the
/// rate-limited usage API; optional, so never a failure.
pub fn pushes(status: &Status, now: DateTime<Utc>, status_line_wired: bool) -> Check {
    match status.last_push_at {
        Some(at) => {
            let ago = span((now - at).num_seconds().unsigned_abs());
            let current = status.source == Some(ReadingSource::Statusline);
            let sparing = if current {
                "; the current reading came from it, so the API is spared"
            } else {
                ""
            };
            Check::ok(
                "pushes",
                format!("last reading pushed by the status line {ago} ago{sparing}"),
            )
        }
        // Wired, it pushes while a session runs (for subscribers): nothing
        // to fix, and no advice that contradicts the claude_code check.
        None if status_line_wired => Check::ok(
            "pushes",
            "none yet: the status line is wired and pushes while a Claude Code session runs (subscribers only)",
        ),
        None => Check::warn(
            "pushes",
            "no reading pushed from Claude Code's status line yet",
            "`claude-quota setup claude-code` wires the status line, which spares the usage API",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status as the daemon sends it, with `credentials` and `last_error`.
    fn status(credentials: &str, last_error: Option<&str>, expires: &str) -> Status {
        let last_error = last_error.map(|kind| {
            serde_json::json!({"kind": kind, "message": "refused", "at": "2026-01-01T00:00:00Z"})
        });
        serde_json::from_value(serde_json::json!({
            "tier": "unknown", "reason": "r", "five_hour": null, "seven_day": null,
            "seven_day_opus": null, "seven_day_sonnet": null, "as_of": null,
            "source": null, "age_s": null, "stale": true, "credentials": credentials,
            "subscription_type": "pro", "token_expires_at": expires,
            "last_error": last_error, "next_poll_at": null, "api_calls": 1,
            "daemon": {"version": "0.1.0", "pid": 1, "uptime_s": 5}
        }))
        .unwrap()
    }

    #[test]
    fn a_token_without_user_profile_fails_scope_and_api() {
        let status = status("file", Some("insufficient_scope"), "2030-01-01T00:00:00Z");
        let scope = scope(&status).unwrap();
        assert_eq!(scope.verdict, Verdict::Fail);
        assert!(scope.message.contains("user:profile"));
        assert_eq!(api(&status).verdict, Verdict::Fail);
    }

    #[test]
    fn an_expired_token_warns_and_a_rate_limit_only_warns() {
        let now = "2026-01-01T02:00:00Z".parse().unwrap();
        let status = status("file", Some("rate_limited"), "2026-01-01T00:00:00Z");
        let credentials = credentials(&status, now);
        assert_eq!(credentials.verdict, Verdict::Warn);
        assert!(
            credentials.message.contains("expired 2h 0m ago"),
            "{credentials:?}"
        );
        assert_eq!(api(&status).verdict, Verdict::Warn);
    }

    #[test]
    fn spans_read_like_speech() {
        assert_eq!(span(45), "45s");
        assert_eq!(span(720), "12m");
        assert_eq!(span(3 * 3600 + 300), "3h 5m");
        assert_eq!(span(2 * 86_400 + 4 * 3600 + 59), "2d 4h");
    }
}

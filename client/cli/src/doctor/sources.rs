//! Doctor reads Claude Code's credential sources itself, through the
//! daemon's own code (`claude-quota-credentials`), so a new user learns
//! first whether a login can be found at all, daemon or not: which source
//! holds a token, its expiry, scopes and plan. The token itself is never
//! shown.

use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_quota_credentials::{Chain, Credentials, KeychainMethod, SourceError};

use super::check::Check;
use crate::style::span;

/// How long all sources together may take: a locked keyring or a hung
/// D-Bus must not hang doctor.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The scope the usage endpoint requires.
const PROFILE_SCOPE: &str = "user:profile";

/// What one source held, or why it could not be read.
pub type Found = (String, Result<Option<Credentials>, SourceError>);

/// Reads every source once, in the daemon's order and with its keychain
/// method, off the runtime and within [`READ_TIMEOUT`]; the error is the
/// failed `credentials` check.
pub async fn inspect(keychain: KeychainMethod) -> Result<Vec<Found>, Check> {
    let read = tokio::task::spawn_blocking(move || Chain::standard(keychain).inspect());
    match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(err)) => Err(Check::fail(
            "credentials",
            format!("cannot read the credential sources: {err}"),
            super::status::LOG_IN,
        )),
        Err(_) => Err(Check::fail(
            "credentials",
            format!(
                "the credential sources gave no answer within {}s (a locked keyring?)",
                READ_TIMEOUT.as_secs()
            ),
            "unlock the login keyring, then run `claude-quota doctor` again",
        )),
    }
}

/// One check per source.
pub fn each(found: &[Found], now: DateTime<Utc>) -> Vec<Check> {
    found.iter().map(|f| source_check(f, now)).collect()
}

/// What one source holds, in words.
fn source_check((place, read): &Found, now: DateTime<Utc>) -> Check {
    match read {
        Ok(None) => Check::ok("source", format!("{place}: no token")),
        Ok(Some(credentials)) => {
            let held = format!("{place}: {}", describe(credentials, now));
            if credentials.expired(now) {
                Check::warn("source", held, super::status::REFRESH_LOGIN)
            } else if lacks_profile(credentials) {
                Check::warn("source", held, super::status::SCOPE_FIX)
            } else {
                Check::ok("source", held)
            }
        }
        Err(err) if err.unavailable => Check::ok(
            "source",
            format!("{place}: cannot be read ({})", err.reason),
        ),
        Err(err) => Check::warn(
            "source",
            format!("{place}: {}", err.reason),
            "fix or remove what is stored there",
        ),
    }
}

/// A token's plan, expiry and scopes.
fn describe(credentials: &Credentials, now: DateTime<Utc>) -> String {
    let plan = credentials.subscription_type.as_deref().map_or_else(
        || "plan not stored".to_owned(),
        |plan| format!("{plan} plan"),
    );
    let expiry = match credentials.expires_at {
        Some(at) if at <= now => format!(
            "expired {} ago",
            span((now - at).num_seconds().unsigned_abs())
        ),
        Some(at) => format!(
            "expires in {}",
            span((at - now).num_seconds().unsigned_abs())
        ),
        None => "no expiry stored".to_owned(),
    };
    let scopes = if credentials.scopes.is_empty() {
        "scopes not stored (a bare token: one from `claude setup-token` is inference-only)"
            .to_owned()
    } else {
        format!("scopes {}", credentials.scopes.join(" "))
    };
    format!("a token, {plan}, {expiry}, {scopes}")
}

/// Whether the stored scopes are known and lack `user:profile`.
fn lacks_profile(credentials: &Credentials) -> bool {
    !credentials.scopes.is_empty() && !credentials.scopes.iter().any(|s| s == PROFILE_SCOPE)
}

/// Which token the daemon would start with (the first unexpired one, as
/// its chain reads them), or a failure naming every place tried: the
/// `credentials` check when no daemon can say.
pub fn verdict(found: &[Found], now: DateTime<Utc>) -> Check {
    let held = |fresh: bool| {
        found.iter().find_map(|(place, read)| match read {
            Ok(Some(c)) if c.expired(now) != fresh => Some(place),
            _ => None,
        })
    };
    match (held(true), held(false)) {
        (Some(place), _) => Check::ok(
            "credentials",
            format!(
                "the daemon would use the token from {place} (read by doctor: no daemon answers)"
            ),
        ),
        (None, Some(place)) => Check::warn(
            "credentials",
            format!("only an expired token was found, in {place}"),
            super::status::REFRESH_LOGIN,
        ),
        (None, None) => {
            let tried: Vec<&str> = found.iter().map(|(place, _)| place.as_str()).collect();
            Check::fail(
                "credentials",
                format!("no Claude Code login found; tried: {}", tried.join("; ")),
                super::status::LOG_IN,
            )
        }
    }
}

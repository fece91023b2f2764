//! The client of Anthropic's usage endpoint: one GET, its faults sorted into
//! the kinds the poller reacts to differently.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_quota_credentials::Secret;
use claude_quota_proto::LastErrorKind;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, HeaderMap, RETRY_AFTER, USER_AGENT};

use crate::http::BodyError;
use crate::usage_reply::{self, Parsed};

/// The endpoint's path under `api_url`.
const USAGE_PATH: &str = "/api/oauth/usage";

/// The beta header the OAuth endpoints require.
const BETA: (&str, &str) = ("anthropic-beta", "oauth-2025-04-20");

/// The Claude Code release whose `User-Agent` the daemon sends by default:
/// `npm view @anthropic-ai/claude-code version` on 2026-11-29. The
/// endpoint puts other agents in a stricter rate-limit bucket or refuses
/// them (docs/decisions.md); config `user_agent` replaces the whole string
/// when a newer release is needed.
pub const CLAUDE_CODE_VERSION: &str = "2.1.332";

/// How many distinct ignored keys, and dropped parts, are remembered (and
/// logged) each: a reply that invents new keys at every poll must not grow
/// the daemon's memory.
const MAX_LOGGED: usize = 256;

/// How long one request may take, connect to last byte.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The longest `Retry-After` honored (docs/decisions.md, "Defences"): a longer one, or one
/// too large to add to a clock, is a server bug that must not silence the
/// daemon for days.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Why a poll gave no reading.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 401: the token was refused; re-read the credentials.
    #[error("the usage API refused the token (401)")]
    Unauthorized,
    /// 403: the token lacks the `user:profile` scope.
    #[error(
        "the token lacks the user:profile scope (403); a token made for inference only (`claude setup-token`) cannot read usage"
    )]
    InsufficientScope,
    /// 429, with the server's `Retry-After` when it gave a positive one.
    #[error("rate limited by the usage API (429){}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// How long the server asked us to wait.
        retry_after: Option<Duration>,
    },
    /// The request did not complete.
    #[error("cannot reach the usage API: {0}")]
    Network(String),
    /// An answer that is not the documented one.
    #[error("unexpected answer from the usage API: {0}")]
    BadResponse(String),
}

impl ApiError {
    /// The `last_error.kind` this fault shows as.
    pub fn kind(&self) -> LastErrorKind {
        match self {
            ApiError::Unauthorized => LastErrorKind::Unauthorized,
            ApiError::InsufficientScope => LastErrorKind::InsufficientScope,
            ApiError::RateLimited { .. } => LastErrorKind::RateLimited,
            ApiError::Network(_) => LastErrorKind::Network,
            ApiError::BadResponse(_) => LastErrorKind::BadResponse,
        }
    }
}

/// The `User-Agent` sent unless the config names another: Claude Code's.
pub fn default_user_agent() -> String {
    format!("claude-code/{CLAUDE_CODE_VERSION}")
}

/// A client for the usage endpoint at one base URL.
pub struct UsageApi {
    http: reqwest::Client,
    url: String,
    user_agent: String,
    /// Reply keys already logged as ignored, so each is logged once.
    ignored_logged: LoggedOnce,
    /// Dropped reply parts already logged, so each is logged once.
    dropped_logged: LoggedOnce,
}

impl UsageApi {
    /// A client for `{api_url}/api/oauth/usage` that introduces itself as
    /// `user_agent`.
    pub fn new(api_url: &str, user_agent: String) -> anyhow::Result<Self> {
        Ok(UsageApi {
            http: crate::http::client(TIMEOUT)?,
            url: format!("{}{USAGE_PATH}", api_url.trim_end_matches('/')),
            user_agent,
            ignored_logged: LoggedOnce::default(),
            dropped_logged: LoggedOnce::default(),
        })
    }

    /// Asks for the current utilization. The token goes into one header and
    /// nowhere else, marked sensitive so that no `Debug` of the request in
    /// reqwest or hyper prints it; reqwest's own errors never see it.
    pub async fn fetch(&self, token: &Secret, now: DateTime<Utc>) -> Result<Parsed, ApiError> {
        let response = self
            .http
            .get(&self.url)
            .bearer_auth(token.expose())
            .header(BETA.0, BETA.1)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, &self.user_agent)
            .send()
            .await
            .map_err(|err| ApiError::Network(describe(&err)))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::UNAUTHORIZED => return Err(ApiError::Unauthorized),
            StatusCode::FORBIDDEN => return Err(ApiError::InsufficientScope),
            StatusCode::TOO_MANY_REQUESTS => {
                return Err(ApiError::RateLimited {
                    retry_after: retry_after(response.headers(), now),
                });
            }
            status if status.is_server_error() => {
                return Err(ApiError::Network(format!("server error {status}")));
            }
            status => return Err(ApiError::BadResponse(format!("HTTP {status}"))),
        }
        let body = crate::http::body_within_limit(response)
            .await
            .map_err(|err| match err {
                BodyError::TooLarge => ApiError::BadResponse(err.to_string()),
                BodyError::Http(err) => ApiError::Network(describe(&err)),
            })?;
        let parsed =
            usage_reply::parse(&body, now).map_err(|err| ApiError::BadResponse(err.to_string()))?;
        for key in self.ignored_logged.new_ones(&parsed.ignored) {
            tracing::debug!(%key, "ignoring a part of the usage reply this daemon does not use");
        }
        for part in self.dropped_logged.new_ones(&parsed.dropped) {
            tracing::info!(%part, "dropped a part of the usage reply that cannot be read; the rest is used");
        }
        Ok(parsed)
    }
}

/// The lines already logged, so each is logged once: a new key or fault is
/// worth a look, the same one at every poll is noise.
#[derive(Default)]
struct LoggedOnce(Mutex<BTreeSet<String>>);

impl LoggedOnce {
    /// Those of `lines` not logged before, remembered from now on (at most
    /// [`MAX_LOGGED`] in all).
    fn new_ones<'a>(&self, lines: impl IntoIterator<Item = &'a String>) -> Vec<&'a String> {
        let mut logged = self.0.lock().unwrap_or_else(|poison| poison.into_inner());
        let mut fresh = Vec::new();
        for line in lines {
            if logged.len() >= MAX_LOGGED {
                break;
            }
            if logged.insert(line.clone()) {
                fresh.push(line);
            }
        }
        fresh
    }
}

/// reqwest's message without the chain's noise, plus the root cause, which
/// is where "connection refused" or "certificate" appears.
fn describe(err: &reqwest::Error) -> String {
    let mut root: &dyn std::error::Error = err;
    while let Some(source) = root.source() {
        root = source;
    }
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    format!("{kind}: {root}")
}

/// A positive `Retry-After`, in seconds or as an HTTP date, at most
/// [`MAX_RETRY_AFTER`] (a longer one is capped and logged). Zero, absent or
/// unparsable means "not told", and the poller backs off on its own.
fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        // More digits than a u64 holds is still "a very long time".
        Err(_) if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => Duration::MAX,
        Err(_) => {
            let at: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
            (at - now).to_std().ok()?
        }
    };
    if wait > MAX_RETRY_AFTER {
        tracing::warn!(
            retry_after = value,
            honored_s = MAX_RETRY_AFTER.as_secs(),
            "Retry-After longer than an hour; capped"
        );
        return Some(MAX_RETRY_AFTER);
    }
    (!wait.is_zero()).then_some(wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    /// What `retry_after` makes of a header holding `value`.
    fn retry_after_of(value: &str, now: DateTime<Utc>) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        retry_after(&headers, now)
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_and_ignores_zero() {
        let now = Utc::now();
        let with = |value: &str| retry_after_of(value, now);
        assert_eq!(with("20"), Some(Duration::from_secs(20)));
        assert_eq!(with("0"), None);
        assert_eq!(with("soon"), None);
        let later = httpdate::fmt_http_date((now + chrono::TimeDelta::seconds(90)).into());
        let wait = with(&later).unwrap().as_secs();
        assert!((88..=90).contains(&wait), "{wait}");
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn retry_after_is_capped_at_an_hour_however_it_is_written() {
        let now = Utc::now();
        let with = |value: &str| retry_after_of(value, now);
        let in_a_day = httpdate::fmt_http_date((now + chrono::TimeDelta::days(1)).into());
        for value in [
            "3601",
            "99999999999999",
            "18446744073709551615",
            "999999999999999999999999",
            &in_a_day,
        ] {
            assert_eq!(with(value), Some(MAX_RETRY_AFTER), "{value}");
        }
        assert_eq!(with("3600"), Some(MAX_RETRY_AFTER));
    }
}

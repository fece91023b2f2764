//! One poll of the usage API: read the token, ask, and publish what the
//! answer says. A refused token (401) is re-read and asked with once more;
//! one lacking the `user:profile` scope (403) gives way to the next source
//! that has a token not yet refused so, until none is left.
//!
//! This is the only code that talks to the API, and only the poller calls
//! it, so there is never more than one request in flight.

use chrono::{DateTime, Utc};
use claude_quota_credentials::{Account, Credentials};
use claude_quota_proto::{CredentialSource, LastErrorKind};
use tokio::time::Duration;

use crate::config::Config;
use crate::credential_cache::CredentialCache;
use crate::state::{AccountCell, CredentialInfo, Snapshot};
use crate::usage_api::{ApiError, UsageApi, default_user_agent};
use crate::usage_reply::Parsed;

/// What one poll came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// A reading arrived and is published.
    Reading,
    /// No source holds a usable token.
    NoCredentials,
    /// The API failed (published as `last_error`); `retry_after` when it
    /// said how long to wait.
    Failed {
        /// The server's positive `Retry-After`.
        retry_after: Option<Duration>,
    },
}

/// The usage API client and the credentials it sends.
pub struct Fetch {
    api: UsageApi,
    credentials: CredentialCache,
    account: Account,
    state: AccountCell,
}

impl Fetch {
    /// A client for the API `config` names, asking with `account`'s
    /// credentials and publishing into its `state`.
    pub fn new(config: &Config, account: Account, state: AccountCell) -> anyhow::Result<Self> {
        Ok(Fetch {
            api: api_client(config)?,
            credentials: CredentialCache::new(&account, config.keychain),
            account,
            state,
        })
    }

    /// Takes a reloaded config: a new keychain method, URL or agent.
    pub fn reconfigure(&mut self, config: &Config) {
        if config.keychain != self.credentials.keychain() {
            self.credentials = CredentialCache::new(&self.account, config.keychain);
        }
        match api_client(config) {
            Ok(api) => self.api = api,
            Err(err) => {
                tracing::error!(%err, "cannot build the usage API client; keeping the old one")
            }
        }
    }

    /// One poll: the token, the request, the reading or the fault.
    pub async fn poll(&mut self) -> Fetched {
        let now = Utc::now();
        let credentials = match self.credentials.current(now).await {
            Ok(credentials) => credentials,
            Err(missing) => {
                self.publish_credentials(None);
                self.fault(LastErrorKind::NoCredentials, missing.to_string(), now);
                return Fetched::NoCredentials;
            }
        };
        self.publish_credentials(Some(&credentials));
        let scopes = credentials.scopes.join(" ");
        match self.ask(credentials).await {
            Ok(parsed) => {
                let recovered = self.state.read(|s| s.last_error.is_some());
                self.state.modify(|s| {
                    s.offer(parsed.reading);
                    s.last_reply_shape = Some(parsed.shape);
                    s.last_reply_dropped = parsed.dropped;
                    s.last_error = None;
                });
                if recovered {
                    tracing::info!(account = %self.account.name, "usage API answered again");
                }
                Fetched::Reading
            }
            Err(err) => {
                let retry_after = match &err {
                    ApiError::RateLimited { retry_after } => *retry_after,
                    _ => None,
                };
                let mut message = err.to_string();
                if err == ApiError::InsufficientScope {
                    if !scopes.is_empty() {
                        message.push_str(&format!(" (its scopes: {scopes})"));
                    }
                    message.push_str(&scope_fix(self.credentials.lacking_scope()));
                }
                self.fault(err.kind(), message, Utc::now());
                Fetched::Failed { retry_after }
            }
        }
    }

    /// Asks the API; on 403 (the token lacks `user:profile`, as an
    /// inference-only one does) the sources are read again and the first
    /// token not yet refused so is asked, until none is left: so a login
    /// made while every token lacked the scope is found at the next poll.
    async fn ask(&mut self, mut credentials: Credentials) -> Result<Parsed, ApiError> {
        loop {
            match self.call(&credentials).await {
                Err(ApiError::InsufficientScope) => {
                    self.credentials.lacks_scope(&credentials);
                    let next = self.credentials.reload().await.ok();
                    self.publish_credentials(next.as_ref());
                    match next {
                        Some(next) if !self.credentials.known_to_lack_scope(&next) => {
                            tracing::warn!(
                                lacking = %credentials.source.as_str(),
                                next = %next.source.as_str(),
                                "token lacks the user:profile scope; trying the next source"
                            );
                            credentials = next;
                        }
                        _ => return Err(ApiError::InsufficientScope),
                    }
                }
                other => return self.after_unauthorized(credentials, other).await,
            }
        }
    }

    /// On 401 reads the sources again and, if they now hold another token,
    /// asks once more with it; any other answer stands.
    async fn after_unauthorized(
        &mut self,
        credentials: Credentials,
        answer: Result<Parsed, ApiError>,
    ) -> Result<Parsed, ApiError> {
        match answer {
            Err(ApiError::Unauthorized) => {
                let fresh = self.credentials.reload().await.ok();
                self.publish_credentials(fresh.as_ref());
                match fresh {
                    Some(fresh) if fresh.token != credentials.token => {
                        tracing::info!(source = %fresh.source.as_str(), "token refused; retrying with the re-read one");
                        self.call(&fresh).await
                    }
                    _ => Err(ApiError::Unauthorized),
                }
            }
            other => other,
        }
    }

    async fn call(&mut self, credentials: &Credentials) -> Result<Parsed, ApiError> {
        self.state.modify(|s| s.api_calls += 1);
        self.api.fetch(&credentials.token, Utc::now()).await
    }

    fn publish_credentials(&self, credentials: Option<&Credentials>) {
        let lacking_scope = self.credentials.lacking_scope().to_vec();
        let info = match credentials {
            Some(c) => CredentialInfo {
                source: c.source,
                subscription_type: c.subscription_type.clone(),
                expires_at: c.expires_at,
                lacking_scope,
            },
            None => CredentialInfo {
                lacking_scope,
                ..Snapshot::default().credentials
            },
        };
        self.state.modify_if(|s| {
            let changed = s.credentials != info;
            s.credentials = info;
            changed
        });
    }

    /// Shows a fault in `last_error` and logs it once.
    fn fault(&self, kind: LastErrorKind, message: String, at: DateTime<Utc>) {
        let mut new = false;
        self.state
            .modify(|s| new = s.record_error(kind, message.clone(), at));
        let account = &self.account.name;
        if new {
            tracing::warn!(%account, kind = kind.as_str(), %message, "poll failed; keeping the last good reading");
        } else {
            tracing::debug!(%account, kind = kind.as_str(), "poll failed again");
        }
    }
}

/// The usage API client `config` describes, with its `User-Agent`.
fn api_client(config: &Config) -> anyhow::Result<UsageApi> {
    let agent = config.user_agent.clone().unwrap_or_else(default_user_agent);
    UsageApi::new(&config.api_url, agent)
}

/// Which sources lacked the scope and what to do, for the
/// `insufficient_scope` message.
fn scope_fix(lacking: &[CredentialSource]) -> String {
    let names: Vec<&str> = lacking.iter().map(|source| source.as_str()).collect();
    let unset = if lacking.contains(&CredentialSource::Env) {
        "unset CLAUDE_CODE_OAUTH_TOKEN for the daemon so it reads Claude Code's login, or "
    } else {
        "log in with `claude` (not `claude setup-token`), or "
    };
    format!(
        "; sources lacking user:profile: {}. Fix: {unset}rely on pushed readings (`claude-quota statusline`, `ingest_headers`)",
        names.join(", ")
    )
}

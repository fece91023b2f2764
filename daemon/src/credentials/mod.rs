//! Where the OAuth token comes from: a chain of sources tried in the order of
//! PRODUCT.md §2, and a cache that re-reads them only when the token has
//! expired or been refused (on macOS every Keychain read may prompt).

mod cache;
pub mod env;
mod file;
#[cfg(target_os = "macos")]
mod keychain_auto;
mod keyring;
mod security_cli;
mod stored;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_quota_proto::CredentialSource;

use crate::config::KeychainMethod;
use crate::secret::Secret;

pub use cache::CredentialCache;
pub use env::EnvSource;
pub use file::FileSource;
pub use keyring::KeyringSource;
pub use security_cli::SecurityCli;

/// The service name Claude Code stores its login under, in the Keychain and
/// the Secret Service alike.
pub const SERVICE: &str = "Claude Code-credentials";

/// How long one source may take to answer (PRODUCT.md §2): a locked
/// keyring, a D-Bus peer that never replies, a `security` waiting on a
/// prompt or a file on a hung mount must not stop the chain.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A token and what Claude Code stored beside it.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The access token.
    pub token: Secret,
    /// When it expires, when stored.
    pub expires_at: Option<DateTime<Utc>>,
    /// The OAuth scopes it was granted, when stored.
    pub scopes: Vec<String>,
    /// The plan (`pro`, `max`…), when stored.
    pub subscription_type: Option<String>,
    /// Which source yielded it.
    pub source: CredentialSource,
}

impl Credentials {
    /// Whether the stored expiry has passed at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A place a token may be stored.
pub trait Source: Send + Sync {
    /// Where this source is, in words, for the `no_credentials` message.
    fn describe(&self) -> String;

    /// Reads the token: `Ok(None)` when this place holds none, an error when
    /// it holds something unusable. Blocking; call it off the runtime.
    fn read(&self) -> Result<Option<Credentials>, SourceError>;
}

/// A source that gave no token although it might hold one. The message
/// never contains the stored text.
#[derive(Debug, thiserror::Error)]
#[error("{place}: {reason}")]
pub struct SourceError {
    /// Where.
    pub place: String,
    /// What is wrong with it.
    pub reason: String,
    /// Whether the place could not be reached at all (no Secret Service
    /// on this machine, a locked keychain): routine where another source
    /// holds the token, so not worth a warning.
    pub unavailable: bool,
}

impl SourceError {
    /// The place holds something that is not a usable token: the user
    /// should hear of it.
    pub fn unusable(place: String, reason: impl Into<String>) -> Self {
        SourceError {
            place,
            reason: reason.into(),
            unavailable: false,
        }
    }

    /// The place could not be read; the reason still belongs in the
    /// `no_credentials` message.
    pub fn unavailable(place: String, reason: impl Into<String>) -> Self {
        SourceError {
            place,
            reason: reason.into(),
            unavailable: true,
        }
    }

    /// The place gave no answer within [`READ_TIMEOUT`]: worth a warning,
    /// as a hang is never routine.
    pub fn timed_out(place: String) -> Self {
        SourceError::unusable(
            place,
            format!("no answer within {}s", READ_TIMEOUT.as_secs()),
        )
    }
}

/// The sources in order; the first that yields an unexpired token wins.
pub struct Chain {
    sources: Vec<Arc<dyn Source>>,
}

impl Chain {
    /// The chain of PRODUCT.md §2 for this platform and environment, with
    /// the Keychain read the way `keychain` says.
    pub fn standard(keychain: KeychainMethod) -> Self {
        Chain::new(vec![
            Arc::new(EnvSource),
            system_store(keychain, login_user()),
            Arc::new(FileSource::standard()),
        ])
    }

    /// A chain of the given sources, tried in order.
    pub fn new(sources: Vec<Arc<dyn Source>>) -> Self {
        Chain { sources }
    }

    /// The first unexpired token; else the first expired one (Claude Code
    /// may refresh it any moment, and the API has the last word); else an
    /// error listing every place tried and what each held. An expired
    /// keyring copy thus never hides the fresh file Claude Code rewrote.
    pub fn read(&self, now: DateTime<Utc>) -> Result<Credentials, String> {
        let mut tried = Vec::with_capacity(self.sources.len());
        let mut expired = None;
        for source in &self.sources {
            match read_within(source, READ_TIMEOUT) {
                Ok(Some(credentials)) if !credentials.expired(now) => return Ok(credentials),
                Ok(Some(credentials)) => {
                    tried.push(format!("{} (expired)", source.describe()));
                    expired.get_or_insert(credentials);
                }
                Ok(None) => tried.push(format!("{} (none)", source.describe())),
                Err(err) => {
                    if err.unavailable {
                        tracing::debug!(%err, "credential source unavailable");
                    } else {
                        tracing::warn!(%err, "credential source unusable");
                    }
                    tried.push(err.to_string());
                }
            }
        }
        if let Some(credentials) = expired {
            tracing::debug!(tried = %tried.join("; "), "only expired tokens found; using the first");
            return Ok(credentials);
        }
        Err(format!(
            "no Claude Code credentials found; tried: {}. Log in with `claude` (Claude Code) or set CLAUDE_CODE_OAUTH_TOKEN",
            tried.join("; ")
        ))
    }
}

/// Reads `source` on a thread of its own and gives up after `limit`: a
/// blocking read (D-Bus, a FIFO, a hung mount) cannot be cancelled, so a
/// hung one is left to finish on its own, holding only its thread, and
/// counts as a failed source.
fn read_within(
    source: &Arc<dyn Source>,
    limit: Duration,
) -> Result<Option<Credentials>, SourceError> {
    let (answer, answered) = std::sync::mpsc::sync_channel(1);
    let reader = Arc::clone(source);
    let spawned = std::thread::Builder::new()
        .name("credential-read".into())
        .spawn(move || {
            let _ = answer.send(reader.read());
        });
    if let Err(err) = spawned {
        return Err(SourceError::unavailable(source.describe(), err.to_string()));
    }
    answered
        .recv_timeout(limit)
        .unwrap_or_else(|_| Err(SourceError::timed_out(source.describe())))
}

/// The system store's source for `keychain`. `auto` differs from `keyring`
/// only on macOS, where `/usr/bin/security` exists to fall back on.
fn system_store(keychain: KeychainMethod, account: String) -> Arc<dyn Source> {
    match keychain {
        KeychainMethod::SecurityCli => Arc::new(SecurityCli::standard(account)),
        #[cfg(target_os = "macos")]
        KeychainMethod::Auto => Arc::new(keychain_auto::KeychainAuto::new(account)),
        _ => Arc::new(KeyringSource::new(account)),
    }
}

/// The account Claude Code files its item under: it runs
/// `security … -a $USER`, so `$USER` first, the password database's name
/// for our uid when the variable is unset.
fn login_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|user| !user.is_empty())
        .or_else(|| whoami::username().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that answers only after `delay`.
    struct Slow {
        delay: Duration,
        token: &'static str,
    }

    impl Source for Slow {
        fn describe(&self) -> String {
            format!("slow source {:?}", self.token)
        }

        fn read(&self) -> Result<Option<Credentials>, SourceError> {
            std::thread::sleep(self.delay);
            stored::parse(
                &format!(r#"{{"claudeAiOauth":{{"accessToken":"{}"}}}}"#, self.token),
                CredentialSource::File,
            )
            .map_err(|reason| SourceError::unusable(self.describe(), reason))
        }
    }

    #[test]
    fn a_hung_source_fails_after_the_timeout_and_the_next_one_is_read() {
        let hung: Arc<dyn Source> = Arc::new(Slow {
            delay: Duration::from_secs(3600),
            token: "first",
        });
        let limit = Duration::from_millis(200);
        let started = std::time::Instant::now();
        let err = read_within(&hung, limit).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(!err.unavailable);
        assert!(err.to_string().contains("no answer within 5s"), "{err}");

        let quick: Arc<dyn Source> = Arc::new(Slow {
            delay: Duration::ZERO,
            token: "second",
        });
        let found = read_within(&quick, limit).unwrap().unwrap();
        assert_eq!(found.token.expose(), "second");
    }
}

//! Where Claude Code's OAuth token is found: a chain of sources tried in
//! the order the README gives ("Credentials"). Shared by the daemon, which reads the token
//! to poll, and `claude-quota doctor`, which reports what each source
//! holds, daemon or not; neither prints the token.

pub mod accounts;
pub mod child;
pub mod discover;
pub mod env;
mod file;
#[cfg(target_os = "macos")]
mod keychain_auto;
mod keyring;
mod secret;
mod security_cli;
mod service_name;
pub mod small_file;
mod stored;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_quota_proto::CredentialSource;
use serde::{Deserialize, Serialize};

pub use env::EnvSource;
pub use file::FileSource;
pub use keyring::KeyringSource;
pub use security_cli::SecurityCli;

pub use accounts::{Account, AccountEntry, AccountError, AccountKey};
pub use secret::Secret;
pub use service_name::{hashed_name, service_names};

/// How to read Claude Code's Keychain item. Its access list trusts
/// `/usr/bin/security`, not this program, so a direct read raises a
/// permission prompt on macOS; the choice is the user's. Linux always reads
/// the Secret Service, except under an explicit `security-cli`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeychainMethod {
    /// Through the keyring crate only (prompts allowed).
    Keyring,
    /// Through `/usr/bin/security` only.
    SecurityCli,
    /// Through the keyring crate without prompts; `/usr/bin/security` when
    /// that read is refused or would need the user.
    #[default]
    Auto,
}

/// How long one source may take to answer (docs/decisions.md, "Credentials"): a locked
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
    /// The chain the README gives for this platform and environment, with
    /// the Keychain read the way `keychain` says: the implicit account
    /// `default`'s.
    pub fn standard(keychain: KeychainMethod) -> Self {
        Chain::for_account(&Account::implicit(), keychain)
    }

    /// The chain of one account's login, the Keychain read the way
    /// `keychain` says. `CLAUDE_CODE_OAUTH_TOKEN` first, for the account
    /// named `default` only. Then, for an account with a directory, the
    /// keyring item Claude Code files that directory's login under and
    /// `<dir>/.credentials.json`, and nothing else: the plain item and
    /// `~/.claude` are another login's. For the default login, today's
    /// chain: the items and the file of the daemon's own
    /// `CLAUDE_CONFIG_DIR`, else the plain item and `~/.claude`.
    pub fn for_account(account: &Account, keychain: KeychainMethod) -> Self {
        let mut sources: Vec<Arc<dyn Source>> = Vec::with_capacity(4);
        if account.owns_env_token() {
            sources.push(Arc::new(EnvSource));
        }
        let user = login_user();
        match &account.claude_config_dir {
            Some(dir) => {
                sources.push(system_store(keychain, hashed_name(dir.as_os_str()), user));
                sources.push(Arc::new(FileSource::in_dir(dir)));
            }
            None => {
                let config_dir = std::env::var_os(service_name::CONFIG_DIR_VAR);
                for service in service_names(config_dir.as_deref()) {
                    sources.push(system_store(keychain, service, user.clone()));
                }
                sources.push(Arc::new(FileSource::standard()));
            }
        }
        Chain::new(sources)
    }

    /// A chain of the given sources, tried in order.
    pub fn new(sources: Vec<Arc<dyn Source>>) -> Self {
        Chain { sources }
    }

    /// What every source holds, in order, each read once: for a report of
    /// every place (`doctor`), where [`Chain::read`] stops at the first.
    pub fn inspect(&self) -> Vec<(String, Result<Option<Credentials>, SourceError>)> {
        self.sources
            .iter()
            .map(|source| (source.describe(), read_within(source, READ_TIMEOUT)))
            .collect()
    }

    /// The first unexpired token; else the first expired one (Claude Code
    /// may refresh it any moment, and the API has the last word); else
    /// the first of the tokens in `lacking_scope`, which the API refused
    /// for want of `user:profile` (an inference-only token), so that the
    /// fault stays `insufficient_scope`; else an error listing every place
    /// tried and what each held. An expired keyring copy thus never hides
    /// the fresh file Claude Code rewrote, nor an inference-only
    /// `CLAUDE_CODE_OAUTH_TOKEN` the login in the keyring or the file.
    pub fn read(
        &self,
        now: DateTime<Utc>,
        lacking_scope: &[Secret],
    ) -> Result<Credentials, NoCredentials> {
        let mut tried = Vec::with_capacity(self.sources.len());
        let mut expired = None;
        let mut refused = None;
        for source in &self.sources {
            match read_within(source, READ_TIMEOUT) {
                Ok(Some(credentials)) if lacking_scope.contains(&credentials.token) => {
                    tried.push(format!("{} (lacks user:profile)", source.describe()));
                    refused.get_or_insert(credentials);
                }
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
        if let Some(credentials) = expired.or(refused) {
            tracing::debug!(tried = %tried.join("; "), "no usable token found; using the first held");
            return Ok(credentials);
        }
        Err(NoCredentials { tried })
    }
}

/// No source yielded a token: every place tried, and what each held, so
/// the user can tell which login is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no Claude Code credentials found; tried: {}. Log in with `claude` (Claude Code) or set CLAUDE_CODE_OAUTH_TOKEN",
    tried.join("; ")
)]
pub struct NoCredentials {
    /// Each place tried, with what it held or why it could not be read.
    pub tried: Vec<String>,
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

/// The system store's source for item `service`, read the way `keychain`
/// says. `auto` differs from `keyring` only on macOS, where
/// `/usr/bin/security` exists to fall back on.
fn system_store(keychain: KeychainMethod, service: String, account: String) -> Arc<dyn Source> {
    match keychain {
        KeychainMethod::SecurityCli => Arc::new(SecurityCli::standard(service, account)),
        #[cfg(target_os = "macos")]
        KeychainMethod::Auto => Arc::new(keychain_auto::KeychainAuto::new(service, account)),
        _ => Arc::new(KeyringSource::new(service, account)),
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
    use std::path::Path;

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
            .map_err(|reason| SourceError::unusable(self.describe(), reason.to_string()))
        }
    }

    /// A source holding one token, or none.
    struct Holding(Option<&'static str>, CredentialSource);

    impl Source for Holding {
        fn describe(&self) -> String {
            self.1.to_string()
        }

        fn read(&self) -> Result<Option<Credentials>, SourceError> {
            Ok(self.0.map(|token| Credentials {
                token: Secret::new(token.into()),
                expires_at: None,
                scopes: Vec::new(),
                subscription_type: None,
                source: self.1,
            }))
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

    fn places(chain: &Chain) -> Vec<String> {
        chain
            .sources
            .iter()
            .map(|source| source.describe())
            .collect()
    }

    #[test]
    fn an_account_with_a_directory_reads_only_its_own_login() {
        let dir = tempfile::tempdir().unwrap();
        let written = format!("{}/", dir.path().display());
        let account = Account {
            name: "work".into(),
            claude_config_dir: Some(written.clone().into()),
            priority: 1,
        };
        let chain = Chain::for_account(&account, KeychainMethod::Keyring);
        let places = places(&chain);
        assert_eq!(places.len(), 2, "{places:?}");
        let item = hashed_name(std::ffi::OsStr::new(&written));
        assert!(places[0].contains(&format!("{item:?}")), "{places:?}");
        assert_eq!(
            places[1],
            dir.path().join(".credentials.json").display().to_string()
        );
        assert!(!places.iter().any(|p| p == env::VAR), "{places:?}");

        std::fs::write(
            dir.path().join(".credentials.json"),
            r#"{"claudeAiOauth":{"accessToken":"work-token"}}"#,
        )
        .unwrap();
        let file_only = Chain::new(vec![Arc::new(FileSource::in_dir(Path::new(&written)))]);
        let found = file_only.read(Utc::now(), &[]).unwrap();
        assert_eq!(found.token.expose(), "work-token");
    }

    #[test]
    fn the_env_token_belongs_to_the_account_named_default_only() {
        let default_login = |name: &str| Account {
            name: name.into(),
            claude_config_dir: None,
            priority: 1,
        };
        let standard = places(&Chain::standard(KeychainMethod::Keyring));
        assert_eq!(standard[0], env::VAR);
        assert_eq!(
            places(&Chain::for_account(
                &default_login("default"),
                KeychainMethod::Keyring
            )),
            standard
        );
        let personal = places(&Chain::for_account(
            &default_login("personal"),
            KeychainMethod::Keyring,
        ));
        assert_eq!(
            personal,
            standard[1..],
            "the same login without the variable"
        );
        let with_dir = Account {
            claude_config_dir: Some("/nonexistent/.claude-x".into()),
            ..default_login("default")
        };
        let places = places(&Chain::for_account(&with_dir, KeychainMethod::Keyring));
        assert_eq!(places[0], env::VAR);
    }

    #[test]
    fn a_token_lacking_the_scope_gives_way_to_the_next_source() {
        let chain = Chain::new(vec![
            Arc::new(Holding(Some("inference-only"), CredentialSource::Env)),
            Arc::new(Holding(None, CredentialSource::SecretService)),
            Arc::new(Holding(Some("login"), CredentialSource::File)),
        ]);
        let now = Utc::now();
        assert_eq!(chain.read(now, &[]).unwrap().source, CredentialSource::Env);
        let refused = [Secret::new("inference-only".into())];
        assert_eq!(
            chain.read(now, &refused).unwrap().source,
            CredentialSource::File
        );
        let all_refused = [Secret::new("login".into()), refused[0].clone()];
        let last_resort = chain.read(now, &all_refused).unwrap();
        assert_eq!(last_resort.source, CredentialSource::Env, "still reported");
    }
}

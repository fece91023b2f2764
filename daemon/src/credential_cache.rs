//! Holds the token between polls, so the sources are read only when the
//! token has expired or been refused, never on every poll.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use claude_quota_proto::CredentialSource;

use claude_quota_credentials::{
    Account, Chain, Credentials, KeychainMethod, NoCredentials, Secret,
};

/// The credentials in use and the chain to read them again from.
pub struct CredentialCache {
    chain: Arc<Chain>,
    keychain: KeychainMethod,
    held: Option<Credentials>,
    /// Tokens the API refused for want of `user:profile`, skipped while
    /// another source holds one.
    lacking_scope: Vec<Secret>,
    /// Where each of those came from, for the message.
    lacking_sources: Vec<CredentialSource>,
}

impl CredentialCache {
    /// An empty cache over `account`'s chain, reading the Keychain the way
    /// `keychain` says; the first call to [`current`] reads it.
    ///
    /// [`current`]: CredentialCache::current
    pub fn new(account: &Account, keychain: KeychainMethod) -> Self {
        CredentialCache {
            chain: Arc::new(Chain::for_account(account, keychain)),
            keychain,
            held: None,
            lacking_scope: Vec::new(),
            lacking_sources: Vec::new(),
        }
    }

    /// Marks the token of `credentials` as lacking the `user:profile`
    /// scope, so the sources are searched for another.
    pub fn lacks_scope(&mut self, credentials: &Credentials) {
        if !self.known_to_lack_scope(credentials) {
            self.lacking_scope.push(credentials.token.clone());
        }
        if !self.lacking_sources.contains(&credentials.source) {
            self.lacking_sources.push(credentials.source);
        }
    }

    /// Whether the API already refused this token for want of the scope.
    pub fn known_to_lack_scope(&self, credentials: &Credentials) -> bool {
        self.lacking_scope.contains(&credentials.token)
    }

    /// The sources whose tokens the API refused for want of `user:profile`.
    pub fn lacking_scope(&self) -> &[CredentialSource] {
        &self.lacking_sources
    }

    /// How the chain reads the Keychain, so a reloaded config that changes
    /// it can be told apart from one that does not.
    pub fn keychain(&self) -> KeychainMethod {
        self.keychain
    }

    /// The held credentials while they have not expired, else a fresh read.
    pub async fn current(&mut self, now: DateTime<Utc>) -> Result<Credentials, NoCredentials> {
        match &self.held {
            Some(held) if !held.expired(now) => Ok(held.clone()),
            _ => self.reload().await,
        }
    }

    /// Reads the sources again, off the runtime (a keyring read may block
    /// on D-Bus or a user prompt).
    pub async fn reload(&mut self) -> Result<Credentials, NoCredentials> {
        let chain = Arc::clone(&self.chain);
        let lacking_scope = self.lacking_scope.clone();
        let read = tokio::task::spawn_blocking(move || chain.read(Utc::now(), &lacking_scope))
            .await
            .unwrap_or_else(|err| {
                Err(NoCredentials {
                    tried: vec![format!("the read itself failed: {err}")],
                })
            });
        self.held = read.as_ref().ok().cloned();
        read
    }
}

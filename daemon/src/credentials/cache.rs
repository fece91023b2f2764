//! Holds the token between polls, so the sources are read only when the
//! token has expired or been refused, never on every poll.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Chain, Credentials};
use crate::config::KeychainMethod;

/// The credentials in use and the chain to read them again from.
pub struct CredentialCache {
    chain: Arc<Chain>,
    keychain: KeychainMethod,
    held: Option<Credentials>,
}

impl CredentialCache {
    /// An empty cache over the standard chain, reading the Keychain the way
    /// `keychain` says; the first call to [`current`] reads it.
    ///
    /// [`current`]: CredentialCache::current
    pub fn standard(keychain: KeychainMethod) -> Self {
        CredentialCache {
            chain: Arc::new(Chain::standard(keychain)),
            keychain,
            held: None,
        }
    }

    /// How the chain reads the Keychain, so a reloaded config that changes
    /// it can be told apart from one that does not.
    pub fn keychain(&self) -> KeychainMethod {
        self.keychain
    }

    /// The held credentials while they have not expired, else a fresh read.
    pub async fn current(&mut self, now: DateTime<Utc>) -> Result<Credentials, String> {
        match &self.held {
            Some(held) if !held.expired(now) => Ok(held.clone()),
            _ => self.reload().await,
        }
    }

    /// Reads the sources again, off the runtime (a keyring read may block
    /// on D-Bus or a user prompt).
    pub async fn reload(&mut self) -> Result<Credentials, String> {
        let chain = Arc::clone(&self.chain);
        let read = tokio::task::spawn_blocking(move || chain.read(Utc::now()))
            .await
            .unwrap_or_else(|err| Err(format!("credential read failed: {err}")));
        self.held = read.as_ref().ok().cloned();
        read
    }
}

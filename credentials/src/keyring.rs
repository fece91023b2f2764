//! The system keyring, through keyring-core and the one store of each
//! platform: the Secret Service on Linux, the login Keychain on macOS.

use keyring_core::Error as KeyringError;

use super::{Credentials, Source, SourceError, stored};

/// What the keyring yields: the stored secret, nothing, or keyring-core's
/// own error, whose kind tells a refusal from a fault.
pub type RawRead = Result<Option<Vec<u8>>, KeyringError>;

/// Reads Claude Code's item of one service name and account, opening the
/// store afresh at every read: a Secret Service that starts after the
/// daemon (or restarts) is then found at the next read rather than never.
pub struct KeyringSource {
    service: String,
    account: String,
}

impl KeyringSource {
    /// The item Claude Code files as `service` under `account`.
    pub fn new(service: String, account: String) -> Self {
        KeyringSource { service, account }
    }

    /// The stored secret, unparsed, with keyring-core's error intact: split
    /// from [`Source::read`] so that macOS's `auto` can see a refusal and
    /// fall back before the answer is interpreted. Blocking.
    pub fn read_raw(&self) -> RawRead {
        match platform::read(&self.service, &self.account) {
            Err(KeyringError::NoEntry) => Ok(None),
            other => other,
        }
    }

    /// This source's answer to a raw read, the second half of
    /// [`Source::read`]; errors name the item, never its contents.
    pub fn interpret(&self, raw: RawRead) -> Result<Option<Credentials>, SourceError> {
        match raw {
            Ok(Some(secret)) => stored::parse_bytes(&secret, platform::SOURCE)
                .map_err(|reason| SourceError::unusable(self.describe(), reason.to_string())),
            Ok(None) => Ok(None),
            Err(KeyringError::Ambiguous(items)) => Err(SourceError::unusable(
                self.describe(),
                format!("{} items match; delete all but one", items.len()),
            )),
            Err(err) => Err(SourceError::unavailable(self.describe(), err.to_string())),
        }
    }
}

/// The service names of the system store's items filed under `account`
/// (Claude Code's among them), without reading any secret. Blocking.
pub fn services(account: &str) -> Result<Vec<String>, String> {
    platform::services(account).map_err(|err| format!("{}: {err}", platform::STORE))
}

impl Source for KeyringSource {
    fn describe(&self) -> String {
        format!(
            "{} item {:?} of {:?}",
            platform::STORE,
            self.service,
            self.account
        )
    }

    fn read(&self) -> Result<Option<Credentials>, SourceError> {
        self.interpret(self.read_raw())
    }
}

/// The Secret Service, over D-Bus in pure Rust (zbus).
#[cfg(target_os = "linux")]
mod platform {
    use std::collections::HashMap;

    use claude_quota_proto::CredentialSource;
    use keyring_core::Error as KeyringError;
    use keyring_core::api::CredentialStoreApi;
    use zbus_secret_service_keyring_store::Store;

    use super::RawRead;

    /// The store, in words.
    pub const STORE: &str = "Secret Service";

    /// What the status calls it.
    pub const SOURCE: CredentialSource = CredentialSource::SecretService;

    /// The attribute naming the account: `username` is the keyring
    /// crate's (what anything written through it carries), `account` is
    /// libsecret's and Node keytar's convention.
    const ACCOUNT_ATTRIBUTES: [&str; 2] = ["username", "account"];

    /// Claude Code's item `service` of `account` under either attribute
    /// convention.
    pub fn read(service: &str, account: &str) -> RawRead {
        let store = Store::new()?;
        for attribute in ACCOUNT_ATTRIBUTES {
            let spec = HashMap::from([("service", service), (attribute, account)]);
            let mut found = store.search(&spec)?;
            match found.len() {
                0 => continue,
                1 => return found.remove(0).get_secret().map(Some),
                _ => return Err(KeyringError::Ambiguous(found)),
            }
        }
        Ok(None)
    }

    /// The service names of every item filed under `account`, read from
    /// the items' attributes: no secret is fetched.
    pub fn services(account: &str) -> Result<Vec<String>, KeyringError> {
        let store = Store::new()?;
        let mut services = Vec::new();
        for attribute in ACCOUNT_ATTRIBUTES {
            let spec = HashMap::from([(attribute, account)]);
            for entry in store.search(&spec)? {
                if let Some(service) = entry.get_attributes()?.remove("service") {
                    services.push(service);
                }
            }
        }
        Ok(services)
    }
}

/// The login Keychain's generic passwords.
#[cfg(target_os = "macos")]
mod platform {
    use apple_native_keyring_store::keychain::Store;
    use claude_quota_proto::CredentialSource;
    use keyring_core::api::CredentialStoreApi;

    use super::RawRead;

    /// The store, in words.
    pub const STORE: &str = "Keychain";

    /// What the status calls it.
    pub const SOURCE: CredentialSource = CredentialSource::Keychain;

    /// The generic password of `service` and `account`.
    pub fn read(service: &str, account: &str) -> RawRead {
        Store::new()?
            .build(service, account, None)?
            .get_secret()
            .map(Some)
    }

    /// The service names of the login keychain's generic passwords, as
    /// `security dump-keychain` lists them (attributes only, no secret, so
    /// no prompt); `account` is not filtered on, as `security` shows every
    /// item the user can see.
    pub fn services(_account: &str) -> Result<Vec<String>, keyring_core::Error> {
        crate::security_cli::keychain_services().map_err(keyring_core::Error::NotSupportedByStore)
    }
}

/// No system keyring that Claude Code uses on other platforms.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod platform {
    use claude_quota_proto::CredentialSource;
    use keyring_core::Error as KeyringError;

    use super::RawRead;

    /// The store, in words.
    pub const STORE: &str = "system keyring";

    /// What the status calls it.
    pub const SOURCE: CredentialSource = CredentialSource::SecretService;

    /// Always unavailable: there is nothing to read.
    pub fn read(_service: &str, _account: &str) -> RawRead {
        Err(KeyringError::NotSupportedByStore(
            "no system keyring on this platform".into(),
        ))
    }

    /// Always unavailable: there is nothing to list.
    pub fn services(_account: &str) -> Result<Vec<String>, KeyringError> {
        Err(KeyringError::NotSupportedByStore(
            "no system keyring on this platform".into(),
        ))
    }
}

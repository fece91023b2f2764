//! `keychain = "auto"` on macOS: the keyring read with prompts switched
//! off, and `/usr/bin/security` (which the item trusts) when that read is
//! refused or would have prompted.

use security_framework::os::macos::keychain::SecKeychain;

use super::{Credentials, KeyringSource, SecurityCli, Source, SourceError};

/// The keyring first, the `security` tool when the keyring says no.
pub struct KeychainAuto {
    keyring: KeyringSource,
    cli: SecurityCli,
}

impl KeychainAuto {
    /// Both readers, for Claude Code's item `service` of `account`.
    pub fn new(service: String, account: String) -> Self {
        KeychainAuto {
            keyring: KeyringSource::new(service.clone(), account.clone()),
            cli: SecurityCli::standard(service, account),
        }
    }
}

impl Source for KeychainAuto {
    fn describe(&self) -> String {
        self.keyring.describe()
    }

    fn read(&self) -> Result<Option<Credentials>, SourceError> {
        let raw = {
            // Held for the read only: with interaction off, an item that
            // does not trust us fails at once instead of prompting.
            let _no_prompt = SecKeychain::disable_user_interaction();
            self.keyring.read_raw()
        };
        match raw {
            Err(err) => {
                tracing::debug!(%err, "keychain read refused; asking /usr/bin/security");
                self.cli.read()
            }
            found => self.keyring.interpret(found),
        }
    }
}

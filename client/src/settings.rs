//! What a client is set to, the same for the async and the blocking one:
//! where the daemon is, how long each kind of call may take, and which
//! account it asks for.

use std::path::PathBuf;
use std::time::Duration;

use claude_quota_proto::{Ingest, ReadingSource};

use crate::fallback;
use crate::route::ROUTE_TIMEOUT;

/// How long a call may take by default, connecting included. Answers come
/// from memory in microseconds; only `refresh` waits on the network.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// A client's socket, deadlines and account.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) socket: PathBuf,
    pub(crate) timeout: Duration,
    pub(crate) route_timeout: Duration,
    /// The account every question and push names; `None` lets the daemon
    /// pick (questions) or take the default one (pushes).
    pub(crate) account: Option<String>,
    /// The `CLAUDE_CONFIG_DIR` pushes name, for the daemon to match to a
    /// configured account.
    pub(crate) claude_config_dir: Option<String>,
}

impl Settings {
    pub(crate) fn new(socket: PathBuf) -> Self {
        Settings {
            socket,
            timeout: DEFAULT_TIMEOUT,
            route_timeout: ROUTE_TIMEOUT,
            account: None,
            claude_config_dir: None,
        }
    }

    /// A push from `source`, naming the account set, carrying nothing yet.
    pub(crate) fn ingest(&self, source: ReadingSource) -> Ingest {
        Ingest {
            account: self.account.clone(),
            claude_config_dir: self.claude_config_dir.clone(),
            ..Ingest::from(source)
        }
    }

    /// The local model a `route` answers when the daemon cannot be asked.
    pub(crate) fn fallback_model(&self) -> String {
        fallback::local_model(&self.socket)
    }
}

/// The constructor, setters and fallback both clients offer, written once:
/// `Client` here is whichever client the macro is used in.
macro_rules! settings_methods {
    () => {
        /// A client of the daemon at `socket` that connects at its first
        /// call, so that connecting counts against that call's deadline (a
        /// `route` that cannot connect answers local at once).
        pub fn new(socket: impl Into<std::path::PathBuf>) -> Self {
            let settings = $crate::settings::Settings::new(socket.into());
            Client {
                settings,
                conn: None,
            }
        }

        /// Sets how long each call but `route` may take, connecting again
        /// included (default [`crate::DEFAULT_TIMEOUT`]).
        pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.timeout = timeout;
            self
        }

        /// Sets how long `route` may take, connecting included (default
        /// [`crate::ROUTE_TIMEOUT`]); past it the answer is local.
        pub fn with_route_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.settings.route_timeout = timeout;
            self
        }

        /// Asks for `account` (a name from the daemon's `[[accounts]]`):
        /// `route`, `decide`, `should_use_cloud` and `select_model` answer
        /// for that account alone, and `ingest` and `ingest_headers` push
        /// readings of it. Without one the daemon picks the preferred
        /// account with headroom and says which in the answer. A router
        /// that moves between accounts holds one client per account (they
        /// are cheap) or calls [`Client::set_account`].
        pub fn with_account(mut self, account: impl Into<String>) -> Self {
            self.settings.account = Some(account.into());
            self
        }

        /// Sets the account the next calls ask for, or none (see
        /// [`Client::with_account`]).
        pub fn set_account(&mut self, account: Option<String>) -> &mut Self {
            self.settings.account = account;
            self
        }

        /// The account the calls ask for, if one is set.
        pub fn account(&self) -> Option<&str> {
            self.settings.account.as_deref()
        }

        /// Pushes (`ingest`, `ingest_headers`) name this `CLAUDE_CONFIG_DIR`,
        /// the directory of the Claude Code login they were read from,
        /// which the daemon matches to a configured account. Questions are
        /// unaffected: they name accounts only by name.
        pub fn with_claude_config_dir(mut self, dir: impl Into<String>) -> Self {
            self.settings.claude_config_dir = Some(dir.into());
            self
        }

        /// The local model `route` answers when the daemon cannot be asked:
        /// the one the daemon named in its last `hello`, the built-in
        /// default before any contact.
        pub fn fallback_model(&self) -> String {
            self.settings.fallback_model()
        }
    };
}

pub(crate) use settings_methods;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_names_the_account_and_directory_set_and_nothing_when_none_is() {
        let mut settings = Settings::new("/nowhere.sock".into());
        let push = settings.ingest(ReadingSource::Headers);
        assert_eq!((push.account, push.claude_config_dir), (None, None));
        settings.account = Some("work".into());
        settings.claude_config_dir = Some("/home/u/.claude-work".into());
        let push = settings.ingest(ReadingSource::Statusline);
        assert_eq!(push.source, ReadingSource::Statusline);
        assert_eq!(push.account.as_deref(), Some("work"));
        assert_eq!(
            push.claude_config_dir.as_deref(),
            Some("/home/u/.claude-work")
        );
    }
}

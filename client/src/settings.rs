//! What a client is set to, the same for the async and the blocking one:
//! where the daemon is and how long each kind of call may take.

use std::path::PathBuf;
use std::time::Duration;

use crate::fallback;
use crate::route::ROUTE_TIMEOUT;

/// How long a call may take by default, connecting included. Answers come
/// from memory in microseconds; only `refresh` waits on the network.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// A client's socket and deadlines.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) socket: PathBuf,
    pub(crate) timeout: Duration,
    pub(crate) route_timeout: Duration,
}

impl Settings {
    pub(crate) fn new(socket: PathBuf) -> Self {
        Settings {
            socket,
            timeout: DEFAULT_TIMEOUT,
            route_timeout: ROUTE_TIMEOUT,
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

        /// The local model `route` answers when the daemon cannot be asked:
        /// the one the daemon named in its last `hello`, the built-in
        /// default before any contact.
        pub fn fallback_model(&self) -> String {
            self.settings.fallback_model()
        }
    };
}

pub(crate) use settings_methods;

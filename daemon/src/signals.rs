//! The signals a supervised daemon must honor: SIGTERM and SIGINT stop it,
//! SIGHUP reloads its config. Installed before the socket opens, so a
//! signal sent the moment the daemon is reachable is never lost.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// What a signal asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// SIGTERM or SIGINT: stop.
    Shutdown,
    /// SIGHUP: read the config again.
    Reload,
}

/// The installed handlers.
pub struct Signals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl Signals {
    /// Installs the handlers; from here on these signals no longer kill the
    /// process but queue an [`Event`].
    pub fn install() -> std::io::Result<Self> {
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The next event.
    pub async fn next(&mut self) -> Event {
        tokio::select! {
            _ = self.terminate.recv() => Event::Shutdown,
            _ = self.interrupt.recv() => Event::Shutdown,
            _ = self.hangup.recv() => Event::Reload,
        }
    }
}

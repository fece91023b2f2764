//! What can go wrong between a router and the daemon, sorted by what the
//! router should do about it.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use claude_quota_proto::ErrorCode;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No daemon answers on the socket: route locally, and start it with
    /// `claude-quotad` or `claude-quota service install`.
    #[error(
        "cannot reach claude-quotad at {socket} (start it with `claude-quotad`, or install it as a service: `claude-quota service install`)"
    )]
    DaemonUnreachable {
        /// The socket that was tried.
        socket: PathBuf,
        /// Why the connection failed.
        source: io::Error,
    },
    /// The process answering on the socket runs as another user, who
    /// could answer anything: route locally, and find out who it is. A
    /// socket directory only you can write keeps this from happening.
    #[error(
        "refusing the daemon at {socket}: it runs as uid {uid}, not as you (uid {own_uid}); another user's process may be answering for claude-quotad"
    )]
    WrongOwner {
        /// The socket that was tried.
        socket: PathBuf,
        /// The uid of the process behind it.
        uid: u32,
        /// This process's effective uid.
        own_uid: u32,
    },
    /// The daemon did not answer in time; the connection is dropped and
    /// the next call connects again.
    #[error("claude-quotad did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection broke or the daemon sent something unexpected; the
    /// connection is dropped and the next call connects again.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The daemon refused the request as malformed (a bug in the caller).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The daemon refused the request for another reason.
    #[error("claude-quotad refused the request ({code:?}): {message}")]
    Refused {
        /// The daemon's error code.
        code: ErrorCode,
        /// The daemon's explanation.
        message: String,
    },
}

impl Error {
    /// Whether no daemon of this user could be asked (none listens, one of
    /// another user does, or one is there but does not answer in time),
    /// which a router should treat as "stay local", not as a bug.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Error::DaemonUnreachable { .. } | Error::WrongOwner { .. } | Error::Timeout(_)
        )
    }
}

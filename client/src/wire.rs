//! What a call puts on the socket and how its replies are read, for the
//! async and the blocking client alike: they differ only in how they wait.
//!
//! A call on a new connection sends `hello` and its request in one write
//! (pipelined: no extra round trip) and reads both replies; on a held
//! connection it sends the request alone. The `hello` reply tells the
//! client the daemon's models, which it answers with when it later cannot
//! ask ([`crate::fallback`]).

use std::borrow::Cow;
use std::io;
use std::path::Path;
use std::sync::LazyLock;

use claude_quota_proto::{
    ConfiguredModels, ErrorCode, FrameError, PROTOCOL_VERSION, Provider, Reply, Request, Status,
    SubagentModels, decode_message, encode_frame,
};

use crate::Error;
use crate::fallback;

/// How this client introduces itself in `hello`, for the daemon's logs.
const CLIENT_NAME: &str = concat!("claude-quota-rust/", env!("CARGO_PKG_VERSION"));

/// `request` as a frame. A request too large for a frame is
/// [`Error::BadRequest`] and sends nothing.
pub(crate) fn encode(request: &Request) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    encode_frame(request, &mut out)
        .map_err(|err| Error::BadRequest(format!("request cannot be sent: {err}")))?;
    Ok(out)
}

/// What a call writes: its request's `frame`, after a `hello` when
/// `greeting`, in one write.
pub(crate) fn outgoing(frame: &[u8], greeting: bool) -> Cow<'_, [u8]> {
    if !greeting {
        return Cow::Borrowed(frame);
    }
    let mut out = HELLO.clone();
    out.extend_from_slice(frame);
    Cow::Owned(out)
}

/// The `hello` frame every new connection starts with.
static HELLO: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let hello = Request::Hello {
        protocol: PROTOCOL_VERSION,
        client: Some(CLIENT_NAME.to_owned()),
    };
    let mut out = Vec::new();
    encode_frame(&hello, &mut out).expect("a hello of a few bytes always fits a frame");
    out
});

/// Whether a call of `request` on a connection that has not yet said
/// `hello` sends one first: not when the request is a `hello` itself.
pub(crate) fn greets(request: &Request, greeted: bool) -> bool {
    !greeted && !matches!(request, Request::Hello { .. })
}

/// One frame's payload as a reply; unknown fields are ignored.
pub(crate) fn decode(payload: &[u8]) -> Result<Reply, Error> {
    decode_message(payload).map_err(|err| Error::Protocol(format!("unreadable reply: {err}")))
}

/// The failure of reading a frame's prefix: a length over the limit.
pub(crate) fn oversized(err: FrameError) -> Error {
    Error::Protocol(format!("the daemon's reply is unreadable: {err}"))
}

/// A socket failure mid-call: the stream can no longer be trusted.
pub(crate) fn broken(err: io::Error) -> Error {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        return closed();
    }
    Error::Protocol(format!("connection to claude-quotad broken: {err}"))
}

/// Who answered `hello`, and what it is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// `claude-quotad/<version>`.
    pub daemon: String,
    /// The models the daemon answers with (absent from older daemons): the
    /// local one is what the clients fall back on when it cannot be asked.
    pub models: Option<ConfiguredModels>,
    /// The subagent model per tier for Claude Code's hooks (absent from
    /// older daemons, which means [`SubagentModels::default`]).
    pub claude_code: Option<SubagentModels>,
}

/// The daemon closed the connection before the reply.
pub(crate) fn closed() -> Error {
    Error::Protocol("the daemon closed the connection".into())
}

/// Takes the reply to `hello`: a daemon of protocol 1, whose models are
/// remembered for the fallback. Anything else fails the call.
pub(crate) fn greeting(reply: &Reply, socket: &Path) -> Result<Greeting, Error> {
    match reply {
        Reply::Hello {
            protocol, daemon, ..
        } if *protocol != PROTOCOL_VERSION => Err(Error::Protocol(format!(
            "{daemon} speaks protocol {protocol}, this client {PROTOCOL_VERSION}"
        ))),
        Reply::Hello {
            daemon,
            models,
            claude_code,
            ..
        } => {
            if let Some(models) = models {
                fallback::remember(socket, models);
            }
            Ok(Greeting {
                daemon: daemon.clone(),
                models: models.clone(),
                claude_code: *claude_code,
            })
        }
        other => Err(answer(other.clone())
            .err()
            .unwrap_or_else(|| unexpected("hello", other))),
    }
}

/// `reply` when it answers `request`: a reply of the type the request
/// asks for (or an `error` reply), and for `route` one a router can follow
/// (a model to call, and the cloud exactly when the provider is
/// Anthropic). Anything else means the stream cannot be trusted, and the
/// caller drops the connection.
pub(crate) fn check(request: &Request, reply: Reply) -> Result<Reply, Error> {
    let fits = match (request, &reply) {
        (_, Reply::Error { .. })
        | (Request::Hello { .. }, Reply::Hello { .. })
        | (Request::Status | Request::Refresh | Request::Subscribe, Reply::Status(_))
        | (Request::ShouldUseCloud { .. }, Reply::Decision(_))
        | (Request::SelectModel { .. }, Reply::Model(_))
        | (Request::Ingest { .. }, Reply::Ok)
        | (Request::Metrics, Reply::Metrics { .. }) => true,
        (Request::Route { .. }, Reply::Route(choice)) => {
            !choice.model.is_empty() && choice.use_cloud == (choice.provider == Provider::Anthropic)
        }
        _ => false,
    };
    if fits {
        Ok(reply)
    } else {
        Err(Error::Protocol(format!(
            "a reply that does not answer the request: {reply:?}"
        )))
    }
}

/// A reply as the call's result: an `error` reply becomes its [`Error`]
/// (the connection stays: the stream is in step).
pub(crate) fn answer(reply: Reply) -> Result<Reply, Error> {
    match reply {
        Reply::Error {
            code: ErrorCode::BadRequest,
            message,
        } => Err(Error::BadRequest(message)),
        Reply::Error { code, message } => Err(Error::Refused { code, message }),
        reply => Ok(reply),
    }
}

/// The status a `status` or `refresh` asked for.
pub(crate) fn status(reply: Reply) -> Result<Status, Error> {
    match reply {
        Reply::Status(status) => Ok(*status),
        other => Err(unexpected("status", &other)),
    }
}

/// One frame of a subscription (or the failure to read one) as its next
/// update. A status is the update; an `error` frame is its [`Error`] and
/// the subscription goes on, since the stream is in step. The daemon
/// closing ends it (`Ok(None)`), and so does anything else (a broken or
/// unreadable frame, a reply of another type), with an error: `stream` is
/// then cleared, so the next read says the stream ended.
pub(crate) fn update<S>(
    frame: Result<Option<Reply>, Error>,
    stream: &mut Option<S>,
) -> Result<Option<Status>, Error> {
    let reply = match frame {
        Ok(Some(reply)) => reply,
        ended => {
            *stream = None;
            return ended.map(|_| None);
        }
    };
    match answer(reply)? {
        Reply::Status(status) => Ok(Some(*status)),
        other => {
            *stream = None;
            Err(unexpected("subscribe", &other))
        }
    }
}

/// A reply of the wrong type for what was `asked`.
pub(crate) fn unexpected(asked: &str, reply: &Reply) -> Error {
    Error::Protocol(format!("unexpected reply to {asked}: {reply:?}"))
}

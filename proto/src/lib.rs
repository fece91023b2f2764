//! The claude-quota wire protocol (version 1): the request and reply types
//! that travel over the daemon's Unix socket, and the framing that carries
//! them.
//!
//! This crate is shared by the daemon and every client so that both sides
//! agree on the bytes by construction. It does no I/O of its own and holds
//! no policy: what a `should_use_cloud` *means* lives in the daemon.
//!
//! The `schema` feature adds `schema::documents`, the JSON Schema of every
//! message generated from these types (checked in as `docs/schema/`, for
//! clients in other languages); it is off by default so that routers
//! depending on the client never compile it.

mod codec;
mod message;
mod paths;
#[cfg(feature = "schema")]
pub mod schema;
mod status;
mod types;

pub use codec::{
    FrameError, JsonCodec, MAX_FRAME_LEN, MalformedMessage, PREFIX_LEN, decode_message,
    encode_frame, frame_len, frame_payload,
};
pub use message::{Decision, ErrorCode, Ingest, ModelChoice, Reply, Request, RouteChoice};
pub use paths::{SOCKET_ENV, bare_socket_path, default_socket_path};
pub use status::{AccountStatus, DaemonInfo, Forecast, HistoryInfo, LocalInfo, Status, Thresholds};
pub use types::{
    Confidence, ConfiguredModels, CredentialSource, ExtraUsage, LastError, LastErrorKind, Polling,
    Provider, ReadingSource, ReplyPart, ReplyShape, ScopedCap, SubagentModel, SubagentModels,
    TaskComplexity, TaskValue, Tier, UnknownName, Window, WindowStatus,
};

/// The protocol version this crate speaks. A client announces it in `hello`
/// and the daemon refuses any other with `unsupported_protocol`, so a future
/// incompatible change can never be misread silently.
pub const PROTOCOL_VERSION: u32 = 1;

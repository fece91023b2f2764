//! A thin client for `claude-quotad`: ask, before every model call, whether
//! the task may spend the Claude subscription or must stay on Ollama.
//!
//! ```no_run
//! # async fn route() -> Result<(), claude_quota::Error> {
//! use claude_quota::{Client, TaskValue};
//!
//! let mut client = Client::connect().await?;
//! if client.should_use_cloud(TaskValue::High).await? {
//!     // send the prompt to Claude
//! } else {
//!     // send it to the local model
//! }
//! # Ok(()) }
//! ```
//!
//! A client is cheap to keep: hold one per router for good and ask on it as
//! often as you like; answers come from memory and cost microseconds. A
//! timeout, a cancelled call or a broken connection drops the connection
//! (so a late reply never answers the next question) and the next call
//! connects again, also to a restarted daemon. Every connection checks
//! that the daemon runs as this user. When no daemon of this user can be
//! reached, the safe answer is local: [`Error::is_unreachable`] tells that
//! case apart.
//!
//! A router that calls Claude itself can hand each response's headers to
//! [`Client::ingest_headers`]: the daemon then has a fresh reading without
//! a poll of the rate-limited usage endpoint.
//!
//! Non-async routers use [`blocking::Client`].

pub mod blocking;
mod client;
mod error;
mod headers;
mod route;

pub use claude_quota_proto::{
    CredentialSource, DaemonInfo, Decision, Forecast, LastError, LastErrorKind, LocalInfo,
    ModelChoice, PROTOCOL_VERSION, Polling, Provider, ReadingSource, ReplyShape, ScopedCap, Status,
    TaskComplexity, TaskValue, Tier, UnknownName, Window, default_socket_path,
};
pub use client::{Client, DEFAULT_TIMEOUT, Subscription};
pub use error::Error;
pub use headers::{HeaderReading, reading_from_headers};
pub use route::{FALLBACK_LOCAL_MODEL, ROUTE_TIMEOUT, Route, route, route_at};

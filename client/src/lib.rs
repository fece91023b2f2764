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
//! A connection is cheap to keep: hold one per router and ask on it as often
//! as you like; answers come from memory and cost microseconds. When the
//! daemon cannot be reached, the safe answer is local: [`Error::is_unreachable`]
//! tells that case apart.
//!
//! Non-async routers use [`blocking::Client`].

pub mod blocking;
mod client;
mod error;

pub use claude_quota_proto::{
    CredentialSource, DaemonInfo, Decision, Forecast, LastError, LastErrorKind, LocalInfo,
    ModelChoice, PROTOCOL_VERSION, Provider, ReadingSource, Status, TaskComplexity, TaskValue,
    Tier, Window, default_socket_path,
};
pub use client::{Client, DEFAULT_TIMEOUT, Subscription};
pub use error::Error;

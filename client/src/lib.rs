//! A thin client for `claude-quotad`: ask, before every model call, where
//! the task should go (the Claude subscription or a local Ollama model).
//!
//! ```no_run
//! # async fn example() {
//! use claude_quota::{Client, Provider, TaskComplexity, TaskValue};
//!
//! let route = claude_quota::route(TaskValue::High, TaskComplexity::High).await;
//! if route.provider == Provider::Anthropic {
//!     // send the prompt to Claude, model route.model
//! } else {
//!     // send it to Ollama, model route.model; route.reason says why
//! }
//! # }
//! ```
//!
//! `route` is one question (`route`) in one round trip under one deadline,
//! and never fails: whenever the daemon cannot be asked the answer is the
//! local model the daemon last named (`hello`'s `models.local_large`), the
//! built-in default only before any contact.
//!
//! A client is cheap to keep: hold one per router for good and ask on it as
//! often as you like; answers come from memory and cost microseconds. A
//! timeout, a cancelled call or a broken connection drops the connection
//! (so a late reply never answers the next question) and the next call
//! connects again, also to a restarted daemon; an `error` reply keeps it.
//! Every connection checks that the daemon runs as this user. For the
//! other questions, [`Error::is_unreachable`] tells "no daemon of yours"
//! (stay local) from a bug.
//!
//! A router that calls Claude itself can hand each response's headers to
//! [`Client::ingest_headers`]: they go to the daemon as they are, and the
//! daemon, which reads them, has a fresh reading without a poll of the
//! rate-limited usage endpoint.
//!
//! With several Claude accounts configured in the daemon, an answer names
//! the account it is for ([`Route::account`], [`Route::claude_config_dir`]);
//! [`Client::with_account`] asks for one account alone.
//!
//! Non-async routers use [`blocking::Client`], which needs no runtime and
//! works inside async code too.

pub mod blocking;
mod calls;
mod client;
mod error;
mod fallback;
mod headers;
mod peer;
mod route;
mod settings;
mod wire;

pub use claude_quota_proto::{
    AccountStatus, Confidence, ConfiguredModels, CredentialSource, DaemonInfo, Decision,
    ExtraUsage, Forecast, LastError, LastErrorKind, LocalInfo, ModelChoice, PROTOCOL_VERSION,
    Polling, Provider, ReadingSource, ReplyPart, ReplyShape, ScopedCap, Status, SubagentModel,
    SubagentModels, TaskComplexity, TaskValue, Thresholds, Tier, UnknownName, Window, WindowStatus,
    default_socket_path,
};
pub use client::{Client, Subscription};
pub use error::Error;
pub use fallback::FALLBACK_LOCAL_MODEL;
pub use route::{ROUTE_TIMEOUT, Route, route};
pub use settings::DEFAULT_TIMEOUT;
pub use wire::Greeting;

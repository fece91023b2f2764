//! The one call a router makes before every model call, without an error
//! to handle: the daemon's `route` answer, or local whenever the daemon
//! cannot be asked, as `route()` does in the Python and Node clients.

use std::path::Path;
use std::time::Duration;

use claude_quota_proto::{Provider, Reply, RouteChoice, TaskComplexity, TaskValue, Tier};

use crate::{Client, Error, fallback, wire};

/// How long a `route` call may take by default, connecting included:
/// answers come from memory, so a daemon slower than this is not one to
/// wait for before a model call.
pub const ROUTE_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a task should go now.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Anthropic (the cloud) or Ollama (local).
    pub provider: Provider,
    /// The model tag to send the task to.
    pub model: String,
    /// Why, in the daemon's words, or why the daemon could not be asked.
    pub reason: String,
    /// The tier behind the answer; `None` when the daemon could not be asked.
    pub tier: Option<Tier>,
    /// False when the daemon saw Ollama down or without the model, and
    /// when the daemon could not be asked (no one has seen the model).
    pub available: bool,
    /// Whether the task goes to the cloud (`provider` is Anthropic).
    pub use_cloud: bool,
    /// Whether the reading behind the answer is stale; true when the
    /// daemon could not be asked.
    pub stale: bool,
    /// The account the answer is for, when the daemon has accounts
    /// configured; `None` when it has not, or could not be asked.
    pub account: Option<String>,
    /// That account's `CLAUDE_CONFIG_DIR`, to start Claude Code on it;
    /// `None` for the default login (and when `account` is).
    pub claude_config_dir: Option<String>,
}

impl Route {
    /// The route a call's answer gives: the daemon's, or local with the
    /// model the daemon at `socket` named when it could not be had.
    pub(crate) fn from_answer(answer: Result<Reply, Error>, socket: &Path) -> Route {
        answer
            .and_then(wire::answer)
            .and_then(Route::from_reply)
            .unwrap_or_else(|err| Route::fallback(&err, socket))
    }

    /// The daemon's answer, already checked to be one a router can follow
    /// (`wire::check`).
    fn from_reply(reply: Reply) -> Result<Route, Error> {
        let Reply::Route(choice) = reply else {
            return Err(wire::unexpected("route", &reply));
        };
        let RouteChoice {
            provider,
            model,
            use_cloud,
            tier,
            reason,
            stale,
            available,
            account,
            claude_config_dir,
        } = choice;
        Ok(Route {
            provider,
            model,
            reason,
            tier: Some(tier),
            available,
            use_cloud,
            stale,
            account,
            claude_config_dir,
        })
    }

    /// Local, because the daemon could not be asked: never a guess at the
    /// cloud.
    fn fallback(err: &Error, socket: &Path) -> Route {
        Route {
            provider: Provider::Ollama,
            model: fallback::local_model(socket),
            reason: format!("claude-quotad unavailable, staying local: {err}"),
            tier: None,
            available: false,
            use_cloud: false,
            stale: true,
            account: None,
            claude_config_dir: None,
        }
    }
}

/// Asks the daemon on the default socket once (connect, ask, close) within
/// [`ROUTE_TIMEOUT`]; never fails. For a router that asks now and then; one
/// that asks before every call holds a [`Client`] and calls
/// [`Client::route`].
pub async fn route(value: TaskValue, complexity: TaskComplexity) -> Route {
    Client::new(claude_quota_proto::default_socket_path())
        .route(value, complexity)
        .await
}

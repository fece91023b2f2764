//! The one call a router can make before every model call without an error
//! to handle: [`Client::route`] puts the two questions together and answers
//! local whenever the daemon cannot be asked, as `route()` does in the
//! Python and Node clients.

use std::path::Path;
use std::time::Duration;

use claude_quota_proto::{Provider, TaskComplexity, TaskValue, Tier};

use crate::{Client, Error};

/// The local model answered when the daemon cannot be asked: the policy's
/// default `models.local_large`, the same fallback as the other clients'.
pub const FALLBACK_LOCAL_MODEL: &str = "qwen3:14b";

/// How long [`route`] waits for the daemon: answers come from memory, so a
/// daemon slower than this is not one to wait for before a model call.
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
    /// False when the daemon saw Ollama down or without the model.
    pub available: bool,
}

impl Route {
    /// Local, because the daemon could not be asked: never a guess at the cloud.
    pub(crate) fn fallback(err: Error) -> Route {
        Route {
            provider: Provider::Ollama,
            model: FALLBACK_LOCAL_MODEL.to_owned(),
            reason: format!("claude-quotad unavailable, staying local: {err}"),
            tier: None,
            available: true,
        }
    }
}

impl Client {
    /// Where a task of `value` and `complexity` should go now; never fails.
    ///
    /// The cloud needs both answers: the value must allow the cloud and the
    /// complexity must call for the cloud model. Otherwise the task goes to
    /// the local model the daemon names (for a complexity that asked for
    /// the cloud, the one for `medium`, local in every tier). Any error (no
    /// daemon, another user's, a timeout, an odd reply) answers local.
    pub async fn route(&mut self, value: TaskValue, complexity: TaskComplexity) -> Route {
        self.ask_route(value, complexity)
            .await
            .unwrap_or_else(Route::fallback)
    }

    async fn ask_route(
        &mut self,
        value: TaskValue,
        complexity: TaskComplexity,
    ) -> Result<Route, Error> {
        let decision = self.decide(value).await?;
        let mut choice = self.select_model(complexity).await?;
        if choice.provider == Provider::Anthropic {
            if decision.use_cloud {
                return Ok(Route {
                    provider: Provider::Anthropic,
                    model: choice.model,
                    reason: decision.reason,
                    tier: Some(choice.tier),
                    available: true,
                });
            }
            choice = self.select_model(TaskComplexity::Medium).await?;
            if choice.provider == Provider::Anthropic {
                return Err(Error::Protocol(
                    "the daemon names no local model for medium tasks".into(),
                ));
            }
        }
        Ok(Route {
            provider: Provider::Ollama,
            model: choice.model,
            reason: format!("{}; {}", decision.reason, choice.reason),
            tier: Some(choice.tier),
            available: choice.available,
        })
    }
}

/// Asks the daemon on the default socket once, within [`ROUTE_TIMEOUT`];
/// never fails. For a router that asks now and then; one that asks before
/// every call holds a [`Client`] and calls [`Client::route`].
pub async fn route(value: TaskValue, complexity: TaskComplexity) -> Route {
    route_at(claude_quota_proto::default_socket_path(), value, complexity).await
}

/// [`route`], asking the daemon at `socket` (a `--socket` flag's, a
/// test's); never fails.
pub async fn route_at(
    socket: impl AsRef<Path>,
    value: TaskValue,
    complexity: TaskComplexity,
) -> Route {
    match Client::connect_to(socket).await {
        Ok(client) => {
            client
                .with_timeout(ROUTE_TIMEOUT)
                .route(value, complexity)
                .await
        }
        Err(err) => Route::fallback(err),
    }
}

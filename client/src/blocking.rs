//! A blocking client for routers that are not async: the same calls as
//! [`crate::Client`], each run to completion on a private single-thread
//! runtime.

use std::path::Path;
use std::time::Duration;

use claude_quota_proto::{Decision, ModelChoice, Status, TaskComplexity, TaskValue};
use tokio::runtime::{Builder, Runtime};

use crate::{Error, Route};

/// A blocking connection to `claude-quotad`. Do not use it from inside an
/// async runtime (tokio would panic); use [`crate::Client`] there.
#[derive(Debug)]
pub struct Client {
    runtime: Runtime,
    inner: crate::Client,
}

impl Client {
    /// Connects to the default socket.
    pub fn connect() -> Result<Self, Error> {
        Self::connect_to(claude_quota_proto::default_socket_path())
    }

    /// Connects to the socket at `socket`.
    pub fn connect_to(socket: impl AsRef<Path>) -> Result<Self, Error> {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| Error::Protocol(format!("cannot start a runtime: {err}")))?;
        let inner = runtime.block_on(crate::Client::connect_to(socket))?;
        Ok(Client { runtime, inner })
    }

    /// Sets how long each request may wait for its answer.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Client {
            inner: self.inner.with_timeout(timeout),
            ..self
        }
    }

    /// See [`crate::Client::hello`].
    pub fn hello(&mut self, client_name: &str) -> Result<String, Error> {
        self.runtime.block_on(self.inner.hello(client_name))
    }

    /// See [`crate::Client::status`].
    pub fn status(&mut self) -> Result<Status, Error> {
        self.runtime.block_on(self.inner.status())
    }

    /// See [`crate::Client::should_use_cloud`].
    pub fn should_use_cloud(&mut self, value: TaskValue) -> Result<bool, Error> {
        self.runtime.block_on(self.inner.should_use_cloud(value))
    }

    /// See [`crate::Client::decide`].
    pub fn decide(&mut self, value: TaskValue) -> Result<Decision, Error> {
        self.runtime.block_on(self.inner.decide(value))
    }

    /// See [`crate::Client::select_model`].
    pub fn select_model(&mut self, complexity: TaskComplexity) -> Result<ModelChoice, Error> {
        self.runtime.block_on(self.inner.select_model(complexity))
    }

    /// See [`crate::Client::ingest_headers`].
    pub fn ingest_headers<I, K, V>(&mut self, headers: I) -> Result<bool, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        self.runtime.block_on(self.inner.ingest_headers(headers))
    }

    /// See [`crate::Client::refresh`].
    pub fn refresh(&mut self) -> Result<Status, Error> {
        self.runtime.block_on(self.inner.refresh())
    }

    /// See [`crate::Client::route`]: never fails, local when in doubt.
    pub fn route(&mut self, value: TaskValue, complexity: TaskComplexity) -> Route {
        self.runtime.block_on(self.inner.route(value, complexity))
    }
}

/// See [`crate::route`]: the default socket, once, within
/// [`crate::ROUTE_TIMEOUT`]; never fails, local when in doubt.
pub fn route(value: TaskValue, complexity: TaskComplexity) -> Route {
    match Client::connect() {
        Ok(client) => client
            .with_timeout(crate::ROUTE_TIMEOUT)
            .route(value, complexity),
        Err(err) => Route::fallback(err),
    }
}

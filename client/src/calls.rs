//! The calls both clients offer, written once. Each builds its request
//! from the client's settings (the account among them) and reads the
//! reply; the async client and the blocking one differ only in how they
//! wait, in the `call` each defines:
//!
//! ```ignore
//! fn call(&mut self, request: Request, timeout: Duration) -> Result<Reply, Error>
//! ```
//!
//! (`async` in [`crate::Client`]). [`calls!`] is expanded in both with
//! their `async` and `.await`, or with neither.

/// The protocol's calls as methods of the client the macro is used in:
/// `calls!(async; .await)` in the async client, `calls!(;)` in the
/// blocking one.
macro_rules! calls {
    ($($async:ident)?; $($await:tt)*) => {
        /// Introduces the client; returns the daemon's name and version and
        /// what it is configured with. Fails when the daemon speaks another
        /// protocol version. (Every new connection says `hello` by itself,
        /// pipelined with its first request.)
        pub $($async)? fn hello(
            &mut self,
            client_name: &str,
        ) -> Result<$crate::Greeting, $crate::Error> {
            let request = claude_quota_proto::Request::Hello {
                protocol: claude_quota_proto::PROTOCOL_VERSION,
                client: Some(client_name.to_owned()),
            };
            let reply = self.request(request) $($await)* ?;
            $crate::wire::greeting(&reply, &self.settings.socket)
        }

        /// The daemon's full status.
        pub $($async)? fn status(&mut self) -> Result<$crate::Status, $crate::Error> {
            $crate::wire::status(self.request(claude_quota_proto::Request::Status) $($await)* ?)
        }

        /// Whether a task of `value` may go to the cloud now (for the
        /// account set, if any: [`Client::with_account`]).
        pub $($async)? fn should_use_cloud(
            &mut self,
            value: $crate::TaskValue,
        ) -> Result<bool, $crate::Error> {
            Ok(self.decide(value) $($await)* ?.use_cloud)
        }

        /// The whole decision for a task of `value`, with its tier and
        /// reason, and the account it is for when accounts are configured.
        pub $($async)? fn decide(
            &mut self,
            value: $crate::TaskValue,
        ) -> Result<$crate::Decision, $crate::Error> {
            let request = claude_quota_proto::Request::ShouldUseCloud {
                task_value: value,
                account: self.settings.account.clone(),
            };
            match self.request(request) $($await)* ? {
                claude_quota_proto::Reply::Decision(decision) => Ok(decision),
                other => Err($crate::wire::unexpected("should_use_cloud", &other)),
            }
        }

        /// The model for a task of `complexity` now, and the account it is
        /// for when accounts are configured.
        pub $($async)? fn select_model(
            &mut self,
            complexity: $crate::TaskComplexity,
        ) -> Result<$crate::ModelChoice, $crate::Error> {
            let request = claude_quota_proto::Request::SelectModel {
                task_complexity: complexity,
                account: self.settings.account.clone(),
            };
            match self.request(request) $($await)* ? {
                claude_quota_proto::Reply::Model(choice) => Ok(choice),
                other => Err($crate::wire::unexpected("select_model", &other)),
            }
        }

        /// Where a task of `value` and `complexity` goes now, in one
        /// question (`route`) under one deadline
        /// ([`Client::with_route_timeout`]); never fails. Any failure (no
        /// daemon, another user's, a timeout, an error or unreadable reply,
        /// an unknown account) answers local, with
        /// [`Client::fallback_model`].
        pub $($async)? fn route(
            &mut self,
            value: $crate::TaskValue,
            complexity: $crate::TaskComplexity,
        ) -> $crate::Route {
            let request = claude_quota_proto::Request::Route {
                task_value: value,
                task_complexity: complexity,
                account: self.settings.account.clone(),
            };
            let timeout = self.settings.route_timeout;
            let answer = self.call(request, timeout) $($await)*;
            $crate::Route::from_answer(answer, &self.settings.socket)
        }

        /// Asks the daemon to poll now (it polls at most once per 10 s) and
        /// returns the status after.
        pub $($async)? fn refresh(&mut self) -> Result<$crate::Status, $crate::Error> {
            $crate::wire::status(self.request(claude_quota_proto::Request::Refresh) $($await)* ?)
        }

        /// The daemon's current values in the Prometheus text format: the
        /// text its `[metrics]` endpoint serves, for scripts and
        /// `claude-quota metrics`.
        pub $($async)? fn metrics(&mut self) -> Result<String, $crate::Error> {
            match self.request(claude_quota_proto::Request::Metrics) $($await)* ? {
                claude_quota_proto::Reply::Metrics { text } => Ok(text),
                other => Err($crate::wire::unexpected("metrics", &other)),
            }
        }

        /// Pushes a reading taken from Claude Code's status line at `as_of`:
        /// its 5-hour window (`None` when no session window is open, which
        /// the daemon reads as idle) and its 7-day window; at least one of
        /// them. The daemon keeps it only if it is newer than the reading
        /// it holds.
        pub $($async)? fn ingest(
            &mut self,
            five_hour: Option<$crate::Window>,
            seven_day: Option<$crate::Window>,
            as_of: chrono::DateTime<chrono::Utc>,
        ) -> Result<(), $crate::Error> {
            let ingest = claude_quota_proto::Ingest {
                five_hour,
                seven_day,
                as_of: Some(as_of),
                ..self.settings.ingest($crate::ReadingSource::Statusline)
            };
            self.push(ingest) $($await)*
        }

        /// Hands the daemon the `anthropic-ratelimit-unified-*` headers of
        /// a Messages API response, as they are, so a router's own calls to
        /// Claude keep the daemon fresh without a poll; the daemon reads
        /// them. Takes any iterator of name/value pairs (`&http::HeaderMap`
        /// fits), names in any case. Returns whether any were sent: a
        /// response without them sends nothing, and a value the daemon
        /// cannot read is its to drop, never an error.
        pub $($async)? fn ingest_headers<I, K, V>(
            &mut self,
            headers: I,
        ) -> Result<bool, $crate::Error>
        where
            I: IntoIterator<Item = (K, V)>,
            K: AsRef<str>,
            V: AsRef<[u8]>,
        {
            let Some(headers) = $crate::headers::unified(headers) else {
                return Ok(false);
            };
            let ingest = claude_quota_proto::Ingest {
                headers: Some(headers),
                ..self.settings.ingest($crate::ReadingSource::Headers)
            };
            self.push(ingest) $($await)* ?;
            Ok(true)
        }

        $($async)? fn push(
            &mut self,
            ingest: claude_quota_proto::Ingest,
        ) -> Result<(), $crate::Error> {
            let request = claude_quota_proto::Request::Ingest(Box::new(ingest));
            match self.request(request) $($await)* ? {
                claude_quota_proto::Reply::Ok => Ok(()),
                other => Err($crate::wire::unexpected("ingest", &other)),
            }
        }

        /// One request under the client's timeout; `error` replies become
        /// [`Error`](crate::Error)s, and keep the connection.
        $($async)? fn request(
            &mut self,
            request: claude_quota_proto::Request,
        ) -> Result<claude_quota_proto::Reply, $crate::Error> {
            let timeout = self.settings.timeout;
            $crate::wire::answer(self.call(request, timeout) $($await)* ?)
        }
    };
}

pub(crate) use calls;

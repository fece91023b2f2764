//! The async client: one connection at a time, requests answered in order.
//!
//! A reply belongs to the connection it came on, so the connection lives
//! only as long as every question on it got its answer: a timeout, a
//! cancelled call or a broken stream drops it, and the next call connects
//! again. That is what lets a router hold one client for good, across
//! slow answers and daemon restarts alike. An `error` reply keeps it: the
//! stream is still in step.

use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_quota_proto::{
    Decision, ModelChoice, PREFIX_LEN, ReadingSource, Reply, Request, Status, TaskComplexity,
    TaskValue, Window, frame_len,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::error::Error;
use crate::headers::{HeaderReading, reading_from_headers};
use crate::route::Route;
use crate::settings::Settings;
use crate::wire::Greeting;
use crate::{peer, wire};

/// A connection and whether it has said `hello` yet.
#[derive(Debug)]
struct Connection {
    stream: UnixStream,
    greeted: bool,
}

/// A connection to `claude-quotad`, opened again on demand.
#[derive(Debug)]
pub struct Client {
    settings: Settings,
    /// `None` after a failed or abandoned exchange, until the next call.
    conn: Option<Connection>,
}

impl Client {
    /// Connects to the default socket (`CLAUDE_QUOTA_SOCKET`, else the
    /// platform default).
    pub async fn connect() -> Result<Self, Error> {
        Self::connect_to(claude_quota_proto::default_socket_path()).await
    }

    /// Connects to the socket at `socket` now, so that a missing daemon, or
    /// one of another user, shows at once rather than at the first question.
    pub async fn connect_to(socket: impl AsRef<Path>) -> Result<Self, Error> {
        let mut client = Self::new(socket.as_ref());
        client.conn = Some(open(&client.settings.socket).await?);
        Ok(client)
    }

    crate::settings::settings_methods!();

    /// Introduces the client; returns the daemon's name and version and
    /// what it is configured with. Fails when the daemon speaks another
    /// protocol version. (Every new
    /// connection says `hello` by itself, pipelined with its first request.)
    pub async fn hello(&mut self, client_name: &str) -> Result<Greeting, Error> {
        let request = Request::Hello {
            protocol: claude_quota_proto::PROTOCOL_VERSION,
            client: Some(client_name.to_owned()),
        };
        let reply = self.request(request).await?;
        wire::greeting(&reply, &self.settings.socket)
    }

    /// The daemon's full status.
    pub async fn status(&mut self) -> Result<Status, Error> {
        into_status(self.request(Request::Status).await?)
    }

    /// Whether a task of `value` may go to the cloud now.
    pub async fn should_use_cloud(&mut self, value: TaskValue) -> Result<bool, Error> {
        Ok(self.decide(value).await?.use_cloud)
    }

    /// The whole decision for a task of `value`, with its tier and reason.
    pub async fn decide(&mut self, value: TaskValue) -> Result<Decision, Error> {
        match self
            .request(Request::ShouldUseCloud {
                task_value: value,
                account: None,
            })
            .await?
        {
            Reply::Decision(decision) => Ok(decision),
            other => Err(wire::unexpected("should_use_cloud", &other)),
        }
    }

    /// The model for a task of `complexity` now.
    pub async fn select_model(&mut self, complexity: TaskComplexity) -> Result<ModelChoice, Error> {
        let request = Request::SelectModel {
            task_complexity: complexity,
            account: None,
        };
        match self.request(request).await? {
            Reply::Model(choice) => Ok(choice),
            other => Err(wire::unexpected("select_model", &other)),
        }
    }

    /// Where a task of `value` and `complexity` goes now, in one question
    /// (`route`) under one deadline ([`Client::with_route_timeout`]); never
    /// fails. Any failure (no daemon, another user's, a timeout, an error
    /// or unreadable reply) answers local, with [`Client::fallback_model`].
    pub async fn route(&mut self, value: TaskValue, complexity: TaskComplexity) -> Route {
        let request = Request::Route {
            task_value: value,
            task_complexity: complexity,
            account: None,
        };
        let timeout = self.settings.route_timeout;
        let answer = self.call(request, timeout).await;
        Route::from_answer(answer, &self.settings.socket)
    }

    /// Asks the daemon to poll now (it polls at most once per 10 s) and
    /// returns the status after.
    pub async fn refresh(&mut self) -> Result<Status, Error> {
        into_status(self.request(Request::Refresh).await?)
    }

    /// Pushes a reading taken from Claude Code's status line at `as_of`:
    /// its 5-hour window (`None` when no session window is open, which the
    /// daemon reads as idle) and its 7-day window; at least one of them.
    /// The daemon keeps it only if it is newer than the reading it holds.
    pub async fn ingest(
        &mut self,
        five_hour: Option<Window>,
        seven_day: Option<Window>,
        as_of: DateTime<Utc>,
    ) -> Result<(), Error> {
        let reading = HeaderReading {
            five_hour,
            seven_day,
            ..HeaderReading::default()
        };
        self.push(ReadingSource::Statusline, reading, Some(as_of))
            .await
    }

    /// Pushes what a Messages API response carried in its
    /// `anthropic-ratelimit-unified-*` headers (windows, the `7d_oi` cap,
    /// extra usage, the binding claim), so a router's own calls to Claude
    /// keep the daemon fresh without a poll. Takes any iterator of
    /// name/value pairs (`&http::HeaderMap` fits), names in any case.
    /// Returns whether a reading was sent: headers that hold none send
    /// nothing, and a value that cannot be read only drops its field.
    pub async fn ingest_headers<I, K, V>(&mut self, headers: I) -> Result<bool, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let reading = reading_from_headers(headers);
        if !reading.is_reading() {
            return Ok(false);
        }
        self.push(ReadingSource::Headers, reading, None).await?;
        Ok(true)
    }

    async fn push(
        &mut self,
        source: ReadingSource,
        reading: HeaderReading,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<(), Error> {
        match self.request(reading.into_ingest(source, as_of)).await? {
            Reply::Ok => Ok(()),
            other => Err(wire::unexpected("ingest", &other)),
        }
    }

    /// Turns the connection into a stream of status updates: one now, then
    /// one at every change of tier or reading.
    pub async fn subscribe(mut self) -> Result<Subscription, Error> {
        let timeout = self.settings.timeout;
        let subscribed = async {
            let (mut conn, greeting) = self.send(&Request::Subscribe).await?;
            if greeting {
                wire::greeting(&receive(&mut conn.stream).await?, &self.settings.socket)?;
            }
            Ok(conn.stream)
        };
        let stream = tokio::time::timeout(timeout, subscribed)
            .await
            .map_err(|_| Error::Timeout(timeout))??;
        Ok(Subscription { stream })
    }

    /// One request under the client's timeout; `error` replies become
    /// [`Error`]s.
    async fn request(&mut self, request: Request) -> Result<Reply, Error> {
        let timeout = self.settings.timeout;
        wire::answer(self.call(request, timeout).await?)
    }

    /// One request and its reply within `timeout`, connecting included.
    async fn call(&mut self, request: Request, timeout: Duration) -> Result<Reply, Error> {
        tokio::time::timeout(timeout, self.exchange(&request))
            .await
            .map_err(|_| Error::Timeout(timeout))?
    }

    /// One request and its reply. The connection is held outside `self`
    /// meanwhile and put back only with the reply in hand: when this
    /// future fails or is dropped half-way, the connection goes with it,
    /// and with it any reply still on its way.
    async fn exchange(&mut self, request: &Request) -> Result<Reply, Error> {
        let (mut conn, greeting) = self.send(request).await?;
        if greeting {
            wire::greeting(&receive(&mut conn.stream).await?, &self.settings.socket)?;
        }
        let reply = wire::check(request, receive(&mut conn.stream).await?)?;
        conn.greeted = true;
        self.conn = Some(conn);
        Ok(reply)
    }

    /// Sends `request` on the held connection, or on a new one when none
    /// is held or the held one is dead (the daemon restarted since its
    /// last answer: the write fails, so the request reached nobody and may
    /// go again). Returns the connection it went out on and whether a
    /// `hello` went ahead of it.
    async fn send(&mut self, request: &Request) -> Result<(Connection, bool), Error> {
        let frame = wire::encode(request)?;
        if let Some(mut held) = self.conn.take() {
            let greeting = wire::greets(request, held.greeted);
            let out = wire::outgoing(&frame, greeting);
            if held.stream.write_all(&out).await.is_ok() {
                return Ok((held, greeting));
            }
        }
        let mut conn = open(&self.settings.socket).await?;
        let greeting = wire::greets(request, false);
        let out = wire::outgoing(&frame, greeting);
        conn.stream.write_all(&out).await.map_err(wire::broken)?;
        Ok((conn, greeting))
    }
}

/// A stream of status updates from `subscribe`.
#[derive(Debug)]
pub struct Subscription {
    stream: UnixStream,
}

impl Subscription {
    /// The next update; `Ok(None)` when the daemon closed the connection
    /// (it is shutting down or restarting).
    pub async fn next(&mut self) -> Result<Option<Status>, Error> {
        match read_frame(&mut self.stream).await? {
            None => Ok(None),
            Some(reply) => into_status(wire::answer(reply)?).map(Some),
        }
    }
}

/// Connects to `socket` and checks that the daemon there runs as this user.
async fn open(socket: &Path) -> Result<Connection, Error> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|source| Error::DaemonUnreachable {
            socket: socket.to_owned(),
            source,
        })?;
    peer::check(stream.as_fd(), socket)?;
    Ok(Connection {
        stream,
        greeted: false,
    })
}

/// The next reply; the daemon closing instead is an error.
async fn receive(stream: &mut UnixStream) -> Result<Reply, Error> {
    read_frame(stream).await?.ok_or_else(wire::closed)
}

/// The next frame's reply, or `None` when the daemon closed the
/// connection cleanly between frames.
async fn read_frame(stream: &mut UnixStream) -> Result<Option<Reply>, Error> {
    let mut prefix = [0; PREFIX_LEN];
    let first = stream.read(&mut prefix).await.map_err(wire::broken)?;
    if first == 0 {
        return Ok(None);
    }
    stream
        .read_exact(&mut prefix[first..])
        .await
        .map_err(wire::broken)?;
    let mut payload = vec![0; frame_len(prefix).map_err(wire::oversized)?];
    stream
        .read_exact(&mut payload)
        .await
        .map_err(wire::broken)?;
    wire::decode(&payload).map(Some)
}

fn into_status(reply: Reply) -> Result<Status, Error> {
    match reply {
        Reply::Status(status) => Ok(*status),
        other => Err(wire::unexpected("status", &other)),
    }
}

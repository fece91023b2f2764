//! The async client: one connection, requests answered in order.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_quota_proto::{
    Decision, ErrorCode, FrameError, JsonCodec, ModelChoice, PROTOCOL_VERSION, ReadingSource,
    Reply, Request, Status, TaskComplexity, TaskValue, Window,
};
use futures_util::{SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio_util::codec::Framed;

use crate::error::Error;

/// How long a request may wait for its answer by default. Answers come from
/// memory in microseconds; only `refresh` waits on the network.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

type Connection = Framed<UnixStream, JsonCodec<Reply, Request>>;

/// A connection to `claude-quotad`.
#[derive(Debug)]
pub struct Client {
    conn: Connection,
    timeout: Duration,
}

impl Client {
    /// Connects to the default socket (`CLAUDE_QUOTA_SOCKET`, else the
    /// platform default).
    pub async fn connect() -> Result<Self, Error> {
        Self::connect_to(claude_quota_proto::default_socket_path()).await
    }

    /// Connects to the socket at `socket`.
    pub async fn connect_to(socket: impl AsRef<Path>) -> Result<Self, Error> {
        let socket = socket.as_ref();
        let stream =
            UnixStream::connect(socket)
                .await
                .map_err(|source| Error::DaemonUnreachable {
                    socket: PathBuf::from(socket),
                    source,
                })?;
        Ok(Client {
            conn: Framed::new(stream, JsonCodec::new()),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Sets how long each request may wait for its answer.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Introduces the client; returns the daemon's name and version. Fails
    /// with `unsupported_protocol` when the daemon speaks another version.
    pub async fn hello(&mut self, client_name: &str) -> Result<String, Error> {
        let request = Request::Hello {
            protocol: PROTOCOL_VERSION,
            client: Some(client_name.to_owned()),
        };
        match self.request(request).await? {
            Reply::Hello { daemon, .. } => Ok(daemon),
            other => Err(unexpected("hello", &other)),
        }
    }

    /// The daemon's full status.
    pub async fn status(&mut self) -> Result<Status, Error> {
        let reply = self.request(Request::Status).await?;
        into_status(reply)
    }

    /// Whether a task of `value` may go to the cloud now.
    pub async fn should_use_cloud(&mut self, value: TaskValue) -> Result<bool, Error> {
        Ok(self.decide(value).await?.use_cloud)
    }

    /// The whole decision for a task of `value`, with its tier and reason.
    pub async fn decide(&mut self, value: TaskValue) -> Result<Decision, Error> {
        match self
            .request(Request::ShouldUseCloud { task_value: value })
            .await?
        {
            Reply::Decision(decision) => Ok(decision),
            other => Err(unexpected("should_use_cloud", &other)),
        }
    }

    /// The model for a task of `complexity` now.
    pub async fn select_model(&mut self, complexity: TaskComplexity) -> Result<ModelChoice, Error> {
        let request = Request::SelectModel {
            task_complexity: complexity,
        };
        match self.request(request).await? {
            Reply::Model(choice) => Ok(choice),
            other => Err(unexpected("select_model", &other)),
        }
    }

    /// Asks the daemon to poll now (it polls at most once per 10 s) and
    /// returns the status after.
    pub async fn refresh(&mut self) -> Result<Status, Error> {
        let reply = self.request(Request::Refresh).await?;
        into_status(reply)
    }

    /// Pushes a reading taken from Claude Code's status line at `as_of`.
    /// The daemon keeps it only if it is newer than the reading it holds.
    pub async fn ingest(
        &mut self,
        five_hour: Window,
        seven_day: Option<Window>,
        as_of: DateTime<Utc>,
    ) -> Result<(), Error> {
        let request = Request::Ingest {
            source: ReadingSource::Statusline,
            five_hour: Some(five_hour),
            seven_day,
            as_of: Some(as_of),
        };
        match self.request(request).await? {
            Reply::Ok => Ok(()),
            other => Err(unexpected("ingest", &other)),
        }
    }

    /// Turns the connection into a stream of status updates: one now, then
    /// one at every change of tier or reading.
    pub async fn subscribe(mut self) -> Result<Subscription, Error> {
        self.send(Request::Subscribe).await?;
        Ok(Subscription { conn: self.conn })
    }

    /// Sends one request and waits for its reply; daemon errors become
    /// [`Error`]s.
    async fn request(&mut self, request: Request) -> Result<Reply, Error> {
        let timeout = self.timeout;
        let exchange = async {
            self.send(request).await?;
            receive(&mut self.conn).await
        };
        let reply = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| Error::Timeout(timeout))??;
        match reply {
            Reply::Error {
                code: ErrorCode::BadRequest,
                message,
            } => Err(Error::BadRequest(message)),
            Reply::Error { code, message } => Err(Error::Refused { code, message }),
            reply => Ok(reply),
        }
    }

    async fn send(&mut self, request: Request) -> Result<(), Error> {
        self.conn.send(request).await.map_err(frame_error)
    }
}

/// A stream of status updates from `subscribe`.
#[derive(Debug)]
pub struct Subscription {
    conn: Connection,
}

impl Subscription {
    /// The next update; `Ok(None)` when the daemon closed the connection
    /// (it is shutting down or restarting).
    pub async fn next(&mut self) -> Result<Option<Status>, Error> {
        match self.conn.next().await {
            None => Ok(None),
            Some(frame) => decode(frame).and_then(into_status).map(Some),
        }
    }
}

async fn receive(conn: &mut Connection) -> Result<Reply, Error> {
    match conn.next().await {
        Some(frame) => decode(frame),
        None => Err(Error::Protocol("the daemon closed the connection".into())),
    }
}

fn decode(
    frame: Result<Result<Reply, claude_quota_proto::MalformedMessage>, FrameError>,
) -> Result<Reply, Error> {
    frame
        .map_err(frame_error)?
        .map_err(|err| Error::Protocol(format!("unreadable reply: {err}")))
}

fn into_status(reply: Reply) -> Result<Status, Error> {
    match reply {
        Reply::Status(status) => Ok(*status),
        Reply::Error { code, message } => Err(Error::Refused { code, message }),
        other => Err(unexpected("status", &other)),
    }
}

fn frame_error(err: FrameError) -> Error {
    Error::Protocol(err.to_string())
}

fn unexpected(asked: &str, reply: &Reply) -> Error {
    Error::Protocol(format!("unexpected reply to {asked}: {reply:?}"))
}

//! The async client: one connection at a time, requests answered in order.
//!
//! A reply belongs to the connection it came on, so the connection lives
//! only as long as every question on it got its answer: a timeout, a
//! cancelled call or a broken stream drops it, and the next call connects
//! again. That is what lets a router hold one client for good, across
//! slow answers and daemon restarts alike.

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
use crate::headers::reading_from_headers;

/// How long a request may wait for its answer by default. Answers come from
/// memory in microseconds; only `refresh` waits on the network.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

type Connection = Framed<UnixStream, JsonCodec<Reply, Request>>;

/// A connection to `claude-quotad`, opened again on demand.
#[derive(Debug)]
pub struct Client {
    socket: PathBuf,
    /// `None` after a failed or abandoned exchange, until the next call.
    conn: Option<Connection>,
    timeout: Duration,
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
        let socket = socket.as_ref().to_owned();
        let conn = open(&socket).await?;
        Ok(Client {
            socket,
            conn: Some(conn),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Sets how long each request may wait for its answer, connecting
    /// again included.
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
        self.push(ReadingSource::Statusline, five_hour, seven_day, as_of)
            .await
    }

    /// Pushes the windows a Messages API response carried in its
    /// `anthropic-ratelimit-unified-*` headers, so a router's own calls to
    /// Claude keep the daemon fresh without a poll. Takes any iterator of
    /// name/value pairs (`&http::HeaderMap` fits), names in any case.
    /// Returns whether a reading was sent: headers without a 5-hour
    /// window send nothing and are no error; a value that is not a usable
    /// number is [`Error::BadRequest`] naming the header, and nothing is sent.
    pub async fn ingest_headers<I, K, V>(&mut self, headers: I) -> Result<bool, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let reading = reading_from_headers(headers)?;
        let Some(five_hour) = reading.five_hour else {
            return Ok(false);
        };
        self.push(
            ReadingSource::Headers,
            five_hour,
            reading.seven_day,
            Utc::now(),
        )
        .await?;
        Ok(true)
    }

    async fn push(
        &mut self,
        source: ReadingSource,
        five_hour: Window,
        seven_day: Option<Window>,
        as_of: DateTime<Utc>,
    ) -> Result<(), Error> {
        let request = Request::Ingest {
            source,
            five_hour: Some(five_hour),
            seven_day,
            as_of: Some(as_of),
            weekly_scoped: Vec::new(),
            extra_usage: None,
            representative_claim: None,
        };
        match self.request(request).await? {
            Reply::Ok => Ok(()),
            other => Err(unexpected("ingest", &other)),
        }
    }

    /// Turns the connection into a stream of status updates: one now, then
    /// one at every change of tier or reading.
    pub async fn subscribe(mut self) -> Result<Subscription, Error> {
        let conn = self.send_request(Request::Subscribe).await?;
        Ok(Subscription { conn })
    }

    /// Sends one request and waits for its reply; daemon errors become
    /// [`Error`]s.
    async fn request(&mut self, request: Request) -> Result<Reply, Error> {
        let timeout = self.timeout;
        let reply = tokio::time::timeout(timeout, self.exchange(request))
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

    /// One request and its reply. The connection is held outside `self`
    /// meanwhile and put back only with the reply in hand: when this
    /// future fails or is dropped half-way, the connection goes with it,
    /// and with it any reply still on its way.
    async fn exchange(&mut self, request: Request) -> Result<Reply, Error> {
        let mut conn = self.send_request(request).await?;
        let reply = receive(&mut conn).await?;
        self.conn = Some(conn);
        Ok(reply)
    }

    /// Sends `request` on the held connection, or on a new one when none
    /// is held or the held one is dead (the daemon restarted since its
    /// last answer: the write fails, so the request reached nobody and may
    /// go again). Returns the connection it went out on.
    async fn send_request(&mut self, request: Request) -> Result<Connection, Error> {
        if let Some(mut held) = self.conn.take() {
            match held.send(request.clone()).await {
                Ok(()) => return Ok(held),
                Err(FrameError::Io(_)) => {}
                Err(err) => return Err(frame_error(err)),
            }
        }
        let mut conn = open(&self.socket).await?;
        conn.send(request).await.map_err(frame_error)?;
        Ok(conn)
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

/// Connects to `socket` and checks that the daemon there runs as this
/// user: anyone else's process could answer "use the cloud" for it.
async fn open(socket: &Path) -> Result<Connection, Error> {
    let unreachable = |source| Error::DaemonUnreachable {
        socket: socket.to_owned(),
        source,
    };
    let stream = UnixStream::connect(socket).await.map_err(unreachable)?;
    let uid = stream.peer_cred().map_err(unreachable)?.uid();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let own_uid = unsafe { libc::geteuid() };
    if uid != own_uid {
        return Err(Error::WrongOwner {
            socket: socket.to_owned(),
            uid,
            own_uid,
        });
    }
    Ok(Framed::new(stream, JsonCodec::new()))
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

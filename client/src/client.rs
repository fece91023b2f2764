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

use claude_quota_proto::{PREFIX_LEN, Reply, Request, Status, frame_len};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use crate::error::Error;
use crate::settings::Settings;
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

    crate::calls::calls!(async; .await);

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
        Ok(Subscription {
            stream: Some(stream),
        })
    }

    /// One request and its reply within `timeout`, connecting included:
    /// what [`crate::calls`] waits on.
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
    /// `None` once the stream ended or broke.
    stream: Option<UnixStream>,
}

impl Subscription {
    /// The next update; `Ok(None)` when the daemon closed the connection
    /// (it is shutting down or restarting). An `error` frame is an
    /// [`Error`] and the stream goes on; a broken or unreadable one ends
    /// it (see [`wire::update`]).
    pub async fn next(&mut self) -> Result<Option<Status>, Error> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(None);
        };
        let frame = read_frame(stream).await;
        wire::update(frame, &mut self.stream)
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

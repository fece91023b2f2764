//! A blocking client for routers that are not async, on plain
//! `std::os::unix::net`: no runtime of its own, so it works the same
//! inside async code (a synchronous helper called from a handler) and
//! outside it. The same calls and rules as [`crate::Client`], from the
//! same code: the settings (`settings`), the calls (`calls`), the frames
//! and replies (`wire`, `proto`); only the waiting is its own.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use claude_quota_proto::{
    PREFIX_LEN, Reply, Request, Status, TaskComplexity, TaskValue, frame_len,
};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::route::Route;
use crate::settings::Settings;
use crate::{Error, peer, wire};

/// A connection and whether it has said `hello` yet.
#[derive(Debug)]
struct Connection {
    stream: UnixStream,
    greeted: bool,
}

/// A blocking connection to `claude-quotad`, opened again on demand.
#[derive(Debug)]
pub struct Client {
    settings: Settings,
    /// `None` after a failed exchange, until the next call.
    conn: Option<Connection>,
}

impl Client {
    /// Connects to the default socket.
    pub fn connect() -> Result<Self, Error> {
        Self::connect_to(claude_quota_proto::default_socket_path())
    }

    /// Connects to the socket at `socket` now, so that a missing daemon, or
    /// one of another user, shows at once.
    pub fn connect_to(socket: impl AsRef<Path>) -> Result<Self, Error> {
        let mut client = Self::new(socket.as_ref());
        let deadline = Deadline::after(client.settings.timeout);
        client.conn = Some(open(&client.settings.socket, &deadline)?);
        Ok(client)
    }

    crate::settings::settings_methods!();

    crate::calls::calls!(;);

    /// Turns the connection into a stream of status updates: one now, then
    /// one at every change of tier or reading, as an iterator that ends
    /// when the daemon closes the connection.
    pub fn subscribe(mut self) -> Result<Subscription, Error> {
        let deadline = Deadline::after(self.settings.timeout);
        let (mut conn, greeting) = self.send(&Request::Subscribe, &deadline)?;
        if greeting {
            wire::greeting(
                &receive(&mut conn.stream, &deadline)?,
                &self.settings.socket,
            )?;
        }
        Ok(Subscription {
            stream: Some(conn.stream),
        })
    }

    /// One request and its reply within `timeout`, connecting included:
    /// what [`crate::calls`] waits on. The connection is put back only
    /// with the reply in hand: any failure drops it, and with it any reply
    /// still on its way.
    fn call(&mut self, request: Request, timeout: Duration) -> Result<Reply, Error> {
        let deadline = Deadline::after(timeout);
        let (mut conn, greeting) = self.send(&request, &deadline)?;
        if greeting {
            wire::greeting(
                &receive(&mut conn.stream, &deadline)?,
                &self.settings.socket,
            )?;
        }
        let reply = wire::check(&request, receive(&mut conn.stream, &deadline)?)?;
        conn.greeted = true;
        self.conn = Some(conn);
        Ok(reply)
    }

    /// Sends `request` on the held connection, or on a new one when none
    /// is held or the held one is dead; see [`crate::Client`].
    fn send(
        &mut self,
        request: &Request,
        deadline: &Deadline,
    ) -> Result<(Connection, bool), Error> {
        let frame = wire::encode(request)?;
        if let Some(mut held) = self.conn.take() {
            let greeting = wire::greets(request, held.greeted);
            if write(
                &mut held.stream,
                &wire::outgoing(&frame, greeting),
                deadline,
            )
            .is_ok()
            {
                return Ok((held, greeting));
            }
        }
        let mut conn = open(&self.settings.socket, deadline)?;
        let greeting = wire::greets(request, false);
        write(
            &mut conn.stream,
            &wire::outgoing(&frame, greeting),
            deadline,
        )?;
        Ok((conn, greeting))
    }
}

/// A stream of status updates from [`Client::subscribe`]: each item is
/// the next update, waited for as long as the tier holds. An `error`
/// frame is an `Err` and the stream goes on; the daemon closing ends it,
/// and so does a broken or unreadable frame, after its `Err`.
#[derive(Debug)]
pub struct Subscription {
    /// `None` once the stream ended or broke.
    stream: Option<UnixStream>,
}

impl Iterator for Subscription {
    type Item = Result<Status, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let stream = self.stream.as_mut()?;
        let frame = read_frame(stream, &Deadline::never());
        wire::update(frame, &mut self.stream).transpose()
    }
}

/// See [`crate::route`]: the default socket, once (connect, ask, close),
/// within [`crate::ROUTE_TIMEOUT`]; never fails, local when in doubt.
pub fn route(value: TaskValue, complexity: TaskComplexity) -> Route {
    Client::new(claude_quota_proto::default_socket_path()).route(value, complexity)
}

/// The end of a call: every wait in it (connect, write, each read) gets
/// what is left of the call's timeout. A subscription's reads have none.
struct Deadline {
    at: Option<Instant>,
    timeout: Duration,
}

impl Deadline {
    fn after(timeout: Duration) -> Self {
        Deadline {
            at: Some(Instant::now() + timeout),
            timeout,
        }
    }

    /// No end: a wait as long as it takes.
    fn never() -> Self {
        Deadline {
            at: None,
            timeout: Duration::MAX,
        }
    }

    /// What is left (`None`: no limit), or [`Error::Timeout`] when
    /// nothing is.
    fn left(&self) -> Result<Option<Duration>, Error> {
        let Some(at) = self.at else {
            return Ok(None);
        };
        Some(at.saturating_duration_since(Instant::now()))
            .filter(|left| !left.is_zero())
            .map(Some)
            .ok_or(Error::Timeout(self.timeout))
    }

    /// A socket error as the call's failure: a wait that ran out is the
    /// call's timeout, anything else a broken connection.
    fn failed(&self, err: io::Error) -> Error {
        match err.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout(self.timeout),
            _ => wire::broken(err),
        }
    }
}

/// Connects to `socket` before the deadline and checks that the daemon
/// there runs as this user. (A plain blocking connect could wait for ever
/// on a daemon that stopped accepting with a full backlog.)
fn open(socket: &Path, deadline: &Deadline) -> Result<Connection, Error> {
    let unreachable = |source| Error::DaemonUnreachable {
        socket: socket.to_owned(),
        source,
    };
    let stream = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(unreachable)?;
    let address = SockAddr::unix(socket).map_err(unreachable)?;
    match deadline.left()? {
        Some(left) => stream.connect_timeout(&address, left),
        None => stream.connect(&address),
    }
    .map_err(unreachable)?;
    let stream = UnixStream::from(OwnedFd::from(stream));
    peer::check(stream.as_fd(), socket)?;
    Ok(Connection {
        stream,
        greeted: false,
    })
}

fn write(stream: &mut UnixStream, bytes: &[u8], deadline: &Deadline) -> Result<(), Error> {
    let mut written = 0;
    while written < bytes.len() {
        stream
            .set_write_timeout(deadline.left()?)
            .map_err(wire::broken)?;
        match stream.write(&bytes[written..]) {
            Ok(0) => return Err(wire::closed()),
            Ok(n) => written += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(deadline.failed(err)),
        }
    }
    Ok(())
}

/// The next reply before the deadline; the daemon closing instead is an
/// error.
fn receive(stream: &mut UnixStream, deadline: &Deadline) -> Result<Reply, Error> {
    read_frame(stream, deadline)?.ok_or_else(wire::closed)
}

/// The next frame's reply before the deadline, or `None` when the daemon
/// closed the connection cleanly between frames.
fn read_frame(stream: &mut UnixStream, deadline: &Deadline) -> Result<Option<Reply>, Error> {
    let mut prefix = [0; PREFIX_LEN];
    if !read_exactly(stream, &mut prefix, deadline)? {
        return Ok(None);
    }
    let mut payload = vec![0; frame_len(prefix).map_err(wire::oversized)?];
    if !read_exactly(stream, &mut payload, deadline)? {
        return Err(wire::closed());
    }
    wire::decode(&payload).map(Some)
}

/// Fills `buf` before the deadline; false when the daemon closed the
/// connection before its first byte, an error when it closed after.
fn read_exactly(
    stream: &mut UnixStream,
    buf: &mut [u8],
    deadline: &Deadline,
) -> Result<bool, Error> {
    let mut filled = 0;
    while filled < buf.len() {
        stream
            .set_read_timeout(deadline.left()?)
            .map_err(wire::broken)?;
        match stream.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(wire::closed()),
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(deadline.failed(err)),
        }
    }
    Ok(true)
}

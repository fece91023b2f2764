//! A blocking client for routers that are not async, on plain
//! `std::os::unix::net`: no runtime of its own, so it works the same
//! inside async code (a synchronous helper called from a handler) and
//! outside it. The same calls and rules as [`crate::Client`]; the frames
//! and replies are read by the same code (`wire`, `proto`).

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use claude_quota_proto::{
    Decision, ModelChoice, PREFIX_LEN, ReadingSource, Reply, Request, Status, TaskComplexity,
    TaskValue, frame_len,
};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::headers::reading_from_headers;
use crate::route::Route;
use crate::settings::Settings;
use crate::wire::Greeting;
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

    /// See [`crate::Client::hello`].
    pub fn hello(&mut self, client_name: &str) -> Result<Greeting, Error> {
        let request = Request::Hello {
            protocol: claude_quota_proto::PROTOCOL_VERSION,
            client: Some(client_name.to_owned()),
        };
        let reply = self.request(request)?;
        wire::greeting(&reply, &self.settings.socket)
    }

    /// See [`crate::Client::status`].
    pub fn status(&mut self) -> Result<Status, Error> {
        match self.request(Request::Status)? {
            Reply::Status(status) => Ok(*status),
            other => Err(wire::unexpected("status", &other)),
        }
    }

    /// See [`crate::Client::should_use_cloud`].
    pub fn should_use_cloud(&mut self, value: TaskValue) -> Result<bool, Error> {
        Ok(self.decide(value)?.use_cloud)
    }

    /// See [`crate::Client::decide`].
    pub fn decide(&mut self, value: TaskValue) -> Result<Decision, Error> {
        match self.request(Request::ShouldUseCloud {
            task_value: value,
            account: None,
        })? {
            Reply::Decision(decision) => Ok(decision),
            other => Err(wire::unexpected("should_use_cloud", &other)),
        }
    }

    /// See [`crate::Client::select_model`].
    pub fn select_model(&mut self, complexity: TaskComplexity) -> Result<ModelChoice, Error> {
        let request = Request::SelectModel {
            task_complexity: complexity,
            account: None,
        };
        match self.request(request)? {
            Reply::Model(choice) => Ok(choice),
            other => Err(wire::unexpected("select_model", &other)),
        }
    }

    /// See [`crate::Client::route`]: one question, one deadline; never
    /// fails, local when in doubt.
    pub fn route(&mut self, value: TaskValue, complexity: TaskComplexity) -> Route {
        let request = Request::Route {
            task_value: value,
            task_complexity: complexity,
            account: None,
        };
        let answer = self.call(&request, self.settings.route_timeout);
        Route::from_answer(answer, &self.settings.socket)
    }

    /// See [`crate::Client::refresh`].
    pub fn refresh(&mut self) -> Result<Status, Error> {
        match self.request(Request::Refresh)? {
            Reply::Status(status) => Ok(*status),
            other => Err(wire::unexpected("refresh", &other)),
        }
    }

    /// See [`crate::Client::ingest_headers`].
    pub fn ingest_headers<I, K, V>(&mut self, headers: I) -> Result<bool, Error>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let reading = reading_from_headers(headers);
        if !reading.is_reading() {
            return Ok(false);
        }
        match self.request(reading.into_ingest(ReadingSource::Headers, None))? {
            Reply::Ok => Ok(true),
            other => Err(wire::unexpected("ingest", &other)),
        }
    }

    /// One request under the client's timeout; `error` replies become
    /// [`Error`]s.
    fn request(&mut self, request: Request) -> Result<Reply, Error> {
        wire::answer(self.call(&request, self.settings.timeout)?)
    }

    /// One request and its reply within `timeout`, connecting included.
    /// The connection is put back only with the reply in hand: any
    /// failure drops it, and with it any reply still on its way.
    fn call(&mut self, request: &Request, timeout: Duration) -> Result<Reply, Error> {
        let deadline = Deadline::after(timeout);
        let (mut conn, greeting) = self.send(request, &deadline)?;
        if greeting {
            wire::greeting(
                &receive(&mut conn.stream, &deadline)?,
                &self.settings.socket,
            )?;
        }
        let reply = wire::check(request, receive(&mut conn.stream, &deadline)?)?;
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

/// See [`crate::route`]: the default socket, once (connect, ask, close),
/// within [`crate::ROUTE_TIMEOUT`]; never fails, local when in doubt.
pub fn route(value: TaskValue, complexity: TaskComplexity) -> Route {
    Client::new(claude_quota_proto::default_socket_path()).route(value, complexity)
}

/// The end of a call: every wait in it (connect, write, each read) gets
/// what is left of the call's timeout.
struct Deadline {
    at: Instant,
    timeout: Duration,
}

impl Deadline {
    fn after(timeout: Duration) -> Self {
        Deadline {
            at: Instant::now() + timeout,
            timeout,
        }
    }

    /// What is left, or [`Error::Timeout`] when nothing is.
    fn left(&self) -> Result<Duration, Error> {
        Some(self.at.saturating_duration_since(Instant::now()))
            .filter(|left| !left.is_zero())
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
    stream
        .connect_timeout(&address, deadline.left()?)
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
            .set_write_timeout(Some(deadline.left()?))
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
    let mut prefix = [0; PREFIX_LEN];
    read_exactly(stream, &mut prefix, deadline)?;
    let mut payload = vec![0; frame_len(prefix).map_err(wire::oversized)?];
    read_exactly(stream, &mut payload, deadline)?;
    wire::decode(&payload)
}

fn read_exactly(stream: &mut UnixStream, buf: &mut [u8], deadline: &Deadline) -> Result<(), Error> {
    let mut filled = 0;
    while filled < buf.len() {
        stream
            .set_read_timeout(Some(deadline.left()?))
            .map_err(wire::broken)?;
        match stream.read(&mut buf[filled..]) {
            Ok(0) => return Err(wire::closed()),
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(deadline.failed(err)),
        }
    }
    Ok(())
}

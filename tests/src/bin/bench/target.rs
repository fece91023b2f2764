//! A server under test as the load generator sees it: where it listens,
//! what to ask it, and where one reply ends. The daemon and redis differ
//! only here, so every figure comes from the same client code.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use claude_quota_proto::{PROTOCOL_VERSION, Request, TaskComplexity, TaskValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// How a server delimits its replies.
#[derive(Clone, Copy)]
pub enum Framing {
    /// claude-quota's protocol: a 4-byte big-endian length, then JSON.
    LengthPrefixed,
    /// A RESP simple string (`+PONG\r\n`): the reply ends at CRLF.
    RespLine,
}

impl Framing {
    /// The length of the first whole reply in `buf`, once it is all there.
    fn reply_len(self, buf: &[u8]) -> Option<usize> {
        match self {
            Framing::LengthPrefixed => {
                let header: [u8; 4] = buf.get(..4)?.try_into().ok()?;
                let len = 4 + u32::from_be_bytes(header) as usize;
                (buf.len() >= len).then_some(len)
            }
            Framing::RespLine => buf.windows(2).position(|w| w == b"\r\n").map(|at| at + 2),
        }
    }
}

/// One server: its socket, its process, and its two requests, encoded once.
pub struct Target {
    /// A short name for the report.
    pub name: &'static str,
    /// The Unix socket it serves.
    pub socket: PathBuf,
    /// Its process, for RSS readings.
    pub pid: u32,
    /// The request every measurement repeats (`route` / `PING`).
    pub ask: Vec<u8>,
    /// What a one-shot client says first (`hello` / `CLIENT SETNAME`).
    pub greet: Vec<u8>,
    /// How its replies end.
    pub framing: Framing,
}

impl Target {
    /// The daemon at `socket`, asked `route(high, high)`: the one question
    /// a router asks before every model call.
    pub fn claude_quotad(socket: PathBuf, pid: u32) -> Target {
        let hello = Request::Hello {
            protocol: PROTOCOL_VERSION,
            client: Some("bench".into()),
        };
        let ask = Request::Route {
            task_value: TaskValue::High,
            task_complexity: TaskComplexity::High,
            account: None,
        };
        Target {
            name: "claude-quotad",
            socket,
            pid,
            ask: frame(&ask),
            greet: frame(&hello),
            framing: Framing::LengthPrefixed,
        }
    }

    /// The same server, asked `request` instead.
    pub fn asking(mut self, request: &Request) -> Target {
        self.ask = frame(request);
        self
    }

    /// redis at `socket`, asked `PING`.
    pub fn redis(socket: PathBuf, pid: u32) -> Target {
        Target {
            name: "redis",
            socket,
            pid,
            ask: b"*1\r\n$4\r\nPING\r\n".to_vec(),
            greet: b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$5\r\nbench\r\n".to_vec(),
            framing: Framing::RespLine,
        }
    }

    /// Opens a connection.
    pub async fn connect(&self) -> std::io::Result<Conn> {
        Ok(Conn {
            stream: UnixStream::connect(&self.socket).await?,
            buf: BytesMut::with_capacity(4096),
            framing: self.framing,
        })
    }
}

/// A length-prefixed JSON frame, as any client sends it.
fn frame(request: &Request) -> Vec<u8> {
    let json = serde_json::to_vec(request).expect("requests serialize");
    let mut bytes = (json.len() as u32).to_be_bytes().to_vec();
    bytes.extend_from_slice(&json);
    bytes
}

/// One client connection: writes requests, reads whole replies.
pub struct Conn {
    stream: UnixStream,
    buf: BytesMut,
    framing: Framing,
}

impl Conn {
    /// Sends `request` and waits for its reply.
    pub async fn ask(&mut self, request: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(request).await?;
        self.recv().await
    }

    /// Writes bytes (one request or a pipelined batch) without waiting.
    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Reads one whole reply and discards it.
    pub async fn recv(&mut self) -> std::io::Result<()> {
        loop {
            if let Some(len) = self.framing.reply_len(&self.buf) {
                self.buf.advance(len);
                return Ok(());
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

/// A redis-server on a Unix socket only, with persistence off; killed on drop.
pub struct Redis {
    child: Child,
    /// Its socket.
    pub socket: PathBuf,
}

impl Redis {
    /// Starts `redis-server` in `dir`, or `None` when it is not installed.
    pub fn start(dir: &std::path::Path) -> Option<Redis> {
        let socket = dir.join("redis.sock");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocketperm", "700", "--save", ""])
            .args(["--appendonly", "no", "--maxclients", "4096"])
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(Redis { child, socket })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::Framing;

    #[test]
    fn a_reply_ends_where_its_framing_says() {
        let framed = [0, 0, 0, 2, b'{', b'}', 0];
        assert_eq!(Framing::LengthPrefixed.reply_len(&framed), Some(6));
        assert_eq!(Framing::LengthPrefixed.reply_len(&framed[..5]), None);
        assert_eq!(Framing::RespLine.reply_len(b"+PONG\r\n+PO"), Some(7));
        assert_eq!(Framing::RespLine.reply_len(b"+PONG\r"), None);
    }
}

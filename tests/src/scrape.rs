//! Plain HTTP/1.0 over a TCP stream, for the daemon's `[metrics]`
//! endpoint and the Prometheus server's API: a request is written by hand,
//! so a test also controls what a hostile client would send.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use claude_quota::Tier;

use crate::{Daemon, FakeApi, TOKEN};

/// How long one exchange may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// A response: the status code, the head and the body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The status line and the headers.
    pub head: String,
    /// The body as text.
    pub body: String,
}

/// Sends `METHOD TARGET HTTP/1.0` to `addr` and reads the whole response
/// (HTTP/1.0: no chunking, the server closes when done).
pub async fn request(addr: SocketAddr, method: &str, target: &str) -> Response {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!("{method} {target} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        stream.write_all(head.as_bytes()).await.expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        raw
    };
    let raw = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {target} on {addr}: no answer"));
    let text = String::from_utf8(raw).expect("a UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    Response {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// `GET target` on `addr`.
pub async fn get(addr: SocketAddr, target: &str) -> Response {
    request(addr, "GET", target).await
}

/// A daemon polling `api` every 0.2 s in burst (5-hour 10 %), serving
/// `/metrics` on a port of its choosing ([`metrics_addr`] finds it).
pub async fn metrics_daemon(api: &FakeApi) -> Daemon {
    let daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config("[metrics]\nlisten = \"127.0.0.1:0\"\n")
        .start();
    daemon
        .wait_for(EXCHANGE_TIMEOUT, |s| s.tier == Tier::Burst)
        .await;
    daemon
}

/// The address `daemon` serves `/metrics` on, from its log (the tests
/// let it pick a free port: `listen = "127.0.0.1:0"`).
pub async fn metrics_addr(daemon: &Daemon) -> SocketAddr {
    let line = daemon
        .wait_for_log("serving GET /metrics", Duration::from_secs(10))
        .await;
    let (_, addr) = line
        .split_once("addr=")
        .expect("the line names the address");
    addr.split_whitespace()
        .next()
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// A free port on 127.0.0.1 (bound and released: for a program that
/// cannot be told to pick one and say which).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

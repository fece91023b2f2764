//! `[metrics] listen`: `GET /metrics` over HTTP for Prometheus, and
//! nothing else. Whoever can reach the port is a stranger, so a client
//! gets a few seconds and a small buffer, and only [`MAX_CONNECTIONS`] are
//! served at once: a slow or hostile one holds a slot for at most
//! [`DEADLINE`] and never the daemon, whose socket is served by other
//! tasks.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::text::CONTENT_TYPE as METRICS_TYPE;

/// The only path served.
const PATH: &str = "/metrics";

/// How many clients are served at once. Prometheus needs one; a person
/// with curl another; past that someone is flooding the port.
pub const MAX_CONNECTIONS: usize = 4;

/// How long a client may take to send its request line and headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a connection may last in all, reading the response included:
/// one request per connection, so a scrape that takes longer is a client
/// that does not read.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// The most a connection may buffer (hyper's smallest allowed): a request
/// for `/metrics` is a few hundred bytes.
const MAX_BUFFER: usize = 8192;

/// How long to pause after a failed `accept` (out of file descriptors)
/// so the loop does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// What the endpoint serves: the metrics text as of the request.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Binds `addr` for the endpoint; the daemon refuses to start when it
/// cannot (another program on the port), as with its socket.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|err| {
        anyhow::anyhow!(
            "cannot listen for [metrics] on {addr}: {err} (change [metrics] listen, or remove it)"
        )
    })
}

/// Serves `GET /metrics` from `render` on `listener` until `shutdown`.
pub async fn serve(listener: TcpListener, render: Render, shutdown: CancellationToken) {
    let mut clients = JoinSet::new();
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            Some(_) = clients.join_next(), if !clients.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    tracing::warn!(%err, "metrics: accept failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
        };
        if clients.len() >= MAX_CONNECTIONS {
            turn_away(&stream);
            continue;
        }
        clients.spawn(answer(stream, Arc::clone(&render)));
    }
}

/// One client: one request, within [`DEADLINE`].
async fn answer(stream: TcpStream, render: Render) {
    let peer = stream.peer_addr().ok();
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(false)
        .max_buf_size(MAX_BUFFER)
        .serve_connection(
            TokioIo::new(stream),
            service_fn(move |request| {
                let response = respond(&request, &render);
                async move { Ok::<_, Infallible>(response) }
            }),
        );
    match tokio::time::timeout(DEADLINE, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::debug!(?peer, %err, "metrics: connection failed"),
        Err(_) => tracing::debug!(?peer, "metrics: connection closed at its deadline"),
    }
}

/// The response to `request`: the metrics for `GET /metrics` (and
/// `HEAD`), 405 for another method there, 404 anywhere else.
fn respond(request: &Request<Incoming>, render: &Render) -> Response<String> {
    let (status, body) = if request.uri().path() != PATH {
        (
            StatusCode::NOT_FOUND,
            "not found; the metrics are at /metrics\n".to_owned(),
        )
    } else if !matches!(*request.method(), Method::GET | Method::HEAD) {
        (StatusCode::METHOD_NOT_ALLOWED, "only GET\n".to_owned())
    } else {
        let mut response = Response::new(render());
        response.headers_mut().insert(
            CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(METRICS_TYPE),
        );
        return response;
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(ALLOW, hyper::header::HeaderValue::from_static("GET, HEAD"));
    }
    response
}

/// Tells a client past [`MAX_CONNECTIONS`] to come back later, without
/// waiting on it (a write that would block is skipped), and closes.
fn turn_away(stream: &TcpStream) {
    const BUSY: &[u8] =
        b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
    let _ = stream.try_write(BUSY);
    tracing::debug!(
        peer = ?stream.peer_addr().ok(),
        "metrics: turned a client away: {MAX_CONNECTIONS} already connected"
    );
}

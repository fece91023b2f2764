//! One client connection: read frames, answer each in order, flush when
//! the client has nothing more queued (so pipelined requests share writes).

use std::time::Duration;

use claude_quota_proto::{
    ErrorCode, FrameError, JsonCodec, MAX_FRAME_LEN, MalformedMessage, Reply, Request,
};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use crate::service::Service;
use crate::subscription;

/// The framed connection as the daemon sees it.
pub type Connection = Framed<UnixStream, JsonCodec<Request, Reply>>;

/// How long a client may take to finish a frame it has started. A frame
/// of 64 KiB takes microseconds locally; a client that stalls mid-frame is
/// broken or hostile and loses its connection.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves one client until it closes, breaks the framing, or the daemon
/// shuts down (after answering the request in hand).
pub async fn serve(stream: UnixStream, service: &Service, shutdown: &CancellationToken) {
    let mut conn = Framed::new(stream, JsonCodec::<Request, Reply>::new());
    loop {
        let Some(frame) = next_frame(&mut conn, shutdown).await else {
            return;
        };
        let request = match frame {
            Ok(Ok(request)) => request,
            Ok(Err(malformed)) => {
                let reply = Reply::error(ErrorCode::BadRequest, bad_request_message(&malformed));
                if conn.feed(reply).await.is_err() {
                    return;
                }
                continue;
            }
            Err(FrameError::TooLarge) => {
                let reply = Reply::error(
                    ErrorCode::FrameTooLarge,
                    format!("frame longer than {MAX_FRAME_LEN} bytes; closing the connection"),
                );
                let _ = conn.send(reply).await;
                return;
            }
            Err(err) => {
                tracing::debug!(%err, "connection closed on a broken frame");
                return;
            }
        };
        let reply = match request {
            Request::Subscribe => {
                subscription::stream(conn, service, shutdown).await;
                return;
            }
            Request::Refresh => {
                service.refresh().await;
                service.status()
            }
            other => service.answer(other),
        };
        if conn.feed(reply).await.is_err() {
            return;
        }
    }
}

/// The parser's explanation, cut short: serde quotes the offending value,
/// which may be most of a 64 KiB frame, and the reply must fit in one.
fn bad_request_message(malformed: &MalformedMessage) -> String {
    const MAX_CHARS: usize = 300;
    let mut message = format!("bad request: {malformed}");
    if let Some((cut, _)) = message.char_indices().nth(MAX_CHARS) {
        message.truncate(cut);
        message.push('…');
    }
    message
}

/// One decoded frame: a request, a well-framed message that is not one, or
/// a broken stream.
type Frame = Result<Result<Request, MalformedMessage>, FrameError>;

/// The next frame: at once if one is already buffered, else after flushing
/// the replies written so far and waiting. `None` when the client closed,
/// left a partial frame without progress for a whole [`FRAME_TIMEOUT`], or
/// the daemon is shutting down.
async fn next_frame(conn: &mut Connection, shutdown: &CancellationToken) -> Option<Frame> {
    if let Some(ready) = conn.next().now_or_never() {
        return ready;
    }
    if conn.flush().await.is_err() {
        return None;
    }
    let mut buffered = conn.read_buffer().len();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return None,
            next = tokio::time::timeout(FRAME_TIMEOUT, conn.next()) => match next {
                Ok(frame) => return frame,
                Err(_elapsed) => {
                    let now = conn.read_buffer().len();
                    if now > 0 && now == buffered {
                        tracing::debug!(bytes = now, "client stalled mid-frame; dropping it");
                        return None;
                    }
                    buffered = now;
                }
            },
        }
    }
}

//! One client connection: read frames, answer each in order, flush when
//! the client has nothing more queued (so pipelined requests share writes).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use claude_quota_proto::{ErrorCode, FrameError, MAX_FRAME_LEN, MalformedMessage, Reply, Request};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio::time::{Instant, Sleep, sleep};
use tokio_util::codec::Framed;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::outgoing::{Connection, feed_reply};
use crate::service::Service;
use crate::subscription;

/// How long a client may take to finish a frame it has started. A frame
/// of 64 KiB takes microseconds locally; a client that stalls mid-frame is
/// broken or hostile and loses its connection.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves one client until it closes, breaks the framing, or the daemon
/// shuts down (after answering the request in hand).
pub async fn serve(stream: UnixStream, service: &Service, shutdown: &CancellationToken) {
    let mut conn = Framed::new(stream, service.codec());
    let mut stall = StallWatch::new();
    let cancelled = shutdown.cancelled();
    tokio::pin!(cancelled);
    let mut stopping = Stopping {
        token: shutdown,
        registration: cancelled,
        registered: false,
    };
    loop {
        let Some(frame) = next_frame(&mut conn, &mut stall, &mut stopping).await else {
            return;
        };
        let request = match frame {
            Ok(Ok(request)) => request,
            Ok(Err(malformed)) => {
                let reply = Reply::error(ErrorCode::BadRequest, bad_request_message(&malformed));
                if conn.feed(reply.into()).await.is_err() {
                    return;
                }
                continue;
            }
            Err(FrameError::TooLarge) => {
                let reply = Reply::error(
                    ErrorCode::FrameTooLarge,
                    format!("frame longer than {MAX_FRAME_LEN} bytes; closing the connection"),
                );
                let _ = conn.send(reply.into()).await;
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
            refresh @ Request::Refresh => {
                service.attend().await;
                service.refresh().await;
                service.answer(refresh)
            }
            // Looking at the daemon is not asking it: `status` shows an
            // idle poller without waking it.
            look @ (Request::Hello { .. } | Request::Status) => service.answer(look),
            // A push brings its own reading: it must be in before the
            // poller, woken by it, decides whether to poll.
            ingest @ Request::Ingest(_) => {
                let reply = service.answer(ingest);
                service.attend().await;
                reply
            }
            other => {
                service.attend().await;
                service.answer(other)
            }
        };
        if feed_reply(&mut conn, reply).await.is_err() {
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

/// Whether the daemon is stopping, as cheaply as a connection can ask at
/// every wait for a frame. Polling the token's cancellation future takes a
/// lock each time (a tenth of what answering a question costs); so it is
/// polled once, which registers this task to be woken when the token is
/// cancelled, and from then on a wake-up only reads the token's flag.
struct Stopping<'t, 'f> {
    token: &'t CancellationToken,
    registration: Pin<&'f mut WaitForCancellationFuture<'t>>,
    registered: bool,
}

impl Stopping<'_, '_> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        if !self.registered {
            self.registered = true;
            return self.registration.as_mut().poll(cx);
        }
        Poll::Pending
    }
}

/// One decoded frame: a request, a well-framed message that is not one, or
/// a broken stream.
type Frame = Result<Result<Request, MalformedMessage>, FrameError>;

/// Notices a client that stalls mid-frame. One timer per connection ticks
/// every [`FRAME_TIMEOUT`]; a connection that finished no frame between two
/// ticks and still holds the same partial one is dropped (so after one to
/// two timeouts). Requests never touch the timer: once armed (polled, so it
/// holds this task's waker), a wait for a frame only reads whether it has
/// elapsed, which costs a small fraction of polling it again.
struct StallWatch {
    timer: Pin<Box<Sleep>>,
    armed: bool,
    frames: u64,
    frames_at_tick: u64,
    buffered_at_tick: usize,
}

impl StallWatch {
    fn new() -> Self {
        StallWatch {
            timer: Box::pin(sleep(FRAME_TIMEOUT)),
            armed: false,
            frames: 0,
            frames_at_tick: 0,
            buffered_at_tick: 0,
        }
    }

    /// Ready at each tick, then set for the next one.
    fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.armed && !self.timer.is_elapsed() {
            return Poll::Pending;
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.timer.as_mut().reset(Instant::now() + FRAME_TIMEOUT);
                self.armed = false;
                Poll::Ready(())
            }
            Poll::Pending => {
                self.armed = true;
                Poll::Pending
            }
        }
    }

    /// At a tick: whether the client made no progress since the last one.
    fn stalled(&mut self, buffered: usize) -> bool {
        let stalled =
            buffered > 0 && buffered == self.buffered_at_tick && self.frames == self.frames_at_tick;
        self.frames_at_tick = self.frames;
        self.buffered_at_tick = buffered;
        stalled
    }
}

/// The next frame: at once if one is already buffered, else after flushing
/// the replies written so far and waiting. `None` when the client closed
/// (its replies flushed first: a script closes its sending half right
/// after its last request), stalled mid-frame (see [`StallWatch`]), or the
/// daemon is shutting down.
async fn next_frame(
    conn: &mut Connection,
    stall: &mut StallWatch,
    shutdown: &mut Stopping<'_, '_>,
) -> Option<Frame> {
    let frame = match conn.next().now_or_never() {
        Some(Some(ready)) => Some(ready),
        // Nothing buffered, or the end of the client's stream: flushing
        // comes first either way (a closed stream reads as closed again).
        Some(None) | None => wait_for_frame(conn, stall, shutdown).await,
    };
    stall.frames += 1;
    frame
}

async fn wait_for_frame(
    conn: &mut Connection,
    stall: &mut StallWatch,
    shutdown: &mut Stopping<'_, '_>,
) -> Option<Frame> {
    if conn.flush().await.is_err() {
        return None;
    }
    loop {
        tokio::select! {
            () = std::future::poll_fn(|cx| shutdown.poll(cx)) => return None,
            frame = conn.next() => return frame,
            () = std::future::poll_fn(|cx| stall.poll_tick(cx)) => {
                let buffered = conn.read_buffer().len();
                if stall.stalled(buffered) {
                    tracing::debug!(bytes = buffered, "client stalled mid-frame; dropping it");
                    return None;
                }
            }
        }
    }
}

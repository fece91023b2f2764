//! One client connection: only the daemon's own user is served; frames are
//! read and each request handed to [`Service::handle`] in order; replies
//! are flushed when the client has nothing more queued (so pipelined
//! requests share writes); shutdown ends the wait for the next frame.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use claude_quota_proto::{ErrorCode, FrameError, MAX_FRAME_LEN, MalformedMessage, Reply, Request};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio::time::{Sleep, sleep};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use super::subscription::Subscription;
use crate::service::{Handled, Service};
use crate::speed::{Outgoing, RequestCodec};

/// The framed connection as the daemon sees it.
pub type Connection = Framed<UnixStream, RequestCodec>;

/// How long a client may take to send a frame whole once its first bytes
/// are in. A frame of 64 KiB takes microseconds locally; a client that
/// stalls mid-frame is broken or hostile and loses its connection. An idle
/// connection (nothing buffered) has no timer, so it costs no wake-ups.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// One decoded frame: a request, a well-framed message that is not one, or
/// a broken stream.
type Frame = Result<Result<Request, MalformedMessage>, FrameError>;

/// Serves one client until it closes, breaks the framing, stalls mid-frame,
/// or the daemon shuts down (after answering the request in hand).
pub async fn serve(stream: UnixStream, service: &Service, shutdown: &CancellationToken) {
    if !from_own_user(&stream) {
        return;
    }
    let mut conn = Framed::new(stream, service.codec());
    while let Some(frame) = next_frame(&mut conn, shutdown).await {
        let reply: Outgoing = match frame {
            Ok(Ok(request)) => match service.handle(request).await {
                Handled::Reply(reply) => reply,
                Handled::Subscribe => return stream_statuses(conn, service, shutdown).await,
            },
            Ok(Err(malformed)) => {
                Reply::error(ErrorCode::BadRequest, bad_request_message(&malformed)).into()
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
        if write(&mut conn, reply).await.is_err() {
            return;
        }
    }
}

/// Whether the peer runs as the daemon's user; another user's process is
/// refused before it can ask anything (it could read the tier, or push
/// readings that move it).
fn from_own_user(stream: &UnixStream) -> bool {
    // SAFETY: getuid has no preconditions and cannot fail.
    let own_uid = unsafe { libc::getuid() };
    match stream.peer_cred() {
        Ok(cred) if cred.uid() == own_uid => true,
        Ok(cred) => {
            tracing::warn!(uid = cred.uid(), pid = ?cred.pid(), "refused a connection from another user");
            false
        }
        Err(err) => {
            tracing::warn!(%err, "cannot identify a peer; refused");
            false
        }
    }
}

/// The next frame: at once if one is already buffered, else after flushing
/// the replies written so far and waiting. `None` when the client closed
/// (its replies flushed first: a script closes its sending half right
/// after its last request), stalled mid-frame, or the daemon is stopping.
async fn next_frame(conn: &mut Connection, shutdown: &CancellationToken) -> Option<Frame> {
    if let Some(Some(frame)) = conn.next().now_or_never() {
        return Some(frame);
    }
    // Nothing buffered, or the end of the client's stream: flushing comes
    // first either way (a closed stream reads as closed again).
    conn.flush().await.ok()?;
    tokio::select! {
        () = shutdown.cancelled() => None,
        frame = frame_in_time(conn) => frame,
    }
}

/// Waits for the next frame; gives up on a client that takes longer than
/// [`FRAME_TIMEOUT`] from the first bytes of a frame to its last.
async fn frame_in_time(conn: &mut Connection) -> Option<Frame> {
    let mut deadline: Option<Pin<Box<Sleep>>> = None;
    poll_fn(|cx| {
        if let Poll::Ready(frame) = conn.poll_next_unpin(cx) {
            return Poll::Ready(frame);
        }
        let buffered = conn.read_buffer().len();
        if buffered == 0 {
            return Poll::Pending;
        }
        let timer = deadline.get_or_insert_with(|| Box::pin(sleep(FRAME_TIMEOUT)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                tracing::debug!(bytes = buffered, "client stalled mid-frame; dropping it");
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Queues `reply`; one too large for a frame is answered with an `internal`
/// error saying so instead, never a silent close. An error means the
/// connection is broken.
async fn write(conn: &mut Connection, reply: Outgoing) -> Result<(), FrameError> {
    match conn.feed(reply).await {
        Err(FrameError::TooLarge) => {
            tracing::error!(limit = MAX_FRAME_LEN, "a reply outgrew the frame limit");
            let reply = Reply::error(
                ErrorCode::Internal,
                format!("the reply is larger than the {MAX_FRAME_LEN}-byte frame limit"),
            );
            conn.feed(reply.into()).await
        }
        other => other,
    }
}

/// `subscribe`: streams statuses until the client closes, the daemon
/// stops, or a write fails. Requests on a subscribed connection are read
/// (to notice the close) but not answered: the stream is one-way.
async fn stream_statuses(mut conn: Connection, service: &Service, shutdown: &CancellationToken) {
    let mut subscription = Subscription::start(service).await;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            status = subscription.next() => {
                let Some(status) = status else { return };
                let frame = Reply::Status(Box::new(status)).into();
                if write(&mut conn, frame).await.is_err() || conn.flush().await.is_err() {
                    return;
                }
            }
            incoming = conn.next() => match incoming {
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
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

#[cfg(test)]
mod tests {
    use super::*;
    use claude_quota_proto::JsonCodec;

    #[tokio::test]
    async fn a_reply_too_large_for_a_frame_becomes_an_internal_error() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let mut conn: Connection = Framed::new(ours, RequestCodec::new(true));
        let huge = Reply::error(ErrorCode::BadRequest, "x".repeat(MAX_FRAME_LEN));
        write(&mut conn, huge.into()).await.unwrap();
        conn.flush().await.unwrap();
        let mut client = Framed::new(theirs, JsonCodec::<Reply, Request>::new());
        let reply = client.next().await.unwrap().unwrap().unwrap();
        let Reply::Error { code, message } = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(code, ErrorCode::Internal);
        assert!(message.contains("frame limit"), "{message}");
    }
}

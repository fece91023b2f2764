//! What the daemon writes on a connection, shared by the request loop
//! (`connection`) and the status stream (`subscription`): replies built
//! now or encoded earlier, and the frame limit applied to both.

use std::sync::Arc;

use claude_quota_proto::{ErrorCode, FrameError, JsonCodec, MAX_FRAME_LEN, Reply, Request};
use futures_util::SinkExt;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::net::UnixStream;
use tokio_util::codec::Framed;

/// The framed connection as the daemon sees it.
pub type Connection = Framed<UnixStream, JsonCodec<Request, Outgoing>>;

/// What the daemon writes on a connection: a reply to encode, or one
/// already encoded.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Outgoing {
    /// A reply built for this request.
    Reply(Reply),
    /// A reply encoded earlier and shared by every client that asks.
    Encoded(Arc<RawValue>),
}

impl From<Reply> for Outgoing {
    fn from(reply: Reply) -> Self {
        Outgoing::Reply(reply)
    }
}

/// Queues `reply`; one too large for a frame is answered with an `internal`
/// error saying so instead, never a silent close. An error means the
/// connection is broken.
pub async fn feed_reply(conn: &mut Connection, reply: Outgoing) -> Result<(), FrameError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn a_reply_too_large_for_a_frame_becomes_an_internal_error() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let mut conn: Connection = Framed::new(ours, JsonCodec::new());
        let huge = Reply::error(ErrorCode::BadRequest, "x".repeat(MAX_FRAME_LEN));
        feed_reply(&mut conn, huge.into()).await.unwrap();
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

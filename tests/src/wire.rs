//! Raw socket access for tests that must send what no well-behaved client
//! would: broken frames, oversized prefixes, pipelined bursts.

use std::path::Path;

use claude_quota_proto::{JsonCodec, Reply};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio_util::codec::Framed;

/// A connection that sends raw bytes or any JSON and reads replies.
pub struct RawConnection {
    framed: Framed<UnixStream, JsonCodec<Reply, Value>>,
}

impl RawConnection {
    /// Connects to the daemon at `socket`.
    pub async fn connect(socket: &Path) -> RawConnection {
        let stream = UnixStream::connect(socket).await.expect("connect");
        RawConnection {
            framed: Framed::new(stream, JsonCodec::new()),
        }
    }

    /// Sends one well-framed JSON value.
    pub async fn send(&mut self, value: Value) {
        self.framed.send(value).await.expect("send frame");
    }

    /// Writes bytes as they are, framing and all.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let stream = self.framed.get_mut();
        stream.write_all(bytes).await.expect("write raw bytes");
    }

    /// Sends `payload` behind a correct length prefix.
    pub async fn send_frame(&mut self, payload: &[u8]) {
        let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(payload);
        self.send_raw(&bytes).await;
    }

    /// Closes the sending half, as a script does after its last request;
    /// replies can still be read.
    pub async fn finish_sending(&mut self) {
        self.framed
            .get_mut()
            .shutdown()
            .await
            .expect("shut down writing");
    }

    /// The next reply, or `None` when the daemon closed the connection.
    pub async fn recv(&mut self) -> Option<Reply> {
        match self.framed.next().await {
            Some(Ok(Ok(reply))) => Some(reply),
            Some(Ok(Err(err))) => panic!("unreadable reply: {err}"),
            Some(Err(_)) | None => None,
        }
    }

    /// Sends `request` and returns its reply.
    pub async fn ask(&mut self, request: Value) -> Reply {
        self.send(request).await;
        self.recv().await.expect("a reply")
    }
}

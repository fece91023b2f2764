//! The accept loop: one task per connection, and a cap on how many.

use std::sync::Arc;
use std::time::Duration;

use claude_quota_proto::{ErrorCode, JsonCodec, Reply, Request};
use futures_util::SinkExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection;
use crate::service::Service;

/// How long to pause after a failed `accept` (e.g. out of file
/// descriptors) so the loop does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// Accepts connections until `shutdown` is cancelled; each connection runs
/// on `tracker` so shutdown can wait for the ones answering a request. At
/// most `max_connections` are served at once: routers hold one each, so
/// past that the daemon is being flooded, and says so.
pub async fn serve(
    listener: UnixListener,
    service: Arc<Service>,
    max_connections: usize,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracker.spawn(refuse(stream, max_connections));
            continue;
        };
        let service = Arc::clone(&service);
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            connection::serve(stream, &service, &shutdown).await;
            drop(slot);
        });
    }
}

/// Tells a client past the cap why it is turned away, then closes.
async fn refuse(stream: UnixStream, max_connections: usize) {
    let mut framed = Framed::new(stream, JsonCodec::<Request, Reply>::new());
    let reply = Reply::error(
        ErrorCode::TooManyConnections,
        format!("the daemon already serves {max_connections} connections; try again later"),
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), framed.send(reply)).await;
}

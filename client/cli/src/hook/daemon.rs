//! The hook's one exchange with the daemon: `hello` (for the subagent
//! models of `[claude_code]`) and `status`, pipelined on one connection,
//! all within a deadline far below Claude Code's hook timeout. Whatever
//! goes wrong, the answer is `None` and the hook stays silent.

use std::path::Path;
use std::time::Duration;

use claude_quota_proto::{JsonCodec, PROTOCOL_VERSION, Reply, Request, Status, SubagentModels};
use futures_util::{SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio_util::codec::Framed;

/// The most the whole exchange may take, connecting included: the daemon
/// answers from memory in microseconds, and a hook that makes Claude Code
/// wait is worse than one that says nothing.
pub const DEADLINE: Duration = Duration::from_millis(300);

/// What the daemon said.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The subagent model per tier; the defaults when an older daemon does
    /// not say.
    pub models: SubagentModels,
    /// Its status.
    pub status: Status,
}

/// Asks the daemon on `socket`, within [`DEADLINE`].
pub async fn ask(socket: &Path) -> Option<Answer> {
    tokio::time::timeout(DEADLINE, exchange(socket))
        .await
        .ok()
        .flatten()
}

async fn exchange(socket: &Path) -> Option<Answer> {
    let stream = UnixStream::connect(socket).await.ok()?;
    // Only a daemon of this user may steer the user's subagents.
    // SAFETY: geteuid has no preconditions and cannot fail.
    if stream.peer_cred().ok()?.uid() != unsafe { libc::geteuid() } {
        return None;
    }
    let mut conn = Framed::new(stream, JsonCodec::<Reply, Request>::new());
    let hello = Request::Hello {
        protocol: PROTOCOL_VERSION,
        client: Some(concat!("claude-quota-hook/", env!("CARGO_PKG_VERSION")).to_owned()),
    };
    conn.feed(hello).await.ok()?;
    conn.feed(Request::Status).await.ok()?;
    conn.flush().await.ok()?;
    let models = match conn.next().await?.ok()?.ok()? {
        Reply::Hello { claude_code, .. } => claude_code.unwrap_or_default(),
        _ => return None,
    };
    match conn.next().await?.ok()?.ok()? {
        Reply::Status(status) => Some(Answer {
            models,
            status: *status,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use claude_quota_proto::{SubagentModel, Tier};
    use tokio::net::UnixListener;

    use super::*;

    /// A daemon of an older build: its `hello` names no subagent models.
    async fn older_daemon(listener: UnixListener) {
        let (stream, _) = listener.accept().await.unwrap();
        let mut conn = Framed::new(stream, JsonCodec::<Request, Reply>::new());
        for _ in 0..2 {
            let reply = match conn.next().await.unwrap().unwrap().unwrap() {
                Request::Hello { .. } => Reply::Hello {
                    protocol: PROTOCOL_VERSION,
                    daemon: "claude-quotad/0.0.9".into(),
                    models: None,
                    claude_code: None,
                },
                Request::Status => Reply::Status(Box::new(crate::hook::status_fixture(
                    Tier::Active,
                    "r",
                    None,
                    None,
                ))),
                other => panic!("unexpected {other:?}"),
            };
            conn.send(reply).await.unwrap();
        }
    }

    #[tokio::test]
    async fn an_older_daemon_means_the_default_models() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("d.sock");
        let server = tokio::spawn(older_daemon(UnixListener::bind(&socket).unwrap()));
        let answer = ask(&socket).await.expect("an answer");
        server.await.unwrap();
        assert_eq!(answer.models, SubagentModels::default());
        assert_eq!(
            answer.models.for_tier(answer.status.tier),
            SubagentModel::Sonnet
        );
    }
}

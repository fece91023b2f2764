//! The hook's one exchange with the daemon: `hello` (for the subagent
//! models of `[claude_code]`) and `status`, pipelined on one connection,
//! all within a deadline far below Claude Code's hook timeout. The status
//! is the session's own account's (its login is the hook's
//! `CLAUDE_CONFIG_DIR`). Whatever goes wrong, and when the login is no
//! configured account, the answer is `None` and the hook stays silent.

use std::path::Path;
use std::time::Duration;

use claude_quota::{Client, Status, SubagentModels};

use crate::login;

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
    /// Its status, as the session's own account sees it
    /// ([`login::session`]).
    pub status: Status,
}

/// Asks the daemon on `socket` (only one of this user: the client checks
/// the peer), within [`DEADLINE`], for the session of the login `dir`
/// (`None`: the default login).
pub async fn ask(socket: &Path, dir: Option<&Path>) -> Option<Answer> {
    let mut client = Client::new(socket).with_timeout(DEADLINE);
    let exchange = async {
        let hello = client
            .hello(concat!("claude-quota-hook/", env!("CARGO_PKG_VERSION")))
            .await
            .ok()?;
        let status = client.status().await.ok()?;
        Some(Answer {
            models: hello.claude_code.unwrap_or_default(),
            status: login::session(status, dir)?.status,
        })
    };
    tokio::time::timeout(DEADLINE, exchange)
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use claude_quota_proto::{JsonCodec, PROTOCOL_VERSION, Reply, Request, SubagentModel, Tier};
    use futures_util::{SinkExt, StreamExt};
    use tokio::net::UnixListener;
    use tokio_util::codec::Framed;

    use super::*;

    /// A daemon of an older build: its `hello` names no subagent models.
    async fn older_daemon(listener: UnixListener) {
        let (stream, _) = listener.accept().await.unwrap();
        let mut conn = Framed::new(stream, JsonCodec::<Request, Reply>::new());
        while let Some(request) = conn.next().await {
            let reply = match request.unwrap().unwrap() {
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
        let answer = ask(&socket, None).await.expect("an answer");
        server.await.unwrap();
        assert_eq!(answer.models, SubagentModels::default());
        assert_eq!(
            answer.models.for_tier(answer.status.tier),
            SubagentModel::Sonnet
        );
    }
}

//! What the daemon writes on a connection: a reply built for the request,
//! or one encoded earlier and shared by every client that asks the same.

use std::sync::Arc;

use claude_quota_proto::Reply;
use serde::Serialize;
use serde_json::value::RawValue;

/// A reply to write.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Outgoing {
    /// A reply built for this request.
    Reply(Reply),
    /// A reply encoded earlier ([`super::Answers`]).
    Encoded(Arc<RawValue>),
}

impl From<Reply> for Outgoing {
    fn from(reply: Reply) -> Self {
        Outgoing::Reply(reply)
    }
}

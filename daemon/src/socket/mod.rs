//! The socket side: claiming the socket file in a directory private to the
//! user ([`bind`], `directory`), accepting connections (`server`), and carrying
//! each one's bytes (`connection`: framing, the peer check, shutdown; and
//! the status stream of a `subscribe`, told by `subscription`). Nothing
//! here decides an answer: every request goes to
//! [`crate::service::Service::handle`].

mod bind;
mod connection;
mod directory;
mod server;
mod subscription;

pub use bind::bind;
pub use server::serve;

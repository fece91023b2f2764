//! Test harness for end-to-end tests: a fake usage API and a fake Ollama on
//! 127.0.0.1, and a handle on a real `claude-quotad` process in a private temp dir.
//!
//! Nothing here is mocked inside the daemon: it is the released binary,
//! speaking HTTP to a real server and serving a real Unix socket.

pub mod daemon;
pub mod fake_api;
pub mod fake_ollama;
pub mod http;
pub mod leaks;
pub mod other_user;
pub mod secret_service;
pub mod stand_in;
pub mod wire;

pub use daemon::{Daemon, DaemonBuilder};
pub use fake_api::{FakeApi, Fault};
pub use fake_ollama::FakeOllama;

/// A token the fake API accepts by default; its distinctive text lets tests
/// search logs and files for leaks.
pub const TOKEN: &str = "sk-ant-oat01-TEST-TOKEN-do-not-leak-7f3a9c";

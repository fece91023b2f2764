//! Test harness for end-to-end tests: a fake usage API and a fake Ollama on
//! 127.0.0.1, and a handle on a real `claude-quotad` process in a private temp dir.
//!
//! Nothing here is mocked inside the daemon: it is the released binary,
//! speaking HTTP to a real server and serving a real Unix socket.

pub mod daemon;
pub mod deadline;
pub mod fake_api;
pub mod fake_ollama;
pub mod http;
pub mod leaks;
pub mod messages_api;
pub mod other_user;
pub mod scrape;
pub mod secret_service;
pub mod stand_in;
pub mod suites;
pub mod wire;

pub use daemon::{Daemon, DaemonBuilder};
pub use fake_api::{FakeApi, Fault};
pub use fake_ollama::FakeOllama;

/// A token the fake API accepts by default; its distinctive text lets tests
/// search logs and files for leaks.
pub const TOKEN: &str = "sk-ant-oat01-TEST-TOKEN-do-not-leak-7f3a9c";

/// A daemon polling a fresh fake API (5-hour 10 %, 7-day 20 %) every 0.2 s
/// with [`TOKEN`], once it answers `burst`: the usual start of a protocol
/// test. The fake must outlive the daemon, so both are returned.
pub async fn burst_daemon() -> (FakeApi, Daemon) {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .start();
    daemon
        .wait_for(std::time::Duration::from_secs(10), |s| {
            s.tier == claude_quota::Tier::Burst
        })
        .await;
    (api, daemon)
}

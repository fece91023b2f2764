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

/// Two accounts read once: `work`, preferred and resting (5-hour 90 %),
/// and `spare` in burst (5-hour 10 %, both 7-day 20 %), each its own
/// login directory and token; with the login directories as configured.
pub struct WorkAndSpare {
    /// The fake usage API answering each token.
    pub api: FakeApi,
    /// The daemon reading both.
    pub daemon: Daemon,
    /// `work`'s `claude_config_dir`.
    pub work_dir: String,
    /// `spare`'s `claude_config_dir`.
    pub spare_dir: String,
}

/// [`WorkAndSpare`], once the daemon has read both accounts.
pub async fn work_and_spare() -> WorkAndSpare {
    const WORK: &str = "sk-ant-oat01-work-of-two-token";
    const SPARE: &str = "sk-ant-oat01-spare-of-two-token";
    let api = FakeApi::start();
    api.serve_account(WORK, fake_api::usage_body(90.0, Some(20.0)));
    api.serve_account(SPARE, fake_api::usage_body(10.0, Some(20.0)));
    let builder = Daemon::builder()
        .api(&api.url(), 0.2)
        .login("work", WORK)
        .login("spare", SPARE);
    let work_dir = builder.login_dir("work").display().to_string();
    let spare_dir = builder.login_dir("spare").display().to_string();
    let config = builder.accounts_config(&["work", "spare"]);
    let daemon = builder.config(&config).start();
    daemon
        .wait_for(std::time::Duration::from_secs(10), |s| {
            let tiers: Vec<claude_quota::Tier> = s.accounts.iter().map(|a| a.tier).collect();
            tiers == [claude_quota::Tier::Resting, claude_quota::Tier::Burst]
        })
        .await;
    WorkAndSpare {
        api,
        daemon,
        work_dir,
        spare_dir,
    }
}

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

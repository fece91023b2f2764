//! The config says where the OAuth token goes (`api_url`) and what the
//! daemon runs (`[notify] command`), so a config, or a hook, that another
//! user could change is refused: at start the daemon exits 1 naming the
//! file and the fix, on SIGHUP it logs that and keeps the old config.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use claude_quota::Tier;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN, other_user};

const WAIT: Duration = Duration::from_secs(15);

fn config(api: &FakeApi) -> String {
    format!("api_url = \"{}\"\npoll_interval = 0.2\n", api.url())
}

/// Starts a daemon that must refuse its config; returns its log.
fn refused_at_start(daemon: Daemon, api: &FakeApi) -> String {
    let mut daemon = daemon;
    let status = daemon.wait_exit(WAIT).expect("the daemon exits");
    let log = daemon.log();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(!daemon.socket().exists(), "nothing was bound");
    assert_eq!(api.requests(), 0, "no poll with a refused config");
    log
}

#[test]
fn a_config_others_can_write_stops_the_start() {
    let api = FakeApi::start();
    for (mode, who) in [(0o664, "its group"), (0o646, "others")] {
        let daemon = Daemon::builder()
            .credentials_file(TOKEN, None)
            .config(&config(&api))
            .config_mode(mode)
            .spawn();
        let path = daemon.config_path().display().to_string();
        let log = refused_at_start(daemon, &api);
        let refusal = format!(
            "refusing the config {path}: it is writable by {who} (mode {mode:o}); make it yours alone with `chmod go-w`"
        );
        assert!(log.contains(&refusal), "want {refusal}\n{log}");
    }
}

#[test]
fn a_config_of_another_user_stops_the_start() {
    if !other_user::available() {
        return;
    }
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .credentials_file(TOKEN, None)
        .config(&config(&api))
        .config_owner(other_user::NOBODY)
        .spawn();
    let log = refused_at_start(daemon, &api);
    assert!(log.contains("belongs to uid 65534"), "{log}");
}

#[test]
fn a_hook_others_can_write_stops_the_start() {
    let api = FakeApi::start();
    let hooks = tempfile::tempdir().unwrap();
    let hook = hooks.path().join("hook.sh");
    std::fs::write(&hook, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o777)).unwrap();
    let text = format!("{}[notify]\ncommand = {:?}\n", config(&api), hook);
    let daemon = Daemon::builder()
        .credentials_file(TOKEN, None)
        .config(&text)
        .spawn();
    let log = refused_at_start(daemon, &api);
    let refusal = format!(
        "refusing [notify] command {}: it is writable by its group and others",
        hook.display()
    );
    assert!(log.contains(&refusal), "want {refusal}\n{log}");
}

#[tokio::test]
async fn a_config_made_writable_is_not_reloaded_and_the_old_one_stands() {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .credentials_file(TOKEN, None)
        .config(&config(&api))
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    // Someone else now could, and did, point the daemon elsewhere.
    std::fs::write(
        daemon.config_path(),
        "api_url = \"https://elsewhere.invalid\"\n",
    )
    .unwrap();
    std::fs::set_permissions(daemon.config_path(), std::fs::Permissions::from_mode(0o666)).unwrap();
    daemon.signal("HUP");
    let line = daemon.wait_for_log("config not reloaded", WAIT).await;
    assert!(line.contains("refusing the config"), "{line}");
    let status = daemon.wait_for_polls(&api, 3, WAIT).await;
    assert_eq!(status.tier, Tier::Burst, "still polling the old API");
}

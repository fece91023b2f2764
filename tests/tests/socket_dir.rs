//! The socket's directory must be the user's alone, for the default path
//! and for `--socket` alike; otherwise the daemon exits 1 naming the
//! directory and the fix, before anyone could answer in its place.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use claude_quota_e2e::{Daemon, DaemonBuilder, FakeApi, other_user};

/// Starts the daemon, which must refuse its socket directory: exit 1,
/// naming `dir` and saying `fix`, with no socket left behind.
fn assert_refused(builder: DaemonBuilder, dir: &Path, fix: &str) {
    let socket = builder.socket_path().to_owned();
    let mut daemon = builder.spawn();
    let status = daemon.wait_exit(Duration::from_secs(10));
    let log = daemon.log();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{log}");
    assert!(log.contains(&dir.display().to_string()), "{log}");
    assert!(log.contains(fix), "{log}");
    assert!(!socket.exists(), "no socket bound: {log}");
}

#[test]
fn a_world_writable_directory_given_with_socket_is_refused() {
    let api = FakeApi::start();
    let builder = Daemon::builder().api(&api.url(), 1.0);
    let open = builder.tmpdir().join("open");
    std::fs::create_dir_all(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let builder = builder.socket(&open.join("claude-quotad.sock"));
    assert_refused(builder, &open, "chmod 700");
}

#[test]
fn a_symlink_in_place_of_the_default_directory_is_refused() {
    let api = FakeApi::start();
    let builder = Daemon::builder().api(&api.url(), 1.0).default_socket();
    let dir = builder.socket_path().parent().unwrap().to_owned();
    let elsewhere = builder.tmpdir().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &dir).unwrap();
    assert_refused(builder, &dir, "is a symlink");
}

#[test]
fn a_default_directory_another_user_made_first_is_refused() {
    if !other_user::available() {
        return;
    }
    let api = FakeApi::start();
    let builder = Daemon::builder().api(&api.url(), 1.0).default_socket();
    let dir = builder.socket_path().parent().unwrap().to_owned();
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let nobody = Some(other_user::NOBODY);
    std::os::unix::fs::chown(&dir, nobody, nobody).unwrap();
    assert_refused(builder, &dir, "belongs to uid 65534");
}

#[tokio::test]
async fn a_missing_default_directory_is_created_private_and_served() {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&api.url(), 1.0)
        .default_socket()
        .start();
    let dir = daemon.socket().parent().unwrap();
    assert!(dir.ends_with(format!("claude-quota-{}", unsafe { libc::getuid() })));
    let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    assert!(daemon.client().await.status().await.is_ok());
}

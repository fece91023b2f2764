//! What only macOS can show, run by CI on `macos-latest`
//! (`.github/workflows/ci.yml`); on other systems this file compiles to
//! nothing. Claude Code's login as it really lies in the Keychain, read
//! through `keychain = "auto"`, and the launchd agent as `service install`
//! would write it, checked by Apple's own `plutil`.
#![cfg(target_os = "macos")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use claude_quota::CredentialSource;
use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::leaks::assert_never_leaked;
use claude_quota_e2e::{Daemon, FakeApi};

const WAIT: Duration = Duration::from_secs(20);
const KEYCHAIN_TOKEN: &str = "sk-ant-oat01-MACOS-keychain-token-do-not-leak-7c21";
const PASSWORD: &str = "claude-quota-test";

/// Runs `security ARGS`, failing the test with its stderr.
fn security(args: &[&str]) -> String {
    let output = Command::new("/usr/bin/security")
        .args(args)
        .output()
        .expect("run /usr/bin/security");
    assert!(
        output.status.success(),
        "security {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A temporary, unlocked keychain put first on the user's search list,
/// where the Security framework and `security` both look; the previous
/// list is restored and the keychain deleted when dropped.
struct TempKeychain {
    path: PathBuf,
    previous: Vec<String>,
}

impl TempKeychain {
    fn create(dir: &Path) -> TempKeychain {
        let path = dir.join("claude-quota-test.keychain-db");
        let file = path.to_str().expect("UTF-8 temp path");
        security(&["create-keychain", "-p", PASSWORD, file]);
        security(&["unlock-keychain", "-p", PASSWORD, file]);
        security(&["set-keychain-settings", file]);
        let previous: Vec<String> = security(&["list-keychains", "-d", "user"])
            .lines()
            .map(|line| line.trim().trim_matches('"').to_owned())
            .filter(|line| !line.is_empty())
            .collect();
        let mut list = vec!["list-keychains", "-d", "user", "-s", file];
        list.extend(previous.iter().map(String::as_str));
        security(&list);
        TempKeychain { path, previous }
    }
}

impl Drop for TempKeychain {
    fn drop(&mut self) {
        let mut list = vec!["list-keychains", "-d", "user", "-s"];
        list.extend(self.previous.iter().map(String::as_str));
        let _ = Command::new("/usr/bin/security").args(&list).status();
        let _ = Command::new("/usr/bin/security")
            .arg("delete-keychain")
            .arg(&self.path)
            .status();
    }
}

/// The login name, as Claude Code files its item under it.
fn login_name() -> String {
    let output = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8(output.stdout)
        .expect("UTF-8 user name")
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_codes_keychain_item_is_read_through_auto() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keychain = TempKeychain::create(dir.path());
    let user = login_name();
    let secret = serde_json::json!({
        "claudeAiOauth": {
            "accessToken": KEYCHAIN_TOKEN,
            "refreshToken": claude_quota_e2e::leaks::REFRESH_TOKEN,
            "expiresAt": claude_quota_e2e::daemon::FAR_FUTURE_MS,
            "scopes": ["user:inference", "user:profile"],
            "subscriptionType": "max"
        }
    })
    .to_string();
    // As Claude Code stores it: `security` adds the item, so its access
    // list trusts `/usr/bin/security` and not our daemon.
    security(&[
        "add-generic-password",
        "-s",
        "Claude Code-credentials",
        "-a",
        &user,
        "-w",
        &secret,
        keychain.path.to_str().expect("UTF-8 path"),
    ]);
    let api = FakeApi::start();
    api.accept_token(KEYCHAIN_TOKEN);
    let daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .env("USER", &user)
        .config("keychain = \"auto\"\n")
        .start();
    let status = daemon
        .wait_for(WAIT, |s| s.as_of.is_some() && s.last_error.is_none())
        .await;
    assert!(
        matches!(
            status.credentials,
            CredentialSource::Keychain | CredentialSource::SecurityCli
        ),
        "{status:#?}"
    );
    assert_eq!(status.subscription_type.as_deref(), Some("max"));
    assert_never_leaked(&daemon, &[KEYCHAIN_TOKEN]);
}

#[test]
fn the_launchd_agent_of_a_dry_run_passes_plutil_lint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(bin("claude-quota"))
        .args(["service", "install", "--dry-run", "--manager", "launchd"])
        .arg("--daemon")
        .arg(bin("claude-quotad"))
        .output()
        .expect("run claude-quota service install --dry-run");
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).expect("UTF-8 output");
    let plist: String = printed
        .lines()
        .skip_while(|line| !(line.starts_with("would write ") && line.ends_with(".plist:")))
        .skip(1)
        .take_while(|line| !line.starts_with("would "))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(plist.contains("<plist"), "no plist in:\n{printed}");
    let file = dir.path().join("agent.plist");
    std::fs::write(&file, plist).expect("write plist");
    let lint = Command::new("/usr/bin/plutil")
        .arg("-lint")
        .arg(&file)
        .output()
        .expect("run plutil");
    assert!(
        lint.status.success(),
        "plutil -lint refused the agent: {}\n{printed}",
        String::from_utf8_lossy(&lint.stdout)
    );
}

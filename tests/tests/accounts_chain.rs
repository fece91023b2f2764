//! Each account's credential chain (`Chain::for_account`) against a real
//! Secret Service (gnome-keyring in a private D-Bus session) holding the
//! hashed items of two login directories: each account reads its own
//! login and no other, and `CLAUDE_CODE_OAUTH_TOKEN` belongs to the
//! account named `default` only.
//!
//! The test runs itself again inside the session (the wrapper execs this
//! test binary with `CQ_INSIDE_SESSION` set), where the session bus is.

use std::path::PathBuf;
use std::process::Command;

use chrono::Utc;
use claude_quota::CredentialSource;
use claude_quota_credentials::{Account, Chain, KeychainMethod};
use claude_quota_e2e::daemon::{FAR_FUTURE_MS, write_credentials};
use claude_quota_e2e::secret_service;

const WORK_TOKEN: &str = "sk-ant-oat01-WORK-token-do-not-leak-2b7e11";
const TEAM_TOKEN: &str = "sk-ant-oat01-TEAM-token-do-not-leak-9c40d3";
const ENV_TOKEN: &str = "sk-ant-oat01-ENV-token-do-not-leak-a4c7b1";

/// This test's name, to run it alone inside the session.
const NAME: &str = "each_account_reads_its_own_hashed_item_and_no_other";

#[test]
fn each_account_reads_its_own_hashed_item_and_no_other() {
    if let Some(dirs) = std::env::var_os("CQ_INSIDE_SESSION") {
        inside(PathBuf::from(dirs));
        return;
    }
    if !secret_service::available() {
        return;
    }
    let root = tempfile::Builder::new()
        .prefix("cq-chain-")
        .tempdir()
        .unwrap();
    let work = root.path().join("home/.claude-work");
    let team = root.path().join("logins/team");
    for dir in [&work, &team] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::create_dir_all(root.path().join("run")).unwrap();
    let item = root.path().join("item");
    write_credentials(&item, WORK_TOKEN, Some(FAR_FUTURE_MS));
    let other = root.path().join("other-item");
    write_credentials(&root.path().join("other"), TEAM_TOKEN, Some(FAR_FUTURE_MS));
    std::fs::rename(root.path().join("other/.credentials.json"), &other).unwrap();
    let exe = std::env::current_exe().unwrap();
    let wrapper = secret_service::wrapper(&exe, &root.path().join("bus"));
    let mut command = Command::new(&wrapper[0]);
    command
        .args(&wrapper[1..])
        .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", root.path().join("home"))
        .env("XDG_RUNTIME_DIR", root.path().join("run"))
        .env("USER", "cq-tester")
        .env("CQ_INSIDE_SESSION", root.path())
        .env("CLAUDE_CODE_OAUTH_TOKEN", ENV_TOKEN)
        .env(
            "CQ_KEYRING_ITEM",
            item.join(".credentials.json").display().to_string(),
        )
        .env("CQ_KEYRING_ATTRIBUTE", "account")
        .env("CQ_KEYRING_SERVICE", hashed(&work.display().to_string()))
        .env("CQ_KEYRING_OTHER_ITEM", &other)
        .env(
            "CQ_KEYRING_OTHER_SERVICE",
            hashed(&format!("{}/", team.display())),
        );
    let output = secret_service::output(command);
    let status = output.status;
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(status.success(), "inside the session:\n{said}");
    assert!(said.contains("1 passed"), "the test ran inside:\n{said}");
}

/// Inside the session: the chains of four accounts, read.
fn inside(root: PathBuf) {
    let now = Utc::now();
    let account = |name: &str, dir: Option<String>| Account {
        name: name.into(),
        claude_config_dir: dir.map(PathBuf::from),
        priority: 1,
    };
    let read =
        |account: &Account| Chain::for_account(account, KeychainMethod::Keyring).read(now, &[]);

    let work = account(
        "work",
        Some(root.join("home/.claude-work").display().to_string()),
    );
    let found = read(&work).expect("work's item");
    assert_eq!(found.token.expose(), WORK_TOKEN);
    assert_eq!(found.source, CredentialSource::SecretService);

    // Claude Code hashed the directory with its trailing slash: so must
    // the account, and the form without it is another login.
    let team_dir = root.join("logins/team").display().to_string();
    let team = account("team", Some(format!("{team_dir}/")));
    assert_eq!(read(&team).expect("team's item").token.expose(), TEAM_TOKEN);
    let err = read(&account("team", Some(team_dir))).unwrap_err();
    assert!(!err.to_string().contains("sk-ant"), "{err}");

    // The env token is `default`'s, and only its.
    let default = read(&account("default", None)).expect("the env token");
    assert_eq!(default.token.expose(), ENV_TOKEN);
    assert_eq!(default.source, CredentialSource::Env);
    let err = read(&account("personal", None)).unwrap_err();
    assert!(
        err.tried
            .iter()
            .all(|place| !place.contains("CLAUDE_CODE_OAUTH_TOKEN")),
        "{err}"
    );
}

/// Claude Code's item name for the login of `CLAUDE_CONFIG_DIR=dir`.
fn hashed(dir: &str) -> String {
    claude_quota_credentials::hashed_name(std::ffi::OsStr::new(dir))
}

//! The CLI's account commands against the real daemon and real programs:
//! `exec` becomes a stand-in `claude` found on PATH that records the
//! environment it was started with (the login's `CLAUDE_CONFIG_DIR`, none
//! for the default login, the account the `route` answer names with
//! `--complexity`, the exit code passed through, the fallback when no
//! daemon answers); `account` and `accounts` read a daemon without
//! `[[accounts]]` as its one account, `default`; `accounts discover` finds
//! two logins' hashed items in a real Secret Service (gnome-keyring in a
//! private D-Bus session) and their files, and prints no token.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use claude_quota::Tier;
use claude_quota_e2e::daemon::{FAR_FUTURE_MS, bin, write_credentials};
use claude_quota_e2e::{TOKEN, WorkAndSpare, burst_daemon, secret_service, work_and_spare};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

/// A token in the environment, which belongs to the account `default` only.
const ENV_TOKEN: &str = "sk-ant-oat01-ENV-token-do-not-leak-a4c7b1";

/// A private place: a HOME with two login directories, a `bin/` holding
/// the stand-in `claude`, and a config naming both logins.
struct Place {
    dir: tempfile::TempDir,
}

impl Place {
    fn new() -> Place {
        let dir = tempfile::Builder::new()
            .prefix("cq-acc-")
            .tempdir()
            .unwrap();
        let place = Place { dir };
        for sub in ["home/.claude-work", "home/.claude-play", "bin"] {
            std::fs::create_dir_all(place.root().join(sub)).unwrap();
        }
        // Records its environment and arguments, and exits 7.
        let claude = place.root().join("bin/claude");
        std::fs::write(
            &claude,
            "#!/bin/sh\n{ echo \"CLAUDE_CONFIG_DIR=${CLAUDE_CONFIG_DIR-<unset>}\"; echo \"CLAUDE_CODE_OAUTH_TOKEN=${CLAUDE_CODE_OAUTH_TOKEN-<unset>}\"; echo \"ARGS=$*\"; } > \"$CQ_RECORD\"\nexit 7\n",
        )
        .unwrap();
        std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = place.config();
        std::fs::write(
            &config,
            "[[accounts]]\nname = \"play\"\nclaude_config_dir = \"~/.claude-play\"\n\n[[accounts]]\nname = \"work\"\nclaude_config_dir = \"~/.claude-work\"\npriority = 0\n",
        )
        .unwrap();
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
        place
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    fn config(&self) -> PathBuf {
        self.root().join("config.toml")
    }

    fn record(&self) -> PathBuf {
        self.root().join("record")
    }

    /// Runs `claude-quota ARGS` against `socket` with this place's HOME,
    /// config, and `bin/` first on PATH; `CLAUDE_CONFIG_DIR` and the
    /// env token set as a user's shell might have them.
    fn cli(&self, socket: &Path, args: &[&str]) -> Output {
        let _ = std::fs::remove_file(self.record());
        let path = format!(
            "{}:{}",
            self.root().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new(bin("claude-quota"))
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.home())
            .env("CLAUDE_QUOTA_SOCKET", socket)
            .env("CLAUDE_QUOTA_CONFIG", self.config())
            .env("CLAUDE_CONFIG_DIR", "/somewhere/the/shell/had")
            .env("CLAUDE_CODE_OAUTH_TOKEN", ENV_TOKEN)
            .env("CQ_RECORD", self.record())
            .stdin(Stdio::null())
            .output()
            .expect("run claude-quota")
    }

    /// What the stand-in recorded: its `CLAUDE_CONFIG_DIR`, its token
    /// variable and its arguments.
    fn recorded(&self) -> (String, String, String) {
        let text = std::fs::read_to_string(self.record()).expect("the stand-in ran");
        let value = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("{key} not recorded: {text}"))
                .to_owned()
        };
        (
            value("CLAUDE_CONFIG_DIR"),
            value("CLAUDE_CODE_OAUTH_TOKEN"),
            value("ARGS"),
        )
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// One test, run in sequence: a stand-in written while another test thread
// forks can fail to execute with "text file busy".
#[tokio::test]
async fn exec_starts_the_program_on_the_chosen_login_and_passes_its_exit_code() {
    let place = Place::new();
    let (_api, daemon) = burst_daemon().await;
    let work = place.home().join(".claude-work").display().to_string();
    let play = place.home().join(".claude-play").display().to_string();

    // A daemon without [[accounts]]: its one account is the default login.
    let out = place.cli(
        daemon.socket(),
        &["exec", "--", "claude", "--resume", "x y"],
    );
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(
        place.recorded(),
        ("<unset>".into(), ENV_TOKEN.into(), "--resume x y".into()),
        "the default login: no CLAUDE_CONFIG_DIR, the env token kept"
    );
    assert_eq!(stderr(&out), "", "nothing said when the daemon chose");

    let out = place.cli(
        daemon.socket(),
        &["exec", "--account", "work", "--", "claude"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no account named \"work\"; the configured accounts are: default"),
        "{}",
        stderr(&out)
    );
    assert!(!place.record().exists(), "nothing ran");

    // No daemon: the first account by priority, as the config resolves.
    let gone = place.root().join("no-daemon.sock");
    let out = place.cli(&gone, &["exec", "--value", "critical", "--", "claude"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(
        place.recorded(),
        (work.clone(), "<unset>".into(), String::new()),
        "the login of `work`, without the token that belongs to `default`"
    );
    assert!(
        stderr(&out).contains("running on account work (the first by priority)"),
        "{}",
        stderr(&out)
    );
    let out = place.cli(&gone, &["exec", "--account", "play", "--", "claude"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(place.recorded().0, play);
    let out = place.cli(&gone, &["exec", "--account", "nope", "--", "claude"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the configured accounts are: work, play"),
        "{}",
        stderr(&out)
    );

    // CMD's own failures read as a shell's.
    let out = place.cli(daemon.socket(), &["exec", "--", "no-such-program-cq"]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot run no-such-program-cq"));
    let out = place.cli(daemon.socket(), &["exec", "claude"]);
    assert_eq!(out.status.code(), Some(2), "CMD comes after --");
    assert!(!place.record().exists());

    exec_complexity_takes_the_account_the_route_answer_names(&place).await;
}

/// `--complexity`: the account is the one the daemon's `route` answer
/// names. Work (preferred) rests and spare is in burst, so a valuable
/// task worth the cloud model goes to spare, and one whose complexity
/// takes a local model stays on the preferred account, which
/// `should_use_cloud` (the value alone) would not say.
async fn exec_complexity_takes_the_account_the_route_answer_names(place: &Place) {
    let WorkAndSpare {
        api: _api,
        daemon,
        work_dir: work,
        spare_dir: spare,
    } = work_and_spare().await;
    let out = place.cli(
        daemon.socket(),
        &["exec", "--complexity", "high", "--", "claude"],
    );
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(
        place.recorded().0,
        spare,
        "the cloud model: spare has headroom"
    );
    let out = place.cli(
        daemon.socket(),
        &[
            "exec",
            "--value",
            "high",
            "--complexity",
            "low",
            "--",
            "claude",
        ],
    );
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(
        place.recorded().0,
        work,
        "a local model: the preferred account"
    );
    let out = place.cli(daemon.socket(), &["exec", "--", "claude"]);
    assert_eq!(
        place.recorded().0,
        spare,
        "by value alone: {}",
        stderr(&out)
    );
    let out = place.cli(daemon.socket(), &["account", "--complexity", "low"]);
    assert_eq!(stdout(&out), format!("work {work}\n"), "{}", stderr(&out));
    let out = place.cli(
        daemon.socket(),
        &["--json", "account", "--complexity", "high"],
    );
    let chosen: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(chosen["account"], "spare", "{chosen}");

    // No daemon: the route cannot be asked; the first by priority.
    let gone = place.root().join("no-daemon.sock");
    let out = place.cli(&gone, &["exec", "--complexity", "high", "--", "claude"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("running on account work (the first by priority)"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn account_and_accounts_read_a_daemon_without_accounts_as_default() {
    let place = Place::new();
    let (_api, daemon) = burst_daemon().await;
    let out = place.cli(daemon.socket(), &["account"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "default\n");
    let out = place.cli(
        daemon.socket(),
        &["account", "--value", "routine", "--json"],
    );
    let chosen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        chosen,
        serde_json::json!({"account": "default", "claude_config_dir": null})
    );

    let out = place.cli(daemon.socket(), &["accounts"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = stdout(&out);
    let row = table.lines().nth(1).unwrap();
    assert!(row.starts_with("default  burst"), "{table}");
    assert!(row.contains("(default login)"), "{table}");
    assert!(row.contains("a high task goes here now"), "{table}");
    let out = place.cli(daemon.socket(), &["accounts", "--json"]);
    let accounts: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(accounts[0]["name"], "default");
    assert_eq!(accounts[0]["tier"], "burst");
    assert_eq!(accounts[0]["credentials"], "file");

    // No daemon: `account` still answers, with the first by priority.
    let gone = place.root().join("no-daemon.sock");
    let out = place.cli(&gone, &["account"]);
    assert_eq!(out.status.code(), Some(3));
    let work = place.home().join(".claude-work");
    assert_eq!(stdout(&out), format!("work {}\n", work.display()));
    let out = place.cli(&gone, &["accounts"]);
    assert_eq!(out.status.code(), Some(3));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
}

#[test]
fn discover_matches_hashed_items_to_their_directories_and_prints_no_token() {
    if !secret_service::available() {
        return;
    }
    let place = Place::new();
    let home = place.home();
    // `work` keeps its login in the Secret Service only; `team`, outside
    // HOME and named by $CLAUDE_CONFIG_DIR, with a trailing slash, there
    // and in its file; the default login in ~/.claude's file.
    let work = home.join(".claude-work");
    let team_dir = place.root().join("logins/team");
    let team = format!("{}/", team_dir.display());
    write_credentials(&team_dir, TOKEN, Some(FAR_FUTURE_MS));
    write_credentials(&home.join(".claude"), TOKEN, Some(FAR_FUTURE_MS));
    let stored = place.root().join("stored");
    let other = place.root().join("other-item");
    let wrapper = secret_service::wrapper(&bin("claude-quota"), &place.root().join("bus"));
    let runtime = place.root().join("run");
    std::fs::create_dir(&runtime).unwrap();
    // Each run stores both items afresh (the wrapper moves the files in).
    let run = |args: &[&str]| {
        write_credentials(&stored, TOKEN, Some(FAR_FUTURE_MS));
        std::fs::copy(stored.join(".credentials.json"), &other).unwrap();
        let mut command = Command::new(&wrapper[0]);
        command
            .args(&wrapper[1..])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &home)
            // gnome-keyring's control socket: one known place, so that the
            // daemon D-Bus activates finds the unlocked one.
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("USER", "cq-tester")
            .env("CLAUDE_CONFIG_DIR", &team)
            .env(
                "CQ_KEYRING_ITEM",
                stored.join(".credentials.json").display().to_string(),
            )
            .env("CQ_KEYRING_ATTRIBUTE", "account")
            .env("CQ_KEYRING_SERVICE", hashed(&work.display().to_string()))
            .env("CQ_KEYRING_OTHER_ITEM", &other)
            .env("CQ_KEYRING_OTHER_SERVICE", hashed(&team));
        secret_service::output(command)
    };
    let out = run(&["accounts", "discover", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let found: Value = serde_json::from_str(&ours(&out))
        .unwrap_or_else(|err| panic!("{err}: {}\n{}", stdout(&out), stderr(&out)));
    assert_eq!(found["keyring_error"], Value::Null, "{found:#}");
    assert_eq!(found["unmatched_items"], serde_json::json!([]));
    let logins = found["logins"].as_array().unwrap();
    let by_name = |name: &str| {
        logins
            .iter()
            .find(|l| l["name"] == name)
            .unwrap_or_else(|| panic!("{name} not found: {found:#}"))
    };
    assert_eq!(by_name("default")["claude_config_dir"], Value::Null);
    assert_eq!(
        by_name("work")["claude_config_dir"],
        work.display().to_string()
    );
    assert_eq!(
        by_name("work")["keyring_item"],
        hashed(&work.display().to_string())
    );
    assert_eq!(by_name("work")["credentials_file"], Value::Null);
    assert_eq!(by_name("team")["claude_config_dir"], team);
    assert_eq!(by_name("team")["keyring_item"], hashed(&team));
    assert_eq!(logins.len(), 3, "{found:#}");

    let out = run(&["accounts", "discover"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let snippet = ours(&out);
    assert!(
        snippet.contains("[[accounts]]\nname = \"work\"\nclaude_config_dir = \"~/.claude-work\"\n"),
        "{snippet}"
    );
    assert!(
        snippet.contains(&format!("name = \"team\"\nclaude_config_dir = \"{team}\"")),
        "{snippet}"
    );
    assert!(!snippet.contains("sk-ant"), "{snippet}");
    assert!(!stderr(&out).contains("sk-ant"), "{}", stderr(&out));

    // The snippet is taken by the daemon as it stands.
    std::fs::write(place.config(), snippet).unwrap();
    let check = Command::new(bin("claude-quotad"))
        .args(["--check-config", "--config"])
        .arg(place.config())
        .env_clear()
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
    let report: Value = serde_json::from_slice(&check.stdout).unwrap();
    let names: Vec<&str> = report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "work", "team"], "in the snippet's order");
}

/// What claude-quota printed, without what gnome-keyring-daemon, started
/// in the same session, prints on the same stdout.
fn ours(output: &Output) -> String {
    stdout(output)
        .lines()
        .filter(|line| !line.starts_with("GNOME_KEYRING_") && !line.starts_with("SSH_AUTH_SOCK="))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Claude Code's item name for the login of `CLAUDE_CONFIG_DIR=dir`.
fn hashed(dir: &str) -> String {
    claude_quota_credentials::hashed_name(std::ffi::OsStr::new(dir))
}

#[tokio::test]
async fn a_daemon_without_accounts_shows_the_status_view_as_before() {
    // No block per account, no line naming one.
    let (_api, daemon) = burst_daemon().await;
    let out = daemon.cli(&["status", "--no-color"]);
    assert_eq!(out.status.code(), Some(0));
    let view = stdout(&out);
    assert!(!view.contains("a high task goes to"), "{view}");
    assert!(view.starts_with("BURST"), "{view}");
}

//! `claude-quota service` against a temporary HOME, with `launchctl` and
//! `systemctl` replaced by scripts that record their arguments: the right
//! files, the right commands in the right order, and nothing at all on a
//! dry run. Both managers are exercised on any OS.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use claude_quota_e2e::daemon::bin;
use plist::Value;
use tempfile::TempDir;

const LABEL: &str = "dev.claude-quota.claude-quotad";
const UNIT: &str = "claude-quotad.service";

/// A temporary HOME and a PATH whose `launchctl` and `systemctl` only
/// write their argv to a log.
struct Sandbox {
    dir: TempDir,
    env: Vec<(String, String)>,
}

/// A stand-in for a service manager: records its argv, fails with 5 when
/// the argv contains `$FAIL_ON`, hangs when it contains `$HANG_ON`, and
/// claims the agent runs when asked.
const RECORDER: &str = r#"#!/bin/sh
echo "$(basename "$0") $*" >> "$RECORD"
if [ -n "$FAIL_ON" ]; then
  case "$*" in *"$FAIL_ON"*) echo "refused: $*" >&2; exit 5;; esac
fi
if [ -n "$HANG_ON" ]; then
  case "$*" in *"$HANG_ON"*) exec sleep 600;; esac
fi
case "$1" in print) echo "state = running";; esac
exit 0
"#;

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let tools = dir.path().join("tools");
        fs::create_dir_all(&tools).unwrap();
        fs::create_dir_all(dir.path().join("home")).unwrap();
        for name in ["launchctl", "systemctl"] {
            let path = tools.join(name);
            fs::write(&path, RECORDER).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = format!("{}:/usr/bin:/bin", tools.display());
        Sandbox {
            env: vec![
                ("PATH".into(), path),
                ("HOME".into(), dir.path().join("home").display().to_string()),
                (
                    "RECORD".into(),
                    dir.path().join("record").display().to_string(),
                ),
            ],
            dir,
        }
    }

    fn set(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn uid(&self) -> u32 {
        fs::metadata(self.home()).unwrap().uid()
    }

    /// Runs `claude-quota service ARGS` in the sandbox only.
    fn service(&self, args: &[&str]) -> Output {
        Command::new(bin("claude-quota"))
            .arg("service")
            .args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }

    /// Like `service`, asserting success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.service(args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    }

    /// The commands recorded since the last call.
    fn take_record(&self) -> Vec<String> {
        let path = self.dir.path().join("record");
        let text = fs::read_to_string(&path).unwrap_or_default();
        let _ = fs::remove_file(&path);
        text.lines().map(str::to_owned).collect()
    }
}

fn plist_at(path: &Path) -> plist::Dictionary {
    Value::from_file(path)
        .unwrap()
        .into_dictionary()
        .expect("a dict at the top")
}

#[test]
fn launchd_install_writes_a_complete_plist_and_bootstraps_it() {
    let mut sandbox = Sandbox::new();
    sandbox.set("CLAUDE_CONFIG_DIR", "/opt/claude one");
    sandbox.set("CLAUDE_CODE_OAUTH_TOKEN", claude_quota_e2e::TOKEN);
    let out = sandbox.ok(&["install", "--manager", "launchd"]);
    let home = sandbox.home();
    let plist_path = home.join(format!("Library/LaunchAgents/{LABEL}.plist"));
    let domain = format!("gui/{}", sandbox.uid());
    assert!(
        out.contains(&format!("wrote {}", plist_path.display())),
        "{out}"
    );
    assert_eq!(
        sandbox.take_record(),
        [format!(
            "launchctl bootstrap {domain} {}",
            plist_path.display()
        )]
    );

    let raw = fs::read_to_string(&plist_path).unwrap();
    assert!(
        !raw.contains(claude_quota_e2e::TOKEN),
        "a secret never goes into the plist"
    );
    let plist = plist_at(&plist_path);
    assert_eq!(plist["Label"].as_string(), Some(LABEL));
    let program = plist["ProgramArguments"].as_array().unwrap();
    let daemon = bin("claude-quotad");
    assert_eq!(program[0].as_string(), Some(daemon.to_str().unwrap()));
    assert_eq!(plist["RunAtLoad"].as_boolean(), Some(true));
    let keep_alive = plist["KeepAlive"]
        .as_dictionary()
        .expect("KeepAlive is a dict");
    assert_eq!(keep_alive["SuccessfulExit"].as_boolean(), Some(false));
    assert_eq!(plist["ProcessType"].as_string(), Some("Interactive"));
    let logs = home.join("Library/Logs/claude-quota");
    for key in ["StandardOutPath", "StandardErrorPath"] {
        let path = Path::new(plist[key].as_string().unwrap());
        assert_eq!(path.parent(), Some(logs.as_path()), "{key}");
    }
    assert!(
        logs.is_dir(),
        "the log directory exists before launchd opens it"
    );
    let env = plist["EnvironmentVariables"].as_dictionary().unwrap();
    assert_eq!(env["RUST_LOG"].as_string(), Some("info"));
    assert_eq!(
        env["CLAUDE_CONFIG_DIR"].as_string(),
        Some("/opt/claude one")
    );

    // The same plist again: loaded if it was not, then restarted in place.
    sandbox.ok(&["install", "--manager", "launchd"]);
    let target = format!("{domain}/{LABEL}");
    assert_eq!(
        sandbox.take_record(),
        [
            format!("launchctl bootstrap {domain} {}", plist_path.display()),
            format!("launchctl kickstart -k {target}"),
        ]
    );

    // A changed plist: launchd only reads it when bootstrapped again.
    sandbox.set("CLAUDE_CONFIG_DIR", "/opt/claude two");
    let out = sandbox.ok(&["install", "--manager", "launchd"]);
    assert!(out.contains("updated"), "{out}");
    assert_eq!(
        sandbox.take_record(),
        [
            format!("launchctl bootout {target}"),
            format!("launchctl bootstrap {domain} {}", plist_path.display()),
        ]
    );
    let env = plist_at(&plist_path)["EnvironmentVariables"].clone();
    assert_eq!(
        env.as_dictionary().unwrap()["CLAUDE_CONFIG_DIR"].as_string(),
        Some("/opt/claude two")
    );

    let out = sandbox.ok(&["uninstall", "--manager", "launchd"]);
    assert!(
        out.contains(&format!("removed {}", plist_path.display())),
        "{out}"
    );
    assert_eq!(
        sandbox.take_record(),
        [format!("launchctl bootout {target}")]
    );
    assert!(!plist_path.exists());
}

#[test]
fn systemd_install_writes_a_user_unit_under_xdg_config_home_and_enables_it() {
    let mut sandbox = Sandbox::new();
    let config_home = sandbox.dir.path().join("xdg");
    sandbox.set("XDG_CONFIG_HOME", config_home.to_str().unwrap());
    let out = sandbox.ok(&["install", "--manager", "systemd"]);
    let unit_path = config_home.join("systemd/user").join(UNIT);
    assert!(out.contains("journalctl --user -u claude-quotad"), "{out}");
    assert_eq!(
        sandbox.take_record(),
        [
            "systemctl --user daemon-reload".to_owned(),
            format!("systemctl --user enable --now {UNIT}"),
        ]
    );

    let unit = fs::read_to_string(&unit_path).unwrap();
    let keys: Vec<(&str, &str)> = unit
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .collect();
    let value = |key: &str| keys.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let daemon = bin("claude-quotad");
    assert_eq!(value("ExecStart"), daemon.to_str());
    assert_eq!(value("Restart"), Some("on-failure"));
    assert!(value("RestartSec").unwrap().parse::<u32>().unwrap() > 0);
    assert_eq!(value("Environment"), Some("RUST_LOG=info"));
    assert_eq!(value("WantedBy"), Some("default.target"));
    for section in ["[Unit]", "[Service]", "[Install]"] {
        assert!(unit.contains(section), "{section} in\n{unit}");
    }

    // Installing again updates the file in place and restarts the daemon.
    sandbox.ok(&["install", "--manager", "systemd"]);
    assert_eq!(
        sandbox.take_record(),
        [
            "systemctl --user daemon-reload".to_owned(),
            format!("systemctl --user enable {UNIT}"),
            format!("systemctl --user restart {UNIT}"),
        ]
    );

    sandbox.ok(&["uninstall", "--manager", "systemd"]);
    assert_eq!(
        sandbox.take_record(),
        [
            format!("systemctl --user disable --now {UNIT}"),
            "systemctl --user daemon-reload".to_owned(),
        ]
    );
    assert!(!unit_path.exists());
}

#[test]
fn a_dry_run_prints_the_file_and_the_commands_and_touches_nothing() {
    let sandbox = Sandbox::new();
    for (manager, expected) in [
        ("launchd", "would run: launchctl bootstrap gui/"),
        (
            "systemd",
            "would run: systemctl --user enable --now claude-quotad.service",
        ),
    ] {
        for action in ["install", "uninstall", "status"] {
            let out = sandbox.ok(&[action, "--dry-run", "--manager", manager]);
            if action == "install" {
                assert!(out.contains(expected), "{out}");
                assert!(out.contains("claude-quotad"), "the file is printed: {out}");
            }
        }
    }
    let out = sandbox.ok(&[
        "install",
        "--dry-run",
        "--manager",
        "systemd",
        "--daemon",
        "/bin/sh",
    ]);
    assert!(
        out.contains("ExecStart=/bin/sh\n"),
        "--daemon overrides the search: {out}"
    );
    let missing = sandbox.service(&[
        "install",
        "--dry-run",
        "--daemon",
        "/nonexistent/claude-quotad",
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no such file"));
    assert!(sandbox.take_record().is_empty(), "a dry run runs nothing");
    assert_eq!(
        fs::read_dir(sandbox.home()).unwrap().count(),
        0,
        "and writes nothing"
    );
}

#[test]
fn status_says_whether_the_agent_is_installed_and_running() {
    let sandbox = Sandbox::new();
    let output = sandbox.service(&["status", "--manager", "launchd"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("not installed"));

    sandbox.ok(&["install", "--manager", "launchd"]);
    sandbox.take_record();
    let out = sandbox.ok(&["status", "--manager", "launchd"]);
    assert!(
        out.ends_with("running\n") && !out.contains("not running"),
        "{out}"
    );
    assert_eq!(
        sandbox.take_record(),
        [format!("launchctl print gui/{}/{LABEL}", sandbox.uid())]
    );
}

/// `--json` puts one object on stdout, for scripts; the steps taken go
/// to stderr; a dry run is for people and refuses `--json`.
#[test]
fn with_json_each_action_prints_one_object_and_the_steps_go_to_stderr() {
    let sandbox = Sandbox::new();
    let json = |args: &[&str]| -> (Option<i32>, serde_json::Value, String) {
        let output = sandbox.service(args);
        let stdout = String::from_utf8(output.stdout).unwrap();
        let report =
            serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("{err}: {stdout:?}"));
        (
            output.status.code(),
            report,
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let unit = sandbox
        .dir
        .path()
        .join("home/.config/systemd/user")
        .join(UNIT);

    let (code, report, _) = json(&["status", "--manager", "systemd", "--json"]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["installed"], false, "{report}");
    assert_eq!(report["running"], false, "{report}");
    assert_eq!(report["manager"], "systemd", "{report}");
    assert_eq!(report["file"], unit.display().to_string(), "{report}");

    let (code, report, stderr) = json(&["install", "--manager", "systemd", "--json"]);
    assert_eq!(code, Some(0), "{report} {stderr}");
    assert_eq!(report["result"], "installed", "{report}");
    assert!(stderr.contains("systemctl --user enable"), "{stderr}");

    let (code, report, _) = json(&["status", "--manager", "systemd", "--json"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        (report["installed"].as_bool(), report["running"].as_bool()),
        (Some(true), Some(true))
    );

    let (code, report, _) = json(&["uninstall", "--manager", "systemd", "--json"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["result"], "uninstalled", "{report}");
    assert!(!unit.exists());

    let dry = sandbox.service(&["install", "--dry-run", "--json"]);
    assert_eq!(dry.status.code(), Some(2), "{dry:?}");
}

#[test]
fn stopping_an_agent_that_is_not_loaded_is_fine_but_a_failed_load_is_an_error() {
    let mut sandbox = Sandbox::new();
    sandbox.set("FAIL_ON", "bootout");
    let out = sandbox.ok(&["uninstall", "--manager", "launchd"]);
    assert!(out.contains("was not loaded"), "{out}");

    sandbox.set("FAIL_ON", "bootstrap");
    let output = sandbox.service(&["install", "--manager", "launchd"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("launchctl bootstrap") && stderr.contains("refused"),
        "{stderr}"
    );
}

#[test]
fn a_service_manager_that_hangs_is_given_up_on_with_the_command_named() {
    for (manager, hang_on, action, command) in [
        ("systemd", "enable", "install", "systemctl --user enable"),
        ("launchd", "print", "status", "launchctl print"),
    ] {
        let mut sandbox = Sandbox::new();
        if action == "status" {
            sandbox.ok(&["install", "--manager", manager]);
        }
        sandbox.set("HANG_ON", hang_on);
        let started = std::time::Instant::now();
        let output = sandbox.service(&[action, "--manager", manager]);
        let took = started.elapsed();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(command) && stderr.contains("did not finish within 10s"),
            "{stderr}"
        );
        // Given up on at the timeout, not when the stand-in's sleep ends.
        assert!(took < std::time::Duration::from_secs(30), "took {took:?}");
    }
}

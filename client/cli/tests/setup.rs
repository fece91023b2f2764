//! `claude-quota setup claude-code` on settings files as users have them:
//! other keys, hooks and a status line of their own, invalid JSON, a second
//! run, `--remove`, `--dry-run` and `CLAUDE_CONFIG_DIR`; and `doctor`'s
//! verdict on the result. Claude Code's `claude mcp` is played by a
//! stand-in that edits the state file as Claude Code does and logs its calls.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use tempfile::TempDir;

/// A user's settings as Claude Code writes them (two-space JSON), with
/// keys, a hook and an MCP-unrelated setting of their own.
const USERS_SETTINGS: &str = r#"{
  "model": "opus",
  "permissions": {
    "allow": [
      "Bash(cargo test:*)",
      "Read(~/src/**)"
    ],
    "deny": []
  },
  "env": {
    "DISABLE_TELEMETRY": "1"
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "~/.claude/guard.sh",
            "timeout": 10
          }
        ]
      }
    ]
  },
  "includeCoAuthoredBy": false
}
"#;

/// A private HOME with a stand-in `claude` on PATH.
struct User {
    dir: TempDir,
    config_dir: Option<PathBuf>,
}

impl User {
    fn new() -> User {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("home/.claude")).unwrap();
        fs::create_dir(dir.path().join("bin")).unwrap();
        let claude = dir.path().join("bin/claude");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stand_in_claude.py");
        fs::copy(script, &claude).unwrap();
        fs::set_permissions(&claude, fs::Permissions::from_mode(0o755)).unwrap();
        User {
            dir,
            config_dir: None,
        }
    }

    /// The same user with `CLAUDE_CONFIG_DIR` set.
    fn with_config_dir(mut self) -> User {
        let config = self.dir.path().join("claude-config");
        fs::create_dir(&config).unwrap();
        self.config_dir = Some(config);
        self
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn claude_dir(&self) -> PathBuf {
        self.config_dir
            .clone()
            .unwrap_or_else(|| self.home().join(".claude"))
    }

    fn settings(&self) -> PathBuf {
        self.claude_dir().join("settings.json")
    }

    /// Where Claude Code keeps user-scope MCP servers.
    fn state(&self) -> PathBuf {
        match &self.config_dir {
            Some(dir) => dir.join(".claude.json"),
            None => self.home().join(".claude.json"),
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("claude-calls.log")
    }

    /// `claude-quota ARGS` as this user, with `path_first` (if any) and the
    /// stand-in `claude` before the rest of PATH.
    fn command(&self, args: &[&str], path_first: Option<&Path>) -> Command {
        let mut path = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .collect::<Vec<_>>();
        path.insert(0, self.dir.path().join("bin"));
        if let Some(first) = path_first {
            path.insert(0, first.to_owned());
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_claude-quota"));
        command
            .args(args)
            .env("HOME", self.home())
            .env("PATH", std::env::join_paths(path).unwrap())
            .env("CLAUDE_STAND_IN_LOG", self.log())
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("CLAUDE_QUOTA_SOCKET")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            // The socket a bare command finds: nothing for setup to name.
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("TMPDIR");
        if let Some(dir) = &self.config_dir {
            command.env("CLAUDE_CONFIG_DIR", dir);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args, None).output().unwrap()
    }

    fn setup(&self, extra: &[&str]) -> Output {
        let mut args = vec!["setup", "claude-code"];
        args.extend(extra);
        let output = self.run(&args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "setup {extra:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn calls(&self) -> Vec<Vec<String>> {
        fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn read(&self) -> Value {
        serde_json::from_str(&fs::read_to_string(self.settings()).unwrap()).unwrap()
    }

    fn mcp_servers(&self) -> Value {
        let state: Value =
            serde_json::from_str(&fs::read_to_string(self.state()).unwrap()).unwrap();
        state["mcpServers"].clone()
    }

    fn backups(&self) -> Vec<PathBuf> {
        let mut backups: Vec<PathBuf> = fs::read_dir(self.claude_dir())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.to_string_lossy().ends_with(".bak"))
            .collect();
        backups.sort();
        backups
    }

    /// `doctor --json`'s `claude_code` check.
    fn doctor_check(&self) -> Value {
        let output = self.run(&[
            "doctor",
            "--json",
            "--socket",
            "/nonexistent/claude-quotad.sock",
        ]);
        let checks: Value =
            serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output:?}"));
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|check| check["check"] == "claude_code")
            .unwrap_or_else(|| panic!("no claude_code check: {checks:#}"))
            .clone()
    }
}

/// This binary, as the commands name it when `claude-quota` on PATH is
/// another one (or none).
fn this_binary() -> String {
    fs::canonicalize(env!("CARGO_BIN_EXE_claude-quota"))
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Our hook entry, as setup writes it.
fn our_hook(program: &str) -> Value {
    json!({"type": "command", "command": format!("{program} hook"), "timeout": 5})
}

#[test]
fn setup_merges_into_the_users_settings_backs_up_and_is_idempotent() {
    let user = User::new();
    fs::write(user.settings(), USERS_SETTINGS).unwrap();
    fs::set_permissions(user.settings(), fs::Permissions::from_mode(0o640)).unwrap();
    let program = this_binary();

    let output = user.setup(&[]);
    let said = stdout(&output);
    assert!(said.contains("backup: "), "{said}");

    let settings = user.read();
    let original: Value = serde_json::from_str(USERS_SETTINGS).unwrap();
    for key in ["model", "permissions", "env", "includeCoAuthoredBy"] {
        assert_eq!(settings[key], original[key], "{key} kept");
    }
    assert_eq!(
        settings["statusLine"],
        json!({"type": "command", "command": format!("{program} statusline")})
    );
    let pre = settings["hooks"]["PreToolUse"].as_array().unwrap();
    assert_eq!(
        pre[0], original["hooks"]["PreToolUse"][0],
        "the user's hook stays first"
    );
    assert_eq!(
        pre[1],
        json!({"matcher": "Agent|Task", "hooks": [our_hook(&program)]})
    );
    for event in ["SessionStart", "UserPromptSubmit"] {
        assert_eq!(
            settings["hooks"][event],
            json!([{"hooks": [our_hook(&program)]}]),
            "{event}"
        );
    }
    let mode = fs::metadata(user.settings()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the file's mode is kept");
    let backups = user.backups();
    assert_eq!(backups.len(), 1);
    assert_eq!(fs::read_to_string(&backups[0]).unwrap(), USERS_SETTINGS);

    assert_eq!(
        user.calls(),
        [vec![
            "mcp",
            "add",
            "--scope",
            "user",
            "claude-quota",
            "--",
            &program,
            "mcp"
        ]]
    );
    assert_eq!(
        user.mcp_servers()["claude-quota"],
        json!({"type": "stdio", "command": program, "args": ["mcp"], "env": {}})
    );

    let written = fs::read(user.settings()).unwrap();
    let again = user.setup(&[]);
    assert!(
        stdout(&again).contains("nothing to change"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        fs::read(user.settings()).unwrap(),
        written,
        "a second run changes nothing"
    );
    assert_eq!(user.backups().len(), 1, "and backs nothing up");
    assert_eq!(user.calls().len(), 1, "and runs nothing");
}

#[test]
fn remove_takes_out_exactly_what_setup_added() {
    let user = User::new();
    fs::write(user.settings(), USERS_SETTINGS).unwrap();
    fs::write(
        user.state(),
        r#"{"numStartups":12,"mcpServers":{"github":{"type":"stdio","command":"npx","args":["gh"],"env":{}}}}"#,
    )
    .unwrap();
    user.setup(&[]);
    let output = user.setup(&["--remove"]);
    let said = stdout(&output);
    assert!(said.contains("removed"), "{said}");
    assert!(
        said.ends_with("done; new Claude Code sessions no longer run it\n"),
        "{said}"
    );

    let restored = fs::read_to_string(user.settings()).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&restored).unwrap(),
        serde_json::from_str::<Value>(USERS_SETTINGS).unwrap()
    );
    assert_eq!(restored, USERS_SETTINGS, "even the text and its key order");
    assert_eq!(
        user.mcp_servers(),
        json!({"github": {"type": "stdio", "command": "npx", "args": ["gh"], "env": {}}}),
        "the user's own server stays"
    );
    assert_eq!(
        user.calls().last().unwrap(),
        &["mcp", "remove", "--scope", "user", "claude-quota"]
    );

    let again = user.setup(&["--remove"]);
    assert!(
        stdout(&again).contains("nothing to change"),
        "{}",
        stdout(&again)
    );
    assert_eq!(fs::read_to_string(user.settings()).unwrap(), USERS_SETTINGS);
}

#[test]
fn a_status_line_of_the_users_is_kept_and_said_unless_forced() {
    let user = User::new();
    let theirs = r#"{"statusLine":{"type":"command","command":"~/.claude/line.sh","padding":0}}"#;
    fs::write(user.settings(), theirs).unwrap();
    let output = user.setup(&[]);
    assert!(
        stdout(&output).contains("kept yours, `~/.claude/line.sh` (--force replaces it"),
        "{}",
        stdout(&output)
    );
    assert_eq!(user.read()["statusLine"]["command"], "~/.claude/line.sh");
    assert!(
        user.read()["hooks"]["SessionStart"].is_array(),
        "the rest is added"
    );

    let output = user.setup(&["--force"]);
    assert!(
        stdout(&output).contains("`~/.claude/line.sh` replaced by"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        user.read()["statusLine"]["command"],
        format!("{} statusline", this_binary())
    );
    let backups = user.backups();
    assert_eq!(backups.len(), 2, "one backup per change");
    assert!(fs::read_to_string(&backups[1]).unwrap().contains("line.sh"));
}

#[test]
fn a_settings_file_that_is_not_a_json_object_is_refused_untouched() {
    for broken in [
        "{\n  \"model\": \"opus\",\n}\n",
        "[1, 2]",
        "",
        "{\"hooks\": []}",
    ] {
        let user = User::new();
        fs::write(user.settings(), broken).unwrap();
        let output = user.run(&["setup", "claude-code"]);
        assert_eq!(output.status.code(), Some(1), "{broken:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("settings.json")
                && (stderr.contains("not a JSON object") || stderr.contains("fix it by hand")),
            "{broken:?}: {stderr}"
        );
        assert_eq!(
            fs::read_to_string(user.settings()).unwrap(),
            broken,
            "byte for byte"
        );
        assert!(user.backups().is_empty());
        assert!(user.calls().is_empty(), "no MCP server either");
    }
}

#[test]
fn dry_run_prints_the_result_and_writes_nothing() {
    let user = User::new();
    fs::write(user.settings(), USERS_SETTINGS).unwrap();
    let output = user.setup(&["--dry-run"]);
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["model"], "opus");
    assert_eq!(
        printed["statusLine"]["command"],
        format!("{} statusline", this_binary())
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("would run: claude mcp add --scope user claude-quota --"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hooks: `") && stderr.contains("hook` would be added to PreToolUse"),
        "a dry run says what would be done: {stderr}"
    );
    assert!(!stderr.contains("` added"), "{stderr}");
    assert_eq!(fs::read_to_string(user.settings()).unwrap(), USERS_SETTINGS);
    assert!(user.backups().is_empty());
    assert!(user.calls().is_empty());
    assert!(!user.state().exists());
}

/// A daemon on a socket that a command started with a small environment
/// (no XDG_RUNTIME_DIR, as the MCP Inspector starts it) would not find is
/// named in every command setup wires; setting up again on the usual
/// socket takes the flag out.
#[test]
fn a_socket_a_bare_command_would_not_find_is_named_in_every_command() {
    let user = User::new();
    let run = user.dir.path().join("run");
    let socket = run.join("claude-quota/claude-quotad.sock");
    let output = user
        .command(&["setup", "claude-code"], None)
        .env("XDG_RUNTIME_DIR", &run)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let flag = format!("--socket {}", socket.display());
    let settings = user.read();
    let line = settings["statusLine"]["command"].as_str().unwrap();
    assert!(line.ends_with(&format!("statusline {flag}")), "{line}");
    for event in ["PreToolUse", "SessionStart", "UserPromptSubmit"] {
        let hook = settings["hooks"][event][0]["hooks"][0]["command"]
            .as_str()
            .unwrap();
        assert!(hook.ends_with(&format!("hook {flag}")), "{hook}");
    }
    assert_eq!(
        user.mcp_servers()["claude-quota"]["args"],
        json!(["mcp", "--socket", socket.to_str().unwrap()])
    );
    assert_eq!(user.doctor_check()["verdict"], "ok", "ours, on any socket");

    let explicit = user.dir.path().join("elsewhere.sock");
    user.setup(&["--socket", explicit.to_str().unwrap()]);
    assert!(
        user.read()["statusLine"]["command"]
            .as_str()
            .unwrap()
            .ends_with(&format!("--socket {}", explicit.display()))
    );

    user.setup(&[]);
    let settings = user.read();
    assert_eq!(
        settings["statusLine"]["command"],
        format!("{} statusline", this_binary()),
        "back on the usual socket: no flag"
    );
    assert_eq!(user.mcp_servers()["claude-quota"]["args"], json!(["mcp"]));
    let text = fs::read_to_string(user.settings()).unwrap();
    assert_eq!(
        text.matches(" hook").count(),
        3,
        "replaced, not added: {text}"
    );
}

#[test]
fn json_prints_one_object_for_scripts() {
    let user = User::new();
    fs::write(user.settings(), USERS_SETTINGS).unwrap();
    let output = user.setup(&["--dry-run", "--json"]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["result"]["model"], "opus", "{report}");
    assert!(
        report["changes"][1]["text"]
            .as_str()
            .unwrap()
            .contains("would be added")
    );
    assert!(output.stderr.is_empty(), "{output:?}");

    let output = user.setup(&["--json"]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["settings"], user.settings().to_str().unwrap());
    assert_eq!(report["dry_run"], false);
    assert!(report["backup"].is_string(), "{report}");
    assert_eq!(report["changes"].as_array().unwrap().len(), 3, "{report}");
    assert!(
        report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["changed"] == true)
    );
    let commands = report["commands"].as_array().unwrap();
    assert!(
        commands[0]
            .as_str()
            .unwrap()
            .starts_with("claude mcp add --scope user")
    );
    assert!(report.get("result").is_none());

    let again: Value = serde_json::from_slice(&user.setup(&["--json"]).stdout).unwrap();
    assert!(
        again["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["changed"] == false)
    );
    assert_eq!(again["backup"], Value::Null);
}

#[test]
fn claude_config_dir_decides_where_the_settings_and_servers_are() {
    let user = User::new().with_config_dir();
    user.setup(&[]);
    assert!(user.read()["statusLine"].is_object());
    assert!(user.mcp_servers()["claude-quota"].is_object());
    assert!(!user.home().join(".claude/settings.json").exists());
    assert!(!user.home().join(".claude.json").exists());
    let mode = fs::metadata(user.settings()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a new settings file is private");
}

#[test]
fn the_bare_name_is_used_when_it_is_this_binary_on_path() {
    let user = User::new();
    let dir = Path::new(env!("CARGO_BIN_EXE_claude-quota"))
        .parent()
        .unwrap();
    let output = user
        .command(&["setup", "claude-code"], Some(dir))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        user.read()["statusLine"]["command"],
        "claude-quota statusline"
    );
    assert_eq!(
        user.mcp_servers()["claude-quota"]["command"],
        "claude-quota"
    );
}

#[test]
fn without_claude_on_path_the_settings_are_written_and_the_mcp_step_is_named() {
    let user = User::new();
    fs::remove_file(user.dir.path().join("bin/claude")).unwrap();
    let mut command = user.command(&["setup", "claude-code"], None);
    // Only the directories of the programs the CLI itself needs.
    command.env("PATH", user.dir.path().join("bin"));
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the MCP server is not added: put Claude Code's `claude` on PATH")
            && stderr.contains("run: claude mcp add --scope user claude-quota"),
        "{stderr}"
    );
    assert!(user.read()["hooks"]["PreToolUse"].is_array());
}

#[test]
fn doctor_says_whether_claude_code_runs_this_binary() {
    let user = User::new();
    let before = user.doctor_check();
    assert_eq!(before["verdict"], "warn", "{before}");
    assert!(
        before["message"]
            .as_str()
            .unwrap()
            .starts_with("not wired up"),
        "{before}"
    );
    assert!(
        before["fix"]
            .as_str()
            .unwrap()
            .contains("claude-quota setup claude-code")
    );

    user.setup(&[]);
    let after = user.doctor_check();
    assert_eq!(after["verdict"], "ok", "{after}");

    // A server of another program under our name, and a stale hook path.
    fs::write(
        user.state(),
        r#"{"mcpServers":{"claude-quota":{"command":"npx","args":["claude-quota-mcp"]}}}"#,
    )
    .unwrap();
    let settings = fs::read_to_string(user.settings()).unwrap();
    fs::write(
        user.settings(),
        settings.replacen(
            &format!("{} hook", this_binary()),
            "/old/bin/claude-quota hook",
            1,
        ),
    )
    .unwrap();
    let stale = user.doctor_check();
    assert_eq!(stale["verdict"], "warn");
    let message = stale["message"].as_str().unwrap();
    assert!(
        message.contains("the MCP server named claude-quota runs `npx claude-quota-mcp`"),
        "{message}"
    );
    assert!(
        message.contains(
            "the PreToolUse hook runs `/old/bin/claude-quota hook`, not this claude-quota"
        ),
        "{message}"
    );
    assert!(
        stale["fix"]
            .as_str()
            .unwrap()
            .contains("claude-quota setup claude-code")
    );
}

//! The CLI's exit codes when the daemon is not there. (These tests also
//! make `cargo test` build the binary that the end-to-end tests run.)

use std::process::Command;

fn cli() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_claude-quota"));
    command.env_remove("CLAUDE_QUOTA_SOCKET");
    command
}

#[test]
fn an_unreachable_daemon_exits_3_and_says_how_to_start_it() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["status"][..],
        &["should-use-cloud", "high"],
        &["select-model", "low"],
    ] {
        let output = cli()
            .args(args)
            .arg("--socket")
            .arg(dir.path().join("absent.sock"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(3), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("claude-quotad"), "{stderr}");
        assert!(stderr.contains("service install"), "{stderr}");
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn a_usage_error_exits_2() {
    let output = cli().args(["should-use-cloud", "urgent"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("critical"), "lists the choices: {stderr}");
}

/// `mcp` refuses flags that mean nothing on an MCP stdout; `hook` takes
/// them and answers as ever, since a failing hook would break Claude Code.
#[test]
fn mcp_refuses_json_and_no_color_and_hook_ignores_them() {
    for flag in ["--json", "--no-color"] {
        let output = cli().args(["mcp", flag]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("only MCP"), "{stderr}");
        assert!(output.stdout.is_empty());

        let output = cli()
            .args(["hook", flag, "--socket", "/nonexistent/s.sock"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{flag}");
    }
}

#[test]
fn completions_cover_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let output = cli().args(["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&output.stdout);
        for word in ["should-use-cloud", "select-model", "statusline", "watch"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
}

#[test]
fn completions_cover_route_and_mcp() {
    let output = cli().args(["completions", "bash"]).output().unwrap();
    let script = String::from_utf8_lossy(&output.stdout);
    for word in ["route", "mcp"] {
        assert!(script.contains(word), "bash completions lack {word}");
    }
}

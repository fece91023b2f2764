//! The daemon's command line refuses what cannot work before it binds
//! anything. (These tests also make `cargo test` build the binary that the
//! end-to-end tests in `tests/` start.)

use std::process::Command;

fn daemon() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_claude-quotad"));
    command
        .env_remove("CLAUDE_QUOTA_CONFIG")
        .env_remove("CLAUDE_QUOTA_API_URL");
    command
}

#[test]
fn help_lists_the_contract_flags() {
    let output = daemon().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--socket",
        "--config",
        "--api-url",
        "--poll-interval",
        "--log-format",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn a_short_poll_interval_against_anthropic_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = daemon()
        .args([
            "--poll-interval",
            "5",
            "--api-url",
            "https://api.anthropic.com",
        ])
        .arg("--socket")
        .arg(dir.path().join("s.sock"))
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "--poll-interval: poll_interval = 5 is not allowed: must be 10 … 3600 seconds"
        ),
        "{stderr}"
    );
    assert!(!dir.path().join("s.sock").exists(), "nothing was bound");
}

#[test]
fn an_invalid_config_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "poll_interval = 30\n[thresholds]\nresting_above = \"high\"\n",
    )
    .unwrap();
    let output = daemon()
        .arg("--config")
        .arg(&config)
        .arg("--socket")
        .arg(dir.path().join("s.sock"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(config.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
}

/// A TOML error quotes the line it found: printed once, on one line
/// naming the daemon, without a backtrace even when RUST_BACKTRACE is set.
#[test]
fn a_config_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "poll_interval = 30\n[thresholds\n").unwrap();
    let output = daemon()
        .arg("--config")
        .arg(&config)
        .arg("--socket")
        .arg(dir.path().join("s.sock"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "claude-quotad: invalid config {}",
            config.display()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.matches("[thresholds").count(), 1, "{stderr}");
    assert!(!stderr.contains("Caused by"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

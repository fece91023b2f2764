//! `docs/protocol.md` is enough to write a client: the shell client printed
//! there, taken from the document itself, asks the real daemon over
//! `socat` and gets the replies the document describes.

use claude_quota_e2e::burst_daemon;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The first fenced `sh` block of the document that is a whole script.
fn shell_client() -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md"))
            .expect("read docs/protocol.md");
    let (_, after) = doc
        .split_once("```sh\n#!/bin/sh\n")
        .expect("docs/protocol.md has a ```sh block starting with #!/bin/sh");
    let (body, _) = after.split_once("\n```").expect("the block is closed");
    format!("#!/bin/sh\n{body}\n")
}

/// Whether `socat` runs here; CI (which installs it) fails instead of
/// skipping.
fn socat_available() -> bool {
    if Command::new("socat").arg("-V").output().is_ok() {
        return true;
    }
    let message = "the protocol document's client needs socat (Debian: apt-get install socat)";
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("SKIPPED: {message}");
    false
}

#[tokio::test]
async fn the_shell_client_of_the_protocol_document_talks_to_the_daemon() {
    if !socat_available() {
        return;
    }
    let (_api, daemon) = burst_daemon().await;
    let script = daemon.root().join("ask.sh");
    std::fs::write(&script, shell_client()).expect("write ask.sh");
    let requests = [
        r#"{"type":"hello","protocol":1,"client":"ask.sh"}"#,
        r#"{"type":"should_use_cloud","task_value":"high"}"#,
        r#"{"type":"should_use_cloud","task_value":"urgent"}"#,
        r#"{"type":"select_model","task_complexity":"high"}"#,
        r#"{"type":"status"}"#,
    ];
    let output = Command::new("sh")
        .arg(&script)
        .args(requests)
        .env("CLAUDE_QUOTA_SOCKET", daemon.socket())
        .output()
        .expect("run the shell client");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 replies");
    assert!(
        output.status.success(),
        "ask.sh failed ({}): {stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let replies: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let types: Vec<&str> = replies
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["hello", "decision", "error", "model", "status"],
        "{stdout}"
    );
    assert_eq!(replies[1]["use_cloud"], true);
    assert_eq!(replies[2]["code"], "bad_request");
    assert_eq!(replies[3]["model"], "claude-sonnet-4-6");
    assert_eq!(replies[4]["tier"], "burst");
}

//! `claude-quota hook` against the real daemon: the subagent's model per
//! tier (only ever lower, every other byte of the tool input kept), the
//! tier as context outside burst (once per change on prompts), and silence
//! with exit 0 on every fault, in time.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota::Tier;
use claude_quota_e2e::daemon::cli_at;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

/// What a hook must stay within when the daemon is down or stalled.
const HOOK_TIME: Duration = Duration::from_secs(1);

const SESSION: &str = "9f2c1e7a-4b6d-4c3e-8a1f-2d5b7c9e0a13";

/// A subagent's tool input as Claude Code sends it (compact), with a
/// prompt of unicode, escapes and quotes, and members of every kind,
/// nested objects and numbers in forms a re-print would change.
const OPUS_INPUT: &str = r#"{"description":"Review the diff","prompt":"Prüfe die Änderungen 🙂 — naïve \"quotes\", caf\u00e9 and \\ back\nline two","subagent_type":"code-reviewer","model":"opus","budget":{"max_turns":12,"ratio":0.50,"limits":[1e3,-0,2.5E-2,100000000000000000000001],"nested":{"deep":{"ok":true,"none":null,"empty":{}}}},"tags":[]}"#;

/// The same without a model: the subagent inherits the session's.
const INHERITING_INPUT: &str =
    r#"{"description":"Find the tests","prompt":"List every test file","subagent_type":"Explore"}"#;

/// The same asking for the cheapest model.
const HAIKU_INPUT: &str = r#"{"description":"Count lines","prompt":"wc -l","subagent_type":"general-purpose","model":"haiku"}"#;

/// [`OPUS_INPUT`] asking for `model` instead.
fn opus_input_as(model: &str) -> String {
    OPUS_INPUT.replace(r#""model":"opus""#, &format!(r#""model":"{model}""#))
}

/// [`INHERITING_INPUT`] with `model` added at the end, as the hook adds it.
fn inheriting_input_with(model: &str) -> String {
    format!(
        r#"{},"model":"{model}"}}"#,
        INHERITING_INPUT.trim_end_matches('}')
    )
}

/// Claude Code's `PreToolUse` event for `tool` with `tool_input`.
fn pre_tool_use(tool: &str, tool_input: &str) -> String {
    format!(
        r#"{{"session_id":"{SESSION}","transcript_path":"/home/u/.claude/projects/-home-u-src/{SESSION}.jsonl","cwd":"/home/u/src","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"{tool}","tool_input":{tool_input},"tool_use_id":"toolu_01HXk3v9Qe7TbK2"}}"#
    )
}

/// Claude Code's `SessionStart` event.
fn session_start(session: &str) -> String {
    json!({"session_id": session, "transcript_path": format!("/home/u/.claude/projects/-home-u-src/{session}.jsonl"),
           "cwd": "/home/u/src", "hook_event_name": "SessionStart", "source": "startup"})
    .to_string()
}

/// Claude Code's `UserPromptSubmit` event.
fn prompt(session: &str) -> String {
    json!({"session_id": session, "transcript_path": format!("/home/u/.claude/projects/-home-u-src/{session}.jsonl"),
           "cwd": "/home/u/src", "permission_mode": "default", "hook_event_name": "UserPromptSubmit",
           "prompt": "Refactor the parser"})
    .to_string()
}

/// The hook's answer replacing the subagent's input with `updated`.
fn updated(updated_input: &str) -> String {
    format!(
        r#"{{"hookSpecificOutput":{{"hookEventName":"PreToolUse","updatedInput":{updated_input}}}}}"#
    ) + "\n"
}

/// Runs `claude-quota hook` on `socket` with `event`; asserts exit 0.
fn hook(socket: &Path, event: &str) -> String {
    let output = cli_at(socket, &["hook"], event.as_bytes());
    assert_exit_0(&output, event);
    String::from_utf8(output.stdout).unwrap()
}

fn assert_exit_0(output: &Output, event: &str) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{event}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A usage reply whose 5-hour window resets in 2 h (and 30 s, so the
/// countdown reads `2h 0m` for half a minute).
fn usage(five_hour: f64, seven_day: f64, resets: DateTime<Utc>) -> Value {
    json!({
        "five_hour": {"utilization": five_hour, "resets_at": resets.to_rfc3339()},
        "seven_day": {"utilization": seven_day, "resets_at": (resets + TimeDelta::days(3)).to_rfc3339()},
    })
}

fn resets() -> DateTime<Utc> {
    Utc::now() + TimeDelta::hours(2) + TimeDelta::seconds(30)
}

/// A daemon polling `api` every 0.2 s, with `config`.
fn daemon(api: &FakeApi, config: &str) -> Daemon {
    Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config(config)
        .start()
}

/// Serves `five_hour` % and waits until the daemon is in `tier`.
async fn move_to(api: &FakeApi, daemon: &Daemon, five_hour: f64, tier: Tier) {
    api.set_body(usage(five_hour, 20.0, resets()));
    daemon.wait_for(WAIT, |s| s.tier == tier && !s.stale).await;
}

#[tokio::test]
async fn the_subagent_model_follows_the_tier_only_ever_lower_and_nothing_else_changes() {
    let api = FakeApi::start();
    let daemon = daemon(&api, "");
    let socket = daemon.socket();

    move_to(&api, &daemon, 10.0, Tier::Burst).await;
    for input in [OPUS_INPUT, INHERITING_INPUT, HAIKU_INPUT] {
        assert_eq!(
            hook(socket, &pre_tool_use("Agent", input)),
            "",
            "burst keeps: {input}"
        );
    }

    move_to(&api, &daemon, 60.0, Tier::Active).await;
    let to_sonnet = opus_input_as("sonnet");
    for tool in ["Agent", "Task"] {
        assert_eq!(
            hook(socket, &pre_tool_use(tool, OPUS_INPUT)),
            updated(&to_sonnet)
        );
    }
    let inherited = inheriting_input_with("sonnet");
    assert_eq!(
        hook(socket, &pre_tool_use("Agent", INHERITING_INPUT)),
        updated(&inherited)
    );
    assert_eq!(
        hook(socket, &pre_tool_use("Agent", HAIKU_INPUT)),
        "",
        "cheaper stays"
    );
    assert_eq!(
        hook(
            socket,
            &pre_tool_use("Bash", r#"{"command":"ls","model":"opus"}"#)
        ),
        "",
        "another tool"
    );

    move_to(&api, &daemon, 90.0, Tier::Resting).await;
    let to_haiku = opus_input_as("haiku");
    let output = hook(socket, &pre_tool_use("Agent", OPUS_INPUT));
    assert_eq!(output, updated(&to_haiku));
    assert!(!output.contains("permissionDecision"));
    let full_id = opus_input_as("claude-opus-4-5");
    assert_eq!(
        hook(socket, &pre_tool_use("Agent", &full_id)),
        updated(&to_haiku)
    );
    let unknown_id = opus_input_as("gpt-5");
    assert_eq!(
        hook(socket, &pre_tool_use("Agent", &unknown_id)),
        "",
        "unknown: left alone"
    );
    assert_eq!(hook(socket, &pre_tool_use("Agent", HAIKU_INPUT)), "");
}

#[tokio::test]
async fn unknown_moves_subagents_as_resting_does_and_says_why() {
    // No credentials: no reading, tier unknown.
    let daemon = Daemon::builder().start();
    let status = daemon.wait_for(WAIT, |s| s.tier == Tier::Unknown).await;
    let to_haiku = opus_input_as("haiku");
    assert_eq!(
        hook(daemon.socket(), &pre_tool_use("Agent", OPUS_INPUT)),
        updated(&to_haiku)
    );
    let line = format!(
        "claude-quota: the Claude subscription is in tier UNKNOWN: {}. Subagents run on haiku or cheaper.",
        status.reason
    );
    assert_eq!(
        hook(daemon.socket(), &session_start(SESSION)),
        context("SessionStart", &line)
    );
}

#[tokio::test]
async fn the_mapping_comes_from_the_daemons_claude_code_config() {
    let api = FakeApi::start();
    let config = "[claude_code]\nburst = \"sonnet\"\nactive = \"keep\"\nresting = \"opus\"\n";
    let daemon = daemon(&api, config);
    let socket = daemon.socket();
    move_to(&api, &daemon, 10.0, Tier::Burst).await;
    let to_sonnet = opus_input_as("sonnet");
    assert_eq!(
        hook(socket, &pre_tool_use("Agent", OPUS_INPUT)),
        updated(&to_sonnet)
    );
    move_to(&api, &daemon, 60.0, Tier::Active).await;
    assert_eq!(hook(socket, &pre_tool_use("Agent", OPUS_INPUT)), "", "keep");
    move_to(&api, &daemon, 90.0, Tier::Resting).await;
    assert_eq!(
        hook(socket, &pre_tool_use("Agent", OPUS_INPUT)),
        "",
        "opus is no lower than opus"
    );
    let inherited = inheriting_input_with("opus");
    assert_eq!(
        hook(socket, &pre_tool_use("Agent", INHERITING_INPUT)),
        updated(&inherited)
    );
}

/// The context line the hook should print for the daemon's current state;
/// `subagents` is its last sentence.
async fn expected_context(
    daemon: &Daemon,
    event: &str,
    subagents: &str,
    resets: DateTime<Utc>,
) -> String {
    let status = daemon.client().await.status().await.unwrap();
    let seven = resets + TimeDelta::days(3);
    let state = if status.tier == Tier::Burst {
        "is back in tier"
    } else {
        "is in tier"
    };
    let line = format!(
        "claude-quota: the Claude subscription {state} {}: {}. \
         5-hour window {:.0}% used, resets {} (in 2h 0m); \
         7-day window 20% used, resets {} (in 3d 2h). \
         {subagents}",
        status.tier.as_str().to_uppercase(),
        status.reason,
        status.five_hour.unwrap().utilization,
        resets.format("%H:%M UTC"),
        seven.format("%a %H:%M UTC"),
    );
    context(event, &line)
}

/// The context's last sentence in active and resting, and back in burst.
const SONNET: &str = "Subagents run on sonnet or cheaper.";
const HAIKU: &str = "Subagents run on haiku or cheaper.";
const AS_ASKED: &str = "Subagents run on the model they ask for.";

/// The hook's answer adding `line` to the conversation on `event`.
fn context(event: &str, line: &str) -> String {
    let line = serde_json::to_string(line).unwrap();
    format!(r#"{{"hookSpecificOutput":{{"hookEventName":"{event}","additionalContext":{line}}}}}"#)
        + "\n"
}

#[tokio::test]
async fn session_start_adds_the_tier_outside_burst() {
    let api = FakeApi::start();
    let daemon = daemon(&api, "");
    let socket = daemon.socket();
    let resets = resets();

    api.set_body(usage(10.0, 20.0, resets));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    assert_eq!(
        hook(socket, &session_start(SESSION)),
        "",
        "nothing in burst"
    );

    api.set_body(usage(60.0, 20.0, resets));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Active).await;
    let output = hook(socket, &session_start(SESSION));
    assert_eq!(
        output,
        expected_context(&daemon, "SessionStart", SONNET, resets).await
    );
    let context = serde_json::from_str::<Value>(&output).unwrap();
    assert!(
        context["hookSpecificOutput"]["additionalContext"]
            .as_str()
            .unwrap()
            .len()
            < 1000
    );
    // Every start says it, also in the same tier (the context may be new).
    assert_eq!(hook(socket, &session_start(SESSION)), output);

    api.set_body(usage(90.0, 20.0, resets));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
    assert_eq!(
        hook(socket, &session_start(SESSION)),
        expected_context(&daemon, "SessionStart", HAIKU, resets).await
    );
}

#[tokio::test]
async fn a_prompt_adds_the_tier_only_when_it_changed_for_that_session() {
    let api = FakeApi::start();
    let daemon = daemon(&api, "");
    let socket = daemon.socket();
    let resets = resets();
    let (a, b) = ("session-a", "session-b");

    api.set_body(usage(60.0, 20.0, resets));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Active).await;
    let active = expected_context(&daemon, "UserPromptSubmit", SONNET, resets).await;
    assert_eq!(hook(socket, &prompt(a)), active, "a's first prompt");
    assert_eq!(hook(socket, &prompt(a)), "", "the same tier again");
    assert_eq!(hook(socket, &prompt(b)), active, "b was not told yet");
    assert_eq!(
        hook(socket, &session_start(b).replace("startup", "compact")),
        active.replace("UserPromptSubmit", "SessionStart")
    );
    assert_eq!(hook(socket, &prompt(b)), "", "b's start told it");

    api.set_body(usage(90.0, 20.0, resets));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
    let resting = expected_context(&daemon, "UserPromptSubmit", HAIKU, resets).await;
    assert_eq!(hook(socket, &prompt(a)), resting, "changed");
    assert_eq!(hook(socket, &prompt(a)), "");

    api.set_body(usage(10.0, 20.0, resets));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let back = expected_context(&daemon, "UserPromptSubmit", AS_ASKED, resets).await;
    assert_eq!(hook(socket, &prompt(a)), back, "back in burst: said once");
    assert_eq!(hook(socket, &prompt(a)), "", "and only once");
    assert_eq!(
        hook(socket, &prompt("session-c")),
        "",
        "a session never told otherwise hears nothing of burst"
    );
    api.set_body(usage(60.0, 20.0, resets));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Active).await;
    assert_eq!(hook(socket, &prompt(a)), active, "changed since burst");

    let file = socket.parent().unwrap().join("hook-sessions.json");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // A corrupt memory is ignored (one line more), then replaced.
    std::fs::write(&file, "{garbage").unwrap();
    assert_eq!(hook(socket, &prompt(a)), active);
    assert_eq!(hook(socket, &prompt(a)), "");
    // A prompt without a session id cannot be remembered: nothing.
    assert_eq!(hook(socket, &prompt(a).replace(a, "")), "");
}

/// A subagent's prompt over a MiB is still moved: the hook reads the
/// whole input (up to 16 MiB) to answer it byte for byte.
#[tokio::test]
async fn a_prompt_over_a_mib_is_lowered_all_the_same() {
    let api = FakeApi::start();
    let daemon = daemon(&api, "");
    move_to(&api, &daemon, 90.0, Tier::Resting).await;
    let big = OPUS_INPUT.replace("Review", &"é".repeat(3 * 1024 * 1024));
    let output = hook(daemon.socket(), &pre_tool_use("Agent", &big));
    let lowered = big.replace(r#""model":"opus""#, r#""model":"haiku""#);
    assert!(output == updated(&lowered), "{} bytes out", output.len());
}

/// A family whose weekly cap is spent is never the subagent's: the hook
/// goes lower still (here the cloud model's Sonnet cap closed the cloud).
#[tokio::test]
async fn a_family_whose_weekly_cap_is_spent_is_never_picked() {
    let api = FakeApi::start();
    let daemon = daemon(&api, "");
    let mut body = usage(60.0, 20.0, resets());
    body["seven_day_sonnet"] = json!({"utilization": 92.0, "resets_at": null});
    api.set_body(body);
    daemon
        .wait_for(WAIT, |s| {
            s.tier == Tier::Active && s.cloud_capped_by.is_some()
        })
        .await;
    let to_haiku = opus_input_as("haiku");
    assert_eq!(
        hook(daemon.socket(), &pre_tool_use("Agent", OPUS_INPUT)),
        updated(&to_haiku),
        "active names sonnet, whose cap is spent"
    );

    // In burst the subagent keeps its model, unless that one is spent.
    let mut body = usage(10.0, 20.0, resets());
    body["seven_day_opus"] = json!({"utilization": 100.0, "resets_at": null});
    api.set_body(body);
    daemon
        .wait_for(WAIT, |s| {
            s.tier == Tier::Burst && !s.weekly_scoped.is_empty()
        })
        .await;
    let to_sonnet = opus_input_as("sonnet");
    assert_eq!(
        hook(daemon.socket(), &pre_tool_use("Agent", OPUS_INPUT)),
        updated(&to_sonnet)
    );
    assert_eq!(
        hook(daemon.socket(), &pre_tool_use("Agent", HAIKU_INPUT)),
        ""
    );
}

#[tokio::test]
async fn garbage_on_stdin_prints_nothing_and_exits_0() {
    let api = FakeApi::start();
    let daemon = daemon(&api, "");
    move_to(&api, &daemon, 90.0, Tier::Resting).await;
    let huge = pre_tool_use(
        "Agent",
        &OPUS_INPUT.replace("Review", &"x".repeat(17 * 1024 * 1024)),
    );
    let inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\x00\xff\xfe{{{".to_vec(),
        b"null".to_vec(),
        b"[1,2,3]".to_vec(),
        br#"{"hook_event_name":"PreToolUse","tool_name":"Agent","tool_input":[]}"#.to_vec(),
        br#"{"hook_event_name":"PreToolUse","tool_name":"Agent","tool_input":{"model":"opus""#
            .to_vec(),
        br#"{"hook_event_name":["SessionStart"]}"#.to_vec(),
        br#"{"hook_event_name":"SessionStart","session_id":7}"#.to_vec(),
        huge.into_bytes(),
    ];
    for input in inputs {
        let output = cli_at(daemon.socket(), &["hook"], &input);
        let shown = String::from_utf8_lossy(&input[..input.len().min(80)]).into_owned();
        assert_exit_0(&output, &shown);
        assert!(output.stdout.is_empty(), "{shown}: {output:?}");
    }
}

/// Runs every kind of event against `socket`, each of which must print
/// nothing and exit 0 within [`HOOK_TIME`].
fn silent_and_quick(socket: &Path, why: &str) {
    for event in [
        pre_tool_use("Agent", OPUS_INPUT),
        session_start(SESSION),
        prompt(SESSION),
    ] {
        let started = Instant::now();
        let output = cli_at(socket, &["hook"], event.as_bytes());
        let took = started.elapsed();
        assert_exit_0(&output, &event);
        assert!(output.stdout.is_empty(), "{why}: {output:?}");
        assert!(took < HOOK_TIME, "{why}: took {took:?}");
    }
}

#[test]
fn with_the_daemon_down_the_hook_is_silent_and_quick() {
    let dir = tempfile::tempdir().unwrap();
    silent_and_quick(&dir.path().join("absent.sock"), "no daemon");
}

#[test]
fn with_a_stalled_daemon_the_hook_is_silent_and_quick() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("claude-quotad.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    // Accepts every connection and holds it open, answering nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    silent_and_quick(&socket, "a daemon that never answers");
}

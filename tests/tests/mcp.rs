//! `claude-quota mcp` driven by a real MCP client (the MCP Python SDK's
//! stdio client, pinned, installed on first use; `tests/src/mcp_client.py`
//! relays) against the real daemon and a fake Ollama: the tools it lists,
//! each tool's answer, and every fault as a tool error the agent can read,
//! while the session goes on. The odd-input test speaks raw JSON-RPC and
//! needs no Python.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use claude_quota::Tier;
use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::fake_ollama::Chat;
use claude_quota_e2e::http::refused_url;
use claude_quota_e2e::suites::{MCP_CLIENT, assert_left_nothing, repo_root, venv_python};
use claude_quota_e2e::{Daemon, FakeApi, FakeOllama, TOKEN, WorkAndSpare, work_and_spare};
use serde_json::{Value, json};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(10);

/// How long one answer may take through Python, the server, the daemon
/// and the fake Ollama on a busy machine.
const ANSWER_WAIT: Duration = Duration::from_secs(60);

/// The relay and, under it, `claude-quota mcp`.
struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: Receiver<String>,
    tmp: TempDir,
}

impl Session {
    /// A session with the server asking the daemon at `socket`.
    fn start(socket: &Path) -> Session {
        let tmp = tempfile::Builder::new()
            .prefix("cq-mcp-")
            .tempdir()
            .expect("temp dir");
        let mut child = Command::new(venv_python("mcp"))
            .arg(repo_root().join("tests/src/mcp_client.py"))
            .arg(bin("claude-quota"))
            .arg(socket)
            .env("TMPDIR", tmp.path())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("CLAUDE_QUOTA_SOCKET")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run the MCP client");
        let stdout = child.stdout.take().expect("stdout");
        let (send, answers) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Session {
            stdin: child.stdin.take(),
            child,
            answers,
            tmp,
        }
    }

    fn ask(&mut self, command: Value) -> Value {
        let stdin = self.stdin.as_mut().expect("session open");
        writeln!(stdin, "{command}").expect("write to the MCP client");
        stdin.flush().expect("flush");
        let line = self
            .answers
            .recv_timeout(ANSWER_WAIT)
            .unwrap_or_else(|err| panic!("no answer to {command} within {ANSWER_WAIT:?}: {err}"));
        serde_json::from_str(&line).expect("the relay answers JSON")
    }

    fn tools(&mut self) -> Value {
        self.ask(json!({"op": "list_tools"}))
    }

    fn call(&mut self, name: &str, arguments: Value) -> Value {
        self.ask(json!({"op": "call", "name": name, "arguments": arguments}))
    }

    /// A call that must succeed; its structured answer.
    fn ok(&mut self, name: &str, arguments: Value) -> Value {
        let answer = self.call(name, arguments);
        assert_eq!(answer["is_error"], false, "{name}: {answer}");
        answer["structured"].clone()
    }

    /// A call that must be a tool error (not a protocol error); its text.
    fn tool_error(&mut self, name: &str, arguments: Value) -> String {
        let answer = self.call(name, arguments);
        assert_eq!(answer["is_error"], true, "{name}: {answer}");
        answer["text"].as_str().expect("error text").to_owned()
    }

    /// Closes the session: the server must end with its stdin.
    fn close(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "the MCP client did not end");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "the MCP client failed: {status}");
        assert_left_nothing(self.tmp.path(), "the MCP session");
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A daemon polling `api` every 0.2 s with Ollama at `ollama_url` and
/// `more` in its config.
fn daemon_with(api: &FakeApi, ollama_url: &str, more: &str) -> Daemon {
    Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config(&format!("[ollama]\nurl = \"{ollama_url}\"\n{more}"))
        .start()
}

/// A burst daemon that sees a fake Ollama with both local models pulled,
/// and a session asking it; `None` when the MCP client cannot run here
/// (SKIPPED, or a failure in CI).
async fn burst_session() -> Option<(FakeApi, FakeOllama, Daemon, Session)> {
    if !MCP_CLIENT.ready() {
        return None;
    }
    let api = FakeApi::start();
    let ollama = FakeOllama::start(&["qwen3:14b", "qwen3:8b"]);
    let daemon = daemon_with(&api, &ollama.url(), "");
    daemon
        .wait_for(WAIT, |s| {
            s.tier == Tier::Burst && s.local.as_ref().is_some_and(|l| l.up)
        })
        .await;
    let mut session = Session::start(daemon.socket());
    // Once it has answered, the client and server are up: a timed call
    // then measures the call, not Python's start on a busy machine.
    session.tools();
    Some((api, ollama, daemon, session))
}

#[tokio::test]
async fn lists_the_three_tools_and_answers_each_from_the_real_daemon() {
    let Some((api, ollama, daemon, mut session)) = burst_session().await else {
        return;
    };

    let listed = session.tools();
    assert!(
        listed["instructions"]
            .as_str()
            .is_some_and(|i| i.contains("ask_local")),
        "{listed}"
    );
    let tools = listed["tools"].as_array().expect("tools");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["ask_local", "quota_status", "route"]);
    // Standard JSON Schema only: hosts warn on every call about formats
    // such as `uint64` that it does not define.
    for format in ["\"uint", "\"int64", "\"double", "\"float"] {
        assert!(!listed.to_string().contains(format), "{format}: {listed}");
    }
    let tool = |name: &str| tools.iter().find(|t| t["name"] == name).unwrap().clone();
    let status_tool = tool("quota_status");
    assert!(
        status_tool["description"]
            .as_str()
            .unwrap()
            .contains("When the quota is tight, delegate routine work with ask_local"),
        "{status_tool}"
    );
    let ask_tool = tool("ask_local");
    let description = ask_tool["description"].as_str().unwrap();
    for limit in ["100000 characters", "timeout_seconds", "max_answer_chars"] {
        assert!(description.contains(limit), "says {limit}: {description}");
    }
    let properties = &ask_tool["input_schema"]["properties"];
    assert_eq!(properties["timeout_seconds"]["minimum"], 1, "{properties}");
    assert_eq!(
        properties["timeout_seconds"]["maximum"], 600,
        "{properties}"
    );
    assert_eq!(
        properties["max_answer_chars"]["maximum"], 100_000,
        "{properties}"
    );
    assert_eq!(properties["prompt"]["maxLength"], 100_000, "{properties}");
    assert_eq!(ask_tool["input_schema"]["required"], json!(["prompt"]));
    for tool in tools {
        assert!(tool["output_schema"].is_object(), "{tool}");
    }

    let report = session.ok("quota_status", json!({}));
    assert_eq!(report["tier"], "burst", "{report}");
    assert_eq!(report["five_hour"]["utilization"], 10.0);
    assert_eq!(report["seven_day"]["utilization"], 20.0);
    assert!(report["five_hour"]["resets_at"].is_string(), "{report}");
    assert!(report["five_hour"]["resets_in"].is_string(), "{report}");
    assert_eq!(report["stale"], false);
    assert_eq!(report["cloud_for"], json!(["critical", "high"]));
    assert_eq!(report["models"][0]["model"], "claude-sonnet-4-6");
    let summary = report["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("BURST · 5h 10% · 7d 20% · resets in "),
        "{summary}"
    );
    assert!(
        summary.ends_with(
            "the cloud is open for critical and high tasks; delegate routine work with ask_local"
        ),
        "{summary}"
    );
    let status = daemon.client().await.status().await.unwrap();
    assert_eq!(
        report["extra_usage"],
        serde_json::to_value(&status.extra_usage).unwrap()
    );
    assert_eq!(report["local"]["url"], ollama.url());
    // Without [[accounts]], one account: the default login.
    assert_eq!(report["accounts"].as_array().map(Vec::len), Some(1));
    assert_eq!(report["accounts"][0]["name"], "default", "{report}");
    assert_eq!(report["accounts"][0]["claude_config_dir"], Value::Null);
    assert_eq!(report["accounts"][0]["tier"], "burst");

    let cloud = session.ok(
        "route",
        json!({"task_value": "high", "task_complexity": "high"}),
    );
    assert_eq!(cloud["provider"], "anthropic", "{cloud}");
    assert_eq!(cloud["model"], "claude-sonnet-4-6");
    assert_eq!(cloud["tier"], "burst");
    assert!(cloud["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(
        (&cloud["account"], &cloud["claude_config_dir"]),
        (&Value::Null, &Value::Null),
        "no [[accounts]]: replies as before"
    );
    let routine = session.ok(
        "route",
        json!({"task_value": "routine", "task_complexity": "high"}),
    );
    assert_eq!(routine["provider"], "ollama", "{routine}");
    assert_eq!(routine["model"], "qwen3:14b");

    let prompt = "Sort these words: pear, apple, fig";
    let answer = session.ok("ask_local", json!({"prompt": prompt, "complexity": "low"}));
    assert_eq!(answer["answer"], format!("echo: {prompt}"), "{answer}");
    assert_eq!(answer["model"], "qwen3:14b");
    assert_eq!(answer["truncated"], false);
    let asked = ollama.asked();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        (asked[0].model.as_str(), asked[0].prompt.as_str()),
        ("qwen3:14b", prompt)
    );
    assert_eq!(
        asked[0].num_predict,
        Some(20_000),
        "the default answer limit"
    );

    // Resting: everything local, the small model, and the summary says so.
    api.set_usage(90.0, Some(10.0));
    daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
    let report = session.ok("quota_status", json!({}));
    assert_eq!(report["tier"], "resting");
    assert_eq!(report["cloud_for"], json!([]));
    assert!(
        report["summary"]
            .as_str()
            .unwrap()
            .ends_with("every task stays local now: delegate routine work with ask_local"),
        "{report}"
    );
    let answer = session.ok("ask_local", json!({"prompt": "hi", "complexity": "high"}));
    assert_eq!(answer["model"], "qwen3:8b", "{answer}");
    session.close();
}

#[tokio::test]
async fn quota_status_lists_every_account_and_route_names_the_one_a_task_goes_to() {
    if !MCP_CLIENT.ready() {
        return;
    }
    let WorkAndSpare {
        api: _api,
        daemon,
        work_dir,
        spare_dir,
    } = work_and_spare().await;
    let mut session = Session::start(daemon.socket());

    let report = session.ok("quota_status", json!({}));
    let accounts = report["accounts"].as_array().expect("accounts");
    let listed: Vec<(&str, &str, f64)> = accounts
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap(),
                a["tier"].as_str().unwrap(),
                a["five_hour"]["utilization"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [("work", "resting", 90.0), ("spare", "burst", 10.0)],
        "{report}"
    );
    assert_eq!(accounts[0]["claude_config_dir"], json!(work_dir));
    assert_eq!(accounts[1]["seven_day"]["utilization"], 20.0);
    assert_eq!(accounts[1]["stale"], false);
    assert_eq!(
        report["tier"], "burst",
        "the top level is where a high task goes"
    );

    let cloud = session.ok(
        "route",
        json!({"task_value": "high", "task_complexity": "high"}),
    );
    assert_eq!(cloud["provider"], "anthropic", "{cloud}");
    assert_eq!(cloud["account"], "spare", "{cloud}");
    assert_eq!(cloud["claude_config_dir"], json!(spare_dir));
    let local = session.ok(
        "route",
        json!({"task_value": "routine", "task_complexity": "low"}),
    );
    assert_eq!(
        (&local["provider"], &local["account"]),
        (&json!("ollama"), &json!("work")),
        "a task that stays local: the preferred account answers"
    );
    session.close();
}

#[tokio::test]
async fn every_ollama_fault_and_odd_argument_is_a_tool_error_and_the_session_goes_on() {
    let Some((_api, ollama, _daemon, mut session)) = burst_session().await else {
        return;
    };

    // Slow: the time limit answers, not Ollama.
    ollama.set_chat(Chat::Slow(Duration::from_secs(8)));
    let started = Instant::now();
    let slow = session.tool_error("ask_local", json!({"prompt": "hi", "timeout_seconds": 1}));
    assert!(
        slow.contains("did not finish the answer within 1s"),
        "{slow}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );

    // Endless: cut at the size limit at once, not read to the time limit.
    ollama.set_chat(Chat::Endless);
    let started = Instant::now();
    let huge = session.ok(
        "ask_local",
        json!({"prompt": "hi", "max_answer_chars": 5000}),
    );
    assert_eq!(huge["truncated"], true, "{huge}");
    assert_eq!(huge["answer"].as_str().unwrap().chars().count(), 5000);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ollama.asked().last().unwrap().num_predict, Some(5000));

    // Garbage: something else listens there.
    ollama.set_chat(Chat::Garbage("<html><body>It works!</body></html>"));
    let garbage = session.tool_error("ask_local", json!({"prompt": "hi"}));
    assert!(garbage.contains("not a chat reply"), "{garbage}");

    // The model is not pulled: Ollama's own words.
    ollama.set_chat(Chat::Echo);
    ollama.set_models(&["llama3.2:3b"]);
    let missing = session.tool_error("ask_local", json!({"prompt": "hi"}));
    assert!(missing.contains("model 'qwen3:14b' not found"), "{missing}");

    // Arguments outside their ranges or of the wrong type.
    for (arguments, says) in [
        (
            json!({"prompt": "hi", "timeout_seconds": 0}),
            "timeout_seconds",
        ),
        (
            json!({"prompt": "hi", "timeout_seconds": 601}),
            "timeout_seconds",
        ),
        (
            json!({"prompt": "hi", "max_answer_chars": 0}),
            "max_answer_chars",
        ),
        (json!({"prompt": ""}), "prompt"),
        (json!({"prompt": "x".repeat(100_001)}), "prompt"),
        (json!({"prompt": 5}), "expected a string"),
        (json!({"prompt": "hi", "complexity": "extreme"}), "extreme"),
        (json!({}), "prompt"),
    ] {
        let text = session.tool_error("ask_local", arguments.clone());
        assert!(text.contains(says), "{arguments}: {text}");
    }
    let text = session.tool_error(
        "route",
        json!({"task_value": "urgent", "task_complexity": "high"}),
    );
    assert!(text.contains("urgent"), "{text}");
    let unknown = session.call("no_such_tool", json!({}));
    assert!(unknown["protocol_error"].as_str().is_some(), "{unknown}");

    // Still serving.
    let cloud = session.ok(
        "route",
        json!({"task_value": "critical", "task_complexity": "high"}),
    );
    assert_eq!(cloud["provider"], "anthropic", "{cloud}");
    session.close();
}

#[tokio::test]
async fn ollama_down_or_the_daemon_gone_are_tool_errors_and_route_stays_local() {
    if !MCP_CLIENT.ready() {
        return;
    }
    let api = FakeApi::start();
    let models = "[models]\nlocal_large = \"mistral-small:24b\"\n";
    let mut daemon = daemon_with(&api, &refused_url(), models);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let mut session = Session::start(daemon.socket());
    let local = session.ok(
        "route",
        json!({"task_value": "medium", "task_complexity": "medium"}),
    );
    assert_eq!(local["model"], "mistral-small:24b", "{local}");

    let down = session.tool_error("ask_local", json!({"prompt": "hi"}));
    assert!(down.contains("cannot be reached"), "{down}");
    assert!(down.contains("ollama serve"), "says how to fix it: {down}");
    let report = session.ok("quota_status", json!({}));
    assert_eq!(report["local"]["up"], false, "{report}");

    daemon.signal("TERM");
    assert!(daemon.wait_exit(WAIT).is_some(), "the daemon stopped");
    let gone = session.tool_error("quota_status", json!({}));
    assert!(gone.contains("could not be asked"), "{gone}");
    let gone = session.tool_error("ask_local", json!({"prompt": "hi"}));
    assert!(gone.contains("could not be asked"), "{gone}");
    let local = session.ok(
        "route",
        json!({"task_value": "critical", "task_complexity": "high"}),
    );
    assert_eq!(local["provider"], "ollama", "never the cloud: {local}");
    assert_eq!(
        local["model"], "mistral-small:24b",
        "the local model the daemon named while it was there: {local}"
    );
    assert_eq!(local["tier"], Value::Null);
    assert_eq!(local["stale"], true);
    assert_eq!(local["available"], false, "nobody has seen it: {local}");
    assert!(
        local["reason"].as_str().unwrap().contains("staying local"),
        "{local}"
    );
    assert_eq!(session.tools()["tools"].as_array().map(Vec::len), Some(3));
    session.close();
}

/// Raw JSON-RPC lines, as a broken or hostile host might send them: every
/// line the server prints is a JSON-RPC message, it answers what it can,
/// and it ends cleanly with its stdin.
#[test]
fn odd_input_never_crashes_the_server_and_stdout_carries_only_frames() {
    let dir = tempfile::Builder::new().prefix("cq-").tempdir().unwrap();
    let mut child = Command::new(bin("claude-quota"))
        .args(["mcp", "--socket"])
        .arg(dir.path().join("absent.sock"))
        .env("RUST_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run claude-quota mcp");
    let mut input = child.stdin.take().unwrap();
    let lines = [
        "not json at all".to_owned(),
        "{\"jsonrpc\":\"2.0\"}".to_owned(),
        "[1,2,3]".to_owned(),
        format!("{{\"junk\":\"{}\"}}", "x".repeat(1024 * 1024)),
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "odd", "version": "1"}}})
        .to_string(),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        "\u{0}\u{1}\u{ffff}".to_owned(),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "route", "arguments": "high"}}).to_string(),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "ask_local", "arguments": {"prompt": ["a"]}}}).to_string(),
        json!({"jsonrpc": "2.0", "id": 4, "method": "no/such/method"}).to_string(),
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "route", "arguments": {"task_value": "low", "task_complexity": "low"}}}).to_string(),
    ];
    for line in &lines {
        // A server that stopped reading shows below; a broken pipe here is no answer.
        if writeln!(input, "{line}").is_err() {
            break;
        }
    }
    drop(input);
    // Both pipes are read as the server writes (its trace log is long).
    let pid = child.id();
    let (send, done) = channel();
    std::thread::spawn(move || send.send(child.wait_with_output()));
    let Ok(output) = done.recv_timeout(WAIT) else {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        panic!("the server did not end with its stdin");
    };
    let output = output.expect("wait for claude-quota mcp");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut answered = Vec::new();
    for line in stdout.lines() {
        let frame: Value =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("not a frame ({err}): {line}"));
        assert_eq!(frame["jsonrpc"], "2.0", "{line}");
        answered.push(frame["id"].clone());
        if frame["id"] == 5 {
            assert_eq!(
                frame["result"]["structuredContent"]["provider"], "ollama",
                "{line}"
            );
        }
    }
    for id in 1..=5 {
        assert!(
            answered.contains(&json!(id)),
            "request {id} unanswered:\n{stdout}"
        );
    }
}

//! The Rust, Python and command-line clients under faults: a late reply
//! never answers the next question, a held client outlives a daemon
//! restart, and a daemon of another user is never believed.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use claude_quota::{Client, Error, TaskValue, Tier, blocking};
use claude_quota_e2e::daemon::cli_at;
use claude_quota_e2e::stand_in::StandIn;
use claude_quota_e2e::suites::{available, runs};
use claude_quota_e2e::{Daemon, FakeApi, TOKEN, other_user};

const WAIT: Duration = Duration::from_secs(10);

/// How late the stand-in answers its first question: long past the
/// client's timeout, so that the answer arrives while the next question
/// waits on the same connection (if the client kept it).
const LATE: Duration = Duration::from_secs(5);
const CLIENT_TIMEOUT: Duration = Duration::from_millis(1500);

#[tokio::test]
async fn a_timed_out_question_never_answers_the_next_one() {
    let stand_in = StandIn::late_first_answer(LATE);
    let mut client = Client::connect_to(stand_in.socket())
        .await
        .unwrap()
        .with_timeout(CLIENT_TIMEOUT);
    let first = client.should_use_cloud(TaskValue::Critical).await;
    assert!(matches!(first, Err(Error::Timeout(_))), "{first:?}");
    assert!(
        first.unwrap_err().is_unreachable(),
        "a silent daemon means local"
    );
    // Give the late answer time to arrive on the old connection.
    tokio::time::sleep(LATE).await;
    let routine = client.should_use_cloud(TaskValue::Routine).await;
    assert!(
        matches!(routine, Ok(false)),
        "routine stays local: {routine:?}"
    );
}

#[tokio::test]
async fn a_cancelled_question_never_answers_the_next_one() {
    let stand_in = StandIn::late_first_answer(LATE);
    let mut client = Client::connect_to(stand_in.socket()).await.unwrap();
    let cancelled =
        tokio::time::timeout(CLIENT_TIMEOUT, client.should_use_cloud(TaskValue::Critical)).await;
    assert!(cancelled.is_err(), "the caller gave up: {cancelled:?}");
    tokio::time::sleep(LATE).await;
    let routine = client.should_use_cloud(TaskValue::Routine).await;
    assert!(
        matches!(routine, Ok(false)),
        "routine stays local: {routine:?}"
    );
}

#[test]
fn a_timed_out_blocking_question_never_answers_the_next_one() {
    let stand_in = StandIn::late_first_answer(LATE);
    let mut client = blocking::Client::connect_to(stand_in.socket())
        .unwrap()
        .with_timeout(CLIENT_TIMEOUT);
    let first = client.should_use_cloud(TaskValue::Critical);
    assert!(matches!(first, Err(Error::Timeout(_))), "{first:?}");
    std::thread::sleep(LATE);
    let routine = client.should_use_cloud(TaskValue::Routine);
    assert!(
        matches!(routine, Ok(false)),
        "routine stays local: {routine:?}"
    );
}

/// The same fault for the Python and Node clients: the first question
/// times out, the late answer arrives, and `routine` still stays local.
#[test]
fn a_timed_out_question_never_answers_the_next_one_in_python_or_node() {
    let late = LATE.as_secs_f64();
    let timeout = CLIENT_TIMEOUT.as_secs_f64();
    let stand_in = StandIn::late_first_answer(LATE);
    let python = python_client(
        stand_in.socket(),
        &format!(
            "import time\nclient = claude_quota.Client(SOCKET, timeout={timeout})\n\
             try:\n    client.should_use_cloud('critical')\n    print('answered')\n\
             except claude_quota.DaemonUnreachable:\n    print('timed out')\n\
             time.sleep({late})\nprint('routine:', client.should_use_cloud('routine'))\n"
        ),
    );
    let stdout = String::from_utf8_lossy(&python.stdout);
    assert!(python.status.success(), "{python:?}");
    assert_eq!(stdout, "timed out\nroutine: False\n");

    let node = runs(Path::new("node"), &["--version"], "node");
    if !available(
        "the Node late-reply test",
        node,
        "install Node.js 18 or later",
        "CLAUDE_QUOTA_REQUIRE_NODE",
    ) {
        return;
    }
    let stand_in = StandIn::late_first_answer(LATE);
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/node/index.cjs");
    let script = format!(
        "const {{ Client, DaemonUnreachable }} = require({module:?});\n\
         (async () => {{\n\
           const client = new Client({{ socket: process.argv[1], timeout: {} }});\n\
           try {{ await client.shouldUseCloud('critical'); console.log('answered'); }}\n\
           catch (err) {{ console.log(err instanceof DaemonUnreachable ? 'timed out' : `other: ${{err}}`); }}\n\
           await new Promise((done) => setTimeout(done, {}));\n\
           console.log('routine:', await client.shouldUseCloud('routine'));\n\
           client.close();\n\
         }})();\n",
        CLIENT_TIMEOUT.as_millis(),
        LATE.as_millis()
    );
    let node = Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(stand_in.socket())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&node.stdout);
    assert!(node.status.success(), "{node:?}");
    assert_eq!(stdout, "timed out\nroutine: false\n");
}

#[tokio::test]
async fn a_held_client_works_again_after_the_daemon_restarts() {
    let (_api, mut daemon) = burst_daemon().await;
    let mut held = daemon.client().await;
    assert!(held.should_use_cloud(TaskValue::High).await.unwrap());

    daemon.kill_and_restart();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    // The old connection is dead; the first call goes out on a new one.
    assert!(held.should_use_cloud(TaskValue::High).await.unwrap());
    assert!(held.should_use_cloud(TaskValue::High).await.unwrap());
}

#[test]
fn a_held_blocking_client_works_again_after_the_daemon_restarts() {
    let api = FakeApi::start();
    let mut daemon = Daemon::builder().api(&api.url(), 1.0).start();
    let mut held = blocking::Client::connect_to(daemon.socket()).unwrap();
    assert!(held.status().is_ok());

    daemon.kill_and_restart();
    let status = held.status();
    assert!(status.is_ok(), "{status:?}");
}

async fn burst_daemon() -> (FakeApi, Daemon) {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&api.url(), 1.0)
        .credentials_file(TOKEN, None)
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    (api, daemon)
}

#[tokio::test]
async fn a_daemon_of_another_user_is_refused_by_every_client() {
    if !other_user::available() {
        return;
    }
    let stand_in = StandIn::of_another_user();

    let output = cli_at(stand_in.socket(), &["should-use-cloud", "high"], b"");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(output.stdout.is_empty(), "no answer printed");
    assert!(stderr.contains("uid 65534"), "{stderr}");

    let refused = Client::connect_to(stand_in.socket()).await;
    match refused {
        Err(err @ Error::WrongOwner { uid: 65534, .. }) => assert!(err.is_unreachable()),
        other => panic!("expected WrongOwner, got {other:?}"),
    }

    let python = python_client(
        stand_in.socket(),
        "try:\n    claude_quota.Client(SOCKET).should_use_cloud('high')\n    print('believed')\n\
         except claude_quota.WrongOwner as err:\n    print('refused:', err)\n\
         print('route:', claude_quota.route('high', 'high', socket=SOCKET).provider)\n",
    );
    let stdout = String::from_utf8_lossy(&python.stdout);
    assert!(python.status.success(), "{python:?}");
    assert!(stdout.contains("refused:"), "{stdout}");
    assert!(stdout.contains("route: ollama"), "{stdout}");
}

/// Runs `code` in python3 with the Python client imported and `SOCKET`
/// set.
fn python_client(socket: &Path, code: &str) -> Output {
    let client_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/python");
    let script = format!("import sys\nimport claude_quota\nSOCKET = sys.argv[1]\n{code}");
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(socket)
        .env("PYTHONPATH", client_dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python3")
}

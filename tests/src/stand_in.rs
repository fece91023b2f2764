//! The scripted stand-in for `claude-quotad` (`stand_in_daemon.py`): the
//! peer a real daemon never is. It plays one case of
//! `tests/conformance/cases.json` (late, silent, broken, foreign) and
//! reports every frame it received, so a test can count what a call cost.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::suites::repo_root;

/// How long the stand-in may take to open its socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The conformance cases every client's suite runs.
pub fn cases_path() -> PathBuf {
    repo_root().join("tests/conformance/cases.json")
}

/// The conformance cases, parsed.
pub fn cases() -> Value {
    let text = std::fs::read_to_string(cases_path()).expect("read tests/conformance/cases.json");
    serde_json::from_str(&text).expect("tests/conformance/cases.json is JSON")
}

/// A running stand-in, killed when dropped.
pub struct StandIn {
    child: Child,
    socket: PathBuf,
    events: Receiver<Value>,
    reader: Option<JoinHandle<()>>,
    _dir: TempDir,
}

/// What the stand-in received: the frames of each connection that sent
/// any, in order.
#[derive(Debug, Default)]
pub struct Received {
    /// Each frame's message (`null` when it was not JSON), per connection.
    pub connections: Vec<Vec<Value>>,
    /// Whether a `hello` arrived alone, without the request behind it in
    /// the same write (not pipelined: a round trip of its own).
    pub lone_hello: bool,
}

impl Received {
    /// The frames' types per connection, as the cases spell them.
    pub fn types(&self) -> Vec<Vec<String>> {
        self.connections
            .iter()
            .map(|frames| {
                frames
                    .iter()
                    .map(|frame| frame["type"].as_str().unwrap_or("?").to_owned())
                    .collect()
            })
            .collect()
    }
}

impl StandIn {
    /// Plays the daemon of case `name` (`headers` for the header fixtures).
    /// `None` when this machine cannot play it (a daemon of another user
    /// without root): the caller skips loudly, and CI (`CI` set) fails.
    pub fn start(name: &str) -> Option<StandIn> {
        let dir = tempfile::Builder::new()
            .prefix("cq-stand-in-")
            .tempdir()
            .expect("temp dir");
        let mut child = Command::new("python3")
            .arg(repo_root().join("tests/src/stand_in_daemon.py"))
            .arg(cases_path())
            .arg(name)
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run python3");
        let stdout = child.stdout.take().expect("the stand-in's stdout");
        let (events, received) = channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event = serde_json::from_str(&line).expect("the stand-in reports JSON");
                if events.send(event).is_err() {
                    return;
                }
            }
        });
        let mut stand_in = StandIn {
            child,
            socket: PathBuf::new(),
            events: received,
            reader: Some(reader),
            _dir: dir,
        };
        let first = match stand_in.events.recv_timeout(START_TIMEOUT) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => panic!("the stand-in of {name} did not start"),
            Err(RecvTimeoutError::Disconnected) => panic!("the stand-in of {name} exited"),
        };
        match first["event"].as_str() {
            Some("ready") => {
                stand_in.socket = PathBuf::from(first["socket"].as_str().expect("socket path"));
                Some(stand_in)
            }
            Some("unavailable") => {
                let why = first["why"].as_str().unwrap_or_default();
                assert!(
                    std::env::var_os("CI").is_none(),
                    "case {name} cannot run in CI: {why}"
                );
                eprintln!("SKIPPED case {name}: {why}");
                None
            }
            _ => panic!("unexpected first event from the stand-in: {first}"),
        }
    }

    /// Its socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Stops it and returns what it received.
    pub fn stop(mut self) -> Received {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the stand-in's reader");
        }
        let mut received = Received::default();
        let mut numbers = Vec::new();
        for event in self.events.try_iter() {
            if event["event"] != "frame" {
                continue;
            }
            let number = event["connection"].as_u64().expect("connection number");
            let at = match numbers.iter().position(|n| *n == number) {
                Some(at) => at,
                None => {
                    numbers.push(number);
                    received.connections.push(Vec::new());
                    received.connections.len() - 1
                }
            };
            if event["pipelined"] == Value::Bool(false) {
                received.lone_hello = true;
            }
            received.connections[at].push(event["message"].clone());
        }
        received
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

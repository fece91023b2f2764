//! The conformance suite for the Rust clients, async and blocking:
//! `tests/conformance/cases.json` played by the scripted stand-in daemon.
//! The Python (`client/python/tests/test_conformance.py`) and Node
//! (`client/node/test/conformance.test.cjs`) suites run the same cases
//! against the same stand-in; a client that answers otherwise fails.

#[path = "conformance/calls.rs"]
mod calls;

use std::time::Duration;

use claude_quota::{Client, Route, TaskComplexity, TaskValue, blocking};
use claude_quota_e2e::stand_in::{Received, StandIn, cases};
use claude_quota_e2e::suites::repo_root;
use serde_json::{Value, json};

/// The route deadline of a case that names none.
const ROUTE_TIMEOUT_MS: u64 = 1000;

/// The reason every local fallback starts with, in every client.
const FALLBACK_REASON: &str = "claude-quotad unavailable, staying local";

/// A client under test: the async one driven from here, or the blocking one.
enum Under {
    Async(Client),
    Blocking(blocking::Client),
}

impl Under {
    fn new(blocking: bool, socket: &std::path::Path, route_timeout: Duration) -> Under {
        if blocking {
            Under::Blocking(blocking::Client::new(socket).with_route_timeout(route_timeout))
        } else {
            Under::Async(Client::new(socket).with_route_timeout(route_timeout))
        }
    }

    async fn route(&mut self, value: TaskValue, complexity: TaskComplexity) -> Route {
        match self {
            Under::Async(client) => client.route(value, complexity).await,
            Under::Blocking(client) => client.route(value, complexity),
        }
    }

    async fn ingest_headers(
        &mut self,
        headers: &[(String, String)],
    ) -> Result<bool, claude_quota::Error> {
        let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        match self {
            Under::Async(client) => client.ingest_headers(pairs).await,
            Under::Blocking(client) => client.ingest_headers(pairs),
        }
    }
}

#[tokio::test]
async fn the_async_client_answers_every_route_case_as_expected() {
    assert_no_divergence(run_route_cases(false).await);
}

#[tokio::test]
async fn the_blocking_client_answers_every_route_case_as_expected() {
    assert_no_divergence(run_route_cases(true).await);
}

#[tokio::test]
async fn the_async_client_makes_every_call_case_as_expected() {
    assert_no_divergence(calls::run(false).await);
}

#[tokio::test]
async fn the_blocking_client_makes_every_call_case_as_expected() {
    assert_no_divergence(calls::run(true).await);
}

#[tokio::test]
async fn the_async_client_sends_every_header_fixture_as_expected() {
    assert_no_divergence(run_header_fixtures(false).await);
}

#[tokio::test]
async fn the_blocking_client_sends_every_header_fixture_as_expected() {
    assert_no_divergence(run_header_fixtures(true).await);
}

fn assert_no_divergence(divergences: Vec<String>) {
    assert!(
        divergences.is_empty(),
        "{} divergence(s):\n{}",
        divergences.len(),
        divergences.join("\n")
    );
}

/// The stand-in of case `case`, or `None` when nothing listens; `Err`
/// when this machine cannot play the case (skipped loudly).
fn stand_in(case: &Value) -> Result<Option<StandIn>, ()> {
    if case["daemon"].is_null() {
        return Ok(None);
    }
    StandIn::start(case["name"].as_str().unwrap())
        .map(Some)
        .ok_or(())
}

async fn run_route_cases(blocking: bool) -> Vec<String> {
    let mut divergences = Vec::new();
    for case in array(&cases()["route_cases"]) {
        let name = case["name"].as_str().unwrap();
        let Ok(stand_in) = stand_in(case) else {
            continue;
        };
        let nobody_home = tempfile::tempdir().unwrap();
        let socket = stand_in.as_ref().map_or_else(
            || nobody_home.path().join("nobody-home.sock"),
            |stand_in| stand_in.socket().to_owned(),
        );
        let timeout = case["route_timeout_ms"]
            .as_u64()
            .unwrap_or(ROUTE_TIMEOUT_MS);
        let mut client = Under::new(blocking, &socket, Duration::from_millis(timeout));
        for (at, call) in array(&case["calls"]).iter().enumerate() {
            if let Some(ms) = call["sleep_ms"].as_u64() {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                continue;
            }
            let ask = array(&call["route"]);
            let value = ask[0].as_str().unwrap().parse().unwrap();
            let complexity = ask[1].as_str().unwrap().parse().unwrap();
            let route = client.route(value, complexity).await;
            if let Some(wrong) = mismatch(&call["expect"], &route) {
                divergences.push(format!("{name}, call {at}: {wrong}"));
            }
        }
        drop(client);
        let received = stand_in.map(StandIn::stop).unwrap_or_default();
        check_frames(name, &case["frames"], &received, &mut divergences);
    }
    divergences
}

/// Every header fixture given to `ingest_headers`: exactly its `sent`
/// goes out, in one ingest frame, or nothing when it is null.
async fn run_header_fixtures(blocking: bool) -> Vec<String> {
    let stand_in = StandIn::start("headers").expect("the header stand-in runs as you");
    let mut client = Under::new(blocking, stand_in.socket(), Duration::from_secs(5));
    let mut divergences = Vec::new();
    let fixtures: Vec<(String, Value)> = array(&cases()["header_fixtures"])
        .iter()
        .map(|name| {
            let name = name.as_str().unwrap().to_owned();
            let fixture = header_fixture(&name);
            (name, fixture)
        })
        .collect();
    for (name, fixture) in &fixtures {
        let headers: Vec<(String, String)> =
            serde_json::from_value(fixture["headers"].clone()).unwrap();
        let sent = client
            .ingest_headers(&headers)
            .await
            .expect("the stand-in answers ok to every ingest");
        if sent == fixture["sent"].is_null() {
            divergences.push(format!("{name}: ingest_headers returned {sent}"));
        }
    }
    drop(client);
    let received = stand_in.stop();
    let frames: Vec<&Value> = received
        .connections
        .iter()
        .flatten()
        .filter(|frame| frame["type"] != "hello")
        .collect();
    let expected: Vec<(&String, Value)> = fixtures
        .iter()
        .filter(|(_, fixture)| !fixture["sent"].is_null())
        .map(|(name, fixture)| {
            let frame = json!({"type": "ingest", "source": "headers", "headers": fixture["sent"]});
            (name, frame)
        })
        .collect();
    if frames.len() != expected.len() {
        divergences.push(format!(
            "{} frames for {} fixtures that send",
            frames.len(),
            expected.len()
        ));
    }
    for (frame, (name, expected)) in frames.iter().zip(&expected) {
        if normalised(frame) != normalised(expected) {
            divergences.push(format!("{name}: sent {frame}, expected {expected}"));
        }
    }
    divergences
}

/// Why `route` is not what `expect` says, if it is not. `reason_contains`
/// in `expect` is text the reason must hold.
fn mismatch(expect: &Value, route: &Route) -> Option<String> {
    let answered = !route.reason.starts_with(FALLBACK_REASON);
    let mut got = json!({
        "answered": answered,
        "provider": route.provider.as_str(),
        "model": route.model,
        "use_cloud": route.use_cloud,
        "tier": route.tier.map(|tier| tier.as_str()),
        "stale": route.stale,
        "available": route.available,
        "account": route.account,
        "claude_config_dir": route.claude_config_dir,
    });
    if answered {
        got["reason"] = json!(route.reason);
    }
    let mut expect = expect.clone();
    let contains = expect
        .as_object_mut()
        .and_then(|fields| fields.remove("reason_contains"));
    let holds = contains.is_none_or(|text| route.reason.contains(text.as_str().unwrap()));
    (got != expect || !holds).then(|| format!("got {got}, expected {expect} ({})", route.reason))
}

fn check_frames(name: &str, expect: &Value, received: &Received, divergences: &mut Vec<String>) {
    let expected: Vec<Vec<String>> = serde_json::from_value(expect.clone()).unwrap();
    if received.types() != expected {
        divergences.push(format!(
            "{name}: the stand-in received {:?}, expected {expected:?}",
            received.types()
        ));
    }
    if received.lone_hello {
        divergences.push(format!("{name}: a hello went alone, not pipelined"));
    }
    for hello in received.connections.iter().flatten() {
        if hello["type"] == "hello"
            && (hello["protocol"] != 1
                || !hello["client"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("claude-quota-rust/")))
        {
            divergences.push(format!("{name}: hello {hello}"));
        }
    }
}

/// A header fixture (`tests/fixtures/headers/NAME.json`).
fn header_fixture(name: &str) -> Value {
    let path = repo_root().join(format!("tests/fixtures/headers/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path:?}: {err}"));
    serde_json::from_str(&text).unwrap()
}

/// `value` as the daemon reads it: every number as a float (`83` and
/// `83.0` compare equal, as in Python and Node), and a field that is null
/// the same as one that is absent.
fn normalised(value: &Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(items) => Value::Array(items.iter().map(normalised).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, value)| !value.is_null())
                .map(|(key, value)| (key.clone(), normalised(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn array(value: &Value) -> &Vec<Value> {
    value.as_array().expect("an array in cases.json")
}

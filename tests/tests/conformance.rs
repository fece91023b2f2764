//! The conformance suite for the Rust clients, async and blocking:
//! `tests/conformance/cases.json` played by the scripted stand-in daemon.
//! The Python (`client/python/tests/test_conformance.py`) and Node
//! (`client/node/test/conformance.test.cjs`) suites run the same cases
//! against the same stand-in; a client that answers otherwise fails.

use std::time::Duration;

use claude_quota::{Client, HeaderReading, Route, TaskComplexity, TaskValue, blocking};
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

    async fn ingest_headers(&mut self, headers: &[(String, String)]) -> bool {
        let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        let sent = match self {
            Under::Async(client) => client.ingest_headers(pairs).await,
            Under::Blocking(client) => client.ingest_headers(pairs),
        };
        sent.expect("the stand-in answers ok to every ingest")
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
async fn the_async_client_sends_every_header_case_as_expected() {
    assert_no_divergence(run_header_cases(false).await);
}

#[tokio::test]
async fn the_blocking_client_sends_every_header_case_as_expected() {
    assert_no_divergence(run_header_cases(true).await);
}

/// The pure reading agrees with what is sent: nothing for the cases that
/// send nothing, a reading for the others.
#[test]
fn reading_from_headers_holds_a_reading_exactly_when_one_is_sent() {
    for case in array(&cases()["header_cases"]) {
        let reading: HeaderReading = claude_quota::reading_from_headers(fixture(case));
        assert_eq!(
            reading.is_reading(),
            case["sent"].as_bool().unwrap(),
            "{}",
            case["fixture"]
        );
    }
}

fn assert_no_divergence(divergences: Vec<String>) {
    assert!(
        divergences.is_empty(),
        "{} divergence(s):\n{}",
        divergences.len(),
        divergences.join("\n")
    );
}

async fn run_route_cases(blocking: bool) -> Vec<String> {
    let mut divergences = Vec::new();
    for case in array(&cases()["route_cases"]) {
        let name = case["name"].as_str().unwrap();
        let stand_in = if case["daemon"].is_null() {
            None
        } else {
            match StandIn::start(name) {
                Some(stand_in) => Some(stand_in),
                None => continue,
            }
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

async fn run_header_cases(blocking: bool) -> Vec<String> {
    let cases = cases()["header_cases"].clone();
    let stand_in = StandIn::start("headers").expect("the header stand-in runs as you");
    let mut client = Under::new(blocking, stand_in.socket(), Duration::from_secs(5));
    let mut divergences = Vec::new();
    for case in array(&cases) {
        let sent = client.ingest_headers(&fixture(case)).await;
        if Some(sent) != case["sent"].as_bool() {
            divergences.push(format!("{}: sent {sent}", case["fixture"]));
        }
    }
    drop(client);
    let received = stand_in.stop();
    let ingests: Vec<&Value> = received
        .connections
        .iter()
        .flatten()
        .filter(|frame| frame["type"] == "ingest")
        .collect();
    let expected: Vec<&Value> = array(&cases)
        .iter()
        .filter(|case| case["sent"] == true)
        .collect();
    if ingests.len() != expected.len() {
        divergences.push(format!(
            "{} ingest frames for {} readings",
            ingests.len(),
            expected.len()
        ));
    }
    for (frame, case) in ingests.iter().zip(expected) {
        if normalised(frame) != normalised(&case["ingest"]) {
            divergences.push(format!(
                "{}: sent {frame}, expected {}",
                case["fixture"], case["ingest"]
            ));
        }
    }
    divergences
}

/// Why `route` is not what `expect` says, if it is not.
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
    });
    if answered {
        got["reason"] = json!(route.reason);
    }
    (got != *expect).then(|| format!("got {got}, expected {expect} ({})", route.reason))
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

/// The headers of a case's fixture (`tests/fixtures/headers/NAME.json`).
fn fixture(case: &Value) -> Vec<(String, String)> {
    let name = case["fixture"].as_str().unwrap();
    let path = repo_root().join(format!("tests/fixtures/headers/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path:?}: {err}"));
    let fixture: Value = serde_json::from_str(&text).unwrap();
    serde_json::from_value(fixture["headers"].clone()).unwrap()
}

/// `value` with every number as a float, so `83` and `83.0` compare equal
/// as they do in Python and Node.
fn normalised(value: &Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(items) => Value::Array(items.iter().map(normalised).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), normalised(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn array(value: &Value) -> &Vec<Value> {
    value.as_array().expect("an array in cases.json")
}

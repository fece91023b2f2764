//! The call cases (`call_cases` in `tests/conformance/cases.json`): every
//! call a client offers, asked with and without an account, how the answer
//! names its account, and how a failure is reported, with the requests
//! the stand-in received compared field by field.

use std::str::FromStr;
use std::time::Duration;

use claude_quota::{Error, UnknownName, Window};
use claude_quota_e2e::stand_in::cases;
use serde_json::{Value, json};

use super::{ROUTE_TIMEOUT_MS, Under, array, check_frames, mismatch, normalised, stand_in};

/// Plays every call case with the async or the blocking client; the
/// divergences found.
pub async fn run(blocking: bool) -> Vec<String> {
    let mut divergences = Vec::new();
    for case in array(&cases()["call_cases"]) {
        let name = case["name"].as_str().unwrap();
        let Ok(Some(stand_in)) = stand_in(case) else {
            continue;
        };
        let timeout = Duration::from_millis(ROUTE_TIMEOUT_MS);
        let mut client = Some(Under::new(blocking, stand_in.socket(), timeout));
        for (at, call) in array(&case["calls"]).iter().enumerate() {
            let mut under = client.take().expect("no call after a subscribe");
            under.set_account(call["account"].as_str());
            let args = array(&call["args"]);
            let expect = &call["expect"];
            let wrong = match call["call"].as_str().unwrap() {
                "subscribe" => compared(expect, under.first_update().await),
                "route" => {
                    let route = under.route(parsed(&args[0]), parsed(&args[1])).await;
                    client = Some(under);
                    mismatch(&expect["value"], &route)
                }
                kind => {
                    let got = under.call(kind, args).await;
                    client = Some(under);
                    compared(expect, got)
                }
            };
            if let Some(wrong) = wrong {
                divergences.push(format!("{name}, call {at}: {wrong}"));
            }
        }
        drop(client);
        let received = stand_in.stop();
        check_frames(name, &case["frames"], &received, &mut divergences);
        let requests: Vec<Value> = received
            .connections
            .iter()
            .flatten()
            .filter(|frame| frame["type"] != "hello")
            .map(normalised)
            .collect();
        let expected: Vec<Value> = array(&case["requests"]).iter().map(normalised).collect();
        if requests != expected {
            divergences.push(format!(
                "{name}: the stand-in received {}, expected {}",
                json!(requests),
                json!(expected)
            ));
        }
    }
    divergences
}

impl Under {
    /// Sets the account the next calls ask for.
    fn set_account(&mut self, account: Option<&str>) {
        let account = account.map(str::to_owned);
        match self {
            Under::Async(client) => _ = client.set_account(account),
            Under::Blocking(client) => _ = client.set_account(account),
        }
    }

    /// One call of `kind` with the case's `args`, its answer as JSON.
    async fn call(&mut self, kind: &str, args: &[Value]) -> Result<Value, Error> {
        match (kind, self) {
            ("decide", Under::Async(client)) => {
                client.decide(parsed(&args[0])).await.map(|d| json!(d))
            }
            ("decide", Under::Blocking(client)) => {
                client.decide(parsed(&args[0])).map(|d| json!(d))
            }
            ("select_model", Under::Async(client)) => client
                .select_model(parsed(&args[0]))
                .await
                .map(|m| json!(m)),
            ("select_model", Under::Blocking(client)) => {
                client.select_model(parsed(&args[0])).map(|m| json!(m))
            }
            ("status", Under::Async(client)) => client.status().await.map(|s| json!(s)),
            ("status", Under::Blocking(client)) => client.status().map(|s| json!(s)),
            ("ingest", under) => {
                let window = |at: usize| -> Option<Window> {
                    serde_json::from_value(args[at].clone()).unwrap()
                };
                let as_of = serde_json::from_value(args[2].clone()).unwrap();
                let pushed = match under {
                    Under::Async(client) => client.ingest(window(0), window(1), as_of).await,
                    Under::Blocking(client) => client.ingest(window(0), window(1), as_of),
                };
                pushed.map(|()| Value::Null)
            }
            ("ingest_headers", under) => {
                let headers: Vec<(String, String)> =
                    serde_json::from_value(args[0].clone()).unwrap();
                under.ingest_headers(&headers).await.map(Value::Bool)
            }
            (other, _) => panic!("a call case names no call {other:?}"),
        }
    }

    /// Subscribes (the client goes with it) and takes the first update.
    async fn first_update(self) -> Result<Value, Error> {
        let update = match self {
            Under::Async(client) => client.subscribe().await?.next().await?,
            Under::Blocking(client) => client.subscribe()?.next().transpose()?,
        };
        Ok(json!(update))
    }
}

/// A task value or complexity of a case.
fn parsed<T: FromStr<Err = UnknownName>>(arg: &Value) -> T {
    arg.as_str().unwrap().parse().unwrap()
}

/// Why `got` is not what `expect` says (`{error, message?}` or
/// `{value}`), if it is not.
fn compared(expect: &Value, got: Result<Value, Error>) -> Option<String> {
    match got {
        Err(err) => {
            let (code, message) = match &err {
                Error::BadRequest(message) => ("bad_request".to_owned(), message.clone()),
                Error::Refused { code, message } => (
                    serde_json::to_value(code)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    message.clone(),
                ),
                other => (format!("{other:?}"), other.to_string()),
            };
            let holds = expect["error"] == code.as_str()
                && expect["message"].as_str().is_none_or(|m| m == message);
            (!holds).then(|| format!("failed with {code}: {message}, expected {expect}"))
        }
        Ok(value) => {
            let holds = match &expect["value"] {
                Value::Object(fields) => fields
                    .iter()
                    .all(|(key, field)| normalised(field) == normalised(&value[key])),
                other => normalised(other) == normalised(&value),
            };
            (!holds).then(|| format!("answered {value}, expected {expect}"))
        }
    }
}

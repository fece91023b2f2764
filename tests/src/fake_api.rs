//! A fake of Anthropic's usage endpoint: an HTTP server on 127.0.0.1 that
//! checks the headers the real one needs, serves scripted utilization (a
//! fixed body, or one computed at each request's arrival), can be switched
//! to any fault, and counts requests. Also the shape of the rate-limit
//! headers a Messages API response carries, for tests that play a router.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use claude_quota::Window;
use serde_json::{Value, json};

/// A fault the fake serves instead of a reading.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Any HTTP status with an empty body.
    Status(u16),
    /// 429 with this `Retry-After` value, or none.
    RateLimited(Option<String>),
    /// 200 with this body.
    Body(String),
    /// Answers only after this long (the daemon's timeout is 10 s).
    Delay(Duration),
}

/// A body computed for each request from the instant it arrived.
type Curve = Arc<dyn Fn(Instant) -> Value + Send + Sync>;

struct Script {
    accepted_token: String,
    body: Value,
    /// When set, serves what it computes instead of `body`.
    curve: Option<Curve>,
    fault: Option<Fault>,
    requests: Vec<Instant>,
    rejected_tokens: usize,
    inference_only: Vec<String>,
    scope_refusals: usize,
    user_agents: Vec<String>,
    /// Other accounts, by token: each served on its own.
    accounts: HashMap<String, Account>,
}

/// Another account the fake serves: a login of its own, known by its token.
#[derive(Default)]
struct Account {
    body: Value,
    fault: Option<Fault>,
    requests: usize,
}

/// A running fake API. It stops with the test process.
#[derive(Clone)]
pub struct FakeApi {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl FakeApi {
    /// Starts a fake accepting [`crate::TOKEN`], serving 5h 10 % / 7d 20 %.
    pub fn start() -> FakeApi {
        let script = Arc::new(Mutex::new(Script {
            accepted_token: crate::TOKEN.to_owned(),
            body: usage_body(10.0, Some(20.0)),
            curve: None,
            fault: None,
            requests: Vec::new(),
            rejected_tokens: 0,
            inference_only: Vec::new(),
            scope_refusals: 0,
            user_agents: Vec::new(),
            accounts: HashMap::new(),
        }));
        let app = Router::new()
            .route("/api/oauth/usage", get(usage))
            .with_state(Arc::clone(&script));
        let addr = crate::http::serve(app);
        FakeApi { addr, script }
    }

    /// The base URL to give the daemon as `--api-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves these utilizations from now on (and clears any fault).
    pub fn set_usage(&self, five_hour: f64, seven_day: Option<f64>) {
        self.set_body(usage_body(five_hour, seven_day));
    }

    /// Serves this JSON body from now on (and clears any fault and curve).
    pub fn set_body(&self, body: Value) {
        let mut script = self.script.lock().unwrap();
        script.body = body;
        script.curve = None;
        script.fault = None;
    }

    /// Serves, from now on, the body `curve` computes from each request's
    /// arrival (the instant [`Self::request_times`] records), so a test can
    /// script usage as a function of time and every poll reads it at the
    /// moment it is made (clears any fault; `set_body` ends it).
    pub fn serve_curve(&self, curve: impl Fn(Instant) -> Value + Send + Sync + 'static) {
        let mut script = self.script.lock().unwrap();
        script.curve = Some(Arc::new(curve));
        script.fault = None;
    }

    /// Serves `fault` until cleared.
    pub fn fail_with(&self, fault: Fault) {
        self.script.lock().unwrap().fault = Some(fault);
    }

    /// Stops serving a fault.
    pub fn clear_fault(&self) {
        self.script.lock().unwrap().fault = None;
    }

    /// Accepts only `token` from now on.
    pub fn accept_token(&self, token: &str) {
        self.script.lock().unwrap().accepted_token = token.to_owned();
    }

    /// Answers `token` as the endpoint answers an inference-only token
    /// (`claude setup-token`): 403, naming the `user:profile` scope.
    pub fn inference_only(&self, token: &str) {
        self.script
            .lock()
            .unwrap()
            .inference_only
            .push(token.to_owned());
    }

    /// Serves `body` (and clears any fault) to requests carrying `token`:
    /// another account, scripted apart from the one of [`crate::TOKEN`].
    pub fn serve_account(&self, token: &str, body: Value) {
        let mut script = self.script.lock().unwrap();
        let account = script.accounts.entry(token.to_owned()).or_default();
        account.body = body;
        account.fault = None;
    }

    /// Serves `fault` to requests carrying `token` (an account made with
    /// [`Self::serve_account`]).
    pub fn fail_account(&self, token: &str, fault: Fault) {
        let mut script = self.script.lock().unwrap();
        script.accounts.entry(token.to_owned()).or_default().fault = Some(fault);
    }

    /// How many requests carried `token`.
    pub fn account_requests(&self, token: &str) -> usize {
        let script = self.script.lock().unwrap();
        script
            .accounts
            .get(token)
            .map_or(0, |account| account.requests)
    }

    /// How many requests were refused as inference-only.
    pub fn scope_refusals(&self) -> usize {
        self.script.lock().unwrap().scope_refusals
    }

    /// The `User-Agent` of every request, in order.
    pub fn user_agents(&self) -> Vec<String> {
        self.script.lock().unwrap().user_agents.clone()
    }

    /// How many requests arrived, whatever their fate.
    pub fn requests(&self) -> usize {
        self.script.lock().unwrap().requests.len()
    }

    /// When each request arrived.
    pub fn request_times(&self) -> Vec<Instant> {
        self.script.lock().unwrap().requests.clone()
    }

    /// How many requests carried a token other than the accepted one.
    pub fn rejected_tokens(&self) -> usize {
        self.script.lock().unwrap().rejected_tokens
    }

    /// Waits until `n` requests in all have arrived, whatever their fate,
    /// and returns when each arrived; panics after `timeout`. A test
    /// waits on the requests themselves instead of sleeping and counting.
    pub async fn wait_for_calls(&self, n: usize, timeout: Duration) -> Vec<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            let times = self.request_times();
            if times.len() >= n {
                return times;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} API requests within {timeout:?}; gaps so far: {:?}",
                times.len(),
                gaps(&times)
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until `gap` has passed since the last request arrived: the
    /// moment a rule on the time since the last poll (such as
    /// `refresh_min_interval`) lets the daemon poll again. The daemon notes
    /// a poll before sending it, so from then on it counts `gap` too.
    pub async fn wait_past_last_call(&self, gap: Duration) {
        let last = *self.request_times().last().expect("a request to wait past");
        tokio::time::sleep_until((last + gap).into()).await;
    }
}

/// The gaps between consecutive instants, in seconds.
pub fn gaps(times: &[Instant]) -> Vec<f64> {
    times
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).as_secs_f64())
        .collect()
}

/// A reply of the real endpoint's shape.
pub fn usage_body(five_hour: f64, seven_day: Option<f64>) -> Value {
    let (five_resets, seven_resets) = resets();
    windows_body(
        Window::new(five_hour, Some(five_resets)),
        seven_day.map(|u| Window::new(u, Some(seven_resets))),
    )
}

/// A reply of the real endpoint's shape holding these windows (only their
/// utilization and reset time; the Sonnet weekly cap at 1 %).
pub fn windows_body(five_hour: Window, seven_day: Option<Window>) -> Value {
    let window =
        |w: Window| json!({"utilization": w.utilization, "resets_at": w.resets_at.map(written)});
    json!({
        "five_hour": window(five_hour),
        "seven_day": seven_day.map(window),
        "seven_day_opus": null,
        "seven_day_sonnet": {"utilization": 1.0, "resets_at": null},
        "extra_usage": {"is_enabled": false, "monthly_limit": null, "used_credits": null, "utilization": null}
    })
}

/// The `anthropic-ratelimit-unified-*` headers a Messages API response
/// carries for these windows: utilization as a fraction, the reset in whole
/// Unix seconds, and a status (`rejected` at 100 % or more).
pub fn ratelimit_headers(five_hour: Window, seven_day: Option<Window>) -> Vec<(String, String)> {
    let status = |w: &Window| {
        if w.utilization >= 100.0 {
            "rejected"
        } else {
            "allowed"
        }
    };
    let overall = std::iter::once(&five_hour)
        .chain(&seven_day)
        .any(|w| status(w) == "rejected");
    let mut headers = vec![(
        "anthropic-ratelimit-unified-status".to_owned(),
        if overall { "rejected" } else { "allowed" }.to_owned(),
    )];
    for (name, window) in [("5h", Some(five_hour)), ("7d", seven_day)] {
        let Some(window) = window else { continue };
        let header = |field: &str| format!("anthropic-ratelimit-unified-{name}-{field}");
        headers.push((
            header("utilization"),
            (window.utilization / 100.0).to_string(),
        ));
        headers.push((header("status"), status(&window).to_owned()));
        if let Some(reset) = window.resets_at {
            headers.push((header("reset"), reset.timestamp().to_string()));
        }
    }
    headers
}

/// When the windows of a scripted reply reset: in 2 hours (5-hour) and in
/// 3 days (7-day) from now. Always ahead: a window past its reset counts
/// as 0 %.
fn resets() -> (DateTime<Utc>, DateTime<Utc>) {
    let now = Utc::now();
    (now + TimeDelta::hours(2), now + TimeDelta::days(3))
}

/// A time as the endpoint writes it (`2026-01-28T07:59:59.571404+00:00`).
fn written(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, false)
}

/// A reply of the 2026 `limits` form only: `session` and `weekly_all`
/// percentages, and a `weekly_scoped` cap for each `(display_name, percent)`.
pub fn limits_body(session: f64, weekly_all: f64, scoped: &[(&str, f64)]) -> Value {
    let (five_resets, seven_resets) = resets();
    let (five_resets, seven_resets) = (written(five_resets), written(seven_resets));
    let mut limits = vec![
        json!({"kind": "session", "group": "session", "percent": session, "severity": "normal",
               "resets_at": five_resets, "scope": null, "is_active": true}),
        json!({"kind": "weekly_all", "group": "weekly", "percent": weekly_all, "severity": "normal",
               "resets_at": seven_resets, "scope": null}),
    ];
    limits.extend(scoped.iter().map(|(model, percent)| {
        json!({"kind": "weekly_scoped", "group": "weekly", "percent": percent, "severity": "normal",
               "resets_at": null, "scope": {"model": {"id": null, "display_name": model}, "surface": null}})
    }));
    json!({"limits": limits, "extra_usage": {"is_enabled": false}})
}

/// A recorded reply shape from `tests/fixtures/usage/NAME.json`, replayed
/// as if recorded now ([`replayed_now`]).
pub fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/usage")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let recorded =
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    replayed_now(recorded)
}

/// A recorded reply with every `resets_at` moved by the same amount so
/// that the earliest lies an hour ahead, each written in its own form
/// (RFC 3339, zone-less ISO, epoch seconds or milliseconds, as a number or
/// a string): a window past its reset counts as 0 %, and a reply recorded
/// months ago would otherwise say nothing but that. Times that cannot be
/// read are left as they are.
pub fn replayed_now(mut recorded: Value) -> Value {
    let mut earliest = None;
    visit_resets(&mut recorded, &mut |at| {
        earliest = Some(earliest.map_or(at, |e: DateTime<Utc>| e.min(at)));
        None
    });
    let Some(earliest) = earliest else {
        return recorded;
    };
    // Whole seconds, so times written as epoch seconds move exactly.
    let shift = TimeDelta::seconds(((Utc::now() + TimeDelta::hours(1)) - earliest).num_seconds());
    visit_resets(&mut recorded, &mut |at| Some(at + shift));
    recorded
}

/// Calls `f` on every readable `resets_at` in `value`, writing back what it
/// returns in the form the time was written in.
fn visit_resets(value: &mut Value, f: &mut impl FnMut(DateTime<Utc>) -> Option<DateTime<Utc>>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "resets_at" {
                    if let Some((at, form)) = TimeForm::read(value)
                        && let Some(new) = f(at)
                    {
                        *value = form.write(new);
                    }
                } else {
                    visit_resets(value, f);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| visit_resets(item, f)),
        _ => {}
    }
}

/// How a recorded time was written.
enum TimeForm {
    Rfc3339,
    Zoneless,
    Seconds { quoted: bool },
    Millis { quoted: bool },
}

impl TimeForm {
    fn read(value: &Value) -> Option<(DateTime<Utc>, TimeForm)> {
        let (number, quoted) = match value {
            Value::Number(n) => (n.as_f64()?, false),
            Value::String(text) => {
                if let Ok(at) = DateTime::parse_from_rfc3339(text) {
                    return Some((at.to_utc(), TimeForm::Rfc3339));
                }
                if let Ok(at) = text.parse::<chrono::NaiveDateTime>() {
                    return Some((at.and_utc(), TimeForm::Zoneless));
                }
                (text.trim().parse::<f64>().ok()?, true)
            }
            _ => return None,
        };
        if number > 1e12 {
            let at = DateTime::from_timestamp_millis(number as i64)?;
            Some((at, TimeForm::Millis { quoted }))
        } else {
            let at = DateTime::from_timestamp(number as i64, 0)?;
            Some((at, TimeForm::Seconds { quoted }))
        }
    }

    fn write(&self, at: DateTime<Utc>) -> Value {
        let number = |n: i64, quoted: bool| {
            if quoted {
                Value::String(n.to_string())
            } else {
                Value::from(n)
            }
        };
        match *self {
            TimeForm::Rfc3339 => Value::String(at.to_rfc3339()),
            TimeForm::Zoneless => {
                Value::String(at.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string())
            }
            TimeForm::Seconds { quoted } => number(at.timestamp(), quoted),
            TimeForm::Millis { quoted } => number(at.timestamp_millis(), quoted),
        }
    }
}

async fn usage(State(script): State<Arc<Mutex<Script>>>, headers: HeaderMap) -> Response {
    let arrived = Instant::now();
    let (fault, body, curve) = {
        let mut s = script.lock().unwrap();
        s.requests.push(arrived);
        let agent = headers.get(header::USER_AGENT).map(HeaderValue::to_str);
        s.user_agents
            .push(agent.and_then(Result::ok).unwrap_or_default().to_owned());
        if s.inference_only.iter().any(|token| {
            headers
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes)
                == Some(format!("Bearer {token}").as_bytes())
        }) {
            s.scope_refusals += 1;
            return (StatusCode::FORBIDDEN, axum::Json(json!({
                "type": "error",
                "error": {"type": "permission_error", "message": "OAuth token does not meet scope requirement user:profile"}
            }))).into_response();
        }
        let other = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .and_then(|token| s.accounts.get_mut(token));
        if let Some(account) = other {
            account.requests += 1;
            (account.fault.clone(), account.body.clone(), None)
        } else {
            match s.main_account(&headers) {
                Ok(served) => served,
                Err(refused) => return refused,
            }
        }
    };
    // The curve runs outside the lock: it is the test's code.
    let body = curve.map_or(body, |curve| curve(arrived));
    respond(fault, body).await
}

impl Script {
    /// What the account of the accepted token is served, or the refusal
    /// of a request that is not its.
    #[allow(clippy::result_large_err)]
    fn main_account(
        &mut self,
        headers: &HeaderMap,
    ) -> Result<(Option<Fault>, Value, Option<Curve>), Response> {
        let bearer = format!("Bearer {}", self.accepted_token);
        if headers.get(header::AUTHORIZATION) != Some(&HeaderValue::from_str(&bearer).unwrap()) {
            self.rejected_tokens += 1;
            return Err((StatusCode::UNAUTHORIZED, "invalid token").into_response());
        }
        if headers.get("anthropic-beta").map(HeaderValue::as_bytes) != Some(b"oauth-2025-04-20") {
            return Err((StatusCode::BAD_REQUEST, "missing anthropic-beta").into_response());
        }
        Ok((self.fault.clone(), self.body.clone(), self.curve.clone()))
    }
}

/// The reply: `body`, or `fault` instead.
async fn respond(fault: Option<Fault>, body: Value) -> Response {
    match fault {
        None => axum::Json(body).into_response(),
        Some(Fault::Status(code)) => StatusCode::from_u16(code).unwrap().into_response(),
        Some(Fault::RateLimited(retry_after)) => {
            let mut response = (StatusCode::TOO_MANY_REQUESTS, "rate limited").into_response();
            if let Some(value) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_str(&value).unwrap());
            }
            response
        }
        Some(Fault::Body(text)) => {
            ([(header::CONTENT_TYPE, "application/json")], text).into_response()
        }
        Some(Fault::Delay(wait)) => {
            tokio::time::sleep(wait).await;
            axum::Json(body).into_response()
        }
    }
}

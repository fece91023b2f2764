//! A minimal cascade router: ask claude-quotad where a task should go, then
//! send the prompt there (Anthropic's Messages API or Ollama's chat API) and
//! print the answer.
//!
//! ```text
//! cargo run --example cascade -p claude-quota -- --value high --complexity high "Summarize this design"
//! ```
//!
//! The route goes to stderr, the model's answer to stdout. When the daemon
//! is down or failing, the task goes to Ollama: spending the subscription
//! on a guess is the one unsafe answer.
//!
//! Environment (each also a flag): `ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY`
//! (sent as `x-api-key`) or `ANTHROPIC_AUTH_TOKEN` (sent as `Authorization:
//! Bearer`), `OLLAMA_HOST`, `CLAUDE_QUOTA_SOCKET`. It behaves exactly like
//! `client/python/examples/cascade.py`, and the same tests run both.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use claude_quota::{Client, Provider, Route, TaskComplexity, TaskValue};
use serde_json::{Value, json};

/// The Messages API version this example speaks.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// How long the daemon may take: it answers from memory, so a slow daemon
/// is a broken one and the task should not wait on it.
const DAEMON_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a model call may take; local models on a laptop are slow.
const CALL_TIMEOUT: Duration = Duration::from_secs(600);

/// Routes one task through claude-quotad to Claude or Ollama.
#[derive(Parser)]
struct Args {
    /// How much the task is worth (critical|high|medium|low|routine)
    #[arg(long)]
    value: TaskValue,
    /// How hard the task is (high|medium|low)
    #[arg(long)]
    complexity: TaskComplexity,
    /// claude-quotad's socket [default: the platform default]
    #[arg(long, env = "CLAUDE_QUOTA_SOCKET")]
    socket: Option<PathBuf>,
    /// Base URL of Anthropic's API
    #[arg(
        long,
        env = "ANTHROPIC_BASE_URL",
        default_value = "https://api.anthropic.com"
    )]
    anthropic_url: String,
    /// Base URL of Ollama
    #[arg(long, env = "OLLAMA_HOST", default_value = "http://127.0.0.1:11434")]
    ollama_url: String,
    /// The answer's length limit on Anthropic
    #[arg(long, default_value_t = 1024)]
    max_tokens: u32,
    /// The prompt
    prompt: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(claude_quota::default_socket_path);
    let route = route(&socket, args.value, args.complexity).await;
    eprintln!(
        "cascade: -> {} {} ({})",
        route.provider, route.model, route.reason
    );
    match call(&args, &socket, &route).await {
        Ok(answer) => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("cascade: {} call failed: {err:#}", route.provider);
            ExitCode::FAILURE
        }
    }
}

/// The daemon's route for the task: one question, local (with the model
/// the daemon last named) whenever it cannot be asked.
async fn route(socket: &Path, value: TaskValue, complexity: TaskComplexity) -> Route {
    Client::new(socket)
        .with_route_timeout(DAEMON_TIMEOUT)
        .route(value, complexity)
        .await
}

/// Sends the prompt where the route says and returns the answer's text.
/// Every Anthropic response's rate-limit headers go to the daemon, so the
/// router's own calls keep its reading fresh for free.
async fn call(args: &Args, socket: &Path, route: &Route) -> anyhow::Result<String> {
    // reqwest is built without a TLS provider of its own; ring is ours.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(CALL_TIMEOUT).build()?;
    let message = json!([{"role": "user", "content": args.prompt}]);
    match route.provider {
        Provider::Anthropic => {
            let request = with_credentials(
                http.post(format!("{}/v1/messages", base(&args.anthropic_url)))
                    .header("anthropic-version", ANTHROPIC_VERSION),
            )?;
            let body =
                json!({"model": route.model, "max_tokens": args.max_tokens, "messages": message});
            let response = post_json(request, &body).await?;
            report_usage(socket, response.headers()).await;
            let reply = read_json(response).await?;
            let blocks = reply["content"]
                .as_array()
                .context("no content in the reply")?;
            Ok(blocks
                .iter()
                .filter(|block| block["type"] == "text")
                .filter_map(|block| block["text"].as_str())
                .collect())
        }
        Provider::Ollama => {
            let request = http.post(format!("{}/api/chat", base(&args.ollama_url)));
            let body = json!({"model": route.model, "messages": message, "stream": false});
            let reply = read_json(post_json(request, &body).await?).await?;
            reply["message"]["content"]
                .as_str()
                .map(str::to_owned)
                .context("no message content in the reply")
        }
    }
}

/// Adds the API key (or OAuth token); it is needed only when a task goes
/// to Anthropic, so a purely local setup runs without one.
fn with_credentials(request: reqwest::RequestBuilder) -> anyhow::Result<reqwest::RequestBuilder> {
    let set = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    if let Some(key) = set("ANTHROPIC_API_KEY") {
        Ok(request.header("x-api-key", key))
    } else if let Some(token) = set("ANTHROPIC_AUTH_TOKEN") {
        Ok(request.bearer_auth(token))
    } else {
        bail!("set ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN to send tasks to Anthropic")
    }
}

/// A base URL without a trailing slash; Ollama's own `OLLAMA_HOST` is often
/// given as `host:port`, so a missing scheme means http.
fn base(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    }
}

/// Passes the windows in a response's `anthropic-ratelimit-unified-*`
/// headers to the daemon. Best effort: the answer matters more than the
/// reading, so a failure is only reported.
async fn report_usage(socket: &Path, headers: &reqwest::header::HeaderMap) {
    let pushed = async {
        let mut client = Client::connect_to(socket)
            .await?
            .with_timeout(DAEMON_TIMEOUT);
        client.ingest_headers(headers).await
    };
    if let Err(err) = pushed.await {
        eprintln!("cascade: could not pass the usage headers to claude-quotad: {err}");
    }
}

async fn post_json(
    request: reqwest::RequestBuilder,
    body: &Value,
) -> anyhow::Result<reqwest::Response> {
    Ok(request
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await?)
}

async fn read_json(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let bytes = response.bytes().await?;
    if !status.is_success() {
        let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
        bail!("HTTP {status}: {shown}");
    }
    Ok(serde_json::from_slice(&bytes)?)
}

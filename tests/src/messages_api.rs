//! A stand-in for Anthropic's Messages API on 127.0.0.1, for running the
//! real Claude Code against (`ANTHROPIC_BASE_URL`). It records every
//! request and answers from a script: the main agent (whose prompt holds
//! [`MAIN_TASK`]) loads and calls the MCP tool `quota_status`, then starts
//! a subagent asking for `opus` (whose prompt holds [`SUBAGENT_TASK`]),
//! then ends its turn; a subagent ends its turn at once; any other request
//! (a title, a summary) gets a line of text. Replies stream as SSE when
//! the request asks for a stream, as Claude Code's do.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// What the main agent's prompt says, so its requests can be told apart.
pub const MAIN_TASK: &str = "claude-quota-e2e: check the quota, then start a subagent";

/// What the subagent's prompt says.
pub const SUBAGENT_TASK: &str = "claude-quota-e2e: the subagent's task";

/// The MCP tool the main agent calls, as Claude Code names it.
pub const QUOTA_STATUS: &str = "mcp__claude-quota__quota_status";

/// Claude Code's tool that loads the schemas of deferred tools (MCP tools
/// among them, in versions that defer them).
const TOOL_SEARCH: &str = "ToolSearch";

/// The subagent tool: `Agent`, called `Task` by older Claude Code versions.
const SUBAGENT_TOOLS: [&str; 2] = ["Agent", "Task"];

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Request {
    /// The path and query (`/v1/messages?beta=true`).
    pub path: String,
    /// The body, `null` when it was not JSON.
    pub body: Value,
}

impl Request {
    /// The model the request names.
    pub fn model(&self) -> &str {
        self.body["model"].as_str().unwrap_or_default()
    }

    /// The whole body as text, to search.
    pub fn text(&self) -> String {
        self.body.to_string()
    }

    /// Whether it is one of the main agent's turns.
    pub fn is_main(&self) -> bool {
        let first = self.first_user_text();
        first.contains(MAIN_TASK) && !first.contains(SUBAGENT_TASK)
    }

    /// Whether it is one of the subagent's turns.
    pub fn is_subagent(&self) -> bool {
        self.first_user_text().contains(SUBAGENT_TASK)
    }

    /// The text of the first user message (the prompt and what Claude
    /// Code puts before it).
    fn first_user_text(&self) -> String {
        let messages = self.body["messages"].as_array();
        let first = messages.and_then(|m| m.iter().find(|m| m["role"] == "user"));
        first.map_or_else(String::new, |m| m["content"].to_string())
    }

    /// The result the request hands back for the tool call named `tool`,
    /// if it carries one.
    pub fn tool_result(&self, tool: &str) -> Option<String> {
        let messages = self.body["messages"].as_array()?;
        let id = messages
            .iter()
            .flat_map(|m| m["content"].as_array().into_iter().flatten())
            .find(|block| block["type"] == "tool_use" && block["name"] == tool)?["id"]
            .clone();
        messages
            .iter()
            .flat_map(|m| m["content"].as_array().into_iter().flatten())
            .find(|block| block["type"] == "tool_result" && block["tool_use_id"] == id)
            .map(|block| block["content"].to_string())
    }
}

/// A running stand-in. It stops with the test process.
#[derive(Clone)]
pub struct MessagesApi {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl MessagesApi {
    /// Starts the stand-in on a free loopback port.
    pub fn start() -> MessagesApi {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&requests));
        let addr = crate::http::serve(app);
        MessagesApi { addr, requests }
    }

    /// The base URL for `ANTHROPIC_BASE_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Records the request and answers it: a Messages API call from the
/// script, anything else 404.
async fn answer(
    State(requests): State<Arc<Mutex<Vec<Request>>>>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let request = Request {
        path: uri.to_string(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(request.clone());
    if uri.path() != "/v1/messages" {
        return StatusCode::NOT_FOUND.into_response();
    }
    let (content, stop) = script(&request);
    let model = request.model().to_owned();
    if request.body["stream"] == true {
        let events = stream(&model, &content, stop);
        ([(header::CONTENT_TYPE, "text/event-stream")], events).into_response()
    } else {
        axum::Json(message(&model, content, stop)).into_response()
    }
}

/// The reply's content blocks and stop reason.
fn script(request: &Request) -> (Vec<Value>, &'static str) {
    let text = |text: &str| (vec![json!({"type": "text", "text": text})], "end_turn");
    if request.is_subagent() {
        return text("The subagent's task is done.");
    }
    if !request.is_main() {
        return text("ok");
    }
    let offered: Vec<&str> = request.body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    let used: Vec<String> = request.body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "assistant")
        .flat_map(|m| m["content"].as_array().into_iter().flatten())
        .filter(|block| block["type"] == "tool_use")
        .filter_map(|block| block["name"].as_str().map(str::to_owned))
        .collect();
    let call = |name: &str, input: Value| {
        let id = format!(
            "toolu_cq_{}",
            name.replace(|c: char| !c.is_alphanumeric(), "_")
        );
        (
            vec![json!({"type": "tool_use", "id": id, "name": name, "input": input})],
            "tool_use",
        )
    };
    let unused = |name: &str| !used.iter().any(|u| u == name);
    if unused(QUOTA_STATUS) {
        if offered.contains(&QUOTA_STATUS) {
            return call(QUOTA_STATUS, json!({}));
        }
        if offered.contains(&TOOL_SEARCH) && unused(TOOL_SEARCH) {
            let query = format!("select:{QUOTA_STATUS}");
            return call(TOOL_SEARCH, json!({"query": query, "max_results": 1}));
        }
    }
    let subagent_tool = SUBAGENT_TOOLS.into_iter().find(|t| offered.contains(t));
    match subagent_tool {
        Some(tool) if SUBAGENT_TOOLS.iter().all(|t| unused(t)) => call(
            tool,
            json!({"description": "Run the subagent's task", "prompt": SUBAGENT_TASK,
                   "subagent_type": "general-purpose", "model": "opus"}),
        ),
        _ => text("Done."),
    }
}

/// A whole message, for a request that does not stream.
fn message(model: &str, content: Vec<Value>, stop: &str) -> Value {
    json!({
        "id": "msg_cq_stand_in", "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    })
}

/// The same message as the server-sent events of a streamed reply.
fn stream(model: &str, content: &[Value], stop: &str) -> String {
    let mut events = vec![json!({"type": "message_start", "message": {
        "id": "msg_cq_stand_in", "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 1}}})];
    for (index, block) in content.iter().enumerate() {
        let (start, delta) = if block["type"] == "tool_use" {
            (
                json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                json!({"type": "input_json_delta", "partial_json": block["input"].to_string()}),
            )
        } else {
            (
                json!({"type": "text", "text": ""}),
                json!({"type": "text_delta", "text": block["text"]}),
            )
        };
        events.push(json!({"type": "content_block_start", "index": index, "content_block": start}));
        events.push(json!({"type": "content_block_delta", "index": index, "delta": delta}));
        events.push(json!({"type": "content_block_stop", "index": index}));
    }
    events.push(
        json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                       "usage": {"output_tokens": 5}}),
    );
    events.push(json!({"type": "message_stop"}));
    events
        .iter()
        .map(|event| {
            format!(
                "event: {}\ndata: {event}\n\n",
                event["type"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

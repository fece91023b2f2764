//! A fake Ollama on 127.0.0.1: `GET /api/tags` lists whichever models the
//! test says are pulled, and `POST /api/chat` streams an answer the way
//! Ollama does (one JSON object a line, the last with `done: true`), or
//! misbehaves the way the test says: slow, endless, garbage.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::stream;
use serde_json::{Value, json};

/// How `/api/chat` answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Chat {
    /// Streams `echo: <prompt>` a few characters a line, then `done`.
    Echo,
    /// Waits this long, then answers as [`Chat::Echo`].
    Slow(Duration),
    /// Streams pieces of 1 KiB for as long as the client reads: an answer
    /// far over any limit.
    Endless,
    /// Answers 200 with this body, which is not a chat stream.
    Garbage(&'static str),
}

/// A prompt the fake was asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Asked {
    /// The model the request named.
    pub model: String,
    /// The user message's content.
    pub prompt: String,
    /// `options.num_predict`, if sent.
    pub num_predict: Option<u64>,
}

#[derive(Default)]
struct Shared {
    pulled: Vec<String>,
    chat: Option<Chat>,
    asked: Vec<Asked>,
}

/// A running fake Ollama. It stops with the test process.
#[derive(Clone)]
pub struct FakeOllama {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl FakeOllama {
    /// Starts a fake reporting `models` as pulled and answering chats with
    /// [`Chat::Echo`].
    pub fn start(models: &[&str]) -> FakeOllama {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = Router::new()
            .route("/api/tags", get(tags))
            .route("/api/chat", post(chat))
            .with_state(Arc::clone(&shared));
        let fake = FakeOllama {
            addr: crate::http::serve(app),
            shared,
        };
        fake.set_models(models);
        fake
    }

    /// The base URL to give the daemon as `ollama.url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Reports `models` as pulled from now on.
    pub fn set_models(&self, models: &[&str]) {
        self.shared.lock().unwrap().pulled = models.iter().map(|m| (*m).to_owned()).collect();
    }

    /// Answers chats this way from now on.
    pub fn set_chat(&self, chat: Chat) {
        self.shared.lock().unwrap().chat = Some(chat);
    }

    /// Every chat request so far, oldest first.
    pub fn asked(&self) -> Vec<Asked> {
        self.shared.lock().unwrap().asked.clone()
    }
}

/// A reply of the real `/api/tags` shape, with the fields Ollama sends.
async fn tags(State(shared): State<Arc<Mutex<Shared>>>) -> axum::Json<Value> {
    let models: Vec<Value> = shared
        .lock()
        .unwrap()
        .pulled
        .iter()
        .map(|name| {
            json!({
                "name": name,
                "model": name,
                "modified_at": "2026-01-20T10:00:00.000000000+01:00",
                "size": 9_276_198_565_u64,
                "digest": "bdbd181c33f2ed1b31c972991882db3cf4d192569092138a7d29e973cd9debe8",
                "details": {"format": "gguf", "family": "qwen3", "parameter_size": "14.8B", "quantization_level": "Q4_K_M"}
            })
        })
        .collect();
    axum::Json(json!({ "models": models }))
}

/// `/api/chat`: 404 with Ollama's message for a model that is not pulled,
/// otherwise what [`Chat`] says.
async fn chat(
    State(shared): State<Arc<Mutex<Shared>>>,
    axum::Json(request): axum::Json<Value>,
) -> Response {
    let model = request["model"].as_str().unwrap_or_default().to_owned();
    let prompt = request["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (pulled, behaviour) = {
        let mut shared = shared.lock().unwrap();
        shared.asked.push(Asked {
            model: model.clone(),
            prompt: prompt.clone(),
            num_predict: request["options"]["num_predict"].as_u64(),
        });
        (
            shared.pulled.contains(&model),
            shared.chat.clone().unwrap_or(Chat::Echo),
        )
    };
    if !pulled {
        let error = json!({"error": format!("model '{model}' not found")});
        return (StatusCode::NOT_FOUND, axum::Json(error)).into_response();
    }
    match behaviour {
        Chat::Echo => echo(&model, &prompt),
        Chat::Slow(delay) => {
            tokio::time::sleep(delay).await;
            echo(&model, &prompt)
        }
        Chat::Endless => {
            let line = Bytes::from(piece(&model, &"x".repeat(1024), false));
            Body::from_stream(stream::repeat_with(move || {
                Ok::<_, Infallible>(line.clone())
            }))
            .into_response()
        }
        Chat::Garbage(body) => body.into_response(),
    }
}

/// `echo: <prompt>` streamed as Ollama streams: a line per few characters,
/// then an empty `done` line with the statistics.
fn echo(model: &str, prompt: &str) -> Response {
    let text: Vec<char> = format!("echo: {prompt}").chars().collect();
    let mut lines: Vec<Result<String, Infallible>> = text
        .chunks(4)
        .map(|chunk| Ok(piece(model, &chunk.iter().collect::<String>(), false)))
        .collect();
    lines.push(Ok(piece(model, "", true)));
    Body::from_stream(stream::iter(lines)).into_response()
}

/// One line of Ollama's chat stream.
fn piece(model: &str, content: &str, done: bool) -> String {
    let mut line = json!({
        "model": model,
        "created_at": "2026-01-20T10:00:00.000000000Z",
        "message": {"role": "assistant", "content": content},
        "done": done,
    });
    if done {
        line["done_reason"] = json!("stop");
        line["total_duration"] = json!(1_234_567_u64);
        line["eval_count"] = json!(42);
    }
    format!("{line}\n")
}

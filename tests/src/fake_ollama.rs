//! A fake of Ollama's model list: `GET /api/tags` on 127.0.0.1 answering
//! with whichever models the test says are pulled.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

/// A running fake Ollama. It stops with the test process.
#[derive(Clone)]
pub struct FakeOllama {
    addr: SocketAddr,
    pulled: Arc<Mutex<Vec<String>>>,
}

impl FakeOllama {
    /// Starts a fake reporting `models` as pulled.
    pub fn start(models: &[&str]) -> FakeOllama {
        let pulled = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/api/tags", get(tags))
            .with_state(Arc::clone(&pulled));
        let fake = FakeOllama {
            addr: crate::http::serve(app),
            pulled,
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
        *self.pulled.lock().unwrap() = models.iter().map(|m| (*m).to_owned()).collect();
    }
}

/// A reply of the real `/api/tags` shape, with the fields Ollama sends.
async fn tags(State(pulled): State<Arc<Mutex<Vec<String>>>>) -> axum::Json<Value> {
    let models: Vec<Value> = pulled
        .lock()
        .unwrap()
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

//! One prompt to Ollama's chat API (`POST /api/chat`, streamed), bounded
//! in time and size: the answer is read as it comes, cut at the size
//! limit, and abandoned at the time limit, so a slow, endless or broken
//! server costs at most what the caller allowed.

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};
use tokio_util::io::StreamReader;

/// The longest line of Ollama's stream: each carries a token or a few;
/// a longer one is not Ollama's.
const MAX_LINE: usize = 256 * 1024;

/// The most bytes of stream read for one answer, whatever its lines say
/// (a server sending endless empty pieces stops here, or at the time limit).
const MAX_STREAM: usize = 16 * 1024 * 1024;

/// The most of an error body kept for the message.
const MAX_ERROR_BODY: usize = 4096;

/// What to ask and how far to go.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    /// Ollama's base URL (`http://127.0.0.1:11434`).
    pub url: &'a str,
    /// The model tag.
    pub model: &'a str,
    /// The user's prompt.
    pub prompt: &'a str,
    /// The whole exchange, connecting to last byte.
    pub timeout: Duration,
    /// The most characters of answer kept; the rest is not waited for.
    pub max_answer_chars: usize,
}

/// The model's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Its text, at most `max_answer_chars` characters.
    pub text: String,
    /// Whether it was cut at the limit.
    pub truncated: bool,
}

/// Why there is no answer.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// Nothing answered at the URL.
    #[error("Ollama at {url} cannot be reached ({source}); start it with `ollama serve`")]
    Unreachable {
        /// The base URL.
        url: String,
        /// Why the request failed.
        source: reqwest::Error,
    },
    /// It did not finish in time.
    #[error("Ollama at {url} did not finish the answer within {}s", timeout.as_secs())]
    Timeout {
        /// The base URL.
        url: String,
        /// The limit that passed.
        timeout: Duration,
    },
    /// It answered with an error (an unknown model, say).
    #[error("Ollama at {url} refused the prompt: {message}")]
    Refused {
        /// The base URL.
        url: String,
        /// Ollama's own message, or the HTTP status.
        message: String,
    },
    /// What it sent is not a chat reply.
    #[error("Ollama at {url} sent something that is not a chat reply: {detail}")]
    Garbage {
        /// The base URL.
        url: String,
        /// What was wrong with it.
        detail: String,
    },
}

/// One line of the stream; other keys are ignored.
#[derive(Deserialize)]
struct Piece {
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    done: bool,
    /// `length` when the model stopped at `num_predict`.
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: String,
}

/// An HTTP client for [`ask`]; its connect timeout is the only one, the
/// caller's limit covers the rest.
pub fn client() -> reqwest::Result<reqwest::Client> {
    // Ollama behind TLS needs a provider; ours is ring. One installed
    // earlier is just as good, so the error is moot.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
}

/// Runs `ask.prompt` on `ask.model` and returns the answer.
pub async fn ask(http: &reqwest::Client, ask: &Ask<'_>) -> Result<Answer, AskError> {
    tokio::time::timeout(ask.timeout, chat(http, ask))
        .await
        .unwrap_or_else(|_| {
            Err(AskError::Timeout {
                url: ask.url.to_owned(),
                timeout: ask.timeout,
            })
        })
}

async fn chat(http: &reqwest::Client, ask: &Ask<'_>) -> Result<Answer, AskError> {
    let url = ask.url.to_owned();
    let garbage = |detail: String| AskError::Garbage {
        url: url.clone(),
        detail,
    };
    let body = json!({
        "model": ask.model,
        "messages": [{"role": "user", "content": ask.prompt}],
        "stream": true,
        // A token is at least a character: no need to generate more.
        "options": {"num_predict": ask.max_answer_chars},
    });
    let response = http
        .post(format!("{}/api/chat", ask.url.trim_end_matches('/')))
        .json(&body)
        .send()
        .await
        .map_err(|source| AskError::Unreachable {
            url: url.clone(),
            source,
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(AskError::Refused {
            url: url.clone(),
            message: error_message(response).await,
        });
    }
    let bytes = response.bytes_stream().map_err(std::io::Error::other);
    let mut lines = FramedRead::new(
        StreamReader::new(bytes),
        LinesCodec::new_with_max_length(MAX_LINE),
    );
    let mut text = String::new();
    let mut chars = 0;
    let mut read = 0;
    while let Some(line) = lines.next().await {
        let line = line.map_err(|err| match err {
            LinesCodecError::MaxLineLengthExceeded => {
                garbage(format!("a line longer than {} KiB", MAX_LINE / 1024))
            }
            LinesCodecError::Io(err) => garbage(format!("the stream broke: {err}")),
        })?;
        read += line.len();
        if read > MAX_STREAM {
            return Err(garbage(format!(
                "more than {} MiB without finishing",
                MAX_STREAM / (1024 * 1024)
            )));
        }
        if line.trim().is_empty() {
            continue;
        }
        let piece: Piece = serde_json::from_str(&line).map_err(|err| garbage(err.to_string()))?;
        if let Some(message) = piece.error {
            return Err(AskError::Refused { url, message });
        }
        let content = piece.message.map(|m| m.content).unwrap_or_default();
        let room = ask.max_answer_chars.saturating_sub(chars);
        let count = content.chars().count();
        if count > room {
            text.extend(content.chars().take(room));
            return Ok(Answer {
                text,
                truncated: true,
            });
        }
        text.push_str(&content);
        chars += count;
        if piece.done {
            return Ok(Answer {
                text,
                truncated: piece.done_reason.as_deref() == Some("length"),
            });
        }
    }
    Err(garbage(
        "the stream ended before the answer was done".into(),
    ))
}

/// Ollama's `{"error": "…"}`, or the status when the body says nothing
/// readable; at most [`MAX_ERROR_BODY`] bytes are read.
async fn error_message(response: reqwest::Response) -> String {
    let status = response.status();
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
    }
    serde_json::from_slice::<ErrorBody>(&body)
        .map(|e| format!("{} ({status})", e.error))
        .unwrap_or_else(|_| format!("HTTP {status}"))
}

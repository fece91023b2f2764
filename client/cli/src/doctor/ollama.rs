//! The Ollama check: does the local model server answer `GET /api/tags`,
//! and which models has it pulled?
//!
//! One plain HTTP GET to a loopback server does not justify an HTTP client
//! crate in a CLI that must start in milliseconds, so this speaks HTTP/1.0
//! over a TCP stream: a 1.0 request makes the server close the connection
//! after the body and never answer chunked, so reading to the end is the
//! whole protocol.

use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::check::Check;

/// Ollama's own default address.
const DEFAULT_URL: &str = "http://127.0.0.1:11434";

/// A local server answers in milliseconds; past this it is as good as down.
const TIMEOUT: Duration = Duration::from_secs(3);

/// The most of a reply that is read; a tag list is a few KiB.
const MAX_REPLY: u64 = 1 << 20;

/// What to do when Ollama does not answer.
const START_OLLAMA: &str =
    "start Ollama (`ollama serve`); until then local answers name models nobody serves";

#[derive(Deserialize)]
struct Tags {
    models: Vec<Model>,
}

#[derive(Deserialize)]
struct Model {
    name: String,
}

/// Asks the Ollama at `url` (default [`DEFAULT_URL`]) for its models. Down
/// is a warning: answers stay correct, they just cannot be served locally.
pub async fn check(url: Option<&str>) -> Check {
    let url = url.unwrap_or(DEFAULT_URL);
    match tokio::time::timeout(TIMEOUT, tags(url)).await {
        Ok(Ok(models)) if models.is_empty() => Check::warn(
            "ollama",
            format!("{url} answers but has no models pulled"),
            "pull the local models of the config, e.g. `ollama pull qwen3:14b`",
        ),
        Ok(Ok(models)) => Check::ok(
            "ollama",
            format!("{url} answers; pulled: {}", models.join(", ")),
        ),
        Ok(Err(reason)) => Check::warn("ollama", format!("{url}: {reason}"), START_OLLAMA),
        Err(_) => Check::warn(
            "ollama",
            format!("{url}: no answer within {TIMEOUT:?}"),
            START_OLLAMA,
        ),
    }
}

/// The names of the pulled models, or why they could not be had.
async fn tags(url: &str) -> Result<Vec<String>, String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("only http:// URLs can be checked".into());
    };
    let (authority, base) = rest.split_once('/').unwrap_or((rest, ""));
    let address = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let mut stream = TcpStream::connect(&address)
        .await
        .map_err(|e| e.to_string())?;
    let prefix = base.trim_end_matches('/');
    let path = if prefix.is_empty() {
        "/api/tags".to_owned()
    } else {
        format!("/{prefix}/api/tags")
    };
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: application/json\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    stream
        .take(MAX_REPLY)
        .read_to_end(&mut reply)
        .await
        .map_err(|e| e.to_string())?;
    parse(&reply)
}

/// The model names from a raw HTTP reply.
fn parse(reply: &[u8]) -> Result<Vec<String>, String> {
    let text = String::from_utf8_lossy(reply);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("not an HTTP reply")?;
    let status_line = head.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) != Some("200") {
        return Err(format!("answered `{status_line}`, not 200"));
    }
    let tags: Tags =
        serde_json::from_str(body).map_err(|e| format!("not an Ollama tag list: {e}"))?;
    Ok(tags.models.into_iter().map(|m| m.name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_list_yields_the_model_names() {
        let reply = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"models\":[{\"name\":\"qwen3:14b\",\"size\":1}]}";
        assert_eq!(parse(reply), Ok(vec!["qwen3:14b".to_owned()]));
    }

    #[test]
    fn another_status_or_body_is_a_reason() {
        let missing = parse(b"HTTP/1.1 404 Not Found\r\n\r\n").unwrap_err();
        assert!(missing.contains("404"), "{missing}");
        assert!(parse(b"HTTP/1.0 200 OK\r\n\r\n<html>").is_err());
    }
}

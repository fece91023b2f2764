//! The one way the daemon builds an HTTP client, so the TLS provider is
//! installed before any client needs it, whichever task starts first, and
//! the one way it reads a body: never more than [`MAX_BODY`] bytes.

use std::time::Duration;

/// The most a body from the usage API or Ollama may hold (README, "Failure modes"):
/// both answer in a few KiB; a server sending more is broken or hostile
/// and must not make the daemon buffer it.
pub const MAX_BODY: usize = 1024 * 1024;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// It announced or sent more than [`MAX_BODY`] bytes.
    #[error("the body is larger than {} MiB", MAX_BODY / (1024 * 1024))]
    TooLarge,
    /// The transfer failed.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
}

/// Reads `response`'s body, giving up as soon as it passes [`MAX_BODY`]
/// bytes (or announces more), so an endless body costs at most that much
/// memory.
pub async fn body_within_limit(mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|len| len > MAX_BODY as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An HTTP client whose every request, connect to last byte, ends within
/// `timeout`.
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    // Several crates may pull a rustls provider in; ours is ring. A
    // provider installed earlier is just as good, so the error is moot.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
}

//! The one way the daemon builds an HTTP client, so the TLS provider is
//! installed before any client needs it, whichever task starts first.

use std::time::Duration;

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

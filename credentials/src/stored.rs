//! The JSON Claude Code stores its login as, in the Keychain, the Secret
//! Service and the credentials file alike.

use chrono::{DateTime, Utc};
use claude_quota_proto::CredentialSource;
use serde::Deserialize;

use super::Credentials;
use crate::secret::Secret;

#[derive(Deserialize)]
struct Stored {
    #[serde(rename = "claudeAiOauth")]
    oauth: Option<StoredOauth>,
}

/// Only the fields we use; the refresh token is never even parsed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredOauth {
    access_token: String,
    expires_at: Option<i64>,
    #[serde(default)]
    scopes: Vec<String>,
    subscription_type: Option<String>,
}

/// Why stored bytes are no credentials. It names a position at most:
/// serde's own messages may quote the stored values, and one of them is
/// the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotCredentials {
    /// Text that is not the JSON Claude Code stores.
    #[error("not Claude Code credentials JSON (line {line}, column {column})")]
    NotJson {
        /// The line of the first fault.
        line: usize,
        /// Its column.
        column: usize,
    },
    /// Bytes that are not text at all.
    #[error("the stored secret is not UTF-8 text")]
    NotText,
    /// `security` printed something that is neither JSON nor its hex form.
    #[error("the output is neither JSON nor hex")]
    NeitherJsonNorHex,
}

/// Parses stored credentials. `Ok(None)` when the JSON holds no Claude.ai
/// login (e.g. only an API key).
pub fn parse(text: &str, source: CredentialSource) -> Result<Option<Credentials>, NotCredentials> {
    let stored: Stored = serde_json::from_str(text).map_err(|err| NotCredentials::NotJson {
        line: err.line(),
        column: err.column(),
    })?;
    let Some(oauth) = stored.oauth else {
        return Ok(None);
    };
    if oauth.access_token.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials {
        token: Secret::new(oauth.access_token),
        expires_at: oauth
            .expires_at
            .and_then(DateTime::<Utc>::from_timestamp_millis),
        scopes: oauth.scopes,
        subscription_type: oauth.subscription_type,
        source,
    }))
}

/// Parses a secret handed over as bytes (a keyring item, the output of
/// `security`), which may not even be text.
pub fn parse_bytes(
    bytes: &[u8],
    source: CredentialSource,
) -> Result<Option<Credentials>, NotCredentials> {
    let text = std::str::from_utf8(bytes).map_err(|_| NotCredentials::NotText)?;
    parse(text, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_claude_code_stores() {
        let text = r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-abc","refreshToken":"sk-ant-ort01-def",
            "expiresAt":1748276587173,"scopes":["user:inference","user:profile"],
            "subscriptionType":"max","rateLimitTier":"default_claude_max_20x"}}"#;
        let creds = parse(text, CredentialSource::File).unwrap().unwrap();
        assert_eq!(creds.token.expose(), "sk-ant-oat01-abc");
        assert_eq!(creds.expires_at.unwrap().timestamp_millis(), 1748276587173);
        assert_eq!(creds.scopes, ["user:inference", "user:profile"]);
        assert_eq!(creds.subscription_type.as_deref(), Some("max"));
    }

    #[test]
    fn errors_never_quote_the_stored_text() {
        let text = r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-abc","expiresAt":"sk-ant-oat01-abc"}}"#;
        let err = parse(text, CredentialSource::File).unwrap_err().to_string();
        assert!(!err.contains("sk-ant"), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn no_oauth_login_is_not_an_error() {
        assert!(parse("{}", CredentialSource::File).unwrap().is_none());
        let mcp_only = r#"{"mcpOAuth":{"some-server":{"accessToken":"x","expiresAt":1}}}"#;
        assert!(parse(mcp_only, CredentialSource::File).unwrap().is_none());
    }
}

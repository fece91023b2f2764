//! `CLAUDE_CODE_OAUTH_TOKEN`: a bare access token, as `claude setup-token`
//! prints it, for machines where Claude Code's own store is out of reach.

use claude_quota_proto::CredentialSource;

use super::{Credentials, Source, SourceError};
use crate::secret::Secret;

/// The variable Claude Code itself reads.
pub const VAR: &str = "CLAUDE_CODE_OAUTH_TOKEN";

/// Reads the token from the daemon's environment.
pub struct EnvSource;

impl Source for EnvSource {
    fn describe(&self) -> String {
        VAR.to_owned()
    }

    fn read(&self) -> Result<Option<Credentials>, SourceError> {
        let Some(value) = std::env::var_os(VAR) else {
            return Ok(None);
        };
        let token = value
            .into_string()
            .map_err(|_| SourceError::unusable(VAR.to_owned(), "not valid UTF-8"))?;
        let token = token.trim();
        if token.is_empty() {
            return Ok(None);
        }
        Ok(Some(Credentials {
            token: Secret::new(token.to_owned()),
            expires_at: None,
            scopes: Vec::new(),
            subscription_type: None,
            source: CredentialSource::Env,
        }))
    }
}

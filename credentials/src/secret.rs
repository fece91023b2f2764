//! A wrapper that keeps the OAuth token out of every formatted string.

use std::fmt;

/// An access token. It can be read only through [`Secret::expose`], which
/// names every place that touches the raw value; `Debug` and `Display`
/// print a fixed placeholder, so a stray `{:?}` in a log line or an error
/// cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a token read from a credential source.
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The raw token, for the `Authorization` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_value() {
        let secret = Secret::new("sk-ant-oat01-very-secret".into());
        assert!(!format!("{secret:?} {secret} {secret:#?}").contains("very-secret"));
        assert_eq!(secret.expose(), "sk-ant-oat01-very-secret");
    }
}

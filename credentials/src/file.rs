//! `$CLAUDE_CONFIG_DIR/.credentials.json`: where Claude Code keeps its login
//! on Linux (and on macOS when the Keychain is unavailable).

use std::path::{Path, PathBuf};

use claude_quota_proto::CredentialSource;

use super::{Credentials, Source, SourceError, stored};

/// Reads the credentials file, fresh at every call, so a token that Claude
/// Code rewrote is picked up.
pub struct FileSource {
    path: PathBuf,
}

impl FileSource {
    /// The file where Claude Code writes it: under `$CLAUDE_CONFIG_DIR`, else
    /// `~/.claude`.
    pub fn standard() -> Self {
        let dir = std::env::var_os("CLAUDE_CONFIG_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|home| home.join(".claude")))
            .unwrap_or_else(|| PathBuf::from(".claude"));
        FileSource::in_dir(&dir)
    }

    /// The credentials file of the login kept in `dir` (a
    /// `CLAUDE_CONFIG_DIR`).
    pub fn in_dir(dir: &Path) -> Self {
        FileSource {
            path: dir.join(FILE_NAME),
        }
    }
}

/// The file's name inside a Claude Code config directory.
pub const FILE_NAME: &str = ".credentials.json";

impl Source for FileSource {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn read(&self) -> Result<Option<Credentials>, SourceError> {
        let text = match crate::small_file::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(SourceError::unusable(self.describe(), err.to_string()));
            }
        };
        stored::parse(&text, CredentialSource::File)
            .map_err(|reason| SourceError::unusable(self.describe(), reason.to_string()))
    }
}

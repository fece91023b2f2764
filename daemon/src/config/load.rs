//! Reading the config file: refusing one another user could change,
//! parsing it into [`Settings`], and naming the file and line of a value
//! the rules refuse.

use std::path::{Path, PathBuf};

use claude_quota_credentials::small_file;
use toml::de::DeTable;

use super::model::Settings;
use super::rules::Broken;
use crate::ownership::{self, NotOwn};

/// A configuration that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read. (The cause is part of the
    /// message and not also a `source`: a printed chain would say it twice.)
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape; the message of the
    /// TOML parser names the line and column and quotes the line. (Not a
    /// `source` either: its excerpt would be printed twice.)
    #[error("invalid config {path}: {error}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        error: toml::de::Error,
    },
    /// The config, or a program it names, could be changed by another
    /// user, who could then send the token elsewhere or run commands as
    /// this user.
    #[error(
        "refusing {what} {path}: it {reason}; whoever can change it can send your Claude login elsewhere or run commands as you"
    )]
    Untrusted {
        /// What the file is to the daemon (`the config`, `[notify] command`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Whose it is or who may write it.
        reason: String,
    },
    /// A value that parses but is out of its range.
    #[error("invalid config {place}: {} = {} is not allowed: must be {}", broken.key, broken.value, broken.allowed)]
    Invalid {
        /// Where the value was given: the file and line, or the flag.
        place: String,
        /// The key, its value and its range.
        broken: Broken,
    },
}

/// The config file's text, when there is one, kept to point at the line of
/// a refused value.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// Its text; `None` when it does not exist (and need not).
    pub text: Option<String>,
}

impl Source {
    /// Reads the file at `path`; a missing file is no text only when
    /// `required` is false (the default path need not exist, an explicitly
    /// named one must).
    /// A file another user could change is refused ([`ConfigError::Untrusted`]).
    pub fn read(path: &Path, required: bool) -> Result<Self, ConfigError> {
        let text = match ownership::read_own(path, small_file::open_to_string) {
            Ok(text) => Some(text),
            Err(NotOwn::Io(err)) if err.kind() == std::io::ErrorKind::NotFound && !required => None,
            Err(NotOwn::Io(error)) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    error,
                });
            }
            Err(NotOwn::Untrusted(reason)) => {
                return Err(ConfigError::Untrusted {
                    what: "the config",
                    path: path.to_owned(),
                    reason,
                });
            }
        };
        Ok(Source {
            path: path.to_owned(),
            text,
        })
    }

    /// The configuration the file holds: the defaults for what it leaves
    /// out, all of it when there is no file.
    pub fn parse(&self) -> Result<Settings, ConfigError> {
        let Some(text) = &self.text else {
            return Ok(Settings::default());
        };
        toml::from_str(text).map_err(|error| ConfigError::Parse {
            path: self.path.clone(),
            error,
        })
    }

    /// The error for a value refused by the range check, naming the file
    /// and line it was written on, or saying that it is the default. A key
    /// absent from an `[[accounts]]` table is named by the table's line.
    pub fn refuse(&self, mut broken: Broken) -> ConfigError {
        let path = self.path.display();
        let text = self.text.as_deref();
        let place = match text.and_then(|t| locate(t, &broken.key)) {
            Some((line, written)) => {
                broken.value = written;
                format!("{path}, line {line}")
            }
            None => match text.and_then(|t| locate_element(t, &broken.key)) {
                Some(line) => format!("{path}, line {line}"),
                None => {
                    broken.value.push_str(" (the default)");
                    path.to_string()
                }
            },
        };
        ConfigError::Invalid { place, broken }
    }
}

/// The line (1-based) where `key` (dotted for tables, `name[i]` for the
/// i-th of an array of tables) is written in the TOML `text`, and its
/// value as written; `None` when the key is absent (its value is the
/// default).
pub fn locate(text: &str, key: &str) -> Option<(usize, String)> {
    let document = DeTable::parse(text).ok()?;
    let mut steps = key.split('.').flat_map(steps);
    let Some(Step::Key(first)) = steps.next() else {
        return None;
    };
    let (mut at, mut value) = document
        .get_ref()
        .iter()
        .find(|(name, _)| name.get_ref() == first)
        .map(|(name, value)| (name.span(), value))?;
    for step in steps {
        value = match step {
            Step::Key(part) => value.get_ref().get(part)?,
            Step::Index(index) => value.get_ref().get(index)?,
        };
        at = value.span();
    }
    let line = text.get(..at.start)?.matches('\n').count() + 1;
    let written = text.get(value.span())?.trim().to_owned();
    Some((line, written))
}

/// The line of the array element a key such as `accounts[1].name`
/// belongs to, for a key the element leaves out.
fn locate_element(text: &str, key: &str) -> Option<usize> {
    let (element, _) = key.rsplit_once('.')?;
    if !element.ends_with(']') {
        return None;
    }
    locate(text, element).map(|(line, _)| line)
}

/// One step of a key's path: a table's key or an array's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step<'k> {
    Key(&'k str),
    Index(usize),
}

/// The steps of one dotted part: `name` or `name[i]`.
fn steps(part: &str) -> Vec<Step<'_>> {
    let indexed = part
        .strip_suffix(']')
        .and_then(|rest| rest.split_once('['))
        .and_then(|(name, index)| Some((name, index.parse().ok()?)));
    match indexed {
        Some((name, index)) => vec![Step::Key(name), Step::Index(index)],
        None => vec![Step::Key(part)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn a_refused_value_names_its_file_line_and_text() {
        let source = Source {
            path: PathBuf::from("/etc/cq.toml"),
            text: Some("api_url = \"https://x\"\n[thresholds]\nburst_below = 9e1\n".into()),
        };
        let settings = source.parse().unwrap();
        let err = source
            .refuse(Config::check(settings).unwrap_err())
            .to_string();
        assert_eq!(
            err,
            "invalid config /etc/cq.toml, line 3: thresholds.burst_below = 9e1 is not allowed: must be 0 … thresholds.resting_above (80) percent"
        );
        let source = Source {
            path: PathBuf::from("/etc/cq.toml"),
            text: Some("poll_interval = 600\n".into()),
        };
        let err = source
            .refuse(Config::check(source.parse().unwrap()).unwrap_err())
            .to_string();
        assert!(err.contains("/etc/cq.toml: stale_after = 300 (the default) is not allowed: must be poll_interval (600) … 86400 seconds"), "{err}");
    }
    #[test]
    fn a_refused_account_names_its_file_line_and_key() {
        let refused = |text: &str| {
            let source = Source {
                path: PathBuf::from("/etc/cq.toml"),
                text: Some(text.into()),
            };
            source
                .refuse(Config::check(source.parse().unwrap()).unwrap_err())
                .to_string()
        };
        let err =
            refused("poll_interval = 30\n[[accounts]]\nname = \"a\"\n[[accounts]]\nname = \"a\"\n");
        assert_eq!(
            err,
            "invalid config /etc/cq.toml, line 5: accounts[1].name = \"a\" is not allowed: must be a name no other account has (accounts[0] has it too)"
        );
        let err = refused(
            "[[accounts]]\nname = \"a\"\n[[accounts]]\nname = \"b\"\nclaude_config_dir = \"/nonexistent-cq/x\"\n",
        );
        assert!(
            err.starts_with("invalid config /etc/cq.toml, line 5: accounts[1].claude_config_dir = \"/nonexistent-cq/x\" is not allowed: must be an existing directory"),
            "{err}"
        );
        let err = refused("[[accounts]]\nname = \"a\"\n\n[[accounts]]\nname = \"b\"\n");
        assert!(
            err.starts_with("invalid config /etc/cq.toml, line 4: accounts[1].claude_config_dir = (absent) is not allowed"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_key_in_an_account_is_refused_with_its_line() {
        let source = Source {
            path: PathBuf::from("/etc/cq.toml"),
            text: Some("[[accounts]]\nname = \"a\"\nprio = 1\n".into()),
        };
        let err = source.parse().unwrap_err().to_string();
        assert!(err.contains("/etc/cq.toml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("prio"), "{err}");
    }

    #[test]
    fn a_key_is_located_by_line_with_its_text() {
        let text = "poll_interval = 30\n\n[thresholds]\nburst_below = 5e1 # comment\n";
        assert_eq!(locate(text, "poll_interval"), Some((1, "30".into())));
        assert_eq!(
            locate(text, "thresholds.burst_below"),
            Some((4, "5e1".into()))
        );
        assert_eq!(locate(text, "stale_after"), None);
        assert_eq!(locate(text, "thresholds.resting_above"), None);
    }

    #[test]
    fn a_key_of_an_array_of_tables_is_located_by_its_index() {
        let text = "[[accounts]]\nname = \"a\"\n\n[[accounts]]\nname = \"b\"\npriority = 3\n";
        assert_eq!(locate(text, "accounts[0].name"), Some((2, "\"a\"".into())));
        assert_eq!(locate(text, "accounts[1].name"), Some((5, "\"b\"".into())));
        assert_eq!(locate(text, "accounts[1].priority"), Some((6, "3".into())));
        assert_eq!(locate(text, "accounts[2].name"), None);
        assert_eq!(locate(text, "accounts[0].claude_config_dir"), None);
        assert_eq!(
            locate_element(text, "accounts[1].claude_config_dir"),
            Some(4)
        );
        assert_eq!(locate_element(text, "thresholds.burst_below"), None);
    }
}

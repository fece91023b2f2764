//! Finding the Claude Code logins on this machine, for `claude-quota
//! accounts discover`: the directories `~/.claude*` and `$CLAUDE_CONFIG_DIR`
//! holding a `.credentials.json`, and the Keychain / Secret Service items
//! `Claude Code-credentials-<hash>`, each matched to a directory by that
//! hash. Only names are looked at: whether a file exists, what the items
//! are called. No secret is read, and nothing is written.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::file::FILE_NAME;
use crate::service_name::{SERVICE, hashed_name};

/// The directory Claude Code uses when `CLAUDE_CONFIG_DIR` is unset,
/// under the home directory.
const DEFAULT_DIR: &str = ".claude";

/// One login found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Its `CLAUDE_CONFIG_DIR`, in the form that matched the keyring item
    /// when one did (Claude Code hashes the string as given, so a trailing
    /// slash counts); `None` for the default login.
    pub claude_config_dir: Option<PathBuf>,
    /// Its credentials file, when there is one.
    pub credentials_file: Option<PathBuf>,
    /// The name of its keyring item, when there is one.
    pub keyring_item: Option<String>,
}

/// What [`discover`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Discovery {
    /// The logins, the default login first, then by directory.
    pub logins: Vec<Login>,
    /// Claude Code items whose hash matches none of the directories looked
    /// at: a login whose directory lies elsewhere.
    pub unmatched_items: Vec<String>,
    /// Why the system keyring could not be listed, when it could not.
    pub keyring_error: Option<String>,
}

/// The logins of this user: `~/.claude*` under the home directory,
/// `$CLAUDE_CONFIG_DIR`, and the system keyring's items. Blocking (the
/// keyring is asked within [`crate::READ_TIMEOUT`]).
pub fn discover() -> Discovery {
    let items = list_items(&crate::login_user());
    let env_dir = std::env::var_os(crate::service_name::CONFIG_DIR_VAR);
    discover_in(dirs::home_dir().as_deref(), env_dir.as_deref(), items)
}

/// The system keyring's item names, within [`crate::READ_TIMEOUT`]: a
/// locked keyring or a D-Bus peer that never answers must not hang the
/// command.
fn list_items(user: &str) -> Result<Vec<String>, String> {
    let (answer, answered) = std::sync::mpsc::sync_channel(1);
    let user = user.to_owned();
    std::thread::Builder::new()
        .name("keyring-list".into())
        .spawn(move || {
            let _ = answer.send(crate::keyring::services(&user));
        })
        .map_err(|err| err.to_string())?;
    answered
        .recv_timeout(crate::READ_TIMEOUT)
        .unwrap_or_else(|_| {
            Err(format!(
                "no answer within {}s",
                crate::READ_TIMEOUT.as_secs()
            ))
        })
}

/// [`discover`] with the home directory, `$CLAUDE_CONFIG_DIR` and the
/// keyring's item names (or why they could not be had) given.
pub fn discover_in(
    home: Option<&Path>,
    env_dir: Option<&OsStr>,
    items: Result<Vec<String>, String>,
) -> Discovery {
    let (mut items, keyring_error) = match items {
        Ok(items) => (items, None),
        Err(err) => (Vec::new(), Some(err)),
    };
    items.retain(|item| item.starts_with(SERVICE));
    items.sort();
    items.dedup();
    let mut logins = Vec::new();
    let default_file = home
        .map(|home| home.join(DEFAULT_DIR).join(FILE_NAME))
        .filter(|file| file.is_file());
    let plain_item = items.iter().any(|item| item == SERVICE);
    if default_file.is_some() || plain_item {
        logins.push(Login {
            claude_config_dir: None,
            credentials_file: default_file,
            keyring_item: plain_item.then(|| SERVICE.to_owned()),
        });
    }
    let mut matched = vec![SERVICE.to_owned()];
    for dir in candidates(home, env_dir) {
        let is_default_dir = home.is_some_and(|home| dir == home.join(DEFAULT_DIR));
        let found = login_in(&dir, &items, is_default_dir);
        if let Some(login) = found {
            matched.extend(login.keyring_item.clone());
            logins.push(login);
        }
    }
    let unmatched_items = items
        .into_iter()
        .filter(|item| !matched.contains(item))
        .collect();
    Discovery {
        logins,
        unmatched_items,
        keyring_error,
    }
}

/// The directories to look in, each without a trailing slash, sorted,
/// once each: `~/.claude*` and `$CLAUDE_CONFIG_DIR` (when absolute).
fn candidates(home: Option<&Path>, env_dir: Option<&OsStr>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = home
        .and_then(|home| std::fs::read_dir(home).ok().map(|list| (home, list)))
        .map(|(home, list)| {
            list.filter_map(Result::ok)
                .filter(|entry| {
                    entry
                        .file_name()
                        .as_bytes()
                        .starts_with(DEFAULT_DIR.as_bytes())
                })
                .map(|entry| home.join(entry.file_name()))
                .filter(|path| path.is_dir())
                .collect()
        })
        .unwrap_or_default();
    if let Some(dir) = env_dir.map(Path::new).filter(|dir| dir.is_absolute()) {
        dirs.push(without_trailing_slash(dir));
    }
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The login kept in `dir`, if any: its credentials file (not for the
/// default directory, whose file is the default login's) and the item
/// named after `dir` or `dir/`.
fn login_in(dir: &Path, items: &[String], is_default_dir: bool) -> Option<Login> {
    let with_slash = {
        let mut text = OsString::from(dir.as_os_str());
        text.push("/");
        PathBuf::from(text)
    };
    let item = [dir.to_owned(), with_slash].into_iter().find_map(|form| {
        let name = hashed_name(form.as_os_str());
        items.contains(&name).then_some((form, name))
    });
    let file = Some(dir.join(FILE_NAME)).filter(|file| !is_default_dir && file.is_file());
    if item.is_none() && file.is_none() {
        return None;
    }
    let (form, keyring_item) = match item {
        Some((form, name)) => (form, Some(name)),
        None => (dir.to_owned(), None),
    };
    Some(Login {
        claude_config_dir: Some(form),
        credentials_file: file,
        keyring_item,
    })
}

/// `dir` without trailing slashes (but `/` stays).
fn without_trailing_slash(dir: &Path) -> PathBuf {
    let bytes = dir.as_os_str().as_bytes();
    let end = bytes.iter().rposition(|b| *b != b'/').map_or(1, |i| i + 1);
    PathBuf::from(OsStr::from_bytes(&bytes[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login_dir(home: &Path, name: &str, file: bool) -> PathBuf {
        let dir = home.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        if file {
            std::fs::write(dir.join(FILE_NAME), "{}").unwrap();
        }
        dir
    }

    #[test]
    fn files_and_hashed_items_are_matched_to_their_directories() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path();
        login_dir(home, ".claude", true);
        let work = login_dir(home, ".claude-work", true);
        let team = login_dir(home, ".claude-team", false);
        login_dir(home, ".claude-empty", false);
        std::fs::write(home.join(".claude.json"), "{}").unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let env_dir = login_dir(elsewhere.path(), "cc", true);
        let team_slash = format!("{}/", team.display());
        let items = vec![
            SERVICE.to_owned(),
            hashed_name(OsStr::new(&team_slash)),
            hashed_name(OsStr::new("/nowhere/.claude-gone")),
            "Some other service".to_owned(),
        ];
        let found = discover_in(Some(home), Some(env_dir.as_os_str()), Ok(items));
        assert_eq!(found.keyring_error, None);
        assert_eq!(
            found.unmatched_items,
            [hashed_name(OsStr::new("/nowhere/.claude-gone"))]
        );
        let dirs: Vec<_> = found
            .logins
            .iter()
            .map(|l| l.claude_config_dir.clone())
            .collect();
        let mut others = vec![work.clone(), PathBuf::from(&team_slash), env_dir.clone()];
        others.sort();
        let mut expected = vec![None];
        expected.extend(others.into_iter().map(Some));
        assert_eq!(dirs, expected);
        assert_eq!(
            found.logins[0],
            Login {
                claude_config_dir: None,
                credentials_file: Some(home.join(".claude").join(FILE_NAME)),
                keyring_item: Some(SERVICE.into()),
            }
        );
        let team_login = found
            .logins
            .iter()
            .find(|l| l.claude_config_dir.as_deref() == Some(Path::new(&team_slash)))
            .unwrap();
        assert_eq!(team_login.credentials_file, None);
        assert_eq!(
            team_login.keyring_item.as_deref(),
            Some(hashed_name(OsStr::new(&team_slash)).as_str())
        );
    }

    #[test]
    fn a_keyring_that_cannot_be_listed_still_finds_the_files() {
        let home = tempfile::tempdir().unwrap();
        login_dir(home.path(), ".claude-work", true);
        let found = discover_in(Some(home.path()), None, Err("no session bus".into()));
        assert_eq!(found.keyring_error.as_deref(), Some("no session bus"));
        assert_eq!(found.logins.len(), 1);
        assert!(found.unmatched_items.is_empty());
    }

    #[test]
    fn nothing_found_is_an_empty_discovery() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(
            discover_in(
                Some(home.path()),
                Some(OsStr::new("relative")),
                Ok(Vec::new())
            ),
            Discovery::default()
        );
        assert_eq!(
            without_trailing_slash(Path::new("/a/b//")),
            Path::new("/a/b")
        );
        assert_eq!(without_trailing_slash(Path::new("/")), Path::new("/"));
    }
}

//! The Claude Code logins the daemon reads, as `[[accounts]]` tables:
//! what the file may say ([`AccountEntry`]), the checked and resolved
//! [`Account`], and the implicit single account `default` when none is
//! configured. An account is a login, and a login is a directory: Claude
//! Code keeps each under its own `CLAUDE_CONFIG_DIR` (the file
//! `<dir>/.credentials.json`, or the Keychain / Secret Service item named
//! after a hash of the directory), so choosing an account is choosing a
//! directory and nothing here ever writes, copies or moves a credential.
//!
//! Shared by the daemon (its config, one credential chain per account)
//! and the CLI (which learns the resolved accounts from
//! `claude-quotad --check-config`).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The name of the account when none is configured, and the only account
/// that `CLAUDE_CODE_OAUTH_TOKEN` belongs to.
pub const DEFAULT_NAME: &str = "default";

/// The longest account name.
const MAX_NAME_LEN: usize = 32;

/// One `[[accounts]]` table as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry {
    /// The account's name: `[a-z0-9_-]{1,32}`, unique.
    pub name: String,
    /// The login's `CLAUDE_CONFIG_DIR`, `~` expanded; absent for Claude
    /// Code's default login.
    #[serde(default)]
    pub claude_config_dir: Option<String>,
    /// Lower is preferred; absent: the table's position in the file (the
    /// first is 1).
    #[serde(default)]
    pub priority: Option<i64>,
}

/// A configured account, checked: the login the daemon reads and reports
/// on, and the directory `claude-quota exec` starts Claude Code with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Account {
    /// Its name, unique among the accounts.
    pub name: String,
    /// The login's `CLAUDE_CONFIG_DIR`, exactly as Claude Code is to see
    /// it (`~` expanded, nothing else changed: Claude Code names its
    /// keyring item after a hash of this very string); `None` for Claude
    /// Code's default login.
    pub claude_config_dir: Option<PathBuf>,
    /// Lower is preferred.
    pub priority: i64,
}

impl Account {
    /// The one account there is when no `[[accounts]]` is configured:
    /// `default`, Claude Code's default login, which is today's behaviour.
    pub fn implicit() -> Self {
        Account {
            name: DEFAULT_NAME.to_owned(),
            claude_config_dir: None,
            priority: 0,
        }
    }

    /// Whether `CLAUDE_CODE_OAUTH_TOKEN` may stand for this account: only
    /// for the one named `default`, as one variable cannot hold several
    /// logins and must not be read as every account's.
    pub fn owns_env_token(&self) -> bool {
        self.name == DEFAULT_NAME
    }

    /// The directory as the wire carries it (`claude_config_dir` of a
    /// reply or of `status.accounts`).
    pub fn config_dir_string(&self) -> Option<String> {
        self.claude_config_dir
            .as_ref()
            .map(|dir| dir.to_string_lossy().into_owned())
    }
}

/// Whether two spellings name one login directory: the same string but
/// for a trailing slash, or the same directory on disk. The daemon matches
/// a push's `claude_config_dir` with it, and the CLI a Claude Code
/// session's `CLAUDE_CONFIG_DIR`, so both read a directory alike.
pub fn same_dir(own: &Path, asked: &str) -> bool {
    let trim = |s: &str| s.trim_end_matches('/').to_owned();
    if trim(&own.to_string_lossy()) == trim(asked) {
        return true;
    }
    match (std::fs::canonicalize(own), std::fs::canonicalize(asked)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The accounts to run on: the implicit `default` when `entries` is empty,
/// else every entry checked and resolved, in order of preference (lowest
/// `priority` first; equal priorities keep their order in the file). `~`
/// is the home directory of this user.
pub fn resolve(entries: &[AccountEntry]) -> Result<Vec<Account>, AccountError> {
    resolve_with_home(entries, dirs::home_dir().as_deref())
}

/// [`resolve`] with the home directory given (`None`: unknown, so a `~`
/// cannot be expanded), for tests.
pub fn resolve_with_home(
    entries: &[AccountEntry],
    home: Option<&Path>,
) -> Result<Vec<Account>, AccountError> {
    if entries.is_empty() {
        return Ok(vec![Account::implicit()]);
    }
    let mut accounts = Vec::with_capacity(entries.len());
    // Each directory as the file system knows it, to find two spellings
    // of one directory.
    let mut real_dirs: Vec<Option<PathBuf>> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        check_name(index, &entry.name)?;
        if let Some(first) = entries[..index].iter().position(|e| e.name == entry.name) {
            return Err(AccountError {
                index,
                key: AccountKey::Name,
                value: format!("{:?}", entry.name),
                allowed: format!("a name no other account has (accounts[{first}] has it too)"),
            });
        }
        let dir = entry
            .claude_config_dir
            .as_deref()
            .map(|written| resolve_dir(index, written, home))
            .transpose()?;
        let real = dir
            .as_deref()
            .map(|dir| real_dir(index, entry, dir))
            .transpose()?;
        if let Some(first) = real_dirs.iter().position(|other| *other == real) {
            let what = match &real {
                Some(real) => format!("{} is also", real.display()),
                None => "the default login (no claude_config_dir) is also".to_owned(),
            };
            return Err(AccountError {
                index,
                key: AccountKey::ClaudeConfigDir,
                value: entry
                    .claude_config_dir
                    .as_deref()
                    .map_or_else(|| "(absent)".to_owned(), |dir| format!("{dir:?}")),
                allowed: format!(
                    "a login no other account reads ({what} accounts[{first}] = {:?})",
                    entries[first].name
                ),
            });
        }
        real_dirs.push(real);
        let position = i64::try_from(index).unwrap_or(i64::MAX - 1) + 1;
        accounts.push(Account {
            name: entry.name.clone(),
            claude_config_dir: dir,
            priority: entry.priority.unwrap_or(position),
        });
    }
    // Stable: equal priorities keep the file's order.
    accounts.sort_by_key(|account| account.priority);
    Ok(accounts)
}

/// Checks a name against `[a-z0-9_-]{1,32}`: it appears in replies,
/// status lines and shell aliases, so it stays plain.
fn check_name(index: usize, name: &str) -> Result<(), AccountError> {
    let plain = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
    if (1..=MAX_NAME_LEN).contains(&name.len()) && name.bytes().all(plain) {
        return Ok(());
    }
    Err(AccountError {
        index,
        key: AccountKey::Name,
        value: format!("{name:?}"),
        allowed: format!(
            "1 to {MAX_NAME_LEN} lowercase letters, digits, '_' or '-' ([a-z0-9_-]{{1,{MAX_NAME_LEN}}})"
        ),
    })
}

/// The directory as written, `~` expanded: it must then be absolute, as
/// the daemon and every Claude Code session must read it the same way
/// whatever their working directory.
fn resolve_dir(index: usize, written: &str, home: Option<&Path>) -> Result<PathBuf, AccountError> {
    let refuse = |allowed: String| AccountError {
        index,
        key: AccountKey::ClaudeConfigDir,
        value: format!("{written:?}"),
        allowed,
    };
    let dir = match written.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let home = home.ok_or_else(|| {
                refuse("an absolute path (the home directory for ~ is unknown)".into())
            })?;
            let mut expanded = home.as_os_str().to_owned();
            expanded.push(rest);
            PathBuf::from(expanded)
        }
        Some(_) => {
            return Err(refuse(
                "an absolute path or one under ~/ (~user is not expanded)".into(),
            ));
        }
        None => PathBuf::from(written),
    };
    if !dir.is_absolute() {
        return Err(refuse("an absolute path or one under ~/".into()));
    }
    Ok(dir)
}

/// The directory as the file system knows it (links followed): it must
/// exist, as a login cannot live in a directory that does not.
fn real_dir(index: usize, entry: &AccountEntry, dir: &Path) -> Result<PathBuf, AccountError> {
    let refuse = |why: String| AccountError {
        index,
        key: AccountKey::ClaudeConfigDir,
        value: format!(
            "{:?}",
            entry.claude_config_dir.as_deref().unwrap_or_default()
        ),
        allowed: format!("an existing directory ({}: {why})", dir.display()),
    };
    let real = std::fs::canonicalize(dir).map_err(|err| refuse(err.to_string()))?;
    if !real.is_dir() {
        return Err(refuse("not a directory".into()));
    }
    Ok(real)
}

/// The key of an `[[accounts]]` table a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKey {
    /// `name`.
    Name,
    /// `claude_config_dir`.
    ClaudeConfigDir,
}

impl AccountKey {
    /// The key as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKey::Name => "name",
            AccountKey::ClaudeConfigDir => "claude_config_dir",
        }
    }
}

impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `[[accounts]]` table that cannot be used: which one (by its
/// position in the file), which key, its value and what it must be
/// instead, so the daemon's config error can name the file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("accounts[{index}].{key} = {value} is not allowed: must be {allowed}")]
pub struct AccountError {
    /// The table's position among the `[[accounts]]` tables, from 0.
    pub index: usize,
    /// The key refused.
    pub key: AccountKey,
    /// Its value, quoted as written (or `(absent)`).
    pub value: String,
    /// What it must be instead, and why this one is not.
    pub allowed: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, dir: Option<&str>, priority: Option<i64>) -> AccountEntry {
        AccountEntry {
            name: name.into(),
            claude_config_dir: dir.map(Into::into),
            priority,
        }
    }

    #[test]
    fn no_tables_is_the_implicit_default_login() {
        let accounts = resolve_with_home(&[], None).unwrap();
        assert_eq!(accounts, [Account::implicit()]);
        assert_eq!(accounts[0].name, "default");
        assert_eq!(accounts[0].claude_config_dir, None);
        assert!(accounts[0].owns_env_token());
    }

    #[test]
    fn tilde_is_expanded_and_nothing_else_is_changed() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".claude-work")).unwrap();
        let accounts = resolve_with_home(
            &[entry("work", Some("~/.claude-work/"), None)],
            Some(home.path()),
        )
        .unwrap();
        let mut expected = home.path().as_os_str().to_owned();
        expected.push("/.claude-work/");
        assert_eq!(
            accounts[0].claude_config_dir.as_deref(),
            Some(Path::new(&expected))
        );
        assert!(
            accounts[0]
                .config_dir_string()
                .unwrap()
                .ends_with("/.claude-work/"),
            "the trailing slash stays: Claude Code hashes the raw string"
        );
        assert!(!accounts[0].owns_env_token());
    }

    #[test]
    fn priority_defaults_to_the_order_in_the_file_and_ties_keep_it() {
        let home = tempfile::tempdir().unwrap();
        for dir in ["a", "b", "c"] {
            std::fs::create_dir(home.path().join(dir)).unwrap();
        }
        let accounts = resolve_with_home(
            &[
                entry("first", Some("~/a"), None),
                entry("second", Some("~/b"), Some(0)),
                entry("third", None, Some(1)),
                entry("fourth", Some("~/c"), None),
            ],
            Some(home.path()),
        )
        .unwrap();
        let order: Vec<_> = accounts
            .iter()
            .map(|a| (a.name.as_str(), a.priority))
            .collect();
        assert_eq!(
            order,
            [("second", 0), ("first", 1), ("third", 1), ("fourth", 4)]
        );
    }

    #[test]
    fn names_are_plain_and_unique() {
        for bad in ["", "Work", "wörk", "a b", "a.b", &"x".repeat(33)] {
            let err = resolve_with_home(&[entry(bad, None, None)], None).unwrap_err();
            assert_eq!((err.index, err.key), (0, AccountKey::Name), "{bad:?}");
        }
        resolve_with_home(&[entry(&"x".repeat(32), None, None)], None).unwrap();
        resolve_with_home(&[entry("team_2-b", None, None)], None).unwrap();
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join("w")).unwrap();
        let err = resolve_with_home(
            &[entry("work", None, None), entry("work", Some("~/w"), None)],
            Some(home.path()),
        )
        .unwrap_err();
        assert_eq!((err.index, err.key), (1, AccountKey::Name));
        assert_eq!(
            err.to_string(),
            "accounts[1].name = \"work\" is not allowed: must be a name no other account has (accounts[0] has it too)"
        );
    }

    #[test]
    fn two_spellings_of_one_directory_and_two_default_logins_are_refused() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join("w")).unwrap();
        let absolute = home.path().join("w/").display().to_string();
        let err = resolve_with_home(
            &[
                entry("a", Some("~/w"), None),
                entry("b", Some(&absolute), None),
            ],
            Some(home.path()),
        )
        .unwrap_err();
        assert_eq!((err.index, err.key), (1, AccountKey::ClaudeConfigDir));
        assert!(err.to_string().contains("accounts[0] = \"a\""), "{err}");

        let err =
            resolve_with_home(&[entry("a", None, None), entry("b", None, None)], None).unwrap_err();
        assert_eq!((err.index, err.key), (1, AccountKey::ClaudeConfigDir));
        assert!(err.to_string().contains("default login"), "{err}");
    }

    #[test]
    fn a_directory_must_exist_be_a_directory_and_be_absolute() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("file"), "").unwrap();
        for (written, why) in [
            ("~/missing", "No such file"),
            ("~/file", "not a directory"),
            ("relative/dir", "absolute path"),
            ("~other/dir", "~user is not expanded"),
        ] {
            let err = resolve_with_home(&[entry("a", Some(written), None)], Some(home.path()))
                .unwrap_err();
            assert_eq!(err.key, AccountKey::ClaudeConfigDir, "{written}");
            assert!(err.to_string().contains(why), "{written}: {err}");
        }
        let err = resolve_with_home(&[entry("a", Some("~/x"), None)], None).unwrap_err();
        assert!(err.to_string().contains("home directory"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_refused() {
        let err = serde_json::from_str::<AccountEntry>(r#"{"name":"a","prio":1}"#).unwrap_err();
        assert!(err.to_string().contains("prio"), "{err}");
    }
}

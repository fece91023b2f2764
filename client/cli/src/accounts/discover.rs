//! `claude-quota accounts discover`: prints the Claude Code logins found
//! on this machine (claude_quota_credentials::discover) as a ready
//! `[[accounts]]` snippet. It writes nothing and never reads a secret:
//! only which files exist and what the keyring's items are called.

use std::io::Write;
use std::process::ExitCode;

use claude_quota_credentials::accounts::DEFAULT_NAME;
use claude_quota_credentials::discover::{Discovery, Login};
use serde::Serialize;

/// The longest account name the config takes.
const MAX_NAME: usize = 32;

/// A login found, named for the snippet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Named {
    /// The name proposed.
    name: String,
    /// Its `CLAUDE_CONFIG_DIR`; `None` for the default login.
    claude_config_dir: Option<String>,
    /// Its credentials file, when there is one.
    credentials_file: Option<String>,
    /// Its keyring item, when there is one.
    keyring_item: Option<String>,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct Report<'a> {
    logins: Vec<Named>,
    unmatched_items: &'a [String],
    keyring_error: Option<&'a str>,
}

/// Looks (off the runtime: the keyring is asked over D-Bus or through
/// `security`) and prints the snippet, or the findings as JSON.
pub async fn run(json: bool) -> anyhow::Result<ExitCode> {
    let found = tokio::task::spawn_blocking(claude_quota_credentials::discover::discover).await?;
    let home = dirs_home();
    let logins = named(&found.logins);
    let mut out = std::io::stdout().lock();
    if json {
        let report = Report {
            logins,
            unmatched_items: &found.unmatched_items,
            keyring_error: found.keyring_error.as_deref(),
        };
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", snippet(&logins, &found, home.as_deref()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `$HOME`, to write directories under it as `~/…`.
fn dirs_home() -> Option<String> {
    std::env::var("HOME")
        .ok()
        .filter(|home| home.starts_with('/'))
}

/// Each login with a name: `default` for the default login, else from its
/// directory (`~/.claude-work` → `work`), made unique.
fn named(logins: &[Login]) -> Vec<Named> {
    let mut taken: Vec<String> = Vec::new();
    logins
        .iter()
        .map(|login| {
            let dir = login
                .claude_config_dir
                .as_ref()
                .map(|dir| dir.to_string_lossy().into_owned());
            let base = dir.as_deref().map_or(DEFAULT_NAME.to_owned(), name_for);
            let mut name = base.clone();
            let mut n = 2;
            while taken.contains(&name) {
                let suffix = format!("-{n}");
                let keep = base.len().min(MAX_NAME - suffix.len());
                name = format!("{}{suffix}", &base[..keep]);
                n += 1;
            }
            taken.push(name.clone());
            Named {
                name,
                claude_config_dir: dir,
                credentials_file: login
                    .credentials_file
                    .as_ref()
                    .map(|file| file.display().to_string()),
                keyring_item: login.keyring_item.clone(),
            }
        })
        .collect()
}

/// A name from a directory's last part, without `.claude` and separators,
/// kept to `[a-z0-9_-]{1,32}`: `~/.claude-work` → `work`.
fn name_for(dir: &str) -> String {
    let last = dir
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let bare = last.trim_start_matches('.');
    let bare = bare.strip_prefix("claude").unwrap_or(bare);
    let name: String = bare
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' | '-' => c,
            _ => '-',
        })
        .collect();
    let name = name.trim_matches(|c| c == '-' || c == '_');
    let name: String = name.chars().take(MAX_NAME).collect();
    if name.is_empty() {
        "claude".to_owned()
    } else {
        name
    }
}

/// The snippet: what was found, as comments, then one `[[accounts]]`
/// table per login.
fn snippet(logins: &[Named], found: &Discovery, home: Option<&str>) -> String {
    let mut out = String::new();
    let show = |path: &str| tilde(path, home);
    // A path may hold a newline, which would end a comment and start TOML.
    let said = |text: String| text.replace(|c: char| c.is_control(), "?");
    if logins.is_empty() {
        out.push_str("# No Claude Code login found under ~/.claude* or $CLAUDE_CONFIG_DIR");
        out.push_str(if found.keyring_error.is_some() {
            ""
        } else {
            " or in the keyring"
        });
        out.push_str(".\n# Log in with `claude` (Claude Code), with CLAUDE_CONFIG_DIR set for each further login.\n");
    } else {
        out.push_str(
            "# Claude Code logins on this machine (nothing was written, no token was read):\n",
        );
    }
    for login in logins {
        let mut places = Vec::new();
        if let Some(file) = &login.credentials_file {
            places.push(show(file));
        }
        if let Some(item) = &login.keyring_item {
            places.push(format!("keyring item {item:?}"));
        }
        let what = match &login.claude_config_dir {
            Some(dir) => show(dir),
            None => "the default login".to_owned(),
        };
        let line = format!("{}: {what} ({})", login.name, places.join(", "));
        out.push_str(&format!("#   {}\n", said(line)));
    }
    for item in &found.unmatched_items {
        out.push_str(&format!(
            "# The keyring item {:?} belongs to a directory not looked in: run `claude-quota accounts discover` with CLAUDE_CONFIG_DIR set to it.\n",
            said(item.clone())
        ));
    }
    if let Some(err) = &found.keyring_error {
        out.push_str(&format!(
            "# The keyring could not be listed ({}): only files were found.\n",
            said(err.clone())
        ));
    }
    if logins.is_empty() {
        return out;
    }
    out.push_str("# Add to claude-quota's config.toml, check it with `claude-quotad --check-config`, then reload the daemon (SIGHUP).\n");
    for login in logins {
        out.push_str(&format!("\n[[accounts]]\nname = {}\n", quoted(&login.name)));
        if let Some(dir) = &login.claude_config_dir {
            out.push_str(&format!("claude_config_dir = {}\n", quoted(&show(dir))));
        }
    }
    out
}

/// `path` with the home directory written `~`, exactly as the config
/// expands it back (so a trailing slash stays).
fn tilde(path: &str, home: Option<&str>) -> String {
    match home.filter(|home| !home.ends_with('/')) {
        Some(home) => match path.strip_prefix(home) {
            Some(rest) if rest.starts_with('/') => format!("~{rest}"),
            _ => path.to_owned(),
        },
        None => path.to_owned(),
    }
}

/// A TOML basic string: JSON's escapes are all TOML's.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn login(dir: Option<&str>, file: bool, item: Option<&str>) -> Login {
        Login {
            claude_config_dir: dir.map(PathBuf::from),
            credentials_file: file.then(|| {
                PathBuf::from(dir.unwrap_or("/home/ada/.claude")).join(".credentials.json")
            }),
            keyring_item: item.map(Into::into),
        }
    }

    #[test]
    fn names_come_from_the_directories_and_stay_unique() {
        assert_eq!(name_for("/home/ada/.claude-work"), "work");
        assert_eq!(name_for("/home/ada/.claude_Team.EU/"), "team-eu");
        assert_eq!(name_for("/home/ada/.claude"), "claude");
        assert_eq!(name_for("/srv/claude-accounts/Personal"), "personal");
        assert_eq!(name_for(&format!("/x/{}", "a".repeat(40))).len(), 32);
        let logins = named(&[
            login(None, true, None),
            login(Some("/a/.claude-work"), true, None),
            login(
                Some("/b/.claude-work/"),
                false,
                Some("Claude Code-credentials-0123abcd"),
            ),
            login(Some("/c/default"), true, None),
        ]);
        let names: Vec<&str> = logins.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["default", "work", "work-2", "default-2"]);
    }

    #[test]
    fn the_snippet_names_what_was_found_and_never_a_secret() {
        let found = Discovery {
            logins: vec![
                login(None, true, Some("Claude Code-credentials")),
                login(Some("/home/ada/.claude-work"), true, None),
                login(
                    Some("/home/ada/.claude-team/"),
                    false,
                    Some("Claude Code-credentials-8bd6f0f5"),
                ),
                login(Some("/srv/odd \"dir\"\n[x]"), true, None),
            ],
            unmatched_items: vec!["Claude Code-credentials-deadbeef".into()],
            keyring_error: None,
        };
        let logins = named(&found.logins);
        insta::assert_snapshot!(snippet(&logins, &found, Some("/home/ada")));
    }

    #[test]
    fn nothing_found_says_how_to_log_in() {
        let found = Discovery {
            keyring_error: Some("Secret Service: no session bus".into()),
            ..Discovery::default()
        };
        insta::assert_snapshot!(snippet(&[], &found, Some("/home/ada")));
    }
}

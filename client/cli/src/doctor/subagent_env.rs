//! The subagent-model check: is `CLAUDE_CODE_SUBAGENT_MODEL` set where
//! Claude Code reads it? It names the model of every subagent, and in some
//! Claude Code versions it wins over the `model` the hook sets (2.1.328
//! lets the hook's win), so with it the hook may not move subagents by
//! tier. Only a warning: routers get correct answers either way.

use std::path::{Path, PathBuf};

use crate::setup::{self, ClaudePaths};

use super::check::Check;

/// The check's name.
const NAME: &str = "subagents";

/// The variable.
const VARIABLE: &str = "CLAUDE_CODE_SUBAGENT_MODEL";

/// Where it is set, if anywhere: this environment (which Claude Code,
/// started from here, inherits), then the `env` of every settings file
/// Claude Code reads for a session started in the current directory.
pub fn check() -> Check {
    let mut found = Vec::new();
    if let Some(value) = std::env::var_os(VARIABLE).filter(|v| !v.is_empty()) {
        found.push(format!(
            "{VARIABLE}={} in the environment",
            value.to_string_lossy()
        ));
    }
    for file in settings_files() {
        if let Some(value) = in_settings(&file) {
            found.push(format!("{VARIABLE}={value} in {}", file.display()));
        }
    }
    if found.is_empty() {
        return Check::ok(
            NAME,
            format!("{VARIABLE} is not set: the hook decides the subagents' model"),
        );
    }
    Check::warn(
        NAME,
        format!(
            "{}; some Claude Code versions then run every subagent on that model whatever the hook answers",
            found.join("; ")
        ),
        format!("remove {VARIABLE} so the hook can move subagents by tier"),
    )
}

/// The settings files with an `env` Claude Code applies: the user's, the
/// current project's shared and local ones, and the managed one.
fn settings_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(paths) = ClaudePaths::from_env() {
        files.push(paths.settings);
    }
    if let Ok(dir) = std::env::current_dir() {
        files.push(dir.join(".claude/settings.json"));
        files.push(dir.join(".claude/settings.local.json"));
    }
    files.push(PathBuf::from(if cfg!(target_os = "macos") {
        "/Library/Application Support/ClaudeCode/managed-settings.json"
    } else {
        "/etc/claude-code/managed-settings.json"
    }));
    files
}

/// The variable's value in the `env` of the settings at `file`, if set.
fn in_settings(file: &Path) -> Option<String> {
    let settings = setup::read_settings(file).ok()?;
    let env = settings.get("env")?.read::<serde_json::Value>()?;
    match &env[VARIABLE] {
        serde_json::Value::String(value) if !value.is_empty() => Some(value.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_is_found_in_a_settings_files_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("settings.json");
        std::fs::write(
            &file,
            r#"{"env":{"CLAUDE_CODE_SUBAGENT_MODEL":"opus","A":"1"}}"#,
        )
        .unwrap();
        assert_eq!(in_settings(&file).as_deref(), Some("opus"));
        std::fs::write(&file, r#"{"env":{"A":"1"}}"#).unwrap();
        assert_eq!(in_settings(&file), None);
        std::fs::write(&file, "not json").unwrap();
        assert_eq!(in_settings(&file), None);
        assert_eq!(in_settings(&dir.path().join("absent.json")), None);
    }
}

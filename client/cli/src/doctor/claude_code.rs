//! The Claude Code check: does Claude Code run this claude-quota as its
//! status line (which pushes readings and spares the usage API), as its
//! hook on subagents, session starts and prompts, and as an MCP server?
//! Only a warning: routers get correct answers either way.

use crate::setup::{self, ClaudePaths, EVENTS, HOOK, STATUSLINE, Server};

use super::check::Check;

/// The check's name.
const NAME: &str = "claude_code";

/// What wires it up.
const SETUP: &str = "`claude-quota setup claude-code`";

/// The check, and whether Claude Code runs this claude-quota as its status
/// line (the `pushes` check says nothing against a wired status line).
#[derive(Debug)]
pub struct Wired {
    /// The finding.
    pub check: Check,
    /// Whether the status line runs this claude-quota.
    pub status_line_wired: bool,
}

/// Reads Claude Code's settings and state file and says what is missing.
pub fn check() -> Wired {
    let unwired = |check| Wired {
        check,
        status_line_wired: false,
    };
    let paths = match ClaudePaths::from_env() {
        Ok(paths) => paths,
        Err(err) => {
            return unwired(Check::warn(
                NAME,
                format!("not checked: {err:#}"),
                "set HOME",
            ));
        }
    };
    let settings = match setup::read_settings(&paths.settings) {
        Ok(settings) => settings,
        Err(err) => {
            return unwired(Check::warn(
                NAME,
                format!("{err:#}"),
                format!("fix {}, then {SETUP}", paths.settings.display()),
            ));
        }
    };
    let found = setup::find(&settings);
    let status_line_wired = found
        .status_line
        .as_deref()
        .is_some_and(|line| elsewhere("", line, STATUSLINE).is_none());
    let mut missing = Vec::new();
    match &found.status_line {
        None => missing.push("no status line".to_owned()),
        Some(line) => missing.extend(elsewhere("the status line", line, STATUSLINE)),
    }
    for ((event, _), (_, command)) in EVENTS.iter().zip(&found.hooks) {
        match command {
            None => missing.push(format!("no {event} hook")),
            Some(command) => missing.extend(elsewhere(&format!("the {event} hook"), command, HOOK)),
        }
    }
    match Server::read(&paths.state) {
        Ok(Server::Absent) => missing.push("no MCP server".to_owned()),
        Ok(server) if !server.is_ours() => missing.push(format!(
            "the MCP server named {} runs `{}`",
            setup::MCP_SERVER,
            server.describe()
        )),
        Ok(server) if !server.runs_this_binary() => missing.push(format!(
            "the MCP server runs `{}`, not this claude-quota",
            server.describe()
        )),
        Ok(_) => {}
        Err(err) => missing.push(format!("{err:#}")),
    }
    let total = 2 + EVENTS.len();
    let check = if missing.is_empty() {
        Check::ok(
            NAME,
            format!(
                "status line, hooks and MCP server run this claude-quota ({})",
                paths.settings.display()
            ),
        )
    } else if missing.len() == total && missing.iter().all(|m| m.starts_with("no ")) {
        Check::warn(
            NAME,
            format!("not wired up ({})", paths.settings.display()),
            format!("{SETUP} adds the status line, the hooks and the MCP server"),
        )
    } else {
        Check::warn(
            NAME,
            format!("{} ({})", missing.join("; "), paths.settings.display()),
            format!("{SETUP} (--force replaces a status line of your own)"),
        )
    };
    Wired {
        check,
        status_line_wired,
    }
}

/// What is wrong with a settings command for `subcommand`, if anything:
/// not ours, or not this binary.
fn elsewhere(what: &str, command: &str, subcommand: &str) -> Option<String> {
    if !setup::is_ours(command, subcommand) {
        Some(format!("{what} runs `{command}`, not claude-quota"))
    } else if !setup::runs_this_binary(command) {
        Some(format!("{what} runs `{command}`, not this claude-quota"))
    } else {
        None
    }
}

//! What `setup claude-code` writes into Claude Code's settings, and how its
//! entries are told from the user's own: a command whose program is a
//! `claude-quota` and whose only argument is ours.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The program's name, as on PATH.
pub const PROGRAM: &str = "claude-quota";

/// The subcommand Claude Code runs as its status line.
pub const STATUSLINE: &str = "statusline";

/// The subcommand Claude Code runs for hook events.
pub const HOOK: &str = "hook";

/// The subcommand Claude Code runs as the MCP server.
pub const MCP: &str = "mcp";

/// How the commands name this binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wiring {
    program: String,
}

impl Wiring {
    /// `claude-quota` when that name on PATH is this very binary, so that
    /// an upgrade in place keeps working; else this binary's absolute path,
    /// since Claude Code would otherwise run another one, or none.
    pub fn for_this_binary() -> anyhow::Result<Wiring> {
        let exe = this_binary()?;
        let on_path = which::which(PROGRAM)
            .ok()
            .and_then(|p| p.canonicalize().ok());
        if on_path.as_deref() == Some(exe.as_path()) {
            return Ok(Wiring::named(PROGRAM));
        }
        let program = exe
            .to_str()
            .with_context(|| format!("{} is not valid UTF-8", exe.display()))?;
        Ok(Wiring::named(program))
    }

    /// Commands naming `program`.
    pub fn named(program: &str) -> Wiring {
        Wiring {
            program: program.to_owned(),
        }
    }

    /// The program as an argument vector gives it (the MCP server's
    /// `command`).
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The shell command running `subcommand`, quoted for the shell Claude
    /// Code runs it with.
    pub fn command(&self, subcommand: &str) -> String {
        let program = shlex::try_quote(&self.program)
            .map(|quoted| quoted.into_owned())
            .unwrap_or_else(|_| self.program.clone());
        format!("{program} {subcommand}")
    }
}

/// Whether a settings command is one `setup` writes for `subcommand`: a
/// `claude-quota` (by any path) followed by exactly that word.
pub fn is_ours(command: &str, subcommand: &str) -> bool {
    match shlex::split(command).as_deref() {
        Some([program, word]) => word == subcommand && is_program(program),
        _ => false,
    }
}

/// Whether `program` (an absolute path, or a name looked up on PATH) is a
/// `claude-quota`.
pub fn is_program(program: &str) -> bool {
    Path::new(program)
        .file_name()
        .is_some_and(|name| name == PROGRAM)
}

/// Whether the settings command's program is this very binary (found on
/// PATH when it is a bare name).
pub fn runs_this_binary(command: &str) -> bool {
    let Some(words) = shlex::split(command) else {
        return false;
    };
    words
        .first()
        .is_some_and(|program| program_is_this_binary(program))
}

/// Whether `program` resolves to this very binary.
pub fn program_is_this_binary(program: &str) -> bool {
    let resolved = which::which(program)
        .ok()
        .and_then(|p| p.canonicalize().ok());
    match (resolved, this_binary()) {
        (Some(resolved), Ok(exe)) => resolved == exe,
        _ => false,
    }
}

fn this_binary() -> anyhow::Result<PathBuf> {
    std::env::current_exe()
        .and_then(|exe| exe.canonicalize())
        .context("cannot locate the running claude-quota")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_quote_the_program_for_the_shell() {
        assert_eq!(Wiring::named(PROGRAM).command(HOOK), "claude-quota hook");
        let spaced = Wiring::named("/Users/a b/bin/claude-quota");
        assert_eq!(spaced.command(HOOK), "'/Users/a b/bin/claude-quota' hook");
        assert!(is_ours(&spaced.command(HOOK), HOOK));
    }

    #[test]
    fn ours_is_a_claude_quota_with_exactly_our_word() {
        assert!(is_ours("claude-quota statusline", STATUSLINE));
        assert!(is_ours("/opt/bin/claude-quota statusline", STATUSLINE));
        assert!(!is_ours("claude-quota statusline --prefix x", STATUSLINE));
        assert!(!is_ours("claude-quota hook", STATUSLINE));
        assert!(!is_ours("~/bin/my-line.sh", STATUSLINE));
        assert!(!is_ours("claude-quota-fork statusline", STATUSLINE));
        assert!(!is_ours("'unterminated", STATUSLINE));
    }
}

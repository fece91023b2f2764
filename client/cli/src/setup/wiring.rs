//! What `setup claude-code` writes into Claude Code's settings, and how its
//! entries are told from the user's own: a command whose program is a
//! `claude-quota` and whose arguments are ours (our word, and `--socket
//! PATH` when the daemon is on a socket a bare command would not find).

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

/// The flag naming the daemon's socket.
const SOCKET_FLAG: &str = "--socket";

/// How the commands name this binary and the daemon's socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wiring {
    program: String,
    /// The socket to name with `--socket`; `None` for the one a command
    /// finds by itself.
    socket: Option<String>,
}

impl Wiring {
    /// `claude-quota` when that name on PATH is this very binary, so that
    /// an upgrade in place keeps working; else this binary's absolute path,
    /// since Claude Code would otherwise run another one, or none. The
    /// daemon's `socket` is named in the commands unless a command started
    /// with a small environment finds it by itself (a host may start the
    /// MCP server without `XDG_RUNTIME_DIR`, `TMPDIR` or
    /// `CLAUDE_QUOTA_SOCKET`).
    pub fn for_this_binary(socket: &Path) -> anyhow::Result<Wiring> {
        let exe = this_binary()?;
        let on_path = which::which(PROGRAM)
            .ok()
            .and_then(|p| p.canonicalize().ok());
        let mut wiring = if on_path.as_deref() == Some(exe.as_path()) {
            Wiring::named(PROGRAM)
        } else {
            Wiring::named(utf8(&exe)?)
        };
        if socket != claude_quota_proto::bare_socket_path() {
            wiring.socket = Some(utf8(socket)?.to_owned());
        }
        Ok(wiring)
    }

    /// Commands naming `program`, finding the socket by themselves.
    pub fn named(program: &str) -> Wiring {
        Wiring {
            program: program.to_owned(),
            socket: None,
        }
    }

    /// The same commands naming `socket`.
    #[cfg(test)]
    pub fn on_socket(mut self, socket: &str) -> Wiring {
        self.socket = Some(socket.to_owned());
        self
    }

    /// The program as an argument vector gives it (the MCP server's
    /// `command`).
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The arguments running `subcommand`: the word, then `--socket PATH`
    /// when the socket is named.
    pub fn args(&self, subcommand: &str) -> Vec<String> {
        let mut args = vec![subcommand.to_owned()];
        if let Some(socket) = &self.socket {
            args.extend([SOCKET_FLAG.to_owned(), socket.clone()]);
        }
        args
    }

    /// The shell command running `subcommand`, quoted for the shell Claude
    /// Code runs it with.
    pub fn command(&self, subcommand: &str) -> String {
        let words = std::iter::once(self.program.clone()).chain(self.args(subcommand));
        words
            .map(|word| {
                shlex::try_quote(&word)
                    .map(|quoted| quoted.into_owned())
                    .unwrap_or(word)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn utf8(path: &Path) -> anyhow::Result<&str> {
    path.to_str()
        .with_context(|| format!("{} is not valid UTF-8", path.display()))
}

/// Whether a settings command is one `setup` writes for `subcommand`: a
/// `claude-quota` (by any path) followed by exactly that word, and maybe
/// `--socket PATH`.
pub fn is_ours(command: &str, subcommand: &str) -> bool {
    match shlex::split(command) {
        Some(words) => match words.split_first() {
            Some((program, args)) => is_program(program) && are_ours(args, subcommand),
            None => false,
        },
        None => false,
    }
}

/// Whether `args` are what setup writes for `subcommand`.
pub fn are_ours(args: &[String], subcommand: &str) -> bool {
    match args {
        [word] => word == subcommand,
        [word, flag, _] => word == subcommand && flag == SOCKET_FLAG,
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
    fn a_socket_of_its_own_is_named_in_every_command() {
        let wiring = Wiring::named(PROGRAM).on_socket("/run/x y/q.sock");
        assert_eq!(
            wiring.command(HOOK),
            "claude-quota hook --socket '/run/x y/q.sock'"
        );
        assert_eq!(wiring.args(MCP), ["mcp", "--socket", "/run/x y/q.sock"]);
        assert!(is_ours(&wiring.command(HOOK), HOOK));
        assert!(!is_ours("claude-quota hook --prefix x", HOOK));
        assert!(!is_ours("claude-quota statusline --socket", STATUSLINE));
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

//! The MCP server in Claude Code's user scope. Claude Code keeps user-scope
//! servers in its own state file (`~/.claude.json`, `mcpServers`), which it
//! rewrites all the time and does not document as an interface; its
//! documented way in is `claude mcp add --scope user` / `claude mcp remove`.
//! So the file is only read here (is our server there, and what does it
//! run?) and every change goes through the `claude` command.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use super::note::{Note, Verb};
use super::wiring::{MCP, Wiring, are_ours, is_program, program_is_this_binary};
use crate::service::plan::Cmd;

/// The server's name in Claude Code (its tools show as
/// `mcp__claude-quota__…`).
pub const SERVER: &str = "claude-quota";

/// The most of Claude Code's state file that is read: it holds every
/// project's history and grows to many MiB; beyond this it is not read.
const MAX_STATE_FILE: u64 = 256 * 1024 * 1024;

/// Our server as Claude Code has it, if at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// No server of our name.
    Absent,
    /// A server of our name running this program and arguments.
    Present {
        /// Its `command`.
        command: String,
        /// Its `args`.
        args: Vec<String>,
    },
}

#[derive(Debug, Deserialize)]
struct StateFile {
    #[serde(default, rename = "mcpServers")]
    mcp_servers: Option<HashMap<String, Entry>>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
}

impl Server {
    /// Our server in Claude Code's state file at `path` (absent when the
    /// file is).
    pub fn read(path: &Path) -> anyhow::Result<Server> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Server::Absent),
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
        };
        // Streamed: only `mcpServers` is kept, the rest is skipped.
        let reader = BufReader::new(file.take(MAX_STATE_FILE));
        let state: StateFile = serde_json::from_reader(reader).with_context(|| {
            format!(
                "cannot read the MCP servers in {} (not JSON, or larger than {} MiB)",
                path.display(),
                MAX_STATE_FILE / (1024 * 1024)
            )
        })?;
        let entry = state
            .mcp_servers
            .and_then(|mut servers| servers.remove(SERVER));
        Ok(match entry {
            Some(entry) => Server::Present {
                command: entry.command.unwrap_or_default(),
                args: entry.args,
            },
            None => Server::Absent,
        })
    }

    /// Whether it runs `claude-quota mcp` (any `claude-quota`, on any
    /// socket).
    pub fn is_ours(&self) -> bool {
        matches!(self, Server::Present { command, args } if is_program(command) && are_ours(args, MCP))
    }

    /// Whether it runs this very binary.
    pub fn runs_this_binary(&self) -> bool {
        matches!(self, Server::Present { command, .. } if program_is_this_binary(command))
    }

    /// Whether it runs exactly what `wiring` names.
    fn is_exactly(&self, wiring: &Wiring) -> bool {
        matches!(self, Server::Present { command, args } if command == wiring.program() && *args == wiring.args(MCP))
    }

    /// The command line it runs, for people.
    pub fn describe(&self) -> String {
        match self {
            Server::Absent => "none".into(),
            Server::Present { command, args } => shlex::try_join(
                std::iter::once(command.as_str()).chain(args.iter().map(String::as_str)),
            )
            .unwrap_or_else(|_| command.clone()),
        }
    }
}

/// What to run so the server runs `wiring`'s `claude-quota mcp`, and what
/// that does.
pub fn plan_add(server: &Server, wiring: &Wiring, force: bool) -> (Note, Vec<Cmd>) {
    let add = Cmd::new(
        "claude",
        [
            "mcp",
            "add",
            "--scope",
            "user",
            SERVER,
            "--",
            wiring.program(),
        ]
        .into_iter()
        .map(str::to_owned)
        .chain(wiring.args(MCP)),
    );
    let wanted = wiring.command(MCP);
    match server {
        Server::Absent => (
            Note::change("MCP server", &format!("`{wanted}`"), Verb::Added, ""),
            vec![add],
        ),
        _ if server.is_exactly(wiring) => (
            Note::same(format!("MCP server: already `{wanted}`")),
            Vec::new(),
        ),
        _ if server.is_ours() || force => (
            Note::change(
                "MCP server",
                &format!("`{}`", server.describe()),
                Verb::Replaced,
                &format!(" by `{wanted}`"),
            ),
            vec![remove_cmd(), add],
        ),
        _ => (
            Note::same(format!(
                "MCP server: kept the server named {SERVER} you have, `{}` (--force replaces it with `{wanted}`)",
                server.describe()
            )),
            Vec::new(),
        ),
    }
}

/// What to run to take our server out, and what that does.
pub fn plan_remove(server: &Server) -> (Note, Vec<Cmd>) {
    match server {
        Server::Absent => (Note::same("MCP server: none of ours"), Vec::new()),
        _ if server.is_ours() => (
            Note::change(
                "MCP server",
                &format!("`{}`", server.describe()),
                Verb::Removed,
                "",
            ),
            vec![remove_cmd()],
        ),
        _ => (
            Note::same(format!(
                "MCP server: left `{}`, which is not ours",
                server.describe()
            )),
            Vec::new(),
        ),
    }
}

fn remove_cmd() -> Cmd {
    Cmd::new("claude", ["mcp", "remove", "--scope", "user", SERVER])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(json: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".claude.json");
        std::fs::write(&path, json).unwrap();
        Server::read(&path).unwrap()
    }

    #[test]
    fn only_our_servers_entry_is_read() {
        assert_eq!(
            server(r#"{"numStartups":3,"projects":{"/x":{}}}"#),
            Server::Absent
        );
        let ours = server(
            r#"{"mcpServers":{"other":{"command":"npx"},"claude-quota":{"type":"stdio","command":"/bin/claude-quota","args":["mcp"],"env":{}}}}"#,
        );
        assert!(ours.is_ours());
        assert!(ours.is_exactly(&Wiring::named("/bin/claude-quota")));
        assert!(!ours.is_exactly(&Wiring::named("claude-quota")));
        let theirs = server(r#"{"mcpServers":{"claude-quota":{"command":"npx","args":["x"]}}}"#);
        assert!(!theirs.is_ours());
        assert_eq!(theirs.describe(), "npx x");
    }

    #[test]
    fn the_plan_adds_replaces_ours_and_keeps_theirs_unless_forced() {
        let wiring = Wiring::named("claude-quota");
        let (note, cmds) = plan_add(&Server::Absent, &wiring, false);
        assert!(note.changed);
        assert_eq!(
            cmds.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["claude mcp add --scope user claude-quota -- claude-quota mcp"]
        );
        let old = Server::Present {
            command: "/old/claude-quota".into(),
            args: vec!["mcp".into()],
        };
        assert_eq!(
            plan_add(&old, &wiring, false).1.len(),
            2,
            "remove, then add"
        );
        let theirs = Server::Present {
            command: "npx".into(),
            args: vec![],
        };
        assert!(plan_add(&theirs, &wiring, false).1.is_empty());
        assert_eq!(plan_add(&theirs, &wiring, true).1.len(), 2);
        assert!(plan_remove(&theirs).1.is_empty());
        assert_eq!(
            plan_remove(&old).1[0].to_string(),
            "claude mcp remove --scope user claude-quota"
        );
    }

    #[test]
    fn a_state_file_that_is_not_json_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".claude.json");
        std::fs::write(&path, "{oops").unwrap();
        let err = format!("{:#}", Server::read(&path).unwrap_err());
        assert!(err.contains("cannot read the MCP servers"), "{err}");
    }
}

//! `claude-quota setup claude-code`: wires claude-quota into Claude Code in
//! one step (the status line, the hooks, the MCP server) and out again.
//!
//! It merges into the user's settings, keeps what is theirs (a status line
//! of their own unless `--force`), backs the file up before a change,
//! changes nothing when there is nothing to do, and refuses a file it cannot
//! read as JSON rather than guess.

mod file;
mod mcp;
mod settings;
mod wiring;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use self::file::SettingsFile;
pub use self::mcp::{SERVER as MCP_SERVER, Server};
pub use self::settings::{EVENTS, find};
use self::wiring::Wiring;
pub use self::wiring::{HOOK, STATUSLINE, is_ours, runs_this_binary};
use crate::raw_json::Members;
use crate::service::plan::{self, Cmd, Step};

/// What `setup` can wire claude-quota into.
#[derive(Debug, Clone, Subcommand)]
pub enum Target {
    /// Add the status line, the hooks and the MCP server to Claude Code's
    /// user settings ($CLAUDE_CONFIG_DIR, else ~/.claude), or take them out
    ClaudeCode(ClaudeCodeArgs),
}

/// Options of `setup claude-code`.
#[derive(Debug, Clone, Args)]
pub struct ClaudeCodeArgs {
    /// Print the resulting settings file (and the `claude mcp` commands, on
    /// stderr); change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Take out what setup added, and nothing else
    #[arg(long)]
    pub remove: bool,

    /// Replace a status line (or an MCP server named claude-quota) of your own
    #[arg(long, conflicts_with = "remove")]
    pub force: bool,
}

/// One line of what setup did (or found already done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Whether it is a change.
    pub changed: bool,
    /// What, for people.
    pub text: String,
}

impl Note {
    /// A change.
    pub fn change(text: impl Into<String>) -> Note {
        Note {
            changed: true,
            text: text.into(),
        }
    }

    /// Something left as it was.
    pub fn same(text: impl Into<String>) -> Note {
        Note {
            changed: false,
            text: text.into(),
        }
    }
}

/// Where Claude Code keeps what setup edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaudePaths {
    /// The user settings: `$CLAUDE_CONFIG_DIR/settings.json`, else
    /// `~/.claude/settings.json`.
    pub settings: PathBuf,
    /// Claude Code's state file, which holds the user-scope MCP servers:
    /// `$CLAUDE_CONFIG_DIR/.claude.json`, else `~/.claude.json`.
    pub state: PathBuf,
}

impl ClaudePaths {
    /// The paths for this user, from `CLAUDE_CONFIG_DIR` (when set and not
    /// empty, as Claude Code reads it) and `HOME`.
    pub fn from_env() -> anyhow::Result<ClaudePaths> {
        if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
            let dir = std::path::absolute(PathBuf::from(dir))?;
            return Ok(ClaudePaths {
                settings: dir.join("settings.json"),
                state: dir.join(".claude.json"),
            });
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|home| home.is_absolute())
            .context(
                "HOME is not set to an absolute path; cannot tell where Claude Code's settings are",
            )?;
        Ok(ClaudePaths {
            settings: home.join(".claude/settings.json"),
            state: home.join(".claude.json"),
        })
    }
}

/// The settings in the file at `path` (none when it does not exist); an
/// error when it cannot be read or is not a JSON object.
pub fn read_settings(path: &std::path::Path) -> anyhow::Result<Members> {
    SettingsFile::read(path)?.members()
}

/// Runs `setup TARGET`.
pub async fn run(target: &Target) -> anyhow::Result<ExitCode> {
    let Target::ClaudeCode(args) = target;
    let paths = ClaudePaths::from_env()?;
    let wiring = Wiring::for_this_binary()?;
    let file = SettingsFile::read(&paths.settings)?;
    let mut settings = file.members()?;
    let mut notes = if args.remove {
        settings::remove(&mut settings)
    } else {
        settings::add(&mut settings, &wiring, args.force)
            .with_context(|| format!("cannot add to {}", paths.settings.display()))?
    };
    let server = Server::read(&paths.state)?;
    let (mut mcp_note, commands) = if args.remove {
        mcp::plan_remove(&server)
    } else {
        mcp::plan_add(&server, &wiring, args.force)
    };
    let settings_changed = notes.iter().any(|note| note.changed);
    if args.dry_run {
        notes.push(mcp_note);
        return dry_run(&paths, &settings, &notes, &commands);
    }
    let claude_missing = !commands.is_empty() && which::which("claude").is_err();
    if claude_missing {
        mcp_note =
            Note::same("MCP server: not changed: Claude Code's `claude` command is not on PATH");
    }
    notes.push(mcp_note);

    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", paths.settings.display())?;
    for note in &notes {
        writeln!(out, "  {}", note.text)?;
    }
    if settings_changed {
        if let Some(backup) = file.backup()? {
            writeln!(out, "  backup: {}", backup.display())?;
        }
        file.write(&settings.to_pretty())?;
    }
    if claude_missing {
        let steps: Vec<String> = commands.iter().map(ToString::to_string).collect();
        bail!(
            "the MCP server is not {}: put Claude Code's `claude` on PATH and run this again, or run: {}",
            if args.remove { "removed" } else { "added" },
            steps.join(" && ")
        );
    }
    let steps: Vec<Step> = commands.into_iter().map(Step::Run).collect();
    plan::execute(&steps, &mut out).await?;
    let done = if notes.iter().any(|note| note.changed) {
        "done; new Claude Code sessions use it"
    } else {
        "nothing to change"
    };
    writeln!(out, "{done}")?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the settings as they would be (stdout) and what would change and
/// run (stderr); writes and runs nothing.
fn dry_run(
    paths: &ClaudePaths,
    settings: &Members,
    notes: &[Note],
    commands: &[Cmd],
) -> anyhow::Result<ExitCode> {
    let mut err = std::io::stderr().lock();
    writeln!(err, "dry run: nothing is written or run")?;
    writeln!(err, "{}", paths.settings.display())?;
    for note in notes {
        writeln!(err, "  {}", note.text)?;
    }
    let steps: Vec<Step> = commands.iter().cloned().map(Step::Run).collect();
    plan::print(&steps, &mut err)?;
    std::io::stdout()
        .lock()
        .write_all(settings.to_pretty().as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

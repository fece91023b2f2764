//! `claude-quota setup claude-code`: wires claude-quota into Claude Code in
//! one step (the status line, the hooks, the MCP server) and out again.
//!
//! It merges into the user's settings, keeps what is theirs (a status line
//! of their own unless `--force`), backs the file up before a change,
//! changes nothing when there is nothing to do, and refuses a file it cannot
//! read as JSON rather than guess.

mod file;
mod mcp;
mod note;
mod settings;
mod wiring;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;

use self::file::SettingsFile;
pub use self::mcp::{SERVER as MCP_SERVER, Server};
pub use self::note::Note;
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
        if let Some(dir) = crate::login::config_dir() {
            let dir = std::path::absolute(dir)?;
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

/// What `setup` did (or would do), as `--json` prints it.
#[derive(Debug, Serialize)]
struct Report<'a> {
    /// The settings file.
    settings: &'a Path,
    /// Whether nothing was written or run.
    dry_run: bool,
    /// What changed (or would), and what was left as it was.
    changes: &'a [Note],
    /// The copy of the settings made before the change.
    backup: Option<PathBuf>,
    /// The `claude mcp` commands run (in a dry run: that would run; when
    /// `claude` is missing: to run by hand).
    commands: Vec<String>,
    /// In a dry run, the settings as they would be.
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Members>,
}

/// Runs `setup TARGET` for the daemon on `socket`; `json` prints one
/// [`Report`] instead of lines for people.
pub async fn run(target: &Target, socket: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let Target::ClaudeCode(args) = target;
    let paths = ClaudePaths::from_env()?;
    let wiring = Wiring::for_this_binary(socket)?;
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
    let mut report = Report {
        settings: &paths.settings,
        dry_run: args.dry_run,
        changes: &[],
        backup: None,
        commands: commands.iter().map(ToString::to_string).collect(),
        result: None,
    };
    if args.dry_run {
        notes.push(mcp_note);
        let notes: Vec<Note> = notes.into_iter().map(Note::in_dry_run).collect();
        report.changes = &notes;
        report.result = Some(&settings);
        return dry_run(&report, &commands, json);
    }
    let claude_missing = !commands.is_empty() && which::which("claude").is_err();
    if claude_missing {
        mcp_note =
            Note::same("MCP server: not changed: Claude Code's `claude` command is not on PATH");
    }
    notes.push(mcp_note);
    report.changes = &notes;

    let mut out = std::io::stdout().lock();
    if !json {
        writeln!(out, "{}", paths.settings.display())?;
        for note in &notes {
            writeln!(out, "  {}", note.text)?;
        }
    }
    if settings_changed {
        report.backup = file.backup()?;
        if let (Some(backup), false) = (&report.backup, json) {
            writeln!(out, "  backup: {}", backup.display())?;
        }
        file.write(&settings.to_pretty())?;
    }
    if claude_missing {
        if json {
            serde_json::to_writer(&mut out, &report)?;
            writeln!(out)?;
        }
        bail!(
            "the MCP server is not {}: put Claude Code's `claude` on PATH and run this again, or run: {}",
            if args.remove { "removed" } else { "added" },
            report.commands.join(" && ")
        );
    }
    let steps: Vec<Step> = commands.into_iter().map(Step::Run).collect();
    if json {
        plan::execute(&steps, &mut std::io::sink()).await?;
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    plan::execute(&steps, &mut out).await?;
    let done = match (notes.iter().any(|note| note.changed), args.remove) {
        (false, _) => "nothing to change",
        (true, false) => "done; new Claude Code sessions use it",
        (true, true) => "done; new Claude Code sessions no longer run it",
    };
    writeln!(out, "{done}")?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the settings as they would be (stdout) and what would change and
/// run (stderr), or the whole report as JSON on stdout; writes and runs
/// nothing.
fn dry_run(report: &Report<'_>, commands: &[Cmd], json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, report)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut err = std::io::stderr().lock();
    writeln!(err, "dry run: nothing is written or run")?;
    writeln!(err, "{}", report.settings.display())?;
    for note in report.changes {
        writeln!(err, "  {}", note.text)?;
    }
    let steps: Vec<Step> = commands.iter().cloned().map(Step::Run).collect();
    plan::print(&steps, &mut err)?;
    if let Some(settings) = report.result {
        std::io::stdout()
            .lock()
            .write_all(settings.to_pretty().as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

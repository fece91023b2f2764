//! The command line, as docs/configuration.md ("claude-quota") documents it.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;
use claude_quota::{TaskComplexity, TaskValue};

/// claude-quota: ask claude-quotad whether a task may spend the Claude
/// subscription or should stay on a local Ollama model.
///
/// Exit codes: 0 ok / yes, 1 no (or another failure), 2 usage error,
/// 3 daemon unreachable.
#[derive(Debug, Parser)]
#[command(name = "claude-quota", version)]
pub struct Cli {
    /// The daemon's socket [default: the platform default]
    #[arg(long, global = true, env = "CLAUDE_QUOTA_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Print machine-readable JSON
    #[arg(long, global = true)]
    pub json: bool,

    /// Never color the output (also NO_COLOR, or when stdout is not a terminal)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// What to do [default: status]
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Show the tier, the usage windows and where each kind of task goes now
    Status(StatusArgs),
    /// Print yes or no: may a task of this value use the cloud now? (exit 0 = yes, 1 = no)
    ShouldUseCloud {
        /// How much the task is worth
        #[arg(value_parser = task_value())]
        value: TaskValue,
    },
    /// Print the model a task of this complexity should use now
    SelectModel {
        /// How hard the task is
        #[arg(value_parser = task_complexity())]
        complexity: TaskComplexity,
    },
    /// Print the model and provider a task goes to now, in one answer
    /// (exit 0 = cloud, 1 = local, 3 = daemon unreachable, the local answer still printed)
    Route(RouteArgs),
    /// Claude Code's statusLine command: push the rate limits from stdin to
    /// the daemon and print one short line (always exits 0)
    Statusline {
        /// Text to print before the line, e.g. the output of another statusline script
        #[arg(long, value_name = "TEXT")]
        prefix: Option<String>,
    },
    /// Claude Code's hook command (PreToolUse on Agent/Task, SessionStart,
    /// UserPromptSubmit): reads the event on stdin; prints nothing and exits
    /// 0 on any failure. Its answer is always Claude Code's JSON: --json and
    /// --no-color change nothing (refusing them would fail the hook)
    Hook,
    /// Wire claude-quota into another program's settings
    #[command(subcommand)]
    Setup(crate::setup::Target),
    /// Print shell completions for bash, zsh, fish, elvish or powershell
    Completions {
        /// The shell
        shell: Shell,
    },
    /// Serve MCP on stdin/stdout: tools quota_status, route and ask_local
    /// for Claude Code and other MCP hosts (`claude mcp add claude-quota -- claude-quota mcp`);
    /// refuses --json and --no-color, which mean nothing there
    Mcp,
    /// Install, remove or inspect the login agent that keeps claude-quotad running
    Service(crate::service::ServiceArgs),
    /// Check the credential sources (read here, daemon or not; never the token), socket, daemon, usage API and its reply's form, service, Claude Code's wiring and Ollama; say what to fix
    Doctor,
}

/// Options of `status`.
#[derive(Debug, Clone, Default, Args)]
pub struct StatusArgs {
    /// Keep the view open: redraw at every change, and at least every SECS
    /// (with --json: one Status a line at every change)
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "60",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub watch: Option<u64>,

    /// Show reset times as local clock times too
    #[arg(long)]
    pub local_time: bool,
}

/// Options of `route`.
#[derive(Debug, Clone, Args)]
pub struct RouteArgs {
    /// How much the task is worth
    #[arg(value_parser = task_value())]
    pub value: TaskValue,
    /// How hard the task is
    #[arg(value_parser = task_complexity())]
    pub complexity: TaskComplexity,
}

/// Parses a task value by its wire name, listing the names in `--help`.
pub fn task_value() -> impl TypedValueParser<Value = TaskValue> {
    PossibleValuesParser::new(TaskValue::ALL.map(TaskValue::as_str))
        .map(|v| v.parse::<TaskValue>().expect("a listed value"))
}

/// Parses a task complexity by its wire name, listing the names in `--help`.
pub fn task_complexity() -> impl TypedValueParser<Value = TaskComplexity> {
    PossibleValuesParser::new(TaskComplexity::ALL.map(TaskComplexity::as_str))
        .map(|v| v.parse::<TaskComplexity>().expect("a listed value"))
}

impl Cli {
    /// The socket to connect to.
    pub fn socket_path(&self) -> PathBuf {
        self.socket
            .clone()
            .unwrap_or_else(claude_quota::default_socket_path)
    }
}

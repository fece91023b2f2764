//! The command line, as docs/configuration.md ("claude-quota") documents it.

use std::ffi::OsString;
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
    /// the daemon, onto the account of this session's CLAUDE_CONFIG_DIR, and
    /// print one short line (always exits 0)
    Statusline {
        /// Text to print before the line, e.g. the output of another statusline script
        #[arg(long, value_name = "TEXT")]
        prefix: Option<String>,
    },
    /// Claude Code's hook command (PreToolUse on Agent/Task, SessionStart,
    /// UserPromptSubmit): reads the event on stdin and answers by the tier of
    /// this session's account (its CLAUDE_CONFIG_DIR); prints nothing and exits
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
    /// List the configured accounts (Claude Code logins): tier, 5-hour and
    /// 7-day windows, and where each one's credentials come from; `discover`
    /// finds the logins on this machine
    Accounts(AccountsArgs),
    /// Print the account a task goes to now: its name and CLAUDE_CONFIG_DIR
    /// (none for the default login), for shell aliases (exit 3 when the
    /// daemon could not be asked: the first account by priority is printed)
    Account(AccountArgs),
    /// Run CMD on the account a task goes to now (`claude-quota exec --
    /// claude`): CLAUDE_CONFIG_DIR set to its directory, unset for the
    /// default login; with no daemon, the first account by priority. The
    /// exit code is CMD's. Never touches a credential
    Exec(ExecArgs),
    /// Check the credential sources (read here, daemon or not; never the token), socket, daemon, usage API and its reply's form, service, Claude Code's wiring and Ollama; say what to fix
    Doctor,
    /// Chart the 5-hour and 7-day windows over time, with the forecast ahead
    /// and a line per day; reads the history database itself, also when the
    /// daemon is down (--json or --csv print the rows)
    History(HistoryArgs),
    /// Print the daemon's current values in the Prometheus text format: the
    /// same text as its [metrics] endpoint (windows, tier, resets, forecast,
    /// reading age, API calls, faults by kind, history rows)
    Metrics,
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

/// Options of `history`.
#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// How far back to look
    #[arg(long, value_enum, default_value = "24h")]
    pub since: Since,
    /// The account to show [default: `default`, else the first one in the history]
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Print the rows as CSV instead of the chart
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// Write the chart as a standalone SVG to FILE instead
    #[arg(long, value_name = "FILE", conflicts_with_all = ["json", "csv"])]
    pub svg: Option<PathBuf>,
}

/// The spans `history` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Since {
    /// The last 5 hours: one 5-hour window.
    #[value(name = "5h")]
    FiveHours,
    /// The last 24 hours.
    #[value(name = "24h")]
    Day,
    /// The last 7 days: one 7-day window.
    #[value(name = "7d")]
    Week,
    /// The last 30 days.
    #[value(name = "30d")]
    Month,
}

impl Since {
    /// How long the span is.
    pub fn length(self) -> chrono::TimeDelta {
        match self {
            Since::FiveHours => chrono::TimeDelta::hours(5),
            Since::Day => chrono::TimeDelta::hours(24),
            Since::Week => chrono::TimeDelta::days(7),
            Since::Month => chrono::TimeDelta::days(30),
        }
    }

    /// Its name, as given on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Since::FiveHours => "5h",
            Since::Day => "24h",
            Since::Week => "7d",
            Since::Month => "30d",
        }
    }
}

/// Options of `accounts`.
#[derive(Debug, Clone, Default, Args)]
pub struct AccountsArgs {
    /// What to do [default: list the configured accounts]
    #[command(subcommand)]
    pub action: Option<AccountsAction>,
}

/// The subcommands of `accounts`.
#[derive(Debug, Clone, Subcommand)]
pub enum AccountsAction {
    /// Find the Claude Code logins on this machine (~/.claude*,
    /// $CLAUDE_CONFIG_DIR, the Keychain or Secret Service) and print a
    /// ready [[accounts]] snippet; writes nothing and reads no token
    Discover,
}

/// Options of `account`.
#[derive(Debug, Clone, Args)]
pub struct AccountArgs {
    /// How much the task is worth: the account is the preferred one whose
    /// tier lets such a task use the cloud
    #[arg(long, value_parser = task_value(), default_value = "high")]
    pub value: TaskValue,
    /// How hard the task is: the account is the one the daemon's `route`
    /// answer for this value and complexity names [default: ask by value
    /// alone, as `should_use_cloud`]
    #[arg(long, value_parser = task_complexity())]
    pub complexity: Option<TaskComplexity>,
}

/// Options of `exec`.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// The task, as for `account`
    #[command(flatten)]
    pub task: AccountArgs,
    /// Run on this account (a name from [[accounts]]) whatever its headroom
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// The program to run and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
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

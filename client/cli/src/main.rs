//! `claude-quota`: the command line over `claude-quotad`.
//!
//! Exit codes are part of the contract, so shell routers can branch on
//! them: 0 ok (or "yes"), 1 "no" or another failure, 2 usage error, 3
//! daemon unreachable.

mod account_blocks;
mod accounts;
mod args;
mod bars;
mod check_config;
mod doctor;
mod guidance;
mod history;
mod hook;
mod login;
mod mcp;
mod pace;
mod raw_json;
mod render;
mod route;
mod service;
mod setup;
mod statusline;
mod stdin;
mod style;
mod watch;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use clap::{CommandFactory, Parser};
use claude_quota::{Client, Error};
use serde::Serialize;

use crate::args::{AccountsAction, Cli, Command, StatusArgs};
use crate::guidance::Guidance;
use crate::render::View;
use crate::style::Palette;

/// A "no" answer, or a failure other than an unreachable daemon.
const EXIT_NO: u8 = 1;
/// The daemon could not be reached.
const EXIT_UNREACHABLE: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("claude-quota: cannot start: {err}");
            return ExitCode::from(EXIT_NO);
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("claude-quota: {err:#}");
            let unreachable = err
                .downcast_ref::<Error>()
                .is_some_and(Error::is_unreachable);
            ExitCode::from(if unreachable {
                EXIT_UNREACHABLE
            } else {
                EXIT_NO
            })
        }
    }
}

async fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let command = cli
        .command
        .clone()
        .unwrap_or_else(|| Command::Status(StatusArgs::default()));
    match command {
        Command::Status(args) => status(cli, &args).await,
        Command::ShouldUseCloud { value } => {
            let decision = connect(cli).await?.decide(value).await?;
            let text = if decision.use_cloud { "yes" } else { "no" };
            answer(cli, &decision, text)?;
            Ok(if decision.use_cloud {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_NO)
            })
        }
        Command::SelectModel { complexity } => {
            let choice = connect(cli).await?.select_model(complexity).await?;
            answer(cli, &choice, &choice.model)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Route(args) => route::run(cli, &args).await,
        Command::Statusline { prefix } => {
            // Claude Code shows ANSI colors although stdout is a pipe.
            let palette = Palette::detect(cli.no_color, false);
            let line = statusline::run(&cli.socket_path(), prefix.as_deref(), palette).await;
            println!("{line}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Hook => {
            hook::run(&cli.socket_path()).await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Setup(target) => setup::run(&target, &cli.socket_path(), cli.json).await,
        Command::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "claude-quota", &mut out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Mcp => {
            if cli.json || cli.no_color {
                // Stdout carries MCP frames only: neither flag can mean
                // anything there, and a host passing one has a wrong config.
                Cli::command()
                    .error(
                        clap::error::ErrorKind::ArgumentConflict,
                        "`mcp` speaks only MCP on stdout: --json and --no-color have no meaning there",
                    )
                    .exit();
            }
            mcp::run(cli.socket_path()).await
        }
        Command::Service(args) => service::run(&args, cli.socket.as_deref(), cli.json).await,
        Command::Doctor => doctor::run(cli).await,
        Command::History(args) => history::run(cli, &args).await,
        Command::Metrics => {
            let text = connect(cli).await?.metrics().await?;
            std::io::stdout().lock().write_all(text.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Accounts(args) => match args.action {
            None => accounts::list::run(&cli.socket_path(), cli.json, &view(cli, false)).await,
            Some(AccountsAction::Discover) => accounts::discover::run(cli.json).await,
        },
        Command::Account(args) => accounts::print::run(&cli.socket_path(), cli.json, &args).await,
        Command::Exec(args) => accounts::exec::run(&cli.socket_path(), &args).await,
    }
}

/// Prints an answer as one line: the whole object with `--json`, else
/// `text` for people and shell scripts.
fn answer(cli: &Cli, object: &impl Serialize, text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if cli.json {
        serde_json::to_writer(&mut out, object)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{text}")?;
    }
    Ok(())
}

/// How to draw for people: colors on a terminal unless told otherwise.
fn view(cli: &Cli, local_time: bool) -> View {
    View {
        palette: Palette::detect(cli.no_color, true),
        unicode: View::unicode_supported(),
        local_time,
        now: Utc::now(),
    }
}

/// `status`, once or `--watch`ed.
async fn status(cli: &Cli, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let view = view(cli, args.local_time);
    if let Some(every) = args.watch {
        if cli.json {
            watch::run_json(&cli.socket_path()).await?;
            return Ok(ExitCode::SUCCESS);
        }
        watch::run(&cli.socket_path(), Duration::from_secs(every), view).await;
        return Ok(ExitCode::SUCCESS);
    }
    let mut client = connect(cli).await?;
    let status = client.status().await?;
    let mut out = std::io::stdout().lock();
    if cli.json {
        serde_json::to_writer_pretty(&mut out, &status)?;
        writeln!(out)?;
    } else {
        let guidance = Guidance::fetch(&mut client).await?;
        write!(out, "{}", render::status(&status, Some(&guidance), &view))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn connect(cli: &Cli) -> Result<Client, Error> {
    Client::connect_to(cli.socket_path()).await
}

//! `claude-quota`: the command line over `claude-quotad`.
//!
//! Exit codes are part of the contract, so shell routers can branch on
//! them: 0 ok (or "yes"), 1 "no" or another failure, 2 usage error, 3
//! daemon unreachable.

mod args;
mod doctor;
mod render;
mod service;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use claude_quota::{Client, Error};

use crate::args::{Cli, Command};

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
    match &cli.command {
        Some(Command::Service(args)) => return service::run(args, cli.socket.as_deref()),
        Some(Command::Doctor(args)) => return doctor::run(cli, args).await,
        _ => {}
    }
    let mut client = Client::connect_to(cli.socket_path()).await?;
    let mut out = std::io::stdout().lock();
    let code = match cli.command.clone().unwrap_or_default() {
        Command::Status => {
            let status = client.status().await?;
            if cli.json {
                serde_json::to_writer_pretty(&mut out, &status)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", render::status(&status))?;
            }
            ExitCode::SUCCESS
        }
        Command::ShouldUseCloud { value } => {
            let decision = client.decide(value).await?;
            if cli.json {
                serde_json::to_writer(&mut out, &decision)?;
                writeln!(out)?;
            } else {
                writeln!(out, "{}", if decision.use_cloud { "yes" } else { "no" })?;
            }
            if decision.use_cloud {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_NO)
            }
        }
        Command::SelectModel { complexity } => {
            let choice = client.select_model(complexity).await?;
            if cli.json {
                serde_json::to_writer(&mut out, &choice)?;
                writeln!(out)?;
            } else {
                writeln!(out, "{}", choice.model)?;
            }
            ExitCode::SUCCESS
        }
        Command::Service(_) | Command::Doctor(_) => unreachable!("dispatched before connecting"),
    };
    Ok(code)
}

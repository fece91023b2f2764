//! `claude-quota mcp`: a stdio MCP server, so that an agent inside Claude
//! Code (or any MCP host) can see the quota, ask where a task goes, and
//! hand routine work to the local model.
//!
//! It is a client of the daemon like the rest of the CLI: it asks over the
//! socket at every call and never reads credentials. Stdout carries only
//! MCP frames; logs go to stderr (level from `RUST_LOG`, default warnings).

mod ollama;
mod report;
mod schema;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;

use rmcp::ServiceExt;
use tracing_subscriber::EnvFilter;

/// Serves MCP on stdin/stdout until the host closes stdin.
pub async fn run(socket: PathBuf) -> anyhow::Result<ExitCode> {
    // Logs must never reach stdout, where the host reads frames.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    let server = tools::QuotaTools::new(socket)?
        .serve(rmcp::transport::stdio())
        .await?;
    let reason = server.waiting().await?;
    tracing::debug!(?reason, "MCP session over");
    Ok(ExitCode::SUCCESS)
}

//! `claude-quota doctor`: checks everything between a router's question and
//! a correct answer, one line each, with the fix.
//!
//! It has the daemon binary check its config (`--check-config`), reads the
//! credential sources itself, with the daemon's own code and keychain
//! method, and shows what each holds, never the token; which one is in use
//! comes from the daemon's status, or, with no daemon answering, from the
//! same rule.

mod agent;
mod check;
mod claude_code;
mod config;
mod history;
mod ollama;
mod socket;
mod sources;
mod status;
mod subagent_env;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use claude_quota::{Client, Status};

use self::check::Verdict;
use crate::args::Cli;

/// How long the daemon may take to answer; it answers from memory, so a
/// slow answer is itself a finding.
const DAEMON_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs every check and prints the verdicts. Exit 3 when the daemon is
/// unreachable, 1 when another check fails; warnings do not fail.
pub async fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let socket_path = cli.socket_path();
    let (config, keychain) = config::check().await;
    let mut checks = vec![config, socket::check(&socket_path)];
    let reached = ask_daemon(&socket_path).await;
    let found = sources::inspect(keychain).await;
    let now = chrono::Utc::now();
    let claude_code = claude_code::check();
    let unreachable = match &reached {
        Ok((hello, status)) => {
            checks.push(status::daemon(hello, status));
            checks.push(status::credentials(status, now));
            checks.extend(found.iter().flat_map(|found| sources::each(found, now)));
            checks.extend(status::scope(status));
            checks.push(status::api(status));
            checks.push(status::reply_shape(status));
            checks.push(status::pushes(status, now, claude_code.status_line_wired));
            false
        }
        Err(err) => {
            checks.push(status::unreachable(err));
            match &found {
                Ok(found) => {
                    checks.extend(sources::each(found, now));
                    checks.push(sources::verdict(found, now));
                }
                Err(failed) => checks.push(failed.clone()),
            }
            err.is_unreachable()
        }
    };
    checks.push(agent::check().await);
    checks.push(claude_code.check);
    checks.push(subagent_env::check());
    checks.push(history::check(
        &claude_quota_history::default_path(),
        reached.as_ref().ok().map(|(_, s)| s),
    ));
    checks.push(ollama::check(
        reached.as_ref().ok().map(|(_, s)| s.local.as_ref()),
    ));

    let mut out = std::io::stdout().lock();
    if cli.json {
        serde_json::to_writer_pretty(&mut out, &checks)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", check::report(&checks))?;
    }
    let failed = checks.iter().any(|c| c.verdict == Verdict::Fail);
    Ok(match (unreachable, failed) {
        (true, _) => ExitCode::from(crate::EXIT_UNREACHABLE),
        (false, true) => ExitCode::from(crate::EXIT_NO),
        (false, false) => ExitCode::SUCCESS,
    })
}

/// The daemon's name and version (`hello`) and its status.
async fn ask_daemon(socket: &Path) -> Result<(String, Status), claude_quota::Error> {
    let mut client = Client::connect_to(socket)
        .await?
        .with_timeout(DAEMON_TIMEOUT);
    let hello = client
        .hello(concat!("claude-quota-doctor/", env!("CARGO_PKG_VERSION")))
        .await?
        .daemon;
    let status = client.status().await?;
    Ok((hello, status))
}

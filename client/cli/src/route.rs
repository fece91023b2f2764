//! `claude-quota route VALUE COMPLEXITY`: where a task goes now, model and
//! provider in one answer, for shell routers; the MCP server's `route`
//! tool gives the same answer.

use std::io::Write;
use std::process::ExitCode;

use claude_quota::{Client, Provider, Route, Tier};
use schemars::JsonSchema;
use serde::Serialize;

use crate::args::{Cli, RouteArgs};
use crate::{EXIT_NO, EXIT_UNREACHABLE};

/// A [`Route`] as `--json` and the MCP `route` tool print it: the wire's
/// `route` reply's fields, so scripts read one shape whichever way they ask.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RouteAnswer {
    /// `anthropic` (the cloud, spending the subscription) or `ollama` (local).
    pub provider: Provider,
    /// The model to send the task to.
    pub model: String,
    /// Whether the task goes to the cloud.
    pub use_cloud: bool,
    /// The tier behind the answer; null when the daemon could not be asked
    /// (the answer is then local, never a guess at the cloud).
    pub tier: Option<Tier>,
    /// Why, in the daemon's words, or why it could not be asked.
    pub reason: String,
    /// False when the daemon saw Ollama down or without the model, and
    /// when the daemon could not be asked: nobody has seen the fallback
    /// model pulled.
    pub available: bool,
    /// Whether the reading behind the answer is stale (true when the
    /// daemon could not be asked).
    pub stale: bool,
    /// The account the answer is for, when the daemon has `[[accounts]]`
    /// (null without them, and when it could not be asked).
    pub account: Option<String>,
    /// That account's `CLAUDE_CONFIG_DIR`, to start Claude Code on it
    /// (`claude-quota exec`); null for the default login.
    pub claude_config_dir: Option<String>,
}

impl From<&Route> for RouteAnswer {
    fn from(route: &Route) -> Self {
        RouteAnswer {
            provider: route.provider,
            model: route.model.clone(),
            use_cloud: route.use_cloud,
            tier: route.tier,
            reason: route.reason.clone(),
            available: route.available,
            stale: route.stale,
            account: route.account.clone(),
            claude_config_dir: route.claude_config_dir.clone(),
        }
    }
}

/// Prints `MODEL PROVIDER` (or the object with `--json`). Exit 0 when the
/// task goes to the cloud, 1 when local, 3 when the daemon could not be
/// asked: the local answer is still printed, and why on stderr, so a
/// script that only reads stdout stays local and one that checks the
/// code can tell.
pub async fn run(cli: &Cli, args: &RouteArgs) -> anyhow::Result<ExitCode> {
    let route = Client::new(cli.socket_path())
        .route(args.value, args.complexity)
        .await;
    let text = format!("{} {}", route.model, route.provider);
    crate::answer(cli, &RouteAnswer::from(&route), &text)?;
    if route.tier.is_none() {
        let mut err = std::io::stderr().lock();
        writeln!(err, "claude-quota: {}", route.reason)?;
        return Ok(ExitCode::from(EXIT_UNREACHABLE));
    }
    Ok(match route.provider {
        Provider::Anthropic => ExitCode::SUCCESS,
        Provider::Ollama => ExitCode::from(EXIT_NO),
    })
}

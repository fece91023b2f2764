//! The three tools and what the agent is told about them.
//!
//! Every call asks the daemon afresh on a new connection (answers come
//! from its memory in microseconds), so a restarted daemon is simply
//! found again. A fault is a tool error the agent can read, never a
//! protocol error and never a crash.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use claude_quota::{Client, Error, TaskComplexity, TaskValue};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ContentBlock, Implementation, IntoContents, ServerCapabilities, ServerConfig};
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ollama::{self, Ask, AskError};
use super::report::QuotaReport;
use crate::guidance::Guidance;
use crate::route::RouteAnswer;

/// How long the status questions may take: answers come from memory, but
/// an idle daemon polls before its first answer (up to 2 s).
const DAEMON_WAIT: Duration = Duration::from_secs(5);

/// The longest prompt `ask_local` takes, in characters.
const MAX_PROMPT_CHARS: usize = 100_000;
/// `ask_local`'s time limit: default and range, in seconds.
const TIMEOUT_S: (u64, u64, u64) = (120, 1, 600);
/// `ask_local`'s answer limit: default and range, in characters.
const ANSWER_CHARS: (usize, usize, usize) = (20_000, 1, 100_000);

/// What the host is told when it connects.
const INSTRUCTIONS: &str = "claude-quota watches this Claude subscription's usage limits \
(the 5-hour and 7-day windows). Call quota_status before large pieces of work; when its tier \
is not burst the quota is tight: keep Claude for what needs it and delegate routine, \
self-contained work to the local model with ask_local. Ask route where a task should run.";

/// The MCP server: the daemon's socket and an HTTP client for Ollama.
#[derive(Debug, Clone)]
pub struct QuotaTools {
    socket: PathBuf,
    http: reqwest::Client,
}

/// Why a tool call has no answer; the agent reads the message.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The daemon could not be asked.
    #[error("claude-quotad could not be asked: {0}")]
    Daemon(#[from] Error),
    /// The daemon knows no Ollama URL (an older daemon).
    #[error("claude-quotad reports no local Ollama server")]
    NoOllama,
    /// The daemon went away between the status and the model.
    #[error("claude-quotad named no local model ({0})")]
    NoModel(String),
    /// Ollama gave no answer.
    #[error("{0}")]
    Ollama(#[from] AskError),
    /// An argument is outside its range.
    #[error("{0}")]
    Argument(String),
}

impl IntoContents for ToolError {
    fn into_contents(self) -> Vec<ContentBlock> {
        vec![ContentBlock::text(self.to_string())]
    }
}

/// `route`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RouteArgs {
    /// How much the result matters: critical, high, medium, low or routine
    /// (routine never goes to the cloud).
    pub task_value: TaskValue,
    /// How hard the task is: high, medium or low.
    pub task_complexity: TaskComplexity,
}

/// `ask_local`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AskLocalArgs {
    /// The whole task for the local model, self-contained (it sees nothing
    /// else): at most 100000 characters.
    #[schemars(length(min = 1, max = MAX_PROMPT_CHARS))]
    pub prompt: String,
    /// How hard the task is: picks the daemon's local model for it
    /// (default medium).
    #[serde(default)]
    pub complexity: Option<TaskComplexity>,
    /// Seconds the whole call may take, 1 to 600 (default 120); a slower
    /// answer is a tool error.
    #[serde(default)]
    #[schemars(range(min = TIMEOUT_S.1, max = TIMEOUT_S.2))]
    pub timeout_seconds: Option<u64>,
    /// The most characters of answer, 1 to 100000 (default 20000); a
    /// longer answer is cut there and marked truncated.
    #[serde(default)]
    #[schemars(range(min = ANSWER_CHARS.1, max = ANSWER_CHARS.2))]
    pub max_answer_chars: Option<usize>,
}

/// `ask_local`'s answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LocalAnswer {
    /// The local model's answer.
    pub answer: String,
    /// The model that gave it.
    pub model: String,
    /// Whether the answer was cut at max_answer_chars (or the model's
    /// length limit).
    pub truncated: bool,
    /// How long it took, in milliseconds.
    pub elapsed_ms: u64,
}

#[tool_router]
impl QuotaTools {
    /// A server asking the daemon at `socket`.
    pub fn new(socket: PathBuf) -> reqwest::Result<Self> {
        Ok(QuotaTools {
            socket,
            http: ollama::client()?,
        })
    }

    #[tool(
        description = "The Claude subscription's usage now, from claude-quotad: the tier \
(burst: the cloud is open for valuable work; active or resting: the quota is tight and work \
stays local; unknown: no fresh reading, work stays local), the 5-hour and 7-day windows with \
their resets, the per-model weekly caps, extra usage, whether the reading is stale, where each \
kind of task goes now, and a one-line summary; with several Claude accounts, accounts lists \
each one (name, directory, tier, windows, stale) and the rest is the one a high-value task \
goes to now. Call it before a large piece of work or before \
spawning subagents. When the quota is tight, delegate routine work with ask_local.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn quota_status(&self) -> Result<Json<QuotaReport>, ToolError> {
        let mut client = self.daemon();
        let status = client.status().await?;
        let guidance = Guidance::fetch(&mut client).await?;
        Ok(Json(QuotaReport::new(&status, &guidance, Utc::now())))
    }

    #[tool(
        description = "Where a task should run now: provider (anthropic = Claude, spending \
the subscription; ollama = the local model, free), model and the reason. Ask before spawning \
a subagent or starting a costly task. task_value is how much the result matters (critical, \
high, medium, low, routine: routine never goes to the cloud), task_complexity how hard it is \
(high, medium, low). With several Claude accounts, account and claude_config_dir name the \
one the task goes to. When the daemon cannot be asked the answer is local and tier is null.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn route(&self, Parameters(args): Parameters<RouteArgs>) -> Json<RouteAnswer> {
        let route = self
            .daemon()
            .route(args.task_value, args.task_complexity)
            .await;
        Json(RouteAnswer::from(&route))
    }

    #[tool(
        description = "Runs a prompt on the local Ollama model claude-quotad selects for the \
complexity and returns its answer and the model used; spends none of the Claude subscription. \
When the quota is tight (quota_status tier active, resting or unknown), delegate routine, \
self-contained work with it: summarising, classifying, extracting, reformatting, first drafts. \
Limits: the prompt at most 100000 characters; the answer at most max_answer_chars (default \
20000, 1 to 100000; longer is cut and marked truncated); the whole call at most \
timeout_seconds (default 120, 1 to 600). A tool error says when Ollama is down, too slow or \
answers garbage, or the daemon is unreachable: then do the work yourself.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn ask_local(
        &self,
        Parameters(args): Parameters<AskLocalArgs>,
    ) -> Result<Json<LocalAnswer>, ToolError> {
        let timeout = in_range("timeout_seconds", args.timeout_seconds, TIMEOUT_S)?;
        let max_answer_chars = in_range("max_answer_chars", args.max_answer_chars, ANSWER_CHARS)?;
        let prompt_chars = args.prompt.chars().count();
        if prompt_chars == 0 || prompt_chars > MAX_PROMPT_CHARS {
            return Err(ToolError::Argument(format!(
                "prompt has {prompt_chars} characters; it must have 1 to {MAX_PROMPT_CHARS}"
            )));
        }
        let complexity = args.complexity.unwrap_or(TaskComplexity::Medium);
        let mut client = self.daemon();
        let url = client.status().await?.local.ok_or(ToolError::NoOllama)?.url;
        // Routine work is never sent to the cloud: this is the local model
        // for the complexity, in every tier.
        let route = client.route(TaskValue::Routine, complexity).await;
        if route.tier.is_none() {
            return Err(ToolError::NoModel(route.reason));
        }
        let started = Instant::now();
        let answer = ollama::ask(
            &self.http,
            &Ask {
                url: &url,
                model: &route.model,
                prompt: &args.prompt,
                timeout: Duration::from_secs(timeout),
                max_answer_chars,
            },
        )
        .await?;
        Ok(Json(LocalAnswer {
            answer: answer.text,
            model: route.model,
            truncated: answer.truncated,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }))
    }

    /// The tools, their schemas in standard JSON Schema only.
    pub fn router() -> rmcp::handler::server::router::tool::ToolRouter<Self> {
        super::schema::standard(Self::tool_router())
    }

    /// A client of the daemon whose every call, connecting included,
    /// ends within [`DAEMON_WAIT`].
    fn daemon(&self) -> Client {
        Client::new(&self.socket).with_timeout(DAEMON_WAIT)
    }
}

#[tool_handler(router = Self::router())]
impl ServerHandler for QuotaTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "claude-quota",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }
}

/// `value`, or the default, when within the range; `(default, min, max)`.
fn in_range<T>(name: &str, value: Option<T>, (default, min, max): (T, T, T)) -> Result<T, ToolError>
where
    T: PartialOrd + Copy + std::fmt::Display,
{
    let value = value.unwrap_or(default);
    if value < min || value > max {
        return Err(ToolError::Argument(format!(
            "{name} is {value}; it must be within {min} to {max}"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The limits are said in words in the description, which cannot read
    /// the constants: this keeps the two the same.
    #[test]
    fn ask_local_says_its_limits_in_its_description_and_schema() {
        let tools = QuotaTools::router().list_all();
        let ask = tools.iter().find(|t| t.name == "ask_local").unwrap();
        let description = ask.description.as_deref().unwrap();
        for said in [
            format!("prompt at most {MAX_PROMPT_CHARS} characters"),
            format!(
                "max_answer_chars (default {}, {} to {};",
                ANSWER_CHARS.0, ANSWER_CHARS.1, ANSWER_CHARS.2
            ),
            format!(
                "timeout_seconds (default {}, {} to {})",
                TIMEOUT_S.0, TIMEOUT_S.1, TIMEOUT_S.2
            ),
        ] {
            assert!(
                description.contains(&said),
                "{said:?} not in {description:?}"
            );
        }
        let properties = &ask.input_schema["properties"];
        assert_eq!(properties["prompt"]["maxLength"], MAX_PROMPT_CHARS);
        assert_eq!(properties["timeout_seconds"]["minimum"], TIMEOUT_S.1);
        assert_eq!(properties["timeout_seconds"]["maximum"], TIMEOUT_S.2);
        assert_eq!(properties["max_answer_chars"]["minimum"], ANSWER_CHARS.1);
        assert_eq!(properties["max_answer_chars"]["maximum"], ANSWER_CHARS.2);
    }

    /// No tool's schema carries a format JSON Schema does not define.
    #[test]
    fn every_schema_is_standard_json_schema() {
        for tool in QuotaTools::router().list_all() {
            let schemas = [Some(tool.input_schema.clone()), tool.output_schema.clone()];
            for schema in schemas.into_iter().flatten() {
                let text = serde_json::to_string(&schema).unwrap();
                for format in ["uint", "int64", "double", "float"] {
                    assert!(
                        !text.contains(&format!("\"{format}")),
                        "{}: {text}",
                        tool.name
                    );
                }
            }
        }
    }
}

//! Requests and replies: every message is a JSON object whose `"type"` names
//! it, so one frame can be dispatched without knowing what was asked.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::status::Status;
use crate::types::{
    ConfiguredModels, ExtraUsage, Provider, ReadingSource, ScopedCap, SubagentModels,
    TaskComplexity, TaskValue, Tier, Window,
};

/// What a client may ask the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Announces the client and its protocol version.
    Hello {
        /// The protocol version the client speaks.
        protocol: u32,
        /// A free-form client name such as `my-router/0.3`, for logs.
        #[serde(default)]
        client: Option<String>,
    },
    /// Asks for the full [`Status`].
    Status,
    /// Asks whether a task of this value may go to the cloud now.
    ShouldUseCloud {
        /// How much the task is worth.
        task_value: TaskValue,
        /// The account to answer for; without it the daemon picks one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
    },
    /// Asks which model a task of this complexity should use now.
    SelectModel {
        /// How hard the task is.
        task_complexity: TaskComplexity,
        /// The account to answer for; without it the daemon picks one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
    },
    /// Asks where a task goes now: the decision and the model in one
    /// answer, from one view of the daemon's state, so they can never
    /// straddle a change of tier.
    Route {
        /// How much the task is worth.
        task_value: TaskValue,
        /// How hard the task is.
        task_complexity: TaskComplexity,
        /// The account to answer for; without it the daemon picks the
        /// preferred account whose tier lets this task use the cloud.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
    },
    /// Asks for a `status` now and at every change until the client closes.
    Subscribe,
    /// Asks for a poll now (rate-limited by the daemon), then a `status`.
    Refresh,
    /// Pushes a reading taken elsewhere (Claude Code's status line, or the
    /// rate-limit headers of a Messages API response).
    Ingest(Box<Ingest>),
    /// Asks for the daemon's current values in the Prometheus text format,
    /// the same text its `[metrics]` endpoint serves.
    Metrics,
}

/// An `ingest` request: a reading pushed by a client, as mapped windows
/// (Claude Code's status line, older clients) or as the raw
/// `anthropic-ratelimit-unified-*` response headers, which the daemon
/// reads itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Ingest {
    /// Who took the reading; `statusline` and `headers` are accepted from
    /// clients.
    pub source: ReadingSource,
    /// The 5-hour window.
    #[serde(default)]
    pub five_hour: Option<Window>,
    /// The 7-day window.
    #[serde(default)]
    pub seven_day: Option<Window>,
    /// When the reading was taken; the daemon uses the arrival time
    /// when absent. A reading older than the one held is not taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<DateTime<Utc>>,
    /// Per-model weekly caps the source saw; without any, the caps last
    /// known stay in force.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekly_scoped: Vec<ScopedCap>,
    /// Extra usage as the source saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_usage: Option<ExtraUsage>,
    /// The binding window the source named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative_claim: Option<String>,
    /// The response's `anthropic-ratelimit-unified-*` headers as received
    /// (names in any case), read by the daemon with the same tolerant
    /// rules as a usage reply; other names are ignored. At most 64, names
    /// of at most 128 bytes and values of at most 256 (more is a
    /// `bad_request`); only with `source: "headers"` and no windows, caps,
    /// extra usage or claim beside them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// The account the reading belongs to, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The account the reading belongs to, by the `CLAUDE_CONFIG_DIR` of
    /// the Claude Code session that pushed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_config_dir: Option<String>,
}

impl Ingest {
    /// A push from `source` carrying nothing yet, to fill in.
    pub fn from(source: ReadingSource) -> Self {
        Ingest {
            source,
            five_hour: None,
            seven_day: None,
            as_of: None,
            weekly_scoped: Vec::new(),
            extra_usage: None,
            representative_claim: None,
            headers: None,
            account: None,
            claude_config_dir: None,
        }
    }
}

/// What the daemon answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// Answers `hello`.
    Hello {
        /// The protocol version the daemon speaks.
        protocol: u32,
        /// `claude-quotad/<version>`.
        daemon: String,
        /// The models the daemon is configured with: the local model a
        /// client answers with when it later cannot reach the daemon
        /// (absent from older daemons).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        models: Option<ConfiguredModels>,
        /// The subagent model per tier for `claude-quota hook`
        /// (`[claude_code]`; absent from older daemons).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        claude_code: Option<SubagentModels>,
    },
    /// Answers `status`, `refresh`, and every `subscribe` update.
    Status(Box<Status>),
    /// Answers `should_use_cloud`.
    Decision(Decision),
    /// Answers `select_model`.
    Model(ModelChoice),
    /// Answers `route`.
    Route(RouteChoice),
    /// Answers `ingest`.
    Ok,
    /// Answers `metrics`.
    Metrics {
        /// The Prometheus text exposition format (version 0.0.4).
        text: String,
    },
    /// Answers any request that could not be served.
    Error {
        /// What kind of failure, for programs.
        code: ErrorCode,
        /// What was wrong, for people.
        message: String,
    },
}

/// Whether a task may use the cloud, and on what grounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Decision {
    /// Whether the task may go to the cloud.
    pub use_cloud: bool,
    /// The tier the decision was made in.
    pub tier: Tier,
    /// Why, in words.
    pub reason: String,
    /// Whether the reading behind the tier is stale (then the answer is local).
    pub stale: bool,
    /// The account the answer is for (only when accounts are configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// That account's `CLAUDE_CONFIG_DIR` (absent for the default login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_config_dir: Option<String>,
}

/// The model a task should use, and on what grounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ModelChoice {
    /// The model tag: an Ollama tag or an Anthropic model name.
    pub model: String,
    /// Where that model runs.
    pub provider: Provider,
    /// The tier the choice was made in.
    pub tier: Tier,
    /// Why, in words.
    pub reason: String,
    /// Whether the reading behind the tier is stale.
    pub stale: bool,
    /// False when the model is local and Ollama is down or lacks it.
    #[serde(default = "default_available")]
    pub available: bool,
    /// The account the answer is for (only when accounts are configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// That account's `CLAUDE_CONFIG_DIR` (absent for the default login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_config_dir: Option<String>,
}

/// Where a task goes now: the decision and the model from one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RouteChoice {
    /// Where the task goes: Anthropic (the cloud) or Ollama (local).
    pub provider: Provider,
    /// The model to send it to there.
    pub model: String,
    /// Whether the task goes to the cloud: its value allows the cloud and
    /// its complexity calls for the cloud model (`provider` is Anthropic).
    pub use_cloud: bool,
    /// The tier the answer was made in.
    pub tier: Tier,
    /// Why, in words.
    pub reason: String,
    /// Whether the reading behind the tier is stale (then the answer is local).
    pub stale: bool,
    /// False when the model is local and Ollama is down or lacks it.
    #[serde(default = "default_available")]
    pub available: bool,
    /// The account the answer is for (only when accounts are configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// That account's `CLAUDE_CONFIG_DIR` (absent for the default login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claude_config_dir: Option<String>,
}

fn default_available() -> bool {
    true
}

/// The machine-readable kind of an `error` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request was not understood; the connection stays usable.
    BadRequest,
    /// The `hello` named a protocol version the daemon does not speak.
    UnsupportedProtocol,
    /// The length prefix exceeded the frame limit; the connection is closed.
    FrameTooLarge,
    /// The daemon is at its connection cap; the connection is closed.
    TooManyConnections,
    /// The daemon failed on its side. A code this client does not know
    /// (from a newer daemon) reads as this one, and keeps the connection.
    #[serde(other)]
    Internal,
}

impl Reply {
    /// Builds an `error` reply.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Reply::Error {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_parse_from_the_contract_examples() {
        let cases = [
            (
                json!({"type":"hello","protocol":1,"client":"my-router/0.3"}),
                Request::Hello {
                    protocol: 1,
                    client: Some("my-router/0.3".into()),
                },
            ),
            (json!({"type":"status"}), Request::Status),
            (
                json!({"type":"should_use_cloud","task_value":"high"}),
                Request::ShouldUseCloud {
                    task_value: TaskValue::High,
                    account: None,
                },
            ),
            (
                json!({"type":"select_model","task_complexity":"medium"}),
                Request::SelectModel {
                    task_complexity: TaskComplexity::Medium,
                    account: None,
                },
            ),
            (
                json!({"type":"route","task_value":"high","task_complexity":"low"}),
                Request::Route {
                    task_value: TaskValue::High,
                    task_complexity: TaskComplexity::Low,
                    account: None,
                },
            ),
            (json!({"type":"subscribe"}), Request::Subscribe),
            (json!({"type":"refresh"}), Request::Refresh),
            (json!({"type":"metrics"}), Request::Metrics),
        ];
        for (wire, expected) in cases {
            assert_eq!(serde_json::from_value::<Request>(wire).unwrap(), expected);
        }
    }

    #[test]
    fn bad_requests_name_what_was_wrong() {
        let unknown = serde_json::from_value::<Request>(
            json!({"type":"should_use_cloud","task_value":"urgent"}),
        )
        .unwrap_err()
        .to_string();
        assert!(unknown.contains("urgent"), "{unknown}");
        let missing = serde_json::from_value::<Request>(json!({"type":"select_model"}))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("task_complexity"), "{missing}");
    }

    #[test]
    fn replies_carry_their_type_tag() {
        let decision = Reply::Decision(Decision {
            use_cloud: true,
            tier: Tier::Burst,
            reason: "r".into(),
            stale: false,
            account: None,
            claude_config_dir: None,
        });
        assert_eq!(
            serde_json::to_value(&decision).unwrap(),
            json!({"type":"decision","use_cloud":true,"tier":"burst","reason":"r","stale":false})
        );
        assert_eq!(
            serde_json::to_value(Reply::error(ErrorCode::FrameTooLarge, "m")).unwrap(),
            json!({"type":"error","code":"frame_too_large","message":"m"})
        );
    }

    #[test]
    fn an_error_code_this_client_does_not_know_reads_as_internal() {
        let reply: Reply = serde_json::from_value(
            json!({"type":"error","code":"quota_account_gone","message":"m"}),
        )
        .unwrap();
        assert_eq!(reply, Reply::error(ErrorCode::Internal, "m"));
    }

    #[test]
    fn ingest_carries_raw_headers_and_an_account() {
        let wire = json!({"type":"ingest","source":"headers","account":"work",
            "five_hour":null,"seven_day":null,
            "headers":{"Anthropic-Ratelimit-Unified-5h-Utilization":"0.42"}});
        let Request::Ingest(ingest) = serde_json::from_value::<Request>(wire.clone()).unwrap()
        else {
            panic!("not an ingest")
        };
        assert_eq!(ingest.account.as_deref(), Some("work"));
        assert_eq!(ingest.headers.as_ref().map(|h| h.len()), Some(1));
        assert_eq!(serde_json::to_value(Request::Ingest(ingest)).unwrap(), wire);
    }
}

//! What the `quota_status` tool answers: the status an agent needs to
//! decide (tier, windows with resets, per-model caps, extra usage,
//! staleness, where tasks go now) and one line that says it all.

use chrono::{DateTime, Utc};
use claude_quota::{
    LocalInfo, Provider, ReadingSource, Status, TaskComplexity, TaskValue, Tier, Window,
};
use claude_quota_proto::ExtraUsage;
use schemars::JsonSchema;
use serde::Serialize;

use crate::guidance::Guidance;
use crate::render::model_caps;
use crate::statusline::{self, Pushed};
use crate::style::{Palette, countdown};

/// The quota as an agent reads it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QuotaReport {
    /// One line: tier, both windows, time to the 5-hour reset, and what to
    /// do about it.
    pub summary: String,
    /// burst (the cloud is open for valuable work), active or resting
    /// (the quota is tight: work stays local), unknown (no fresh reading:
    /// work stays local).
    pub tier: Tier,
    /// Why the tier is what it is, in the daemon's words.
    pub reason: String,
    /// The rolling 5-hour window.
    pub five_hour: Option<WindowReport>,
    /// The rolling 7-day window of all models.
    pub seven_day: Option<WindowReport>,
    /// The per-model weekly caps (sonnet, opus, …).
    pub model_caps: Vec<CapReport>,
    /// The model family whose spent weekly cap keeps every task local, if any.
    pub cloud_capped_by: Option<String>,
    /// Pay-as-you-go usage beyond the plan, when the account has it.
    pub extra_usage: Option<ExtraUsage>,
    /// Whether the last reading is too old to trust (everything stays local).
    pub stale: bool,
    /// Age of the last reading in seconds, if there is one.
    pub reading_age_s: Option<u64>,
    /// Where the last reading came from.
    pub reading_source: Option<ReadingSource>,
    /// The daemon's last fault, if any (e.g. no credentials, rate limited).
    pub last_error: Option<String>,
    /// The task values that may use the cloud now; every other stays local.
    pub cloud_for: Vec<TaskValue>,
    /// The model each task complexity gets now.
    pub models: Vec<ModelNow>,
    /// The local Ollama server as the daemon last saw it.
    pub local: Option<LocalInfo>,
    /// Every Claude account (login) the daemon reads, in order of
    /// preference; the fields above are the one a high-value task goes to
    /// now. One account, `default`, when none is configured.
    pub accounts: Vec<AccountReport>,
}

/// One Claude account as an agent reads it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AccountReport {
    /// Its name in the daemon's `[[accounts]]` (`default` without them).
    pub name: String,
    /// Its `CLAUDE_CONFIG_DIR`; null for Claude Code's default login.
    pub claude_config_dir: Option<String>,
    /// Its tier, as `tier` above.
    pub tier: Tier,
    /// Its rolling 5-hour window.
    pub five_hour: Option<WindowReport>,
    /// Its rolling 7-day window of all models.
    pub seven_day: Option<WindowReport>,
    /// Whether its last reading is too old to trust.
    pub stale: bool,
}

/// A usage window.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WindowReport {
    /// Percent used, 0-100.
    pub utilization: f64,
    /// When it rolls over, if known.
    pub resets_at: Option<DateTime<Utc>>,
    /// The same as a countdown ("2h 13m"), if known.
    pub resets_in: Option<String>,
}

/// A per-model weekly cap.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CapReport {
    /// The model family, lower case (`sonnet`, `opus`).
    pub model: String,
    /// Its window.
    #[serde(flatten)]
    pub window: WindowReport,
}

/// The model for one task complexity.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ModelNow {
    /// The complexity.
    pub complexity: TaskComplexity,
    /// The model tag.
    pub model: String,
    /// `anthropic` (the cloud) or `ollama` (local).
    pub provider: Provider,
    /// False when the daemon saw Ollama down or without the model.
    pub available: bool,
}

impl QuotaReport {
    /// The report of `status`, with the daemon's answers in `guidance`.
    pub fn new(status: &Status, guidance: &Guidance, now: DateTime<Utc>) -> Self {
        let window = |w: Window| WindowReport {
            utilization: w.utilization,
            resets_at: w.resets_at,
            resets_in: w.resets_at.map(|at| countdown(at, now)),
        };
        let cloud_for: Vec<TaskValue> = guidance
            .cloud
            .iter()
            .filter(|(_, yes)| *yes)
            .map(|(value, _)| *value)
            .collect();
        QuotaReport {
            summary: summary(status, &cloud_for, now),
            tier: status.tier,
            reason: status.reason.clone(),
            five_hour: status.five_hour.map(window),
            seven_day: status.seven_day.map(window),
            model_caps: model_caps(status)
                .into_iter()
                .map(|(model, w)| CapReport {
                    model,
                    window: window(w),
                })
                .collect(),
            cloud_capped_by: status.cloud_capped_by.as_ref().map(|c| c.model.clone()),
            extra_usage: status.extra_usage.clone(),
            stale: status.stale,
            reading_age_s: status.age_s,
            reading_source: status.source,
            last_error: status
                .last_error
                .as_ref()
                .map(|e| format!("{} ({})", e.message, e.kind)),
            cloud_for,
            models: guidance
                .models
                .iter()
                .map(|(complexity, choice)| ModelNow {
                    complexity: *complexity,
                    model: choice.model.clone(),
                    provider: choice.provider,
                    available: choice.available,
                })
                .collect(),
            local: status.local.clone(),
            accounts: status
                .accounts
                .iter()
                .map(|account| AccountReport {
                    name: account.name.clone(),
                    claude_config_dir: account.claude_config_dir.clone(),
                    tier: account.tier,
                    five_hour: account.five_hour.map(window),
                    seven_day: account.seven_day.map(window),
                    stale: account.stale,
                })
                .collect(),
        }
    }
}

/// The status line's text (`BURST · 5h 23% · 7d 41% · resets in 2h 13m`),
/// whether the reading is stale, and the advice that follows.
fn summary(status: &Status, cloud_for: &[TaskValue], now: DateTime<Utc>) -> String {
    let line = statusline::line(Pushed::default(), Some(status), Palette::plain(), now).join(" · ");
    let stale = if status.stale && status.as_of.is_some() {
        " · reading stale"
    } else {
        ""
    };
    let advice = match cloud_for {
        [] => "every task stays local now: delegate routine work with ask_local".to_owned(),
        values => {
            let values: Vec<&str> = values.iter().map(|v| v.as_str()).collect();
            format!(
                "the cloud is open for {} tasks; delegate routine work with ask_local",
                values.join(" and ")
            )
        }
    };
    format!("{line}{stale} · {advice}")
}

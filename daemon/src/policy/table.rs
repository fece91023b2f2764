//! The answer table (docs/policy.md, "The answers"): for an assessed tier,
//! whether a task of a given value may go to the cloud and which model a
//! task of a given complexity runs on.

use claude_quota_proto::{Provider, TaskComplexity, TaskValue, Tier};

use super::tier::Assessment;
use crate::config::Models;

/// Whether a task of `value` may go to the cloud. Only an open cloud
/// (`burst`, the cloud model's cap not spent) is used, and only for
/// critical or high-value work; `routine` never is.
pub fn should_use_cloud(assessment: &Assessment, value: TaskValue) -> bool {
    match value {
        TaskValue::Routine | TaskValue::Medium | TaskValue::Low => false,
        TaskValue::Critical | TaskValue::High => assessment.cloud_open(),
    }
}

/// The model for a task of `complexity`, and where it runs.
pub fn select_model<'m>(
    models: &'m Models,
    assessment: &Assessment,
    complexity: TaskComplexity,
) -> (&'m str, Provider) {
    match (assessment.tier, complexity) {
        (Tier::Burst, TaskComplexity::High) if assessment.cloud_open() => {
            (&models.cloud, Provider::Anthropic)
        }
        (Tier::Resting, _) => (&models.local_small, Provider::Ollama),
        _ => (&models.local_large, Provider::Ollama),
    }
}

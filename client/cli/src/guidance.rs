//! Where each kind of task goes now, asked of the daemon (which alone
//! knows the configured thresholds and model names).

use claude_quota::{Client, Error, ModelChoice, TaskComplexity, TaskValue};

/// The daemon's answer for every task value and complexity.
#[derive(Debug, Clone, PartialEq)]
pub struct Guidance {
    /// `should_use_cloud` for each value, in [`TaskValue::ALL`] order.
    pub cloud: Vec<(TaskValue, bool)>,
    /// `select_model` for each complexity, in [`TaskComplexity::ALL`] order.
    pub models: Vec<(TaskComplexity, ModelChoice)>,
    /// The account a `high` task goes to now, when accounts are configured.
    pub high_account: Option<String>,
}

impl Guidance {
    /// Asks the eight questions on one connection.
    pub async fn fetch(client: &mut Client) -> Result<Self, Error> {
        let mut cloud = Vec::with_capacity(TaskValue::ALL.len());
        let mut high_account = None;
        for value in TaskValue::ALL {
            let decision = client.decide(value).await?;
            if value == TaskValue::High {
                high_account = decision.account;
            }
            cloud.push((value, decision.use_cloud));
        }
        let mut models = Vec::with_capacity(TaskComplexity::ALL.len());
        for complexity in TaskComplexity::ALL {
            models.push((complexity, client.select_model(complexity).await?));
        }
        Ok(Guidance {
            cloud,
            models,
            high_account,
        })
    }
}

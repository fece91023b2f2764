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
}

impl Guidance {
    /// Asks the eight questions on one connection.
    pub async fn fetch(client: &mut Client) -> Result<Self, Error> {
        let mut cloud = Vec::with_capacity(TaskValue::ALL.len());
        for value in TaskValue::ALL {
            cloud.push((value, client.should_use_cloud(value).await?));
        }
        let mut models = Vec::with_capacity(TaskComplexity::ALL.len());
        for complexity in TaskComplexity::ALL {
            models.push((complexity, client.select_model(complexity).await?));
        }
        Ok(Guidance { cloud, models })
    }
}

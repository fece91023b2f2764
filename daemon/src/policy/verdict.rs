//! The verdict: the tier, its reasons and the model for every complexity,
//! worked out once from one view of the state, and every reply read off it.
//! A `route` is a decision and a model from the same verdict, so it can
//! never mix a `burst` decision with a `resting` model.

use claude_quota_proto::{
    Decision, Forecast, LocalInfo, ModelChoice, Provider, Reply, RouteChoice, TaskComplexity,
    TaskValue, Thresholds,
};

use super::Question;
use super::tier::{self, Assessment};
use super::{Now, local_choice, pace, table};
use crate::config::Config;
use crate::state::Snapshot;

/// What the policy says at one moment: the tier and what it rests on
/// (the [`Assessment`]), and the answer for every task.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The tier, its reason, the windows as they count now, and when the
    /// clock alone changes them.
    pub assessment: Assessment,
    /// Where the 5-hour window is heading, when enough readings exist.
    pub forecast: Option<Forecast>,
    /// The thresholds it was judged by, for `status` to show.
    pub thresholds: Thresholds,
    /// Whether each of [`TaskValue::ALL`] may go to the cloud.
    clouds: [bool; TaskValue::ALL.len()],
    /// The model for each of [`TaskComplexity::ALL`].
    models: [Pick; TaskComplexity::ALL.len()],
}

/// The model for one complexity, after looking at what Ollama holds.
#[derive(Debug, Clone, PartialEq)]
struct Pick {
    model: String,
    provider: Provider,
    available: bool,
    note: Option<String>,
}

/// The policy's verdict on `state` under `config` at `now`, given what
/// Ollama reports (`local`).
pub fn verdict(state: &Snapshot, config: &Config, local: &LocalInfo, now: Now) -> Verdict {
    let forecast = state.history.forecast(
        config.thresholds.resting_above,
        config.policy.forecast_span.0,
        now.wall,
    );
    let mut assessment = tier::assess(
        &config.thresholds,
        config.models.family(),
        state.reading.as_ref(),
        config.stale_after.0,
        now,
    );
    if config.policy.pace {
        let resets_at = assessment.windows.five_hour.and_then(|w| w.resets_at);
        assessment = pace::pace(assessment, forecast.as_ref(), resets_at, now);
    }
    let models = TaskComplexity::ALL.map(|complexity| {
        let (model, provider) = table::select_model(&config.models, &assessment, complexity);
        let choice = local_choice::prefer_pulled(&config.models, local, model, provider);
        Pick {
            model: choice.model.to_owned(),
            provider,
            available: choice.available,
            note: choice.note,
        }
    });
    Verdict::new(assessment, forecast, config.thresholds.to_wire(), models)
}

impl Verdict {
    fn new(
        assessment: Assessment,
        forecast: Option<Forecast>,
        thresholds: Thresholds,
        models: [Pick; TaskComplexity::ALL.len()],
    ) -> Self {
        let clouds = TaskValue::ALL.map(|value| table::should_use_cloud(&assessment, value));
        Verdict {
            assessment,
            forecast,
            thresholds,
            clouds,
            models,
        }
    }

    /// Whether a task of `value` may go to the cloud.
    pub fn use_cloud(&self, value: TaskValue) -> bool {
        self.clouds[position(&TaskValue::ALL, value)]
    }

    /// Whether the answer to `question` sends the task to the cloud.
    pub fn uses_cloud(&self, question: Question) -> bool {
        match question {
            Question::Route(value, complexity) => {
                self.pick(complexity).provider == Provider::Anthropic && self.use_cloud(value)
            }
            Question::Decision(value) => self.use_cloud(value),
            Question::Model(complexity) => self.pick(complexity).provider == Provider::Anthropic,
        }
    }

    /// The reply to `question`.
    pub fn answer(&self, question: Question) -> Reply {
        match question {
            Question::Route(value, complexity) => Reply::Route(self.route(value, complexity)),
            Question::Decision(value) => Reply::Decision(self.decision(value)),
            Question::Model(complexity) => Reply::Model(self.model(complexity)),
        }
    }

    /// The `should_use_cloud` answer for a task of `value`.
    pub fn decision(&self, value: TaskValue) -> Decision {
        let use_cloud = self.use_cloud(value);
        let verdict = if use_cloud { "cloud" } else { "local" };
        Decision {
            use_cloud,
            tier: self.assessment.tier,
            reason: format!(
                "{value} task in {} tier → {verdict}: {}",
                self.assessment.tier, self.assessment.reason
            ),
            stale: self.assessment.stale,
            account: None,
            claude_config_dir: None,
        }
    }

    /// The `select_model` answer for a task of `complexity`.
    pub fn model(&self, complexity: TaskComplexity) -> ModelChoice {
        let pick = self.pick(complexity);
        ModelChoice {
            model: pick.model.clone(),
            provider: pick.provider,
            tier: self.assessment.tier,
            reason: self.with_note(
                format!(
                    "{complexity} complexity in {} tier: {}",
                    self.assessment.tier, self.assessment.reason
                ),
                pick,
            ),
            stale: self.assessment.stale,
            available: pick.available,
            account: None,
            claude_config_dir: None,
        }
    }

    /// The `route` answer: the cloud only when the value allows it and the
    /// complexity calls for the cloud model; otherwise the local model for
    /// the complexity, or for `medium` when the complexity asked for the
    /// cloud (local in every tier).
    pub fn route(&self, value: TaskValue, complexity: TaskComplexity) -> RouteChoice {
        let asked = self.pick(complexity);
        let use_cloud = asked.provider == Provider::Anthropic && self.use_cloud(value);
        let pick = if asked.provider == Provider::Anthropic && !use_cloud {
            self.pick(TaskComplexity::Medium)
        } else {
            asked
        };
        let (verdict, note) = if use_cloud {
            ("cloud", None)
        } else {
            ("local", Some(pick))
        };
        let reason = format!(
            "{value} task of {complexity} complexity in {} tier → {verdict}: {}",
            self.assessment.tier, self.assessment.reason
        );
        RouteChoice {
            provider: pick.provider,
            model: pick.model.clone(),
            use_cloud,
            tier: self.assessment.tier,
            reason: match note {
                Some(pick) => self.with_note(reason, pick),
                None => reason,
            },
            stale: self.assessment.stale,
            available: pick.available,
            account: None,
            claude_config_dir: None,
        }
    }

    fn pick(&self, complexity: TaskComplexity) -> &Pick {
        &self.models[position(&TaskComplexity::ALL, complexity)]
    }

    fn with_note(&self, reason: String, pick: &Pick) -> String {
        match &pick.note {
            Some(note) => format!("{reason}; {note}"),
            None => reason,
        }
    }
}

/// Where `item` stands in `all` (an `ALL` array, which lists every variant).
pub fn position<T: PartialEq>(all: &[T], item: T) -> usize {
    all.iter()
        .position(|each| *each == item)
        .expect("ALL lists every variant")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Models;
    use crate::policy::cap;
    use crate::policy::tier::Windows;
    use claude_quota_proto::{ScopedCap, Tier};

    /// A verdict in `tier` with the cloud model's cap open or spent, and
    /// Ollama holding both local models.
    fn in_tier(tier: Tier, capped: Option<ScopedCap>) -> Verdict {
        let assessment = Assessment {
            tier,
            reason: "why".into(),
            stale: tier == Tier::Unknown,
            cloud_capped_by: capped,
            windows: Windows::default(),
            changes_at: None,
        };
        let models = Models::default();
        let local = LocalInfo {
            url: "http://127.0.0.1:11434".into(),
            up: true,
            models: vec![models.local_large.clone(), models.local_small.clone()],
        };
        let picks = TaskComplexity::ALL.map(|complexity| {
            let (model, provider) = table::select_model(&models, &assessment, complexity);
            let choice = local_choice::prefer_pulled(&models, &local, model, provider);
            Pick {
                model: choice.model.to_owned(),
                provider,
                available: choice.available,
                note: choice.note,
            }
        });
        Verdict::new(assessment, None, Thresholds::default(), picks)
    }

    /// The whole table of docs/policy.md: every tier × value × complexity,
    /// with the cloud model's weekly cap open and then spent (which keeps
    /// everything local and changes nothing else); and every `route` is
    /// the decision and the model of the same verdict.
    #[test]
    fn the_policy_table_holds_for_every_combination() {
        use Tier::*;
        let table = [
            (
                Burst,
                [true, true, false, false, false],
                ["claude-sonnet-4-6", "qwen3:14b", "qwen3:14b"],
            ),
            (Active, [false; 5], ["qwen3:14b"; 3]),
            (Resting, [false; 5], ["qwen3:8b"; 3]),
            (Unknown, [false; 5], ["qwen3:14b"; 3]),
        ];
        let models = Models::default();
        for (tier, cloud, chosen) in table {
            for capped in [None, Some(cap("Sonnet", 97.0))] {
                let verdict = in_tier(tier, capped.clone());
                for (value, expected) in TaskValue::ALL.into_iter().zip(cloud) {
                    let expected = expected && capped.is_none();
                    let decision = verdict.decision(value);
                    assert_eq!(decision.use_cloud, expected, "{tier} {value} {capped:?}");
                    assert_eq!((decision.tier, decision.stale), (tier, tier == Unknown));
                }
                for (complexity, expected) in TaskComplexity::ALL.into_iter().zip(chosen) {
                    let expected = match capped {
                        Some(_) if expected == models.cloud => models.local_large.as_str(),
                        _ => expected,
                    };
                    let choice = verdict.model(complexity);
                    assert_eq!(choice.model, expected, "{tier} {complexity} {capped:?}");
                    let cloud_model = choice.model == models.cloud;
                    assert_eq!(choice.provider == Provider::Anthropic, cloud_model);
                    for value in TaskValue::ALL {
                        let route = verdict.route(value, complexity);
                        let to_cloud = verdict.decision(value).use_cloud && cloud_model;
                        assert_eq!(route.use_cloud, to_cloud, "{tier} {value} {complexity}");
                        assert_eq!(route.provider == Provider::Anthropic, to_cloud);
                        let local = verdict.model(complexity);
                        let local = if local.provider == Provider::Anthropic {
                            verdict.model(TaskComplexity::Medium).model
                        } else {
                            local.model
                        };
                        let model = if to_cloud { &choice.model } else { &local };
                        assert_eq!(&route.model, model, "{tier} {value} {complexity}");
                        assert_eq!(route.tier, tier);
                    }
                }
            }
        }
    }

    #[test]
    fn routine_is_never_cloud() {
        for tier in Tier::ALL {
            let verdict = in_tier(tier, None);
            assert!(!verdict.decision(TaskValue::Routine).use_cloud);
            for complexity in TaskComplexity::ALL {
                assert_eq!(
                    verdict.route(TaskValue::Routine, complexity).provider,
                    Provider::Ollama
                );
            }
        }
    }

    #[test]
    fn reasons_name_the_task_and_the_verdict() {
        let verdict = in_tier(Tier::Burst, None);
        let route = verdict.route(TaskValue::High, TaskComplexity::High);
        assert_eq!(
            route.reason,
            "high task of high complexity in burst tier → cloud: why"
        );
        let route = verdict.route(TaskValue::Low, TaskComplexity::High);
        assert_eq!(
            route.reason,
            "low task of high complexity in burst tier → local: why"
        );
        assert_eq!(route.model, "qwen3:14b");
        assert_eq!(
            verdict.decision(TaskValue::High).reason,
            "high task in burst tier → cloud: why"
        );
        assert_eq!(
            verdict.model(TaskComplexity::Low).reason,
            "low complexity in burst tier: why"
        );
    }
}

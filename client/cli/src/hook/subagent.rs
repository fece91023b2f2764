//! Which model a subagent runs on: the tier's choice (`[claude_code]`), but
//! only ever lower than what the subagent asked for (haiku < sonnet <
//! opus), and never a family whose weekly cap is spent: from there it goes
//! lower still.

use claude_quota::{Status, SubagentModel, WindowStatus};

use crate::raw_json::{Members, Node};

/// The member of the tool input that names the model.
const MODEL: &str = "model";

/// The cheapest-first model families, by the word that names them in an
/// alias or a full model id.
const FAMILIES: [SubagentModel; 3] = [
    SubagentModel::Haiku,
    SubagentModel::Sonnet,
    SubagentModel::Opus,
];

/// The percent of a weekly cap at which it is spent.
const SPENT: f64 = 100.0;

/// What the hook does to subagents in the daemon's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The dearest model a subagent may run on (`keep`: whatever it asks
    /// for), already lowered past the spent families.
    pub ceiling: SubagentModel,
    /// The families whose weekly cap is spent, cheapest first.
    pub spent: Vec<SubagentModel>,
}

impl Plan {
    /// The plan for the tier's choice `target` and the caps in `status`: a
    /// family is spent when it is the cloud model's and its cap closed the
    /// cloud (`cloud_capped_by`), or when its cap is at 100 % or refused.
    pub fn new(target: SubagentModel, status: &Status) -> Plan {
        let capped = status.cloud_capped_by.iter().map(|cap| cap.model.as_str());
        let full = status
            .weekly_scoped
            .iter()
            .filter(|cap| cap.utilization >= SPENT || cap.status == Some(WindowStatus::Rejected))
            .map(|cap| cap.model.as_str());
        let mut spent: Vec<SubagentModel> = capped.chain(full).filter_map(family).collect();
        spent.sort();
        spent.dedup();
        let mut plan = Plan {
            ceiling: target,
            spent,
        };
        plan.ceiling = plan.below_spent(target);
        plan
    }

    /// `model`, or the dearest family below it whose cap is not spent;
    /// haiku when every cheaper one is (nothing is cheaper). `keep` stays.
    fn below_spent(&self, mut model: SubagentModel) -> SubagentModel {
        while self.spent.contains(&model) {
            match cheaper(model) {
                Some(cheaper) => model = cheaper,
                None => break,
            }
        }
        model
    }

    /// Sets the input's `model` to what the plan allows when that lowers
    /// it; whether it did. A subagent already as cheap or cheaper, or whose
    /// model cannot be ranked, is left alone, and so is one that inherits
    /// the session's model when the tier keeps models.
    pub fn lower(&self, input: &mut Members) -> bool {
        let asked = asked(input);
        let to = match (self.ceiling, asked) {
            (SubagentModel::Keep, Asked::Family(family)) => self.below_spent(family),
            (SubagentModel::Keep, _) | (_, Asked::Unknown) => return false,
            (ceiling, _) => ceiling,
        };
        let lowers = match asked {
            Asked::Inherit => true,
            Asked::Family(family) => to < family,
            Asked::Unknown => false,
        };
        if lowers {
            input.insert(MODEL, Node::new(&to.as_str()));
        }
        lowers
    }
}

/// The family just below `model`, if any.
fn cheaper(model: SubagentModel) -> Option<SubagentModel> {
    let at = FAMILIES.iter().position(|family| *family == model)?;
    at.checked_sub(1).map(|below| FAMILIES[below])
}

/// What the subagent asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// No model (or `inherit`): it runs on the session's model.
    Inherit,
    /// A model of this family, by alias or full id.
    Family(SubagentModel),
    /// Something we cannot rank; left alone.
    Unknown,
}

fn asked(input: &Members) -> Asked {
    // Two `model` members are no input Claude Code sends; which one a
    // reader takes is not ours to guess.
    if input.count(MODEL) > 1 {
        return Asked::Unknown;
    }
    let Some(model) = input.get(MODEL) else {
        return Asked::Inherit;
    };
    match model.read::<Option<String>>() {
        Some(None) => Asked::Inherit,
        Some(Some(name)) if name.eq_ignore_ascii_case("inherit") => Asked::Inherit,
        Some(Some(name)) => family(&name).map_or(Asked::Unknown, Asked::Family),
        None => Asked::Unknown,
    }
}

/// The family a model name belongs to: an alias (`opus`), a full id
/// (`claude-opus-4-5`, `claude-3-5-sonnet-20241022`) or a cap's family
/// (`Sonnet`), by its words; `None` when no family or more than one is
/// named.
fn family(name: &str) -> Option<SubagentModel> {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    let mut named = FAMILIES
        .into_iter()
        .filter(|family| words.contains(&family.as_str()));
    match (named.next(), named.next()) {
        (Some(family), None) => Some(family),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SubagentModel::{Haiku, Keep, Opus, Sonnet};

    fn lowered(input: &str, target: SubagentModel) -> Option<String> {
        lowered_with(input, target, &[])
    }

    /// As [`lowered`], with the caps of `spent` families at 100 %.
    fn lowered_with(input: &str, target: SubagentModel, spent: &[&str]) -> Option<String> {
        let mut status = crate::hook::status_fixture(claude_quota::Tier::Active, "r", None, None);
        status.weekly_scoped = spent.iter().map(|family| cap(family, 100.0)).collect();
        let mut members = Members::parse(input).unwrap();
        Plan::new(target, &status)
            .lower(&mut members)
            .then(|| serde_json::to_string(&members).unwrap())
    }

    fn cap(family: &str, utilization: f64) -> claude_quota::ScopedCap {
        claude_quota::ScopedCap {
            model: family.into(),
            utilization,
            resets_at: None,
            severity: None,
            status: None,
        }
    }

    #[test]
    fn the_model_is_only_ever_lowered() {
        let opus = r#"{"prompt":"p","model":"opus"}"#;
        assert_eq!(
            lowered(opus, Sonnet).as_deref(),
            Some(r#"{"prompt":"p","model":"sonnet"}"#)
        );
        assert_eq!(
            lowered(opus, Haiku).as_deref(),
            Some(r#"{"prompt":"p","model":"haiku"}"#)
        );
        assert_eq!(lowered(opus, Opus), None);
        assert_eq!(lowered(opus, Keep), None);
        assert_eq!(
            lowered(r#"{"model":"haiku"}"#, Sonnet),
            None,
            "cheaper stays"
        );
        assert_eq!(
            lowered(r#"{"model":"sonnet"}"#, Sonnet),
            None,
            "equal stays"
        );
    }

    #[test]
    fn a_subagent_without_a_model_gets_the_tiers() {
        for input in [r#"{"prompt":"p"}"#, r#"{"prompt":"p","model":null}"#] {
            let out = lowered(input, Sonnet).unwrap();
            assert!(
                out.starts_with(r#"{"prompt":"p""#) && out.ends_with(r#""model":"sonnet"}"#),
                "{out}"
            );
        }
        assert_eq!(
            lowered(r#"{"model":"inherit","x":1}"#, Haiku).as_deref(),
            Some(r#"{"model":"haiku","x":1}"#)
        );
        assert_eq!(lowered(r#"{"prompt":"p"}"#, Keep), None);
    }

    #[test]
    fn full_model_ids_are_ranked_by_their_family() {
        assert_eq!(family("claude-opus-4-5"), Some(Opus));
        assert_eq!(family("claude-3-5-sonnet-20241022"), Some(Sonnet));
        assert_eq!(family("Claude-Haiku-4-5[1m]"), Some(Haiku));
        assert_eq!(family("OPUS"), Some(Opus));
        assert_eq!(family("opusX"), None, "a word, not a substring");
        assert_eq!(family("sonnet-or-opus"), None, "two families: unknown");
        assert_eq!(family("gpt-5"), None);
        assert_eq!(
            lowered(r#"{"model":"claude-opus-4-5"}"#, Sonnet).as_deref(),
            Some(r#"{"model":"sonnet"}"#)
        );
        assert_eq!(lowered(r#"{"model":"claude-haiku-4-5"}"#, Sonnet), None);
    }

    #[test]
    fn what_cannot_be_ranked_is_left_alone() {
        for input in [
            r#"{"model":"gpt-5"}"#,
            r#"{"model":42}"#,
            r#"{"model":{"id":"opus"}}"#,
            r#"{"model":"opus","model":"haiku"}"#,
        ] {
            assert_eq!(lowered(input, Haiku), None, "{input}");
        }
    }

    #[test]
    fn a_family_whose_weekly_cap_is_spent_is_never_picked() {
        let opus = r#"{"model":"opus"}"#;
        assert_eq!(
            lowered_with(opus, Sonnet, &["Sonnet"]).as_deref(),
            Some(r#"{"model":"haiku"}"#),
            "the tier's sonnet is spent: lower still"
        );
        assert_eq!(
            lowered_with(opus, Keep, &["Opus"]).as_deref(),
            Some(r#"{"model":"sonnet"}"#),
            "keep, but not on a spent family"
        );
        assert_eq!(
            lowered_with(opus, Keep, &["Opus", "Sonnet"]).as_deref(),
            Some(r#"{"model":"haiku"}"#)
        );
        assert_eq!(
            lowered_with(opus, Keep, &["Sonnet"]),
            None,
            "opus is not spent"
        );
        assert_eq!(
            lowered_with(r#"{"prompt":"p"}"#, Keep, &["Opus"]),
            None,
            "the session's model is not known"
        );
        assert_eq!(
            lowered_with(r#"{"model":"haiku"}"#, Sonnet, &["Haiku"]),
            None,
            "nothing is cheaper than haiku"
        );
        assert_eq!(
            lowered_with(r#"{"prompt":"p"}"#, Sonnet, &["sonnet"]).as_deref(),
            Some(r#"{"prompt":"p","model":"haiku"}"#),
            "families match whatever their case"
        );
    }

    #[test]
    fn the_cloud_models_closed_cap_counts_as_spent_below_100() {
        let mut status = crate::hook::status_fixture(claude_quota::Tier::Burst, "r", None, None);
        status.cloud_capped_by = Some(cap("Sonnet", 85.0));
        status.weekly_scoped = vec![cap("Sonnet", 85.0), cap("Opus", 99.0)];
        let plan = Plan::new(Sonnet, &status);
        assert_eq!(plan.ceiling, Haiku);
        assert_eq!(plan.spent, [Sonnet]);
        let mut refused = cap("Opus", 40.0);
        refused.status = Some(WindowStatus::Rejected);
        status.weekly_scoped.push(refused);
        assert_eq!(Plan::new(Keep, &status).spent, [Sonnet, Opus]);
    }
}

//! Which model a subagent runs on: the tier's choice (`[claude_code]`), but
//! only ever lower than what the subagent asked for (haiku < sonnet < opus).

use claude_quota::SubagentModel;

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

/// Sets the input's `model` to `target` when that lowers it; whether it did.
/// `keep` never changes anything, nor does a model that is already as
/// cheap or cheaper, nor one we cannot rank.
pub fn lower(input: &mut Members, target: SubagentModel) -> bool {
    if target == SubagentModel::Keep {
        return false;
    }
    let lowers = match asked(input) {
        Asked::Inherit => true,
        Asked::Family(family) => target < family,
        Asked::Unknown => false,
    };
    if lowers {
        input.insert(MODEL, Node::new(&target.as_str()));
    }
    lowers
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

/// The family a model name belongs to: an alias (`opus`) or a full id
/// (`claude-opus-4-5`, `claude-3-5-sonnet-20241022`), by its words; `None`
/// when no family or more than one is named.
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
        let mut members = Members::parse(input).unwrap();
        lower(&mut members, target).then(|| serde_json::to_string(&members).unwrap())
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
}

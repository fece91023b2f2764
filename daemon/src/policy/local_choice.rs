//! Which local model to name, given what Ollama reports as pulled: the
//! policy picks a model by tier, and this rule swaps in the other local
//! model when only that one is pulled, so a router is not sent to a model
//! it cannot run.
//!
//! It never turns a local answer into a cloud one: with Ollama down the
//! answer stays local and says it is not available.

use claude_quota_proto::{LocalInfo, Provider};

use crate::config::Models;

/// The policy's model after looking at what Ollama has.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalChoice<'a> {
    /// The model to answer.
    pub model: &'a str,
    /// Whether the router can run it now.
    pub available: bool,
    /// What changed or is missing, for the reply's `reason`.
    pub note: Option<String>,
}

/// Adjusts the policy's `wanted` model (running on `provider`) to what
/// `local` reports. Cloud answers pass through untouched.
pub fn prefer_pulled<'a>(
    models: &'a Models,
    local: &LocalInfo,
    wanted: &'a str,
    provider: Provider,
) -> LocalChoice<'a> {
    let keep = |available, note| LocalChoice {
        model: wanted,
        available,
        note,
    };
    if provider != Provider::Ollama {
        return keep(true, None);
    }
    if !local.up {
        return keep(
            false,
            Some(format!(
                "Ollama at {} is not answering, so {wanted} may not be available",
                local.url
            )),
        );
    }
    if is_pulled(local, wanted) {
        return keep(true, None);
    }
    let other = if wanted == models.local_large {
        &models.local_small
    } else {
        &models.local_large
    };
    if other != wanted && is_pulled(local, other) {
        return LocalChoice {
            model: other,
            available: true,
            note: Some(format!(
                "{wanted} is not pulled in Ollama but {other} is, so {other} answers instead"
            )),
        };
    }
    let missing = if other == wanted {
        format!("{wanted} is not pulled in Ollama")
    } else {
        format!("neither {wanted} nor {other} is pulled in Ollama")
    };
    keep(false, Some(missing))
}

/// Whether Ollama lists `model`; a tag-less name matches Ollama's `:latest`,
/// the tag Ollama itself adds to a tag-less pull.
fn is_pulled(local: &LocalInfo, model: &str) -> bool {
    local.models.iter().any(|pulled| {
        pulled == model || (!model.contains(':') && pulled.strip_suffix(":latest") == Some(model))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ollama(up: bool, pulled: &[&str]) -> LocalInfo {
        LocalInfo {
            url: "http://127.0.0.1:11434".into(),
            up,
            models: pulled.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    #[test]
    fn a_pulled_model_is_kept_and_available() {
        let models = Models::default();
        let local = ollama(true, &["qwen3:14b", "qwen3:8b"]);
        let choice = prefer_pulled(&models, &local, "qwen3:14b", Provider::Ollama);
        assert_eq!((choice.model, choice.available), ("qwen3:14b", true));
        assert_eq!(choice.note, None);
    }

    #[test]
    fn the_other_local_model_answers_when_only_it_is_pulled() {
        let models = Models::default();
        let small_only = ollama(true, &["llama3:8b", "qwen3:8b"]);
        let choice = prefer_pulled(&models, &small_only, "qwen3:14b", Provider::Ollama);
        assert_eq!((choice.model, choice.available), ("qwen3:8b", true));
        assert!(choice.note.unwrap().contains("qwen3:14b is not pulled"));
        let large_only = ollama(true, &["qwen3:14b"]);
        let choice = prefer_pulled(&models, &large_only, "qwen3:8b", Provider::Ollama);
        assert_eq!((choice.model, choice.available), ("qwen3:14b", true));
    }

    #[test]
    fn neither_model_or_ollama_down_stays_local_but_unavailable() {
        let models = Models::default();
        for local in [ollama(true, &["llama3:8b"]), ollama(false, &[])] {
            let choice = prefer_pulled(&models, &local, "qwen3:14b", Provider::Ollama);
            assert_eq!((choice.model, choice.available), ("qwen3:14b", false));
            assert!(choice.note.is_some());
        }
    }

    #[test]
    fn cloud_answers_do_not_depend_on_ollama() {
        let models = Models::default();
        let choice = prefer_pulled(
            &models,
            &ollama(false, &[]),
            "claude-sonnet-4-6",
            Provider::Anthropic,
        );
        assert_eq!(
            choice,
            LocalChoice {
                model: "claude-sonnet-4-6",
                available: true,
                note: None
            }
        );
    }

    #[test]
    fn a_tagless_name_matches_ollamas_latest_tag() {
        let local = ollama(true, &["mistral:latest"]);
        assert!(is_pulled(&local, "mistral"));
        assert!(!is_pulled(&local, "mistral:7b"));
        assert!(!is_pulled(&ollama(true, &["mistral:7b"]), "mistral"));
    }
}

//! The Ollama check, as the daemon sees it: the daemon asks Ollama's
//! `/api/tags` every poll interval and reports the answer in
//! `status.local`, so doctor reads that instead of speaking HTTP itself
//! (and checks the very server the daemon's answers depend on).

use claude_quota::LocalInfo;

use super::check::Check;

/// What to do when Ollama does not answer.
const START_OLLAMA: &str =
    "start Ollama (`ollama serve`); until then local answers name models nobody serves";

/// The verdict on what the daemon reports of Ollama; `None` when the
/// daemon could not be asked. Down is a warning: answers stay correct,
/// they just cannot be served locally.
pub fn check(local: Option<Option<&LocalInfo>>) -> Check {
    match local {
        None => Check::warn(
            "ollama",
            "not checked: the daemon watches Ollama, and it does not answer",
            "start the daemon first (see the daemon check above)",
        ),
        Some(None) => Check::warn(
            "ollama",
            "the daemon reports nothing about Ollama",
            "set [ollama] url in the daemon's config and reload it (kill -HUP)",
        ),
        Some(Some(local)) if !local.up => Check::warn(
            "ollama",
            format!("{} does not answer the daemon", local.url),
            START_OLLAMA,
        ),
        Some(Some(local)) if local.models.is_empty() => Check::warn(
            "ollama",
            format!("{} answers but has no models pulled", local.url),
            "pull the local models of the config, e.g. `ollama pull qwen3:14b`",
        ),
        Some(Some(local)) => Check::ok(
            "ollama",
            format!("{} answers; pulled: {}", local.url, local.models.join(", ")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::check::Verdict;

    fn local(up: bool, models: &[&str]) -> LocalInfo {
        LocalInfo {
            url: "http://127.0.0.1:11434".into(),
            up,
            models: models.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    #[test]
    fn only_an_ollama_with_models_passes() {
        let pulled = check(Some(Some(&local(true, &["qwen3:14b"]))));
        assert_eq!(pulled.verdict, Verdict::Ok);
        assert!(pulled.message.contains("qwen3:14b"), "{}", pulled.message);
        for unusable in [
            check(Some(Some(&local(true, &[])))),
            check(Some(Some(&local(false, &[])))),
            check(Some(None)),
            check(None),
        ] {
            assert_eq!(unusable.verdict, Verdict::Warn, "{unusable:?}");
        }
    }
}

//! One line of what `setup` changes or leaves, in the tense it is said in:
//! done (`… added`) after a run, to be done (`… would be added`) in a
//! dry run.

use serde::Serialize;

/// What a change does to its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// Put in where there was none.
    Added,
    /// Put in place of another.
    Replaced,
    /// Taken out.
    Removed,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Added => "added",
            Verb::Replaced => "replaced",
            Verb::Removed => "removed",
        }
    }
}

/// One line of what setup did, would do, or found already done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// Whether it is a change.
    pub changed: bool,
    /// What, for people, as done.
    pub text: String,
    /// The same, as it would be done (a dry run).
    #[serde(skip)]
    would: String,
}

impl Note {
    /// A change: `{subject}: {object} {verb}{rest}`, e.g. `hooks:
    /// `claude-quota hook` added to PreToolUse`.
    pub fn change(subject: &str, object: &str, verb: Verb, rest: &str) -> Note {
        let verb = verb.as_str();
        Note {
            changed: true,
            text: format!("{subject}: {object} {verb}{rest}"),
            would: format!("{subject}: {object} would be {verb}{rest}"),
        }
    }

    /// Something left as it was.
    pub fn same(text: impl Into<String>) -> Note {
        let text = text.into();
        Note {
            changed: false,
            would: text.clone(),
            text,
        }
    }

    /// The note as a dry run says it: changes in the conditional.
    pub fn in_dry_run(mut self) -> Note {
        self.text = self.would.clone();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_said_as_done_or_as_it_would_be() {
        let note = Note::change("MCP server", "`claude-quota mcp`", Verb::Added, "");
        assert_eq!(note.text, "MCP server: `claude-quota mcp` added");
        assert_eq!(
            note.in_dry_run().text,
            "MCP server: `claude-quota mcp` would be added"
        );
        let same = Note::same("hooks: none of ours");
        assert_eq!(same.clone().in_dry_run(), same);
    }
}

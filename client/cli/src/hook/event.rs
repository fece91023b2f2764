//! The hook events Claude Code hands `claude-quota hook` on stdin, as far as
//! the hook acts on them. Anything else (another event, another tool, a
//! shape it does not know) is [`Event::Other`]: nothing to do.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::raw_json::Members;

/// The tools that start a subagent: `Agent`, called `Task` by older Claude
/// Code versions.
const SUBAGENT_TOOLS: [&str; 2] = ["Agent", "Task"];

/// The longest session id remembered; Claude Code's are UUIDs.
const MAX_SESSION_ID: usize = 128;

/// What the hook was called for.
#[derive(Debug)]
pub enum Event {
    /// `PreToolUse` of a subagent tool, with the tool's input as sent.
    Subagent(Members),
    /// An event that may add the tier to the conversation.
    Context {
        /// Which event.
        kind: ContextEvent,
        /// The session, when its id is one we can remember.
        session: Option<String>,
    },
    /// Nothing the hook acts on.
    Other,
}

/// The events that may add a line of context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextEvent {
    /// A session starts, resumes, or was cleared or compacted.
    SessionStart,
    /// The user sent a prompt.
    UserPromptSubmit,
}

impl ContextEvent {
    /// The name Claude Code gives the event, which its answer repeats.
    pub fn name(self) -> &'static str {
        match self {
            ContextEvent::SessionStart => "SessionStart",
            ContextEvent::UserPromptSubmit => "UserPromptSubmit",
        }
    }
}

/// The fields of the event the hook reads; every other field is ignored.
#[derive(Debug, Deserialize)]
struct Wire {
    hook_event_name: String,
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    tool_name: Option<String>,
    #[serde(default)]
    tool_input: Option<Box<RawValue>>,
}

impl Event {
    /// Reads the event; `Other` for anything that is not one the hook acts
    /// on, or not JSON of the documented shape at all.
    pub fn parse(input: &[u8]) -> Event {
        let Ok(wire) = serde_json::from_slice::<Wire>(input) else {
            return Event::Other;
        };
        let session = wire.session_id.filter(|id| remembered(id));
        match wire.hook_event_name.as_str() {
            "PreToolUse" => {
                let subagent = wire
                    .tool_name
                    .is_some_and(|tool| SUBAGENT_TOOLS.contains(&tool.as_str()));
                match wire.tool_input {
                    Some(input) if subagent => Members::parse(input.get())
                        .map(Event::Subagent)
                        .unwrap_or(Event::Other),
                    _ => Event::Other,
                }
            }
            "SessionStart" => Event::Context {
                kind: ContextEvent::SessionStart,
                session,
            },
            "UserPromptSubmit" => Event::Context {
                kind: ContextEvent::UserPromptSubmit,
                session,
            },
            _ => Event::Other,
        }
    }
}

/// Whether a session id is one to keep in the state file: short, and of
/// the characters a UUID or a similar id uses.
fn remembered(id: &str) -> bool {
    (1..=MAX_SESSION_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subagent_tools_and_context_events_are_recognized() {
        for tool in ["Agent", "Task"] {
            let input = format!(
                r#"{{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"{tool}","tool_input":{{"prompt":"p"}}}}"#
            );
            assert!(matches!(Event::parse(input.as_bytes()), Event::Subagent(_)));
        }
        let start =
            br#"{"session_id":"0b5f-11","hook_event_name":"SessionStart","source":"startup"}"#;
        match Event::parse(start) {
            Event::Context { kind, session } => {
                assert_eq!(kind, ContextEvent::SessionStart);
                assert_eq!(session.as_deref(), Some("0b5f-11"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn anything_else_is_nothing_to_do() {
        for input in [
            &b""[..],
            b"\xff\xfe garbage",
            b"[]",
            br#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}"#,
            br#"{"hook_event_name":"PreToolUse","tool_name":"Agent","tool_input":"not an object"}"#,
            br#"{"hook_event_name":"PreToolUse","tool_name":"Agent"}"#,
            br#"{"hook_event_name":"Stop"}"#,
            br#"{"hook_event_name":42}"#,
        ] {
            assert!(matches!(Event::parse(input), Event::Other), "{input:?}");
        }
    }

    #[test]
    fn odd_session_ids_are_not_remembered() {
        let long = "a".repeat(MAX_SESSION_ID + 1);
        for id in ["", "../../etc", "a b", long.as_str()] {
            let input =
                serde_json::json!({"hook_event_name": "UserPromptSubmit", "session_id": id});
            let Event::Context { session, .. } = Event::parse(input.to_string().as_bytes()) else {
                panic!("{input}");
            };
            assert_eq!(session, None, "{id:?}");
        }
    }
}

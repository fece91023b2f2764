//! Claude Code's `settings.json`, edited: the status line and the hooks
//! added, found, or taken out again, leaving every other key, hook and
//! formatting as it was.

use anyhow::bail;
use serde::Deserialize;

use super::note::{Note, Verb};
use super::wiring::{HOOK, STATUSLINE, Wiring, is_ours};
use crate::raw_json::{Members, Node};

/// The settings key of the status line.
const STATUS_LINE: &str = "statusLine";

/// The settings key of the hooks.
const HOOKS: &str = "hooks";

/// Claude Code gives a hook this long (seconds) before it gives up on it;
/// the hook itself answers within a fraction of a second.
const HOOK_TIMEOUT: u64 = 5;

/// The events `claude-quota hook` answers, with the matcher its group has:
/// the subagent tool, `Agent`, once called `Task` (a list of names, which
/// Claude Code matches exactly); the others take no matcher.
pub const EVENTS: [(&str, Option<&str>); 3] = [
    ("PreToolUse", Some("Agent|Task")),
    ("SessionStart", None),
    ("UserPromptSubmit", None),
];

/// A hook group as far as we read one; anything else in it is kept.
#[derive(Debug, Deserialize)]
struct Group {
    #[serde(default)]
    matcher: Option<String>,
    #[serde(default)]
    hooks: Vec<Hook>,
}

#[derive(Debug, Deserialize)]
struct Hook {
    #[serde(default)]
    command: Option<String>,
}

/// What of ours the settings hold: the status line command when it is
/// ours, and per event of [`EVENTS`] the hook command of ours that runs on
/// it (in a group with our matcher).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// `statusLine.command`, whoever's it is.
    pub status_line: Option<String>,
    /// Our hook command for each event, in [`EVENTS`] order.
    pub hooks: Vec<(&'static str, Option<String>)>,
}

/// What the settings hold of ours.
pub fn find(settings: &Members) -> Found {
    let status_line = settings
        .get(STATUS_LINE)
        .and_then(|node| node.read::<serde_json::Value>())
        .and_then(|line| line["command"].as_str().map(str::to_owned));
    let hooks = settings
        .get(HOOKS)
        .and_then(|node| node.read::<serde_json::Value>());
    let hooks = EVENTS
        .iter()
        .map(|&(event, matcher)| {
            let groups = hooks
                .as_ref()
                .and_then(|hooks| serde_json::from_value::<Vec<Group>>(hooks[event].clone()).ok())
                .unwrap_or_default();
            let command = groups
                .iter()
                .filter(|group| matches(group, matcher))
                .flat_map(|group| &group.hooks)
                .filter_map(|hook| hook.command.clone())
                .find(|command| is_ours(command, HOOK));
            (event, command)
        })
        .collect();
    Found { status_line, hooks }
}

/// Adds our status line and hooks to `settings`; an error when a key we
/// must edit is not of the shape Claude Code documents.
pub fn add(settings: &mut Members, wiring: &Wiring, force: bool) -> anyhow::Result<Vec<Note>> {
    let mut notes = vec![add_status_line(settings, wiring, force)];
    let command = wiring.command(HOOK);
    let found = find(settings);
    let hooks = child_object(settings, HOOKS)?;
    let mut added = Vec::new();
    for (&(event, matcher), (_, present)) in EVENTS.iter().zip(&found.hooks) {
        if present.as_deref() == Some(command.as_str()) {
            continue;
        }
        let groups = child_array(hooks, event)?;
        remove_ours(groups);
        groups.push(group(matcher, &command));
        added.push(event);
    }
    notes.push(if added.is_empty() {
        Note::same(format!("hooks: already run `{command}`"))
    } else {
        Note::change(
            "hooks",
            &format!("`{command}`"),
            Verb::Added,
            &format!(" to {}", added.join(", ")),
        )
    });
    Ok(notes)
}

/// Takes our status line and hooks out of `settings`, and any hook group,
/// event list or `hooks` object that only they filled.
pub fn remove(settings: &mut Members) -> Vec<Note> {
    let mut notes = Vec::new();
    match find(settings).status_line {
        Some(line) if is_ours(&line, STATUSLINE) => {
            settings.remove(STATUS_LINE);
            notes.push(Note::change(
                "status line",
                &format!("`{line}`"),
                Verb::Removed,
                "",
            ));
        }
        Some(line) => notes.push(Note::same(format!(
            "status line: left `{line}`, which is not ours"
        ))),
        None => notes.push(Note::same("status line: none set")),
    }
    let mut removed = Vec::new();
    if let Some(hooks) = settings.get_mut(HOOKS).and_then(Node::object_mut) {
        for (event, _) in EVENTS {
            let Some(groups) = hooks.get_mut(event).and_then(Node::array_mut) else {
                continue;
            };
            if remove_ours(groups) {
                removed.push(event);
                if groups.is_empty() {
                    hooks.remove(event);
                }
            }
        }
        if !removed.is_empty() && hooks.is_empty() {
            settings.remove(HOOKS);
        }
    }
    notes.push(if removed.is_empty() {
        Note::same("hooks: none of ours")
    } else {
        Note::change(
            "hooks",
            "`claude-quota hook`",
            Verb::Removed,
            &format!(" from {}", removed.join(", ")),
        )
    });
    notes
}

fn add_status_line(settings: &mut Members, wiring: &Wiring, force: bool) -> Note {
    let command = wiring.command(STATUSLINE);
    let ours = || {
        Node::object([
            ("type", Node::new(&"command")),
            ("command", Node::new(&command)),
        ])
    };
    let present = settings.get(STATUS_LINE).is_some();
    match find(settings).status_line {
        Some(line) if line == command => Note::same(format!("status line: already `{command}`")),
        Some(line) if is_ours(&line, STATUSLINE) || force => {
            settings.insert(STATUS_LINE, ours());
            Note::change(
                "status line",
                &format!("`{line}`"),
                Verb::Replaced,
                &format!(" by `{command}`"),
            )
        }
        Some(line) => Note::same(format!(
            "status line: kept yours, `{line}` (--force replaces it with `{command}`)"
        )),
        None if present && !force => Note::same(format!(
            "status line: kept yours, which runs no command (--force replaces it with `{command}`)"
        )),
        None => {
            settings.insert(STATUS_LINE, ours());
            Note::change("status line", &format!("`{command}`"), Verb::Added, "")
        }
    }
}

/// The object at `key`, created empty when absent.
fn child_object<'a>(parent: &'a mut Members, key: &str) -> anyhow::Result<&'a mut Members> {
    if parent.get(key).is_none() {
        parent.insert(key, Node::object([]));
    }
    match parent.get_mut(key).and_then(Node::object_mut) {
        Some(object) => Ok(object),
        None => bail!("`{key}` is not a JSON object, as Claude Code expects; fix it by hand"),
    }
}

/// The array at `key`, created empty when absent.
fn child_array<'a>(parent: &'a mut Members, key: &str) -> anyhow::Result<&'a mut Vec<Node>> {
    if parent.get(key).is_none() {
        parent.insert(key, Node::Array(Vec::new()));
    }
    match parent.get_mut(key).and_then(Node::array_mut) {
        Some(array) => Ok(array),
        None => bail!("`hooks.{key}` is not a JSON array, as Claude Code expects; fix it by hand"),
    }
}

/// Our group for an event.
fn group(matcher: Option<&str>, command: &str) -> Node {
    let hook = Node::object([
        ("type", Node::new(&"command")),
        ("command", Node::new(&command)),
        ("timeout", Node::new(&HOOK_TIMEOUT)),
    ]);
    let hooks = ("hooks", Node::Array(vec![hook]));
    match matcher {
        Some(matcher) => Node::object([("matcher", Node::new(&matcher)), hooks]),
        None => Node::object([hooks]),
    }
}

/// Whether a group runs on what our group for the event runs on.
fn matches(group: &Group, matcher: Option<&str>) -> bool {
    match matcher {
        Some(matcher) => group.matcher.as_deref() == Some(matcher),
        None => matches!(group.matcher.as_deref(), None | Some("" | "*")),
    }
}

/// Takes our hook commands out of every group of an event, and the groups
/// they alone filled; whether there were any. Groups without ours are not
/// touched (not even re-formatted).
fn remove_ours(groups: &mut Vec<Node>) -> bool {
    let mut removed = false;
    groups.retain_mut(|group| {
        let has_ours = group.read::<Group>().is_some_and(|g| {
            g.hooks
                .iter()
                .any(|hook| hook.command.as_deref().is_some_and(|c| is_ours(c, HOOK)))
        });
        if !has_ours {
            return true;
        }
        let Some(hooks) = group
            .object_mut()
            .and_then(|g| g.get_mut(HOOKS))
            .and_then(Node::array_mut)
        else {
            return true;
        };
        hooks.retain(|hook| {
            !hook
                .read::<Hook>()
                .and_then(|h| h.command)
                .is_some_and(|c| is_ours(&c, HOOK))
        });
        removed = true;
        !hooks.is_empty()
    });
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wiring() -> Wiring {
        Wiring::named("claude-quota")
    }

    #[test]
    fn add_then_remove_gives_back_the_same_text() {
        let original = "{\n  \"model\": \"opus\",\n  \"hooks\": {\n    \"PreToolUse\": [\n      {\n        \"matcher\": \"Bash\",\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"lint.sh\"\n          }\n        ]\n      }\n    ]\n  },\n  \"env\": {\n    \"A\": \"1\"\n  }\n}\n";
        let mut settings = Members::parse(original).unwrap();
        let notes = add(&mut settings, &wiring(), false).unwrap();
        assert!(notes.iter().all(|n| n.changed), "{notes:?}");
        let found = find(&settings);
        assert_eq!(
            found.status_line.as_deref(),
            Some("claude-quota statusline")
        );
        assert!(
            found
                .hooks
                .iter()
                .all(|(_, c)| c.as_deref() == Some("claude-quota hook"))
        );

        let again = add(&mut settings, &wiring(), false).unwrap();
        assert!(again.iter().all(|n| !n.changed), "idempotent: {again:?}");

        let notes = remove(&mut settings);
        assert!(notes.iter().all(|n| n.changed), "{notes:?}");
        assert_eq!(settings.to_pretty(), original);
        assert!(remove(&mut settings).iter().all(|n| !n.changed));
    }

    #[test]
    fn a_status_line_of_the_users_is_kept_unless_forced() {
        let mut settings =
            Members::parse(r#"{"statusLine":{"type":"command","command":"~/line.sh"}}"#).unwrap();
        let notes = add(&mut settings, &wiring(), false).unwrap();
        assert!(!notes[0].changed && notes[0].text.contains("kept yours, `~/line.sh`"));
        assert_eq!(find(&settings).status_line.as_deref(), Some("~/line.sh"));
        let notes = remove(&mut settings);
        assert!(!notes[0].changed, "not ours to remove");

        let notes = add(&mut settings, &wiring(), true).unwrap();
        assert!(notes[0].changed && notes[0].text.contains("`~/line.sh` replaced by"));
        assert_eq!(
            find(&settings).status_line.as_deref(),
            Some("claude-quota statusline")
        );
    }

    #[test]
    fn an_older_path_of_ours_is_updated_not_duplicated() {
        let mut settings = Members::default();
        add(&mut settings, &Wiring::named("/old/claude-quota"), false).unwrap();
        let notes = add(&mut settings, &wiring(), false).unwrap();
        assert!(notes.iter().all(|n| n.changed));
        let text = settings.to_pretty();
        assert!(!text.contains("/old/"), "{text}");
        assert_eq!(text.matches("claude-quota hook").count(), 3, "{text}");
    }

    #[test]
    fn only_our_hook_leaves_a_shared_group() {
        let mut settings = Members::parse(
            r#"{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"mine.sh"},{"type":"command","command":"claude-quota hook"}]}]}}"#,
        )
        .unwrap();
        remove(&mut settings);
        assert_eq!(
            serde_json::to_string(&settings).unwrap(),
            r#"{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"mine.sh"}]}]}}"#
        );
    }

    #[test]
    fn keys_of_another_shape_are_refused() {
        for text in [r#"{"hooks":[]}"#, r#"{"hooks":{"PreToolUse":{}}}"#] {
            let mut settings = Members::parse(text).unwrap();
            let err = add(&mut settings, &wiring(), false)
                .unwrap_err()
                .to_string();
            assert!(err.contains("fix it by hand"), "{err}");
        }
    }
}

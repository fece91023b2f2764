//! `claude-quota hook`: one command for Claude Code's hook events.
//!
//! - `PreToolUse` of the subagent tool (`Agent`, formerly `Task`): moves the
//!   subagent to the tier's model (`[claude_code]`), only ever lower and
//!   never onto a family whose weekly cap is spent, by answering the tool
//!   input with nothing but `model` changed.
//! - `SessionStart` and `UserPromptSubmit`: outside `burst`, one line of
//!   context with the tier and the windows (on a prompt, only when the tier
//!   changed since that session's last one, and once when it came back to
//!   `burst`, so the agent stops keeping subagents small).
//!
//! The hook answers for its session's own login: the account whose
//! directory is its `CLAUDE_CONFIG_DIR` (unset: the default login), and
//! says nothing for a login that is no configured account.
//!
//! A hook must never break the user's session, nor grant anything: every
//! failure prints nothing and exits 0, quickly, and no answer ever carries a
//! permission decision.

mod context;
mod daemon;
mod event;
mod sessions;
mod subagent;

use std::io::Write;
use std::path::Path;

use chrono::Utc;
use claude_quota::Tier;
use serde::Serialize;

use self::event::{ContextEvent, Event};
use self::sessions::Sessions;
use self::subagent::Plan;
use crate::raw_json::Members;

/// The most of stdin the hook reads. Its answer must repeat the subagent's
/// whole input, so the input must be read whole: a model writes at most
/// some 128k tokens into a prompt, well under a MiB or two even escaped,
/// and this leaves room for any tool input Claude Code sends.
const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// What the hook prints: Claude Code's `hookSpecificOutput`, with exactly
/// one of the two answers.
#[derive(Debug, Serialize)]
struct Output<'a> {
    #[serde(rename = "hookSpecificOutput")]
    specific: Specific<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Specific<'a> {
    hook_event_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_input: Option<&'a Members>,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_context: Option<String>,
}

/// Reads the event on stdin, asks the daemon on `socket` when the event
/// calls for it, and prints the answer, if any.
pub async fn run(socket: &Path) {
    let event = Event::parse(&crate::stdin::read_bounded(MAX_INPUT));
    let dir = crate::login::config_dir();
    let printed = match event {
        Event::Other => return,
        Event::Subagent(mut input) => {
            let Some(answer) = daemon::ask(socket, dir.as_deref()).await else {
                return;
            };
            let target = answer.models.for_tier(answer.status.tier);
            if !Plan::new(target, &answer.status).lower(&mut input) {
                return;
            }
            serde_json::to_string(&Output {
                specific: Specific {
                    hook_event_name: "PreToolUse",
                    updated_input: Some(&input),
                    additional_context: None,
                },
            })
        }
        Event::Context { kind, session } => {
            let Some(answer) = daemon::ask(socket, dir.as_deref()).await else {
                return;
            };
            let tier = answer.status.tier;
            let now = Utc::now();
            let told = remember(socket, session.as_deref(), tier, now);
            let show = match kind {
                ContextEvent::SessionStart => tier != Tier::Burst,
                // Unless it was remembered, the next prompt would say it
                // again. Burst is said only to a session told otherwise.
                ContextEvent::UserPromptSubmit => match told {
                    Some(Remembered { last, saved: true }) => {
                        last != Some(tier) && (tier != Tier::Burst || last.is_some())
                    }
                    _ => false,
                },
            };
            if !show {
                return;
            }
            let plan = Plan::new(answer.models.for_tier(tier), &answer.status);
            serde_json::to_string(&Output {
                specific: Specific {
                    hook_event_name: kind.name(),
                    updated_input: None,
                    additional_context: Some(context::line(&answer.status, &plan, now)),
                },
            })
        }
    };
    if let Ok(line) = printed {
        // A closed stdout is Claude Code's business; the hook still exits 0.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

/// What the session was last told, and whether this tier was saved as
/// what it is told now.
#[derive(Debug, Clone, Copy)]
struct Remembered {
    last: Option<Tier>,
    saved: bool,
}

/// Records `tier` as what `session` was told; `None` when there is no
/// session to remember it for.
fn remember(
    socket: &Path,
    session: Option<&str>,
    tier: Tier,
    now: chrono::DateTime<Utc>,
) -> Option<Remembered> {
    let (session, path) = (session?, sessions::path_beside(socket)?);
    let mut sessions = Sessions::load(&path);
    let last = sessions.last_tier(session);
    sessions.record(session, tier, now);
    Some(Remembered {
        last,
        saved: sessions.save(&path).is_ok(),
    })
}

/// A status of `tier` for the hook's unit tests, with `reason` and the two
/// windows; the rest as a daemon without a reading sends it.
#[cfg(test)]
fn status_fixture(
    tier: Tier,
    reason: &str,
    five_hour: Option<claude_quota::Window>,
    seven_day: Option<claude_quota::Window>,
) -> claude_quota::Status {
    use claude_quota::{CredentialSource, DaemonInfo};
    serde_json::from_value(serde_json::json!({
        "tier": tier, "reason": reason, "five_hour": five_hour, "seven_day": seven_day,
        "seven_day_opus": null, "seven_day_sonnet": null, "as_of": null, "source": null,
        "age_s": null, "stale": false, "credentials": CredentialSource::File,
        "last_error": null, "next_poll_at": null, "api_calls": 0,
        "daemon": DaemonInfo { version: "0".into(), pid: 1, uptime_s: 1 },
    }))
    .expect("a status")
}

//! Telling an event: the user's `[notify] command` (no shell, the event in
//! its environment) and a desktop notification (`[notify] desktop`). Each
//! runs as a task of its own, one notification at a time: news that
//! arrives meanwhile waits, the latest of each kind replacing an older one
//! not yet told, so a flapping tier never queues a backlog.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use claude_quota_credentials::child;
use tokio::sync::{Notify, watch};

use super::events::{Event, EventKind};
use crate::config::Config;

/// How long a command may run before it (and its process group) is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a command's output (each of stdout and stderr) is logged.
const OUTPUT_LOGGED: usize = 16 * 1024;

/// News waiting to be told on one channel: the latest of each kind, per
/// account.
#[derive(Debug, Default)]
pub struct Queue {
    pending: Mutex<BTreeMap<(String, EventKind), Event>>,
    ready: Notify,
}

impl Queue {
    /// Queues `event`, replacing an older one of its kind and account not
    /// yet told.
    pub fn push(&self, event: Event) {
        self.lock()
            .insert((event.account.clone(), event.kind), event);
        self.ready.notify_one();
    }

    /// Everything queued, in the order of [`EventKind`], once there is any.
    async fn take(&self) -> Vec<Event> {
        loop {
            let pending = std::mem::take(&mut *self.lock());
            if !pending.is_empty() {
                return pending.into_values().collect();
            }
            self.ready.notified().await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, EventKind), Event>> {
        self.pending
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// The two ways of telling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `[notify] command`.
    Command,
    /// `[notify] desktop`.
    Desktop,
}

/// Tells the events queued on `queue` on `channel`, one at a time, for as
/// long as the task runs; a failure is logged once until the next success.
pub async fn tell(channel: Channel, queue: Arc<Queue>, config: watch::Receiver<Arc<Config>>) {
    let mut failing = false;
    loop {
        for event in queue.take().await {
            let command = {
                let config = config.borrow();
                match channel {
                    Channel::Command => config.notify.command.clone().map(|path| {
                        let mut command = Command::new(path);
                        command.envs(env(&event));
                        Ok(command)
                    }),
                    Channel::Desktop => config.notify.desktop.then(|| desktop_command(&event)),
                }
            };
            let Some(command) = command else { continue };
            let outcome = match command {
                Ok(command) => run(channel, command).await,
                Err(err) => Err(err),
            };
            match outcome {
                Ok(()) => failing = false,
                Err(err) if failing => tracing::debug!(?channel, %err, "notification failed again"),
                Err(err) => {
                    tracing::warn!(?channel, %err, "notification failed");
                    failing = true;
                }
            }
        }
    }
}

/// The command's environment: `CLAUDE_QUOTA_EVENT` and the rest; a value
/// not known is empty.
pub fn env(event: &Event) -> [(&'static str, String); 12] {
    let number = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
    [
        ("CLAUDE_QUOTA_EVENT", event.kind.as_str().to_owned()),
        ("CLAUDE_QUOTA_ACCOUNT", event.account.clone()),
        ("CLAUDE_QUOTA_TIER", event.tier.to_string()),
        ("CLAUDE_QUOTA_PREVIOUS_TIER", event.previous.to_string()),
        ("CLAUDE_QUOTA_REASON", event.reason.clone()),
        ("CLAUDE_QUOTA_FIVE_HOUR", number(event.five_hour)),
        ("CLAUDE_QUOTA_SEVEN_DAY", number(event.seven_day)),
        (
            "CLAUDE_QUOTA_RESETS_AT",
            event
                .resets_at
                .map(|at| at.to_rfc3339())
                .unwrap_or_default(),
        ),
        (
            "CLAUDE_QUOTA_CLOUD_CAPPED_BY",
            event.cloud_capped_by.clone().unwrap_or_default(),
        ),
        (
            "CLAUDE_QUOTA_WINDOW",
            event
                .window
                .map(|w| w.as_str().to_owned())
                .unwrap_or_default(),
        ),
        ("CLAUDE_QUOTA_THRESHOLD", number(event.threshold)),
        (
            "CLAUDE_QUOTA_EXHAUSTED_AT",
            event
                .exhausted_at
                .map(|at| at.to_rfc3339())
                .unwrap_or_default(),
        ),
    ]
}

/// The desktop notification of this platform, found on `PATH`:
/// `osascript` on macOS, `notify-send` elsewhere.
fn desktop_command(event: &Event) -> Result<Command, String> {
    let (program, args) = desktop_args(cfg!(target_os = "macos"), event);
    let path =
        which::which(program).map_err(|err| format!("{program} not found on PATH: {err}"))?;
    let mut command = Command::new(path);
    command.args(args);
    Ok(command)
}

/// The program and its arguments for a desktop notification of `event`.
fn desktop_args(macos: bool, event: &Event) -> (&'static str, Vec<OsString>) {
    let tier = event.tier.as_str().to_uppercase();
    let title = match event.kind {
        EventKind::Tier => format!("claude-quota: {tier}"),
        EventKind::Reset => format!("claude-quota: window reset, {tier}"),
        EventKind::Threshold => format!(
            "claude-quota: {}% reached",
            event.threshold.unwrap_or_default()
        ),
        EventKind::ExtraUsage => "claude-quota: extra usage".to_owned(),
        EventKind::Forecast => "claude-quota: 100% before the reset".to_owned(),
    };
    let body = if event.kind == EventKind::Tier {
        format!("{} (was {})", event.reason, event.previous)
    } else {
        event.reason.clone()
    };
    if macos {
        let script = format!(
            "display notification {} with title {}",
            applescript_string(&body),
            applescript_string(&title)
        );
        ("osascript", vec!["-e".into(), script.into()])
    } else {
        (
            "notify-send",
            vec!["--app-name=claude-quota".into(), title.into(), body.into()],
        )
    }
}

/// `text` as an AppleScript string literal.
fn applescript_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Runs `command` without a shell, in its own process group, for at most
/// [`COMMAND_TIMEOUT`], its output logged line by line. A token given to
/// the daemon in its environment is not passed on.
async fn run(channel: Channel, mut command: Command) -> Result<(), String> {
    command.env_remove(claude_quota_credentials::env::VAR);
    let ran =
        tokio::task::spawn_blocking(move || child::run(command, COMMAND_TIMEOUT, OUTPUT_LOGGED))
            .await
            .map_err(|err| format!("cannot wait for it: {err}"))?
            .map_err(|err| format!("cannot start: {err}"))?;
    for output in [&ran.stdout, &ran.stderr] {
        for line in String::from_utf8_lossy(output).lines() {
            tracing::info!(?channel, "notification output: {line}");
        }
    }
    match ran.status {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(format!("ended with {status}")),
        None => Err(format!(
            "still running after {}s; killed",
            COMMAND_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::events::Window;
    use claude_quota_proto::Tier;

    fn event(kind: EventKind) -> Event {
        Event {
            account: "default".into(),
            kind,
            tier: Tier::Resting,
            previous: Tier::Burst,
            reason: "5-hour window at 90.0% (above 80%) \"quoted\"".into(),
            five_hour: Some(90.0),
            seven_day: None,
            resets_at: None,
            cloud_capped_by: None,
            window: (kind == EventKind::Threshold).then_some(Window::FiveHour),
            threshold: (kind == EventKind::Threshold).then_some(80.0),
            exhausted_at: None,
        }
    }

    #[test]
    fn the_environment_names_the_event_and_leaves_unknowns_empty() {
        let env = env(&event(EventKind::Tier));
        assert_eq!(env[0], ("CLAUDE_QUOTA_EVENT", "tier".into()));
        assert_eq!(env[1], ("CLAUDE_QUOTA_ACCOUNT", "default".into()));
        assert_eq!(env[2], ("CLAUDE_QUOTA_TIER", "resting".into()));
        assert_eq!(env[3], ("CLAUDE_QUOTA_PREVIOUS_TIER", "burst".into()));
        assert_eq!(env[5], ("CLAUDE_QUOTA_FIVE_HOUR", "90".into()));
        assert_eq!(env[6], ("CLAUDE_QUOTA_SEVEN_DAY", String::new()));
        assert_eq!(env[8], ("CLAUDE_QUOTA_CLOUD_CAPPED_BY", String::new()));
        let threshold = super::env(&event(EventKind::Threshold));
        assert_eq!(threshold[9], ("CLAUDE_QUOTA_WINDOW", "five_hour".into()));
        assert_eq!(threshold[10], ("CLAUDE_QUOTA_THRESHOLD", "80".into()));
    }

    #[test]
    fn desktop_notifications_quote_the_reason_for_each_platform() {
        let (program, args) = desktop_args(true, &event(EventKind::Tier));
        assert_eq!(program, "osascript");
        assert_eq!(
            args[1],
            OsString::from(
                r#"display notification "5-hour window at 90.0% (above 80%) \"quoted\" (was burst)" with title "claude-quota: RESTING""#
            )
        );
        let (program, args) = desktop_args(false, &event(EventKind::Threshold));
        assert_eq!(program, "notify-send");
        assert_eq!(args[1], OsString::from("claude-quota: 80% reached"));
    }

    #[tokio::test]
    async fn a_queue_keeps_the_latest_of_each_kind_in_order() {
        let queue = Queue::default();
        queue.push(event(EventKind::Threshold));
        queue.push(Event {
            reason: "newer".into(),
            ..event(EventKind::Tier)
        });
        queue.push(event(EventKind::Tier));
        let kinds: Vec<_> = queue.take().await.into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::Tier, EventKind::Threshold]);
    }
}

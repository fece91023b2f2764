//! Tells people when the tier changes: a user's hook command
//! (`[notify] command`) and a desktop notification (`[notify] desktop`).
//!
//! One task watches the state and notices changes; each kind of
//! notification has its own runner task fed by a `watch` channel, so a
//! change that arrives while a hook runs replaces any other waiting one
//! (only the latest is told), a slow hook never delays the other kind, and
//! nothing here is on the path that answers clients.

use std::ffi::OsString;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use claude_quota_proto::{LocalInfo, Tier};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::policy::{self, Now};
use crate::state::Snapshot;

/// How long a hook may run before it (and its process group) is killed.
const HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest the watcher sleeps when nothing changes.
const LONGEST_SLEEP: Duration = Duration::from_secs(86_400);

/// What a notification is about: a change of any field notifies, so the
/// cloud model's own weekly cap closing (or opening) the cloud is news even
/// when the tier stays where it was.
#[derive(Debug, Clone, PartialEq)]
struct Notable {
    tier: Tier,
    /// The model family whose weekly cap closes the cloud, if one does.
    cloud_capped_by: Option<String>,
}

/// One change, as hooks are told about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The tier now.
    pub tier: Tier,
    /// The tier before.
    pub previous: Tier,
    /// Why the tier is what it is now.
    pub reason: String,
    /// The 5-hour utilization, when there is a reading.
    pub five_hour: Option<f64>,
    /// The 7-day utilization, when reported.
    pub seven_day: Option<f64>,
    /// When the 5-hour window resets, when known.
    pub resets_at: Option<DateTime<Utc>>,
    /// The model family whose weekly cap closes the cloud now, if one does.
    pub cloud_capped_by: Option<String>,
}

impl Change {
    /// The hook's environment: `CLAUDE_QUOTA_TIER` and the rest; a value
    /// not known is empty.
    pub fn env(&self) -> [(&'static str, String); 7] {
        let number = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
        [
            ("CLAUDE_QUOTA_TIER", self.tier.to_string()),
            ("CLAUDE_QUOTA_PREVIOUS_TIER", self.previous.to_string()),
            ("CLAUDE_QUOTA_REASON", self.reason.clone()),
            ("CLAUDE_QUOTA_FIVE_HOUR", number(self.five_hour)),
            ("CLAUDE_QUOTA_SEVEN_DAY", number(self.seven_day)),
            (
                "CLAUDE_QUOTA_RESETS_AT",
                self.resets_at.map(|at| at.to_rfc3339()).unwrap_or_default(),
            ),
            (
                "CLAUDE_QUOTA_CLOUD_CAPPED_BY",
                self.cloud_capped_by.clone().unwrap_or_default(),
            ),
        ]
    }
}

/// The kinds of notification, each run by its own task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `[notify] command`.
    Hook,
    /// `[notify] desktop`.
    Desktop,
}

/// Watches for changes and runs one task per kind of notification, until
/// `shutdown`; the runners end with it (they live in a `JoinSet`, which
/// aborts them when dropped, also when this future is).
pub async fn run(
    state: watch::Receiver<Snapshot>,
    config: watch::Receiver<Arc<Config>>,
    local: watch::Receiver<LocalInfo>,
    shutdown: CancellationToken,
) {
    let (changes, _) = watch::channel(None);
    let mut runners = JoinSet::new();
    for kind in [Kind::Hook, Kind::Desktop] {
        runners.spawn(run_notifications(kind, changes.subscribe(), config.clone()));
    }
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = watch_changes(state, config, local, changes) => {}
    }
}

/// Publishes a [`Change`] whenever what is [`Notable`] about a fresh
/// reading changes, from the start's assessment on: on a new reading or a
/// new config, and on the clock alone (pace's forecast moving on).
async fn watch_changes(
    mut state: watch::Receiver<Snapshot>,
    mut config: watch::Receiver<Arc<Config>>,
    local: watch::Receiver<LocalInfo>,
    changes: watch::Sender<Option<Change>>,
) {
    let mut shown: Option<Notable> = None;
    loop {
        let now = Now::current();
        let assessment = policy::verdict(
            &state.borrow_and_update(),
            &config.borrow_and_update(),
            &local.borrow(),
            now,
        );
        let notable = Notable {
            tier: assessment.tier,
            cloud_capped_by: assessment
                .cloud_capped_by
                .as_ref()
                .map(|cap| cap.model.clone()),
        };
        match &shown {
            None => shown = Some(notable),
            // A reading turning stale is no news: between idle polls it
            // happens every time, and would notify all night.
            Some(previous) if *previous != notable && !assessment.stale => {
                let snapshot = state.borrow();
                let reading = snapshot.reading.as_ref();
                tracing::info!(
                    tier = %notable.tier,
                    previous = %previous.tier,
                    cloud_capped_by = notable.cloud_capped_by.as_deref(),
                    "tier or cloud cap changed"
                );
                changes.send_replace(Some(Change {
                    tier: notable.tier,
                    previous: previous.tier,
                    reason: assessment.reason,
                    five_hour: reading.map(|r| r.five_hour.map_or(0.0, |w| w.utilization)),
                    seven_day: reading.and_then(|r| r.seven_day.map(|w| w.utilization)),
                    resets_at: reading.and_then(|r| r.five_hour?.resets_at),
                    cloud_capped_by: notable.cloud_capped_by.clone(),
                }));
                shown = Some(notable);
            }
            Some(_) => {}
        }
        // A stale assessment notifies of nothing, so only news wakes it.
        let by_itself = assessment
            .tier_until
            .filter(|_| !assessment.stale)
            .map(|until| until.saturating_duration_since(now.monotonic))
            .unwrap_or(LONGEST_SLEEP)
            .min(LONGEST_SLEEP);
        tokio::select! {
            changed = state.changed() => if changed.is_err() { return },
            changed = config.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(by_itself + Duration::from_millis(1)) => {}
        }
    }
}

/// Runs one kind of notification for each change, one at a time; a
/// failure is logged once until the next success.
async fn run_notifications(
    kind: Kind,
    mut changes: watch::Receiver<Option<Change>>,
    config: watch::Receiver<Arc<Config>>,
) {
    let mut failing = false;
    while changes.changed().await.is_ok() {
        let Some(change) = changes.borrow_and_update().clone() else {
            continue;
        };
        let command = match kind {
            Kind::Hook => config.borrow().notify.command.clone().map(|path| {
                let mut command = Command::new(path);
                command.envs(change.env());
                Ok(command)
            }),
            Kind::Desktop => config
                .borrow()
                .notify
                .desktop
                .then(|| desktop_command(&change)),
        };
        let Some(command) = command else { continue };
        let outcome = match command {
            Ok(command) => run_command(kind, command).await,
            Err(err) => Err(err),
        };
        match outcome {
            Ok(()) => failing = false,
            Err(err) if failing => tracing::debug!(?kind, %err, "notification failed again"),
            Err(err) => {
                tracing::warn!(?kind, %err, "notification failed");
                failing = true;
            }
        }
    }
}

/// The desktop notification of this platform, found on `PATH`:
/// `osascript` on macOS, `notify-send` elsewhere.
fn desktop_command(change: &Change) -> Result<Command, String> {
    let (program, args) = desktop_args(cfg!(target_os = "macos"), change);
    let path =
        which::which(program).map_err(|err| format!("{program} not found on PATH: {err}"))?;
    let mut command = Command::new(path);
    command.args(args);
    Ok(command)
}

/// The program and its arguments for a desktop notification of `change`.
fn desktop_args(macos: bool, change: &Change) -> (&'static str, Vec<OsString>) {
    let title = format!("claude-quota: {}", change.tier.as_str().to_uppercase());
    let body = format!("{} (was {})", change.reason, change.previous);
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

/// Runs `command` without a shell, in its own process group, its output
/// logged line by line; after [`HOOK_TIMEOUT`] the whole group is killed.
/// A token given to the daemon in its environment is not passed on.
async fn run_command(kind: Kind, mut command: Command) -> Result<(), String> {
    command
        .env_remove(claude_quota_credentials::env::VAR)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .map_err(|err| format!("cannot start: {err}"))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let finished = async {
        let (_, _, status) = tokio::join!(
            log_lines(kind, stdout),
            log_lines(kind, stderr),
            child.wait()
        );
        status
    };
    match tokio::time::timeout(HOOK_TIMEOUT, finished).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("ended with {status}")),
        Ok(Err(err)) => Err(format!("cannot wait for it: {err}")),
        Err(_) => {
            if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
                // SAFETY: kill has no memory effects; the group is the
                // hook's own (process_group(0) above), so nothing else dies.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
            let _ = child.wait().await;
            Err(format!(
                "still running after {}s; killed",
                HOOK_TIMEOUT.as_secs()
            ))
        }
    }
}

/// Copies a hook's output into the daemon's log.
async fn log_lines(kind: Kind, output: Option<impl AsyncRead + Unpin>) {
    let Some(output) = output else { return };
    let mut lines = BufReader::new(output).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(?kind, "notification output: {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> Change {
        Change {
            tier: Tier::Resting,
            previous: Tier::Burst,
            reason: "5-hour window at 90.0% (above 80%) \"quoted\"".into(),
            five_hour: Some(90.0),
            seven_day: None,
            resets_at: None,
            cloud_capped_by: None,
        }
    }

    #[test]
    fn the_environment_names_both_tiers_and_leaves_unknowns_empty() {
        let env = change().env();
        assert_eq!(env[0], ("CLAUDE_QUOTA_TIER", "resting".into()));
        assert_eq!(env[1], ("CLAUDE_QUOTA_PREVIOUS_TIER", "burst".into()));
        assert_eq!(env[3], ("CLAUDE_QUOTA_FIVE_HOUR", "90".into()));
        assert_eq!(env[4], ("CLAUDE_QUOTA_SEVEN_DAY", String::new()));
        assert_eq!(env[6], ("CLAUDE_QUOTA_CLOUD_CAPPED_BY", String::new()));
    }

    #[test]
    fn desktop_notifications_quote_the_reason_for_each_platform() {
        let (program, args) = desktop_args(true, &change());
        assert_eq!(program, "osascript");
        assert_eq!(
            args[1],
            OsString::from(
                r#"display notification "5-hour window at 90.0% (above 80%) \"quoted\" (was burst)" with title "claude-quota: RESTING""#
            )
        );
        let (program, args) = desktop_args(false, &change());
        assert_eq!(program, "notify-send");
        assert_eq!(args[1], OsString::from("claude-quota: RESTING"));
    }
}

//! The `status` reply: the daemon's whole state as a person or a script
//! sees it, read off the policy's verdicts so that the tiers, reasons and
//! windows shown are the ones every answer rests on. Its top level is the
//! account a `high` task goes to now; `accounts` lists every one.

use std::time::Instant;

use claude_quota_credentials::Account;
use claude_quota_proto::{AccountStatus, DaemonInfo, LocalInfo, ScopedCap, Status, Window};

use crate::policy::{Now, Question, Verdict, Verdicts};
use crate::state::{Snapshot, State};

/// Everything about the daemon process itself a status shows.
#[derive(Debug, Clone, Copy)]
pub struct Process {
    /// When the daemon started, for its uptime.
    pub started: Instant,
}

/// The status of `state` as `verdicts` judge it at `now`.
pub fn status(
    verdicts: Verdicts,
    state: &State,
    local: &LocalInfo,
    process: Process,
    now: Now,
) -> Status {
    let top = verdicts.pick(Question::HIGH_TASK);
    let mut judged = verdicts.into_inner();
    let empty = Snapshot::default();
    let snapshot_of = |account: &Account| {
        state
            .get(&account.name)
            .map_or(&empty, |held| &held.snapshot)
    };
    let accounts = judged
        .iter()
        .map(|(account, verdict)| account_status(account, verdict, snapshot_of(account)))
        .collect();
    let (account, verdict) = judged.swap_remove(top);
    Status {
        accounts,
        ..top_level(verdict, snapshot_of(&account), local, process, now)
    }
}

/// One account's entry in `status.accounts`.
fn account_status(account: &Account, verdict: &Verdict, snapshot: &Snapshot) -> AccountStatus {
    let assessment = &verdict.assessment;
    let reading = snapshot.reading.as_ref();
    AccountStatus {
        name: account.name.clone(),
        claude_config_dir: account.config_dir_string(),
        priority: account.priority,
        tier: assessment.tier,
        reason: assessment.reason.clone(),
        five_hour: assessment.windows.five_hour,
        seven_day: assessment.windows.seven_day,
        weekly_scoped: assessment.windows.weekly_scoped.clone(),
        extra_usage: reading.and_then(|r| r.extra_usage.clone()),
        as_of: reading.map(|r| r.as_of),
        stale: assessment.stale,
        credentials: snapshot.credentials.source,
        last_error: snapshot.last_error.clone(),
        next_poll_at: snapshot.next_poll_at,
        forecast: verdict.forecast,
        api_calls: snapshot.api_calls,
    }
}

/// The status of one account as `verdict` judges it at `now`: the top
/// level of `status`.
fn top_level(
    verdict: Verdict,
    state: &Snapshot,
    local: &LocalInfo,
    process: Process,
    now: Now,
) -> Status {
    let reading = state.reading.as_ref();
    let Verdict {
        assessment,
        forecast,
        thresholds,
        ..
    } = verdict;
    let windows = assessment.windows;
    let scoped = |family: &str| windows.cap(family).map(as_window);
    Status {
        tier: assessment.tier,
        reason: assessment.reason,
        five_hour: windows.five_hour,
        seven_day: windows.seven_day,
        seven_day_opus: scoped("opus"),
        seven_day_sonnet: scoped("sonnet"),
        cloud_capped_by: assessment.cloud_capped_by,
        as_of: reading.map(|r| r.as_of),
        source: reading.map(|r| r.source),
        age_s: reading.map(|r| r.age(now.monotonic).as_secs()),
        stale: assessment.stale,
        last_push_at: state.last_push_at,
        credentials: state.credentials.source,
        subscription_type: state.credentials.subscription_type.clone(),
        token_expires_at: state.credentials.expires_at,
        lacking_scope: state.credentials.lacking_scope.clone(),
        last_error: state.last_error.clone(),
        last_reply_shape: state.last_reply_shape,
        last_reply_dropped: state.last_reply_dropped.clone(),
        extra_usage: reading.and_then(|r| r.extra_usage.clone()),
        representative_claim: reading.and_then(|r| r.representative_claim.clone()),
        next_poll_at: state.next_poll_at,
        api_calls: state.api_calls,
        polling: Some(state.polling),
        daemon: DaemonInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            uptime_s: process.started.elapsed().as_secs(),
        },
        forecast,
        local: Some(local.clone()),
        weekly_scoped: windows.weekly_scoped,
        accounts: Vec::new(),
        history: crate::history::info(),
        thresholds: Some(thresholds),
    }
}

/// A cap as a window, for the status fields that predate `weekly_scoped`
/// and name Opus and Sonnet on their own.
fn as_window(cap: &ScopedCap) -> Window {
    Window {
        status: cap.status,
        ..Window::new(cap.utilization, cap.resets_at)
    }
}

//! The day's clients of one daemon. The router asks `should_use_cloud(high)`
//! on the dot every [`ASK_EVERY`] simulated seconds while it works, scores
//! each answer against the truth at the instant it came, and sends the
//! task to the cloud when told so, handing the response's rate-limit
//! headers to `ingest_headers` (unless the plan is blind to them). Claude Code's status line pushes the
//! windows while Claude Code is open.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota::{Client, TaskValue};
use claude_quota_e2e::fake_api::ratelimit_headers;
use tokio::time::sleep_until;

use crate::clock::SimClock;
use crate::curve::HOUR;
use crate::plan::{ASK_EVERY, ASK_OFFSET, POLL_INTERVAL, PUSH_EVERY, PUSH_OFFSET, Plan, beats};
use crate::tally::Tally;
use crate::truth::{Answer, truth};

/// What the router saw over the day.
#[derive(Debug, Default)]
pub struct RouterLog {
    /// Its answers against the truth.
    pub tally: Tally,
    /// For each idle spell, in real time: from the first question after it
    /// to the first answer resting on a fresh reading (to the end of the
    /// asking spell when none did); see [`fresh_since`].
    pub woke: Vec<Duration>,
    /// How far behind its schedule its latest question went, in real time:
    /// the schedule does not drift, but a stall delays a question.
    pub latest: Duration,
}

/// Runs the router of `plan` against the daemon at `socket`.
pub async fn router(plan: &Plan, clock: &SimClock, socket: &Path) -> anyhow::Result<RouterLog> {
    let mut client = Client::connect_to(socket).await?;
    let mut log = RouterLog::default();
    for (spell, &hours) in plan.asking.iter().enumerate() {
        // Every spell but the first follows an idle one (plan.rs checks).
        let mut waking = spell > 0;
        let mut first_asked = None;
        for t in beats(hours, ASK_EVERY, ASK_OFFSET) {
            let due = clock.instant(t);
            sleep_until(due.into()).await;
            let (sent, sent_wall) = (Instant::now(), Utc::now());
            log.latest = log.latest.max(sent.saturating_duration_since(due));
            let decision = client.decide(TaskValue::High).await?;
            let replied = Instant::now();
            let at = clock.sim(replied);
            let right = truth(&plan.curve.at(at), at);
            log.tally.record(at, Answer::given(&decision), right);
            if waking {
                let (first, since) =
                    *first_asked.get_or_insert((sent, fresh_since(clock, sent_wall)));
                if reading_since(&mut client, since).await? {
                    log.woke.push(replied - first);
                    waking = false;
                }
            }
            if decision.use_cloud && plan.headers {
                send_to_cloud(&mut client, plan, clock).await?;
            }
        }
        log.tally.pause();
        if let (true, Some((first, _))) = (waking, first_asked) {
            log.woke.push(
                clock
                    .instant(hours.1 * HOUR)
                    .saturating_duration_since(first),
            );
        }
    }
    Ok(log)
}

/// Runs Claude Code's status line of `plan` against the daemon at `socket`:
/// the windows as of each push.
pub async fn status_line(plan: &Plan, clock: &SimClock, socket: &Path) -> anyhow::Result<()> {
    let mut client = Client::connect_to(socket).await?;
    for &hours in plan.pushing {
        for t in beats(hours, PUSH_EVERY, PUSH_OFFSET) {
            sleep_until(clock.instant(t).into()).await;
            let (five_hour, seven_day) = plan.curve.at(clock.sim(Instant::now())).reported(clock);
            client
                .ingest(Some(five_hour), Some(seven_day), Utc::now())
                .await?;
        }
    }
    Ok(())
}

/// The task goes to Claude: the rate-limit headers of its response, as of
/// now, go to the daemon.
async fn send_to_cloud(client: &mut Client, plan: &Plan, clock: &SimClock) -> anyhow::Result<()> {
    let (five_hour, seven_day) = plan.curve.at(clock.sim(Instant::now())).reported(clock);
    let sent = client
        .ingest_headers(ratelimit_headers(five_hour, Some(seven_day)))
        .await?;
    anyhow::ensure!(sent, "the response headers held no 5-hour window");
    Ok(())
}

/// The oldest reading that counts as fresh for a question asked at
/// `asked`: one taken at most `poll_interval` before, as the active
/// schedule keeps them. The first question after idling wakes the poller,
/// which polls unless its last poll is that recent (an idle poll just
/// before); either way the answer is as fresh as while the router works.
fn fresh_since(clock: &SimClock, asked: DateTime<Utc>) -> DateTime<Utc> {
    let window = TimeDelta::from_std(clock.real(POLL_INTERVAL)).expect("a short interval");
    asked - window
}

/// Whether the daemon's reading now was taken at `since` or later.
async fn reading_since(client: &mut Client, since: DateTime<Utc>) -> anyhow::Result<bool> {
    let status = client.status().await?;
    Ok(status.as_of.is_some_and(|at| at >= since))
}

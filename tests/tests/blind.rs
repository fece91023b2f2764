//! Never blindsided (issue 29): usage that climbs where the daemon cannot
//! see it (claude.ai, another machine: no push, no headers) shows up within
//! two poll intervals, even after a quiet spell has left the burn rate at
//! zero. The adaptive daemon's wait is bounded by the time the fastest
//! plausible climb (`[policy] fastest_burn_pct_per_min`) needs to reach the
//! nearest threshold; loopback intervals scale the contract's down.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use claude_quota::{Tier, Window};
use claude_quota_e2e::fake_api::windows_body;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN};

/// The daemon's poll interval, in seconds.
const POLL: f64 = 0.5;

/// The climb, in percent a second: as fast as the daemon is told is
/// plausible (`fastest_burn_pct_per_min = 240`).
const CLIMB_PER_SEC: f64 = 4.0;

/// Where the climb starts: 10 points below 50 %, 40 below 80 %.
const FLAT: f64 = 40.0;

/// The longest any wait for an event may take.
const WAIT: Duration = Duration::from_secs(30);

/// Serves `FLAT` until the second request, then climbs from the instant
/// that request arrived (the worst moment: right after a poll read the
/// flat value). Returns when the climb began, once it has.
fn flat_then_climbing(api: &FakeApi) -> Arc<Mutex<Option<Instant>>> {
    let climb_from = Arc::new(Mutex::new(None));
    let requests = Mutex::new(0u32);
    let resets_at = Utc::now() + TimeDelta::hours(4);
    let weekly_resets_at = Utc::now() + TimeDelta::days(3);
    let shared = Arc::clone(&climb_from);
    api.serve_curve(move |arrived| {
        let mut seen = requests.lock().unwrap();
        *seen += 1;
        let mut from = shared.lock().unwrap();
        if *seen == 2 {
            from.get_or_insert(arrived);
        }
        let climbed = from.map_or(0.0, |from: Instant| {
            arrived.saturating_duration_since(from).as_secs_f64() * CLIMB_PER_SEC
        });
        windows_body(
            Window::new((FLAT + climbed).min(100.0), Some(resets_at)),
            Some(Window::new(20.0, Some(weekly_resets_at))),
        )
    });
    climb_from
}

#[tokio::test]
async fn a_climb_after_a_quiet_spell_is_answered_within_two_poll_intervals() {
    let api = FakeApi::start();
    let climb_from = flat_then_climbing(&api);
    // The contract's ratios: the longest wait 8 poll intervals, 4/5 of
    // stale_after.
    let daemon = Daemon::builder()
        .api(&api.url(), POLL)
        .credentials_file(TOKEN, None)
        .config(&format!(
            "stale_after = 10\n[policy]\nadaptive = true\nadaptive_max_interval = 8\nfastest_burn_pct_per_min = {}\n",
            CLIMB_PER_SEC * 60.0
        ))
        .start();
    // A subscriber is demand, and hears each change as it is published.
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let mut subscription = daemon.client().await.subscribe().await.unwrap();
    let mut turned = Vec::new();
    tokio::time::timeout(WAIT, async {
        while turned.len() < 2 {
            let status = subscription.next().await.unwrap().expect("a status");
            let last = turned.last().map_or(Tier::Burst, |&(tier, _)| tier);
            if status.tier != last {
                turned.push((status.tier, Instant::now()));
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("turned {turned:?} only\n{}", daemon.log()));

    let from = climb_from.lock().unwrap().expect("the climb began");
    let two_polls = Duration::from_secs_f64(2.0 * POLL);
    for ((tier, seen), threshold) in turned.into_iter().zip([50.0, 80.0]) {
        let crossed = from + Duration::from_secs_f64((threshold - FLAT) / CLIMB_PER_SEC);
        let wrong_for = seen.saturating_duration_since(crossed);
        assert!(
            wrong_for <= two_polls,
            "{tier:?} came {wrong_for:?} after {threshold} % was crossed; polls at {:?} after the climb began\n{}",
            api.request_times()
                .iter()
                .map(|at| at.saturating_duration_since(from))
                .collect::<Vec<_>>(),
            daemon.log()
        );
    }
}

//! How good the daemon's forecast is (issue 27): a watcher reads
//! `status.forecast` every simulated minute of the day, and each forecast
//! is scored against the true curve at 15, 30 and 60 minutes ahead.
//!
//! A forecast is a line: the 5-hour window at `five_hour_pct_per_hour`
//! through 100 % at `exhausted_at`. For a forecast made at `t` and a
//! horizon `h`, the level the window truly reaches at `t + h` (in the same
//! window, higher than at `t`) is where the line says it is reached, and
//! the error is how far that is from the moment the true curve first
//! reaches it. When the window truly reaches 100 % at `t + h` this is the
//! error of "100 % at"; the day's curve peaks at 94 %, so every level it
//! reaches counts, scored the same way.

use std::path::Path;
use std::time::Instant;

use claude_quota::Client;
use serde_json::{Value, json};
use tokio::time::sleep_until;

use crate::clock::SimClock;
use crate::plan::Plan;

/// `[policy] forecast_span`, the contract's default, in simulated seconds
/// (the day's config divides it by the scale like every interval).
pub const SPAN: f64 = 1800.0;

/// How often the watcher reads the forecast, in simulated seconds.
const EVERY: f64 = 60.0;

/// The horizons scored, in minutes.
pub const HORIZONS: [u32; 3] = [15, 30, 60];

/// The step in which the true curve is searched for a level, in simulated
/// seconds.
const STEP: f64 = 1.0;

/// One forecast as the daemon made it, on the simulated clock.
#[derive(Debug, Clone, Copy)]
pub struct Made {
    /// When it was read, in simulated seconds.
    pub at: f64,
    /// When it puts 100 %, in simulated seconds.
    pub exhausted_at: f64,
    /// Its pace, in percent per simulated second.
    pub rate: f64,
}

/// The errors at one horizon, in simulated minutes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Forecasts scored.
    pub forecasts: usize,
    /// The median error.
    pub median_min: f64,
    /// The 90th-percentile error.
    pub p90_min: f64,
}

/// Reads the forecast of the daemon at `socket` every simulated minute of
/// the day.
pub async fn watch(plan: &Plan, clock: &SimClock, socket: &Path) -> anyhow::Result<Vec<Made>> {
    let mut client = Client::connect_to(socket).await?;
    let mut made = Vec::new();
    let mut t = 0.0;
    while t < plan.length() {
        sleep_until(clock.instant(t).into()).await;
        let status = client.status().await?;
        let at = clock.sim(Instant::now());
        if let Some(forecast) = status.forecast
            && let Some(exhausted_at) = forecast.exhausted_at
            && let Ok(ahead) = (exhausted_at - clock.wall(0.0)).to_std()
        {
            made.push(Made {
                at,
                exhausted_at: clock.simulated(ahead),
                // Percent per real hour: per simulated second.
                rate: forecast.five_hour_pct_per_hour / 3600.0 / plan.scale,
            });
        }
        t += EVERY;
    }
    Ok(made)
}

/// The errors of `made` against the true curve of `plan`, per horizon.
pub fn score(plan: &Plan, made: &[Made]) -> [Score; 3] {
    HORIZONS.map(|minutes| {
        let ahead = f64::from(minutes) * 60.0;
        let mut errors: Vec<f64> = made
            .iter()
            .filter_map(|forecast| error(plan, forecast, ahead))
            .collect();
        errors.sort_by(f64::total_cmp);
        let at = |share: f64| {
            errors
                .get(((errors.len() as f64 * share).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or(f64::NAN)
        };
        Score {
            forecasts: errors.len(),
            median_min: at(0.5),
            p90_min: at(0.9),
        }
    })
}

/// The error of `forecast` for the level the window truly reaches `ahead`
/// simulated seconds later, in simulated minutes; `None` when the window
/// resets before then or does not rise.
fn error(plan: &Plan, forecast: &Made, ahead: f64) -> Option<f64> {
    let now = plan.curve.at(forecast.at).five_hour;
    let then = plan.curve.at(forecast.at + ahead).five_hour;
    if now.resets_at.is_none() || then.resets_at != now.resets_at {
        return None;
    }
    let level = then.utilization;
    if level <= now.utilization + 1e-9 || forecast.rate <= 0.0 {
        return None;
    }
    let steps = (ahead / STEP).ceil() as u32;
    let reached = (0..=steps)
        .map(|step| forecast.at + f64::from(step) * STEP)
        .find(|&t| plan.curve.at(t).five_hour.utilization >= level - 1e-9)?;
    let said = forecast.exhausted_at - (100.0 - level) / forecast.rate;
    Some((said - reached).abs() / 60.0)
}

/// The scores as `--json` prints them: `{"15m": {median_error_min,
/// p90_error_min, forecasts}, …}`.
pub fn json(scores: &[Score; 3]) -> Value {
    let mut out = serde_json::Map::new();
    for (minutes, score) in HORIZONS.iter().zip(scores) {
        out.insert(
            format!("{minutes}m"),
            json!({
                "median_error_min": score.median_min,
                "p90_error_min": score.p90_min,
                "forecasts": score.forecasts,
            }),
        );
    }
    Value::Object(out)
}

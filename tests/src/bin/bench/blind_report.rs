//! The blind scenarios' report: per scenario, both schedules' calls a day,
//! wrong share and longest wrong stretch; the worst stretch per kind of
//! change; a verdict on the target of issue 29 (judged on the adaptive
//! schedule); or the same figures as JSON, under `blind`.

use serde_json::{Value, json};

use crate::blind::{Blind, Change};
use crate::day::Outcome;
use crate::plan::{ASK_EVERY, FASTEST_BURN_PCT_PER_MIN, POLL_INTERVAL};
use crate::report::{figure, print_targets};

/// The target of issue 29: a climb no faster than the plausible one is
/// answered within two poll intervals.
const STRETCH_POLLS: f64 = 2.0;

/// One run's figures, as `--json` prints them.
fn figures(outcome: &Outcome) -> Value {
    json!({
        "calls_per_day": outcome.calls_per_day,
        "wrong_share": outcome.tally.wrong_share(),
        "longest_wrong_s": longest(outcome),
    })
}

/// The longest wrong stretch of a run, in simulated seconds.
fn longest(outcome: &Outcome) -> f64 {
    outcome.tally.longest_wrong_s(ASK_EVERY)
}

/// `[{"quiet_min", "level_pct", "climb_pct_per_min" | "step_points",
/// "fixed": F, "adaptive": F}, …]`, `F` = `{"calls_per_day", "wrong_share",
/// "longest_wrong_s"}`.
pub fn json(blind: &[Blind]) -> Value {
    let entries = blind.iter().map(|b| {
        let s = &b.scenario;
        let mut entry = json!({
            "quiet_min": s.quiet_min,
            "level_pct": s.level,
            "fixed": figures(&b.fixed),
            "adaptive": figures(&b.adaptive),
        });
        match s.change {
            Change::Climb(per_min) => entry["climb_pct_per_min"] = json!(per_min),
            Change::Step(points) => entry["step_points"] = json!(points),
        }
        entry
    });
    Value::Array(entries.collect())
}

/// Prints the table, the worst stretches and the verdict in Markdown.
pub fn print(blind: &[Blind]) {
    println!(
        "Blind: usage from elsewhere (no pushes, no headers), a question every {ASK_EVERY:.0} s throughout (simulated seconds)."
    );
    println!();
    println!(
        "| scenario | calls a day, fixed | adaptive | wrong, fixed | adaptive | longest wrong stretch, fixed | adaptive |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for b in blind {
        let share = |o: &Outcome| format!("{:.1} %", o.tally.wrong_share() * 100.0);
        println!(
            "| {} | {:.0} | {:.0} | {} | {} | {:.0} s | {:.0} s |",
            b.scenario.label(),
            b.fixed.calls_per_day,
            b.adaptive.calls_per_day,
            share(&b.fixed),
            share(&b.adaptive),
            longest(&b.fixed),
            longest(&b.adaptive),
        );
    }
    println!();
    for (what, kind) in kinds() {
        let of_kind: Vec<&Blind> = blind.iter().filter(|b| kind(b.scenario.change)).collect();
        if of_kind.is_empty() {
            continue;
        }
        let worst =
            |o: fn(&Blind) -> &Outcome| of_kind.iter().map(|b| longest(o(b))).fold(0.0, f64::max);
        println!(
            "- {what}: longest wrong stretch {:.0} s adaptive, {:.0} s fixed",
            worst(|b| &b.adaptive),
            worst(|b| &b.fixed),
        );
    }
    let latest = blind
        .iter()
        .flat_map(|b| [&b.fixed, &b.adaptive])
        .map(|o| o.latest_question.as_secs_f64())
        .fold(0.0, f64::max);
    println!(
        "- the routers' latest question, behind schedule: {} ms real",
        figure(latest * 1e3)
    );
    println!();
    print_targets(&[target(blind)]);
}

/// Whether a change is a climb no faster than the plausible one.
fn plausible(change: Change) -> bool {
    matches!(change, Change::Climb(r) if r <= FASTEST_BURN_PCT_PER_MIN)
}

/// A kind of change: its name, and whether a change is of it.
type Kind = (String, fn(Change) -> bool);

/// The kinds of change.
fn kinds() -> [Kind; 3] {
    [
        (
            format!("climbs up to {FASTEST_BURN_PCT_PER_MIN} %/min"),
            plausible,
        ),
        (
            format!("climbs faster than {FASTEST_BURN_PCT_PER_MIN} %/min"),
            |c| matches!(c, Change::Climb(_)) && !plausible(c),
        ),
        ("steps".to_owned(), |c| matches!(c, Change::Step(_))),
    ]
}

/// The longest wrong stretch after climbs no faster than the plausible one,
/// on the adaptive schedule, within two poll intervals.
fn target(blind: &[Blind]) -> (String, bool) {
    let worst = |o: fn(&Blind) -> &Outcome| {
        blind
            .iter()
            .filter(|b| plausible(b.scenario.change))
            .map(|b| longest(o(b)))
            .fold(0.0, f64::max)
    };
    let limit = STRETCH_POLLS * POLL_INTERVAL;
    let adaptive = worst(|b| &b.adaptive);
    (
        format!(
            "climbs up to fastest_burn_pct_per_min ({FASTEST_BURN_PCT_PER_MIN} %/min): longest wrong stretch ≤ {STRETCH_POLLS:.0} × poll_interval ({limit:.0} s): {adaptive:.0} s (fixed {:.0} s)",
            worst(|b| &b.fixed)
        ),
        adaptive <= limit,
    )
}

//! The benchmark harness still runs: a quick pass over every measurement,
//! so `target/release/bench` never rots between the runs that feed
//! BENCHMARKS.md. It checks that the harness works, not how fast anything is
//! nor how the figures come out. (How answers are judged against the true
//! usage is unit-tested inside the bench: `cargo test -p claude-quota-e2e
//! --bin bench`.)

use std::process::{Command, Output};

use serde_json::Value;

fn bench(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(args)
        .output()
        .expect("run the bench");
    assert!(
        output.status.success(),
        "bench {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn a_quick_bench_run_measures_everything_and_counts_one_call_per_poll() {
    let output = bench(&["--quick", "--no-redis"]);
    let report = String::from_utf8_lossy(&output.stdout);
    for row in [
        "RTT p50, one connection",
        "throughput, 500 connections",
        "throughput, 1 connection pipelining 32",
        "one-shot p99",
        "RSS with connections held (50)",
        "`claude-quota should-use-cloud high` process",
        "- [x] API calls = polls",
        "| idle wake-ups, all threads (100 connections held",
        "| `route` p50, 10 accounts / 1 account |",
        "| `status` p50, 10 accounts / 1 account |",
        "| usage-API calls per account, 10 accounts / 1 account |",
        "idle with connections held: ≤ 0.2 wake-ups a second",
        "`route` p50 with 10 accounts ≤ 1.2× one account",
        "`status` p50 with 10 accounts ≤ 3× one account",
        "usage-API calls per account with 10 accounts ≤ one account's",
        "- idle wake-ups by thread: ",
        "| usage-API calls per day |",
        "| wrong answers, share of questions |",
        "| longest wrong stretch |",
        "| first answer after idle from a fresh poll |",
        "usage-API calls per day ≤ 150 with no pushes",
        "wrong answers ≤ 0.5 % of questions",
        "no wrong stretch longer than poll_interval",
        "first answer after idling from a fresh poll within 2 s",
        "| 40 % for 4 min, then +2 %/min |",
        "| 40 % for 4 min, then a step of +30 points |",
        "longest wrong stretch ≤ 2 × poll_interval",
    ] {
        assert!(report.contains(row), "no {row:?} in:\n{report}");
    }
}

#[test]
fn the_quick_run_prints_its_report_as_json_with_the_floors_of_issues_25_and_26() {
    let output = bench(&["--quick", "--no-redis", "--json", "--idle-seconds", "1"]);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let all: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("stdout is not one JSON object ({err}):\n{stdout}"));
    let figures = all["report"]["figures"].as_array().expect("figures");
    for metric in [
        "throughput, 50 connections",
        "throughput, 500 connections",
        "idle wake-ups, all threads",
        "`route` p50, 10 accounts / 1 account",
        "`status` p50, 10 accounts / 1 account",
        "usage-API calls per account, 10 accounts / 1 account",
    ] {
        let figure = figures
            .iter()
            .find(|f| f["metric"].as_str().is_some_and(|m| m.starts_with(metric)))
            .unwrap_or_else(|| panic!("no {metric:?} in {stdout}"));
        assert!(figure["claude_quotad"].is_f64(), "{figure}");
    }
    let targets = all["report"]["targets"].as_array().expect("targets");
    assert!(
        targets.iter().any(|t| t["what"]
            .as_str()
            .is_some_and(|w| w.starts_with("idle with connections held"))
            && t["met"].is_boolean()),
        "{stdout}"
    );
    assert!(all["day"]["no_pushes"].is_object(), "{stdout}");
}

#[test]
fn the_quick_day_prints_one_json_object_of_finite_figures_for_both_schedules_and_blind() {
    let output = bench(&["--only-day", "--quick", "--json"]);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let day: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("stdout is not one JSON object ({err}):\n{stdout}"));
    let keys = |value: &Value| -> Vec<String> {
        let object = value.as_object().unwrap_or_else(|| panic!("{value}"));
        let mut keys: Vec<String> = object.keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(
        keys(&day),
        ["blind", "forecast", "no_pushes", "with_pushes"]
    );
    forecast_scores(&day["forecast"]);
    for scenario in ["no_pushes", "with_pushes"] {
        assert_eq!(keys(&day[scenario]), ["adaptive", "fixed"]);
        for schedule in ["fixed", "adaptive"] {
            let figures = &day[scenario][schedule];
            assert_eq!(
                keys(figures),
                [
                    "calls_per_day",
                    "first_answer_after_idle_s",
                    "forecast",
                    "longest_wrong_s",
                    "wrong_share"
                ]
            );
            forecast_scores(&figures["forecast"]);
            let number = |key: &str| {
                let value = figures[key].as_f64();
                value
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .unwrap_or_else(|| panic!("{scenario}.{schedule}.{key}: {figures}"))
            };
            assert!(
                number("calls_per_day") > 0.0,
                "the API was polled: {figures}"
            );
            assert!(number("wrong_share") <= 1.0, "{figures}");
            number("longest_wrong_s");
            assert!(
                number("first_answer_after_idle_s") > 0.0,
                "an idle spell was measured: {figures}"
            );
        }
    }
    let blind = day["blind"].as_array().expect("blind is a list");
    assert_eq!(blind.len(), 2, "the quick pass's two scenarios: {blind:?}");
    for scenario in blind {
        let change = scenario
            .get("climb_pct_per_min")
            .or(scenario.get("step_points"));
        assert!(change.is_some_and(Value::is_f64), "{scenario}");
        for schedule in ["fixed", "adaptive"] {
            let figures = &scenario[schedule];
            assert_eq!(
                keys(figures),
                ["calls_per_day", "longest_wrong_s", "wrong_share"]
            );
            assert!(figures["calls_per_day"].as_f64() > Some(0.0), "{scenario}");
        }
    }
}

/// The forecast's scores at each horizon: how many forecasts were scored,
/// and their median and 90th-percentile errors (`null` when none was).
fn forecast_scores(scores: &Value) {
    for horizon in ["15m", "30m", "60m"] {
        let score = &scores[horizon];
        let scored = score["forecasts"]
            .as_u64()
            .unwrap_or_else(|| panic!("{horizon}: {scores}"));
        for key in ["median_error_min", "p90_error_min"] {
            let error = &score[key];
            let fits = match error.as_f64() {
                Some(minutes) => scored > 0 && minutes.is_finite() && minutes >= 0.0,
                None => scored == 0 && error.is_null(),
            };
            assert!(fits, "{horizon}.{key}: {scores}");
        }
    }
    assert!(
        scores["15m"]["forecasts"].as_u64() > Some(0),
        "the quick day has a climb to forecast: {scores}"
    );
}

#[test]
fn the_history_run_times_route_with_and_without_the_history() {
    let output = bench(&["--only-history", "--samples", "2000"]);
    let report = String::from_utf8_lossy(&output.stdout);
    for row in ["| history kept |", "| history off |", "rows in"] {
        assert!(report.contains(row), "no {row:?} in:\n{report}");
    }
    assert!(!report.contains("wrote 0 rows"), "{report}");
}

/// `--machinery` needs a daemon built with `--features speed-variants`; the
/// test build is not one, and the bench must say so rather than report
/// four copies of the whole daemon as its variants.
#[test]
fn the_machinery_run_refuses_a_daemon_built_without_its_variants() {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--machinery", "--quick", "--no-redis"])
        .output()
        .expect("run the bench");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--features speed-variants"), "{stderr}");
}

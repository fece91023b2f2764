//! The benchmark harness still runs: a quick pass over every measurement,
//! so `target/release/bench` never rots between the runs that feed
//! BENCHMARKS.md. It checks that the harness works, not how fast anything is.

use std::process::Command;

#[test]
fn a_quick_bench_run_measures_everything_and_counts_one_call_per_poll() {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--quick", "--no-redis"])
        .output()
        .expect("run the bench");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for row in [
        "RTT p50, one connection",
        "throughput, 500 connections",
        "throughput, 1 connection pipelining 32",
        "one-shot p99",
        "RSS with connections held (50)",
        "`claude-quota should-use-cloud high` process",
        "- [x] API calls = polls",
        "API calls per simulated day ≤ 1,000",
        "no answer older than poll_interval while in use",
    ] {
        assert!(report.contains(row), "no {row:?} in:\n{report}");
    }
}

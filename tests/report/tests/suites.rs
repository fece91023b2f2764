//! Names, at the end of `cargo test --workspace`, every suite in another
//! language that could not run here (no `node` or `python3`, no network
//! to install its pinned packages), with why and the fix.
//!
//! Each suite says SKIPPED itself, but libtest captures the output of a
//! test that passes, so nobody would see it. This target runs without
//! libtest (`harness = false`), so what it prints reaches the terminal,
//! and after every other test binary (see `Cargo.toml`). It asks each
//! suite the question the suite asked ([`Suite::check`]), installing
//! under the same locks, so it is right whichever ran first. In CI
//! (`CI=true`, or a suite's `CLAUDE_QUOTA_REQUIRE_*`) a suite that cannot
//! run fails here too, as it failed on its own.

use std::process::ExitCode;

use claude_quota_e2e::suites::{ALL, Suite};

fn main() -> ExitCode {
    let missing: Vec<(&Suite, String)> = ALL
        .into_iter()
        .filter_map(|suite| suite.check().err().map(|why| (suite, why)))
        .collect();
    if missing.is_empty() {
        let names: Vec<&str> = ALL.iter().map(|suite| suite.name).collect();
        println!(
            "\nsuites in other languages or with other programs: every one could run here ({})\n",
            names.join(", ")
        );
        return ExitCode::SUCCESS;
    }
    println!(
        "\nNOT RUN: {} of {} suites in other languages or with other programs could not run here and passed without testing anything:",
        missing.len(),
        ALL.len()
    );
    for (suite, why) in &missing {
        println!("  NOT RUN {}: {why}", suite.name);
    }
    println!();
    if missing.iter().any(|(suite, _)| suite.is_required()) {
        eprintln!("a required suite could not run (CI=true or its CLAUDE_QUOTA_REQUIRE_* is set)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

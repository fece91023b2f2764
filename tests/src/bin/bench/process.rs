//! Whole processes: a command timed from spawn to exit, a server's resident
//! memory, and the bench's own file-descriptor limit.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::load::Latencies;

/// `runs` timed runs of `program args`, after a few unmeasured ones; each
/// must exit 0, so a broken command cannot pass for a fast one.
pub fn time_command(program: &Path, args: &[&str], runs: usize) -> Latencies {
    let run = || {
        let start = Instant::now();
        let status = Command::new(program)
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .status()
            .unwrap_or_else(|err| panic!("run {}: {err}", program.display()));
        assert!(status.success(), "{} {args:?}: {status}", program.display());
        start.elapsed()
    };
    for _ in 0..runs / 10 {
        run();
    }
    Latencies::new((0..runs).map(|_| run()).collect())
}

/// A process's resident set size in MiB (Linux `/proc`; `None` elsewhere).
pub fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The CPU time a process's main thread has used, in nanoseconds (Linux
/// `/proc/<pid>/schedstat`; `None` elsewhere). Both servers answer on their
/// main thread, so this is the cost of serving, free of wake-up latency.
pub fn cpu_ns(pid: u32) -> Option<u64> {
    let schedstat = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    schedstat.split_whitespace().next()?.parse().ok()
}

/// Raises this process's open-file limit, so it can hold a thousand
/// connections to a server.
pub fn raise_fd_limit() {
    rlimit::increase_nofile_limit(u64::MAX).expect("raise the open-file limit");
}

/// Lets a server settle (finish accepting, free buffers) before a reading.
pub fn settle() {
    std::thread::sleep(Duration::from_millis(500));
}

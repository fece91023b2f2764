//! Running a helper program with a deadline: in a process group of its
//! own with stdin closed, its output captured up to a bound, and the whole
//! group killed when it overruns. The `security` reader and the daemon's
//! notification commands both run programs this way, so one hung program
//! (a prompt nobody sees, a stuck hook) never holds up its caller, and
//! nothing it started outlives it.

use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// How long the output of a killed program is still read: the pipes close
/// once its group is gone, unless something escaped the group.
const AFTER_KILL: Duration = Duration::from_millis(200);

/// How a program run ended.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status; `None` when it overran the deadline and was killed.
    pub status: Option<ExitStatus>,
    /// What it wrote on stdout, at most the limit given.
    pub stdout: Vec<u8>,
    /// What it wrote on stderr, at most the limit given.
    pub stderr: Vec<u8>,
}

/// Runs `command` (stdin closed, stdout and stderr captured up to `limit`
/// bytes each, the rest read and dropped) and waits at most `deadline`;
/// then kills its whole process group. Only failing to start it is an
/// error.
pub fn run(mut command: Command, deadline: Duration, limit: usize) -> io::Result<Finished> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command.spawn()?;
    let group = child.id() as libc::pid_t;
    let stdout = capture(child.stdout.take(), limit);
    let stderr = capture(child.stderr.take(), limit);
    let (exited, exit) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("child-wait".into())
        .spawn(move || {
            let _ = exited.send(child.wait());
        })?;
    let (status, grace) = match exit.recv_timeout(deadline) {
        Ok(status) => (Some(status?), deadline),
        Err(_) => {
            // SAFETY: kill has no memory preconditions; the group is the
            // child's own (process_group(0)) and the child is not yet
            // reaped, as the waiting thread has not answered.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            (None, AFTER_KILL)
        }
    };
    Ok(Finished {
        status,
        stdout: stdout.recv_timeout(grace).unwrap_or_default(),
        stderr: stderr.recv_timeout(grace).unwrap_or_default(),
    })
}

/// Reads `pipe` to its end on a thread of its own, keeping the first
/// `limit` bytes; the rest is drained so the writer never blocks on a full
/// pipe.
fn capture(pipe: Option<impl Read + Send + 'static>, limit: usize) -> Receiver<Vec<u8>> {
    let (done, captured) = mpsc::sync_channel(1);
    let Some(mut pipe) = pipe else {
        let _ = done.send(Vec::new());
        return captured;
    };
    let reader = std::thread::Builder::new()
        .name("child-output".into())
        .spawn(move || {
            let mut kept = Vec::new();
            let _ = (&mut pipe).take(limit as u64).read_to_end(&mut kept);
            let _ = io::copy(&mut pipe, &mut io::sink());
            let _ = done.send(kept);
        });
    if reader.is_err() {
        let (done, captured) = mpsc::sync_channel(1);
        let _ = done.send(Vec::new());
        return captured;
    }
    captured
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("/bin/sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn output_is_captured_up_to_the_limit() {
        let done = run(
            sh("echo hello; yes | head -c 100000 >&2"),
            Duration::from_secs(5),
            10,
        )
        .unwrap();
        assert!(done.status.unwrap().success());
        assert_eq!(done.stdout, b"hello\n");
        assert_eq!(done.stderr.len(), 10);
    }

    #[test]
    fn an_overrun_kills_the_whole_group_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survivor");
        // A grandchild that would write the marker after the deadline.
        let script = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let started = Instant::now();
        let done = run(sh(&script), Duration::from_millis(300), 1024).unwrap();
        assert!(done.status.is_none());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "the grandchild was killed with its group");
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let err = run(
            Command::new("/nonexistent/program"),
            Duration::from_secs(1),
            10,
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}

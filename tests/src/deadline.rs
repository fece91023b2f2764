//! Running a program that must not hang a test: its output is read on
//! threads, it is given a deadline, and whatever it started in its process
//! group is ended with it.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `command` in a process group of its own with its stdout and stderr
/// captured; panics when it is still running after `deadline`. At the end,
/// either way, the whole group is killed: a server or helper it left
/// behind (an MCP server, a hook) goes with it.
pub fn output_within(command: &mut Command, deadline: Duration) -> Output {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"));
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("stderr")));
    let group = -i32::try_from(child.id()).expect("a pid fits an i32");
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if started.elapsed() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // SAFETY: kill has no memory-safety preconditions; the group is ours.
    unsafe { libc::kill(group, libc::SIGKILL) };
    let Some(status) = status else {
        let _ = child.wait();
        panic!("{command:?} took over {deadline:?}");
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

//! The README's "Run it" line, as a newcomer pastes it: after the build it
//! shows the status and one line on how to stop the daemon, keeps the
//! daemon's log out of the terminal, and its stop command works, also in
//! a shell that is not interactive (`sh -c`). The build itself is this
//! test run's; the line runs against it in a private directory.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use claude_quota_e2e::daemon::bin;
use claude_quota_e2e::suites::repo_root;

const DEADLINE: Duration = Duration::from_secs(30);

/// The command of the README's "Run it" section.
fn run_it_line() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let section = readme.split("## Run it").nth(1).expect("a Run it section");
    let block = section.split("```sh\n").nth(1).expect("a sh block");
    let line = block.split("\n```").next().unwrap();
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    line.to_owned()
}

/// Runs `script` with `sh -c` in `dir`, within [`DEADLINE`].
fn sh(script: &str, dir: &std::path::Path, home: &std::path::Path) -> (bool, String, String) {
    let mut child = Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env_remove("CLAUDE_QUOTA_SOCKET")
        .env_remove("CLAUDE_CODE_OAUTH_TOKEN")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read on threads: a daemon left holding the pipes must fail the
    // test, not hang it.
    let (sender, received) = std::sync::mpsc::channel();
    for (index, mut pipe) in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ]
    .into_iter()
    .enumerate()
    {
        let sender = sender.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            let _ = sender.send((index, text));
        });
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < DEADLINE, "`{script}` did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut texts = [String::new(), String::new()];
    for _ in 0..2 {
        let (index, text) = received
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("`{script}` left its output open (a daemon holding it?)"));
        texts[index] = text;
    }
    let [out, err] = texts;
    (status.success(), out, err)
}

/// Kills the daemon the line started, whatever the test's end.
struct Started(i32);

impl Drop for Started {
    fn drop(&mut self) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}

#[test]
fn the_readme_run_line_shows_the_status_and_how_to_stop_the_daemon() {
    let line = run_it_line();
    let (build, rest) = line.split_once(" && ").unwrap();
    assert_eq!(
        build,
        "cargo build --release -p claude-quotad -p claude-quota-cli"
    );
    let dir = tempfile::Builder::new()
        .prefix("cq-readme-")
        .tempdir()
        .unwrap();
    let release = dir.path().join("target/release");
    std::fs::create_dir_all(&release).unwrap();
    std::fs::create_dir_all(dir.path().join("run")).unwrap();
    for name in ["claude-quotad", "claude-quota"] {
        std::os::unix::fs::symlink(bin(name), release.join(name)).unwrap();
    }
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();

    let (ok, out, err) = sh(rest, dir.path(), &home);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("UNKNOWN"), "the status: {out}");
    assert!(
        !out.contains(" INFO ") && !err.contains(" INFO "),
        "no log lines: {out}{err}"
    );
    let stop = out.lines().last().unwrap();
    let kill = stop.split("stop it with: ").nth(1).expect("how to stop it");
    let pid: i32 = kill.strip_prefix("kill ").unwrap().parse().unwrap();
    let guard = Started(pid);
    let log = std::fs::read_to_string(dir.path().join("target/claude-quotad.log")).unwrap();
    assert!(log.contains("listening"), "{log}");

    let (ok, out, err) = sh(kill, dir.path(), &home);
    assert!(ok, "{out}\n{err}");
    let started = Instant::now();
    // SAFETY: kill with signal 0 only asks whether the process exists.
    while unsafe { libc::kill(pid, 0) } == 0 {
        if started.elapsed() > DEADLINE {
            // SAFETY: as above; ends what the test started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("`{kill}` did not stop the daemon");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Gone: its pid may be another process's from now on.
    std::mem::forget(guard);
}

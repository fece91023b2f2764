//! A stand-in for `claude-quotad` (`stand_in_daemon.py`): the peer a real
//! daemon never is. It answers its first question late, or runs as
//! another user; it says yes to the cloud for every task but `routine`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::other_user;

/// The stand-in's source, run with `python3 -c`, so that another user
/// needs no access to the repository.
const SCRIPT: &str = include_str!("stand_in_daemon.py");

/// How long the stand-in may take to open its socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running stand-in, killed when dropped.
pub struct StandIn {
    child: Child,
    socket: PathBuf,
    _dir: TempDir,
}

impl StandIn {
    /// A stand-in of this user that answers its very first question only
    /// after `delay`, and every later one at once.
    pub fn late_first_answer(delay: Duration) -> StandIn {
        let dir = private_dir();
        let socket = dir.path().join("claude-quotad.sock");
        let mut command = Command::new("python3");
        command.arg("-c").arg(SCRIPT).arg(&socket);
        command.arg(delay.as_secs_f64().to_string());
        StandIn::spawn(command, socket, dir)
    }

    /// A stand-in run as `nobody`, in a directory that user owns; check
    /// [`other_user::available`] first.
    pub fn of_another_user() -> StandIn {
        let dir = private_dir();
        let home = dir.path().join("nobody");
        std::fs::create_dir(&home).expect("create the other user's dir");
        other_user::open_up_to(&home, dir.path());
        std::os::unix::fs::chown(&home, Some(other_user::NOBODY), Some(other_user::NOBODY))
            .expect("give the dir to nobody");
        let socket = home.join("claude-quotad.sock");
        let mut command = other_user::command(other_user::python());
        command.arg("-c").arg(SCRIPT).arg(&socket);
        StandIn::spawn(command, socket, dir)
    }

    /// Its socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn spawn(mut command: Command, socket: PathBuf, dir: TempDir) -> StandIn {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("run python3");
        let stand_in = StandIn {
            child,
            socket,
            _dir: dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while std::os::unix::net::UnixStream::connect(&stand_in.socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "the stand-in did not open {}",
                stand_in.socket.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        stand_in
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn private_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("cq-stand-in-")
        .tempdir()
        .expect("temp dir")
}

//! Acting as another local user, `nobody` (uid 65534), through `setpriv`:
//! for the tests of who may talk to whom, which need root (CI runs as
//! root).

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The uid (and gid) the other user runs as.
pub const NOBODY: u32 = 65534;

/// Whether this process can act as another user. When it cannot (not
/// root, or no `setpriv`), the test is skipped loudly on a developer's
/// machine and fails in CI (`CI` set), so CI cannot pass without it.
pub fn available() -> bool {
    if !cfg!(target_os = "linux") {
        // setpriv is util-linux's; the macOS CI job runs everything else.
        eprintln!("SKIPPED: acting as another user needs Linux's setpriv");
        return false;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if root && setpriv {
        return true;
    }
    let message = "needs root and setpriv (util-linux) to act as another user";
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("SKIPPED: {message}");
    false
}

/// A command that runs `program` as `nobody`, with no supplementary
/// groups.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"))
        .arg("--clear-groups")
        .arg(program);
    command
}

/// A `python3` that `nobody` can run: the first on `PATH` that starts as
/// that user (a pyenv shim under root's home does not).
pub fn python() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("python3"))
        .filter(|candidate| candidate.is_file())
        .find(|candidate| {
            command(candidate)
                .args(["-c", "pass"])
                .output()
                .is_ok_and(|output| output.status.success())
        })
        .expect("no python3 on PATH that user nobody can run")
}

/// Lets everyone traverse and read `dir` and each directory above it up to
/// `root`, never above: the system's temp dir keeps its own mode.
pub fn open_up_to(dir: &Path, root: &Path) {
    let mut dir = dir.to_owned();
    while dir.starts_with(root) {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("open a test directory");
        if !dir.pop() {
            break;
        }
    }
}

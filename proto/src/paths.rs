//! Where the daemon's socket lives by default. Both the daemon and every
//! client resolve it the same way, so a user never has to pass `--socket`.

use std::env;
use std::ffi::OsString;
use std::path::PathBuf;

/// The environment variable that overrides the socket path for the daemon
/// and every client.
pub const SOCKET_ENV: &str = "CLAUDE_QUOTA_SOCKET";

/// File name of the socket inside its directory.
const SOCKET_NAME: &str = "claude-quotad.sock";

/// The socket path the contract prescribes, before any `--socket` flag:
/// `$CLAUDE_QUOTA_SOCKET`, else `$XDG_RUNTIME_DIR/claude-quota/` on Linux or
/// `~/Library/Application Support/claude-quota/` on macOS. On Linux without
/// `XDG_RUNTIME_DIR` (a host that starts its commands with a small
/// environment, such as an MCP inspector, or cron), the directory systemd
/// makes for it, `/run/user/<uid>/claude-quota/`, when that is a directory
/// of this user's that nobody else can write: a daemon started in a session
/// and a client started without one then meet on the same socket. Where
/// neither base is known, a per-user directory under the temporary
/// directory keeps the daemon usable (e.g. under `sudo -i` or in a
/// container without a session).
pub fn default_socket_path() -> PathBuf {
    resolve(&|key| env::var_os(key))
}

/// The socket a client finds with no `--socket` when its host starts it
/// with a small environment: no `CLAUDE_QUOTA_SOCKET`, `XDG_RUNTIME_DIR` or
/// `TMPDIR`, only `HOME` (the MCP Inspector passes HOME, LOGNAME, PATH,
/// SHELL, TERM and USER). `claude-quota setup` names any other socket in
/// the commands it wires, so that they find it wherever they are started.
pub fn bare_socket_path() -> PathBuf {
    resolve(&|key| {
        if key == "HOME" {
            env::var_os(key)
        } else {
            None
        }
    })
}

/// Resolves the socket with the environment variables `var` gives.
fn resolve(var: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    let set = |key: &str| var(key).filter(|value| !value.is_empty());
    if let Some(path) = set(SOCKET_ENV) {
        return PathBuf::from(path);
    }
    platform_dir(&set)
        .unwrap_or_else(|| fallback_dir(&set))
        .join(SOCKET_NAME)
}

#[cfg(target_os = "macos")]
fn platform_dir(var: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    /// `sun_path` holds 104 bytes on macOS, including the terminating NUL.
    const MAX_SOCKET_PATH: usize = 103;
    let home = var("HOME")?;
    let dir = PathBuf::from(home).join("Library/Application Support/claude-quota");
    let fits = dir.join(SOCKET_NAME).as_os_str().len() <= MAX_SOCKET_PATH;
    fits.then_some(dir)
}

#[cfg(not(target_os = "macos"))]
fn platform_dir(var: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let runtime = var("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        // SAFETY: getuid has no preconditions and cannot fail.
        .or_else(|| user_runtime_dir(std::path::Path::new(RUN_USER), unsafe { libc::getuid() }))?;
    Some(runtime.join("claude-quota"))
}

/// Where systemd-logind makes each user's runtime directory.
#[cfg(not(target_os = "macos"))]
const RUN_USER: &str = "/run/user";

/// `<root>/<uid>` when it is what a runtime directory of `uid` must be, as
/// the daemon checks any socket directory: a real directory (not a
/// symlink), owned by `uid`, writable by nobody else. Anything else (absent,
/// another user's, open to others) is not used, and the temporary
/// directory is.
#[cfg(not(target_os = "macos"))]
fn user_runtime_dir(root: &std::path::Path, uid: u32) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let dir = root.join(uid.to_string());
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    let private = meta.is_dir() && meta.uid() == uid && meta.mode() & 0o022 == 0;
    private.then_some(dir)
}

/// A directory for this user under the temporary directory (`TMPDIR`, else
/// `/tmp`, as `std::env::temp_dir` has it). Anyone may create that name
/// first, so the daemon creates it 0700 when missing and refuses to serve
/// from it unless it is a real directory of this user that nobody else can
/// write.
fn fallback_dir(var: &dyn Fn(&str) -> Option<OsString>) -> PathBuf {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let temp = var("TMPDIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    temp.join(format!("claude-quota-{uid}"))
}

#[cfg(all(test, not(target_os = "macos")))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    // SAFETY: getuid has no preconditions and cannot fail.
    fn me() -> u32 {
        unsafe { libc::getuid() }
    }

    #[test]
    fn a_runtime_dir_of_ours_alone_is_used() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(me().to_string());
        assert_eq!(user_runtime_dir(root.path(), me()), None, "absent");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(user_runtime_dir(root.path(), me()), Some(dir.clone()));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            user_runtime_dir(root.path(), me()),
            Some(dir.clone()),
            "others may read"
        );
        for mode in [0o770, 0o703, 0o1777] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(user_runtime_dir(root.path(), me()), None, "{mode:o}");
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(
            user_runtime_dir(root.path(), me().wrapping_add(1)),
            None,
            "the name of another uid, but ours"
        );
    }

    #[test]
    fn a_symlink_or_a_file_is_not_a_runtime_dir() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(&real, root.path().join(me().to_string())).unwrap();
        assert_eq!(user_runtime_dir(root.path(), me()), None);
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join(me().to_string()), "").unwrap();
        assert_eq!(user_runtime_dir(other.path(), me()), None);
    }
}

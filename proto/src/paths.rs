//! Where the daemon's socket lives by default. Both the daemon and every
//! client resolve it the same way, so a user never has to pass `--socket`.

use std::env;
use std::path::PathBuf;

/// The environment variable that overrides the socket path for the daemon
/// and every client.
pub const SOCKET_ENV: &str = "CLAUDE_QUOTA_SOCKET";

/// File name of the socket inside its directory.
const SOCKET_NAME: &str = "claude-quotad.sock";

/// The socket path the contract prescribes, before any `--socket` flag:
/// `$CLAUDE_QUOTA_SOCKET`, else `$XDG_RUNTIME_DIR/claude-quota/` on Linux or
/// `~/Library/Application Support/claude-quota/` on macOS. Where neither base
/// is known, a per-user directory under the temporary directory keeps the
/// daemon usable (e.g. under `sudo -i` or in a container without a session).
pub fn default_socket_path() -> PathBuf {
    if let Some(path) = env::var_os(SOCKET_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    platform_dir()
        .unwrap_or_else(fallback_dir)
        .join(SOCKET_NAME)
}

#[cfg(target_os = "macos")]
fn platform_dir() -> Option<PathBuf> {
    /// `sun_path` holds 104 bytes on macOS, including the terminating NUL.
    const MAX_SOCKET_PATH: usize = 103;
    let home = env::var_os("HOME").filter(|h| !h.is_empty())?;
    let dir = PathBuf::from(home).join("Library/Application Support/claude-quota");
    let fits = dir.join(SOCKET_NAME).as_os_str().len() <= MAX_SOCKET_PATH;
    fits.then_some(dir)
}

#[cfg(not(target_os = "macos"))]
fn platform_dir() -> Option<PathBuf> {
    env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("claude-quota"))
}

/// A directory for this user under the temporary directory. Anyone may
/// create that name first, so the daemon creates it 0700 when missing and
/// refuses to serve from it unless it is a real directory of this user
/// that nobody else can write.
fn fallback_dir() -> PathBuf {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    env::temp_dir().join(format!("claude-quota-{uid}"))
}

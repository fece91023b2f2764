//! The facts about this user's session that decide where agent files go and
//! which launchd domain they load into. Read once from the environment, so
//! tests can point HOME and XDG_CONFIG_HOME at a temp dir.

use std::path::PathBuf;

use anyhow::bail;

/// The user an agent is installed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// `$HOME`.
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME`, else `~/.config` (systemd's own rule).
    pub config_home: PathBuf,
    /// The user id, which names launchd's `gui/<uid>` domain.
    pub uid: u32,
}

impl Host {
    /// This process's user, from `HOME`, `XDG_CONFIG_HOME` and `getuid`.
    pub fn from_env() -> anyhow::Result<Host> {
        let Some(home) = absolute_var("HOME") else {
            bail!("HOME is not set to an absolute path; cannot tell where the login agent goes");
        };
        let config_home = absolute_var("XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config"));
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        Ok(Host {
            home,
            config_home,
            uid,
        })
    }
}

/// The variable as a path when it is set to an absolute one; the XDG spec
/// says relative values are to be ignored.
fn absolute_var(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
}

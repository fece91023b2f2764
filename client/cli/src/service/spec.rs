//! What the login agent runs: the daemon's absolute path, its arguments and
//! its environment, resolved once at install time and rendered by either
//! manager.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The daemon's file name, next to `claude-quota` or on PATH.
const DAEMON: &str = "claude-quotad";

/// Variables copied from the installing shell when set: where Claude Code
/// keeps its credentials and where our config lives. A login agent starts
/// with almost no environment, so without them the daemon would look
/// elsewhere than the user's shell does. `CLAUDE_CODE_OAUTH_TOKEN` is
/// deliberately not among them: a secret never goes into an agent file.
const FORWARDED_ENV: [&str; 2] = ["CLAUDE_CONFIG_DIR", "CLAUDE_QUOTA_CONFIG"];

/// The log level the agent runs at; the daemon's default too, but set
/// explicitly so a user can see where to change it.
const LOG_LEVEL: &str = "info";

/// The command line and environment of the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The daemon's absolute path followed by its arguments.
    pub program: Vec<String>,
    /// Environment variables, in a stable order.
    pub env: Vec<(String, String)>,
}

impl Spec {
    /// Finds the daemon (`daemon` when given) and gathers the environment
    /// of the installing shell. `socket` becomes the daemon's `--socket`.
    pub fn resolve(daemon: Option<&Path>, socket: Option<&Path>) -> anyhow::Result<Spec> {
        let daemon = match daemon {
            Some(path) if path.is_file() => std::path::absolute(path)?,
            Some(path) => bail!("--daemon {}: no such file", path.display()),
            None => find_daemon()?,
        };
        let mut program = vec![utf8(&daemon)?];
        if let Some(socket) = socket {
            program.extend(["--socket".to_owned(), utf8(&std::path::absolute(socket)?)?]);
        }
        let mut env = vec![("RUST_LOG".to_owned(), LOG_LEVEL.to_owned())];
        env.extend(FORWARDED_ENV.iter().filter_map(|name| {
            let value = std::env::var(name).ok().filter(|v| !v.is_empty())?;
            Some(((*name).to_owned(), value))
        }));
        Ok(Spec { program, env })
    }
}

/// `claude-quotad` next to the running `claude-quota` (how every install
/// path lays them out), else the first on PATH.
pub fn find_daemon() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the running claude-quota")?;
    let beside = exe.with_file_name(DAEMON);
    if beside.is_file() {
        return Ok(beside);
    }
    // An agent file needs an absolute path; a relative PATH entry is
    // relative to wherever the agent would start, so it does not count.
    let on_path = which::which(DAEMON).ok().filter(|path| path.is_absolute());
    on_path.with_context(|| {
        format!(
            "cannot find {DAEMON} next to {} or on PATH; pass --daemon PATH",
            exe.display()
        )
    })
}

/// Agent files are text; a path that is not UTF-8 cannot be written into
/// one faithfully, so it is refused rather than mangled.
fn utf8(path: &Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not valid UTF-8", path.display()))
}

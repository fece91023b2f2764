//! A plan is the list of file changes and commands that installs or removes
//! an agent. Building it is pure, so `--dry-run` prints exactly what a real
//! run would do, and a real run says what it did, step by step.

use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

/// How long one command may take (of the service manager, or Claude Code's
/// `claude mcp`).
pub const MANAGER_TIMEOUT: Duration = Duration::from_secs(10);

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Create a directory (and its parents) unless it exists.
    CreateDir(PathBuf),
    /// Write a file, replacing what was there.
    Write {
        /// Where.
        path: PathBuf,
        /// The whole new content.
        content: String,
    },
    /// Remove a file if it exists.
    Remove(PathBuf),
    /// Run a command (of the service manager, or Claude Code's `claude`).
    Run(Cmd),
}

/// A command of the service manager, or of Claude Code (`claude mcp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    program: &'static str,
    args: Vec<String>,
    /// When the command may fail harmlessly (stopping an agent that is not
    /// loaded), what that failure means.
    tolerated: Option<&'static str>,
}

impl Cmd {
    /// A command that must succeed.
    pub fn new<S: Into<String>>(program: &'static str, args: impl IntoIterator<Item = S>) -> Cmd {
        Cmd {
            program,
            args: args.into_iter().map(Into::into).collect(),
            tolerated: None,
        }
    }

    /// The same command, whose failure only means `meaning`.
    pub fn tolerating(mut self, meaning: &'static str) -> Cmd {
        self.tolerated = Some(meaning);
        self
    }

    /// Runs it with its output captured, killing it when it has not
    /// finished within [`MANAGER_TIMEOUT`]: `install`, `status` and
    /// `doctor` must answer even when the service manager hangs (a stuck
    /// D-Bus, a wedged launchd).
    pub async fn output(&self) -> anyhow::Result<Output> {
        let running = tokio::process::Command::new(self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        tokio::time::timeout(MANAGER_TIMEOUT, running)
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "`{self}` did not finish within {}s",
                    MANAGER_TIMEOUT.as_secs()
                )
            })?
            .with_context(|| format!("cannot run {}", self.program))
    }
}

/// The command as a POSIX shell would need it, so printed commands can be
/// pasted.
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = std::iter::once(self.program).chain(self.args.iter().map(String::as_str));
        match shlex::try_join(words) {
            Ok(line) => f.write_str(&line),
            // Only a NUL byte cannot be quoted, and no program could be
            // passed one either; show such a command unquoted but visible.
            Err(_) => write!(f, "{} {:?}", self.program, self.args),
        }
    }
}

/// Prints every step without doing any: the file contents and the exact
/// commands.
pub fn print(steps: &[Step], out: &mut impl Write) -> anyhow::Result<()> {
    for step in steps {
        match step {
            Step::CreateDir(path) => writeln!(out, "would create directory {}", path.display())?,
            Step::Write { path, content } => {
                writeln!(out, "would write {}:", path.display())?;
                out.write_all(content.as_bytes())?;
            }
            Step::Remove(path) => writeln!(out, "would remove {}", path.display())?,
            Step::Run(cmd) => writeln!(out, "would run: {cmd}")?,
        }
    }
    Ok(())
}

/// Does every step in order, saying what it did; stops at the first
/// failure that is not tolerated.
pub async fn execute(steps: &[Step], out: &mut impl Write) -> anyhow::Result<()> {
    for step in steps {
        match step {
            Step::CreateDir(path) => {
                std::fs::create_dir_all(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                writeln!(out, "created directory {}", path.display())?;
            }
            Step::Write { path, content } => {
                std::fs::write(path, content)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                writeln!(out, "wrote {}", path.display())?;
            }
            Step::Remove(path) => match std::fs::remove_file(path) {
                Ok(()) => writeln!(out, "removed {}", path.display())?,
                Err(err) if err.kind() == io::ErrorKind::NotFound => {
                    writeln!(out, "{} was not there", path.display())?;
                }
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot remove {}", path.display()));
                }
            },
            Step::Run(cmd) => run(cmd, out).await?,
        }
    }
    Ok(())
}

async fn run(cmd: &Cmd, out: &mut impl Write) -> anyhow::Result<()> {
    let output = cmd.output().await?;
    if output.status.success() {
        writeln!(out, "ran: {cmd}")?;
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    match cmd.tolerated {
        Some(meaning) => {
            writeln!(out, "ran: {cmd} ({meaning})")?;
            Ok(())
        }
        None => bail!("`{cmd}` failed ({}): {}", output.status, stderr.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_commands_can_be_pasted_into_a_shell() {
        let args = ["/Users/a b/it's.plist", "$HOME `x` \\ \"q\"", "plain"];
        let cmd = Cmd::new("printf", ["%s\\n"].into_iter().chain(args));
        let printed = cmd.to_string();
        assert!(printed.starts_with("printf "), "{printed}");
        assert!(
            printed.ends_with(" plain"),
            "plain words stay plain: {printed}"
        );
        let output = std::process::Command::new("sh")
            .args(["-c", &printed])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            args.map(|arg| format!("{arg}\n")).concat(),
            "{printed}"
        );
    }

    #[test]
    fn a_dry_run_prints_the_file_and_the_commands() {
        let steps = [
            Step::Write {
                path: "/h/unit".into(),
                content: "[Unit]\n".into(),
            },
            Step::Run(Cmd::new("systemctl", ["--user", "daemon-reload"])),
        ];
        let mut out = Vec::new();
        print(&steps, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "would write /h/unit:\n[Unit]\nwould run: systemctl --user daemon-reload\n"
        );
    }
}

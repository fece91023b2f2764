//! `claude-quota service`: installs claude-quotad as a login agent, so it
//! comes back after a crash, a logout and a reboot, and removes it without
//! a trace.
//!
//! Each manager module only knows its own file format and commands; this
//! module decides what to do from what is on disk and runs the plan (or,
//! with `--dry-run`, prints it).

mod host;
mod launchd;
mod manager;
pub mod plan;
mod spec;
mod systemd;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;

pub use self::host::Host;
pub use self::manager::Manager;
use self::plan::Step;
use self::spec::Spec;
pub use self::spec::find_daemon;

/// `claude-quota service ACTION [--dry-run] [--manager M] [--daemon PATH]`.
#[derive(Debug, Clone, Args)]
pub struct ServiceArgs {
    /// What to do with the login agent
    #[command(subcommand)]
    pub action: Action,

    /// Print the file and the exact commands; write and run nothing
    #[arg(long, global = true, conflicts_with = "json")]
    pub dry_run: bool,

    /// The service manager [default: launchd on macOS, systemd elsewhere]
    #[arg(long, global = true, value_enum, value_name = "MANAGER")]
    pub manager: Option<Manager>,

    /// The claude-quotad binary to run [default: next to this claude-quota, else on PATH]
    #[arg(long, global = true, value_name = "PATH")]
    pub daemon: Option<PathBuf>,
}

/// What `claude-quota service` can do.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum Action {
    /// Install (or update in place) and start the login agent
    Install,
    /// Stop the login agent and remove its file
    Uninstall,
    /// Show whether the login agent is installed and running (exit 0 = running)
    Status,
}

/// What `service … --json` prints: one object a script can branch on.
/// `result` is set by install and uninstall, `installed` and `running` by
/// status; what the manager printed stays out of it.
#[derive(Debug, Serialize)]
struct Report {
    manager: Manager,
    file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    installed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    running: Option<bool>,
    logs: String,
}

/// Runs `claude-quota service`. `socket` is the global `--socket`, which the
/// agent passes on to the daemon so both sides keep agreeing. With `json`,
/// stdout carries only a [`Report`] and the steps taken go to stderr.
pub async fn run(
    args: &ServiceArgs,
    socket: Option<&Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let host = Host::from_env()?;
    let manager = args.manager.unwrap_or_else(Manager::for_this_os);
    let mut report = Report {
        manager,
        file: manager.file(&host),
        result: None,
        installed: None,
        running: None,
        logs: manager.logs(&host),
    };
    let mut progress: Box<dyn Write> = if json {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    };
    let code = match args.action {
        Action::Install => {
            let spec = Spec::resolve(args.daemon.as_deref(), socket)?;
            let content = manager.render(&spec, &host)?;
            let previous = read_if_present(&report.file)?;
            let steps = manager.install_steps(&host, previous.as_deref(), &content);
            carry_out(&steps, args.dry_run, &mut progress).await?;
            let verb = if previous.is_some() {
                "updated"
            } else {
                "installed"
            };
            report.result = Some(verb);
            if !args.dry_run && !json {
                writeln!(
                    progress,
                    "claude-quotad {verb} as a {}; it starts at login and restarts after a crash.",
                    manager.noun()
                )?;
                writeln!(progress, "logs: {}", report.logs)?;
            }
            ExitCode::SUCCESS
        }
        Action::Uninstall => {
            let steps = manager.uninstall_steps(&host);
            carry_out(&steps, args.dry_run, &mut progress).await?;
            report.result = Some("uninstalled");
            if !args.dry_run && !json {
                writeln!(progress, "claude-quotad is no longer a {}.", manager.noun())?;
            }
            ExitCode::SUCCESS
        }
        Action::Status => status(&host, args.dry_run, json, &mut report, &mut progress).await?,
    };
    if json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    }
    Ok(code)
}

async fn carry_out(steps: &[Step], dry_run: bool, out: &mut impl Write) -> anyhow::Result<()> {
    if dry_run {
        writeln!(out, "dry run: nothing is written or run")?;
        plan::print(steps, out)
    } else {
        plan::execute(steps, out).await
    }
}

/// Whether the agent is installed and runs; fills `report` and, unless
/// `json`, says so on `out` with what the manager printed.
async fn status(
    host: &Host,
    dry_run: bool,
    json: bool,
    report: &mut Report,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let command = report.manager.status_command(host);
    if dry_run {
        writeln!(out, "would run: {command}")?;
        return Ok(ExitCode::SUCCESS);
    }
    let installed = report.file.exists();
    report.installed = Some(installed);
    report.running = Some(false);
    if !installed {
        if !json {
            writeln!(
                out,
                "not installed: no {} (install it with `claude-quota service install`)",
                report.file.display()
            )?;
        }
        return Ok(ExitCode::from(crate::EXIT_NO));
    }
    if !json {
        writeln!(out, "installed: {}", report.file.display())?;
        writeln!(out, "logs: {}", report.logs)?;
        writeln!(out, "$ {command}")?;
        out.flush()?;
    }
    let output = command.output().await?;
    let running = output.status.success()
        && report
            .manager
            .says_running(&String::from_utf8_lossy(&output.stdout));
    report.running = Some(running);
    if !json {
        out.write_all(&output.stdout)?;
        out.write_all(&output.stderr)?;
        writeln!(out, "{}", if running { "running" } else { "not running" })?;
    }
    Ok(if running {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::EXIT_NO)
    })
}

fn read_if_present(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference files in `packaging/`, for people who install by hand,
    /// are what `install` writes for this example; this test keeps them
    /// from drifting. `UPDATE_PACKAGING=1` rewrites them.
    #[test]
    fn the_reference_files_in_packaging_are_what_install_writes() {
        let host = Host {
            home: "/Users/you".into(),
            config_home: "/home/you/.config".into(),
            uid: 501,
        };
        let spec = Spec {
            program: vec!["/usr/local/bin/claude-quotad".into()],
            env: vec![("RUST_LOG".into(), "info".into())],
        };
        let packaging = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging");
        for (manager, file) in [
            (
                Manager::Launchd,
                "launchd/dev.claude-quota.claude-quotad.plist",
            ),
            (Manager::Systemd, "systemd/claude-quotad.service"),
        ] {
            let generated = manager.render(&spec, &host).unwrap();
            let path = packaging.join(file);
            if std::env::var_os("UPDATE_PACKAGING").is_some() {
                std::fs::write(&path, &generated).unwrap();
            }
            let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
            assert_eq!(
                checked_in,
                generated,
                "{} differs from what `service install` writes; run `UPDATE_PACKAGING=1 cargo test -p claude-quota-cli reference`",
                path.display()
            );
        }
    }
}

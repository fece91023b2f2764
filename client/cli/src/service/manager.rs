//! The two service managers: where each keeps the agent's file, which
//! command asks about it, and which module writes its file and steps.

use std::path::PathBuf;

use clap::ValueEnum;
use serde::Serialize;

use super::host::Host;
use super::plan::{Cmd, Step};
use super::spec::Spec;
use super::{launchd, systemd};

/// The service managers a login agent can be written for. Both can be
/// generated on any OS, so each is tested everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    /// A macOS LaunchAgent in `~/Library/LaunchAgents/`.
    Launchd,
    /// A systemd user unit in `~/.config/systemd/user/`.
    Systemd,
}

impl Manager {
    /// The manager of the OS this binary was built for.
    pub fn for_this_os() -> Manager {
        if cfg!(target_os = "macos") {
            Manager::Launchd
        } else {
            Manager::Systemd
        }
    }

    /// Where this manager's agent file lives.
    pub fn file(self, host: &Host) -> PathBuf {
        match self {
            Manager::Launchd => launchd::plist_path(host),
            Manager::Systemd => systemd::unit_path(host),
        }
    }

    /// The command that shows the agent's state; it exits 0 only when the
    /// manager knows the agent.
    pub fn status_command(self, host: &Host) -> Cmd {
        match self {
            Manager::Launchd => launchd::print_command(host),
            Manager::Systemd => systemd::status_command(),
        }
    }

    /// Whether the output of [`Manager::status_command`] says the daemon
    /// runs now (launchd prints a loaded but stopped agent with exit 0).
    pub fn says_running(self, stdout: &str) -> bool {
        match self {
            Manager::Launchd => stdout.contains("state = running"),
            Manager::Systemd => true,
        }
    }

    /// What the agent is called under this manager, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Manager::Launchd => "launchd agent",
            Manager::Systemd => "systemd user unit",
        }
    }

    /// Where the daemon's log goes, in words a user can act on.
    pub fn logs(self, host: &Host) -> String {
        match self {
            Manager::Launchd => launchd::log_file(host).display().to_string(),
            Manager::Systemd => systemd::LOGS.to_owned(),
        }
    }

    pub(super) fn render(self, spec: &Spec, host: &Host) -> anyhow::Result<String> {
        match self {
            Manager::Launchd => launchd::render(spec, host),
            Manager::Systemd => Ok(systemd::render(spec)),
        }
    }

    pub(super) fn install_steps(
        self,
        host: &Host,
        previous: Option<&str>,
        content: &str,
    ) -> Vec<Step> {
        match self {
            Manager::Launchd => launchd::install_steps(host, previous, content),
            Manager::Systemd => systemd::install_steps(host, previous.is_some(), content),
        }
    }

    pub(super) fn uninstall_steps(self, host: &Host) -> Vec<Step> {
        match self {
            Manager::Launchd => launchd::uninstall_steps(host),
            Manager::Systemd => systemd::uninstall_steps(host),
        }
    }
}

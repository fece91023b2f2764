//! The service check: is claude-quotad installed as this OS's login agent,
//! and does the manager say it runs? Only a warning either way: a daemon
//! started by hand answers just as well, it just will not come back alone.

use crate::service::{Host, Manager};

use super::check::Check;

/// What to run to install or restart the agent.
const INSTALL: &str = "`claude-quota service install`";

/// The login agent of this OS's manager.
pub async fn check() -> Check {
    let manager = Manager::for_this_os();
    let host = match Host::from_env() {
        Ok(host) => host,
        Err(err) => return Check::warn("service", err.to_string(), "set HOME"),
    };
    let file = manager.file(&host);
    if !file.exists() {
        return Check::warn(
            "service",
            format!("not installed as a {}", manager.noun()),
            format!("{INSTALL}, so the daemon starts at login and restarts after a crash"),
        );
    }
    let command = manager.status_command(&host);
    let output = match command.output().await {
        Ok(output) => output,
        Err(err) => {
            return Check::warn(
                "service",
                format!("{} is installed, but {err:#}", file.display()),
                format!("{INSTALL} restarts it; logs: {}", manager.logs(&host)),
            );
        }
    };
    let running =
        output.status.success() && manager.says_running(&String::from_utf8_lossy(&output.stdout));
    if running {
        Check::ok(
            "service",
            format!("{} is installed and running", file.display()),
        )
    } else {
        Check::warn(
            "service",
            format!(
                "{} is installed, but `{command}` does not show it running",
                file.display()
            ),
            format!("{INSTALL} restarts it; logs: {}", manager.logs(&host)),
        )
    }
}

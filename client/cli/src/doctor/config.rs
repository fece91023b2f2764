//! The config check. Doctor asks the daemon binary itself
//! (`claude-quotad --check-config`) rather than parsing the file again, so
//! it refuses exactly what the daemon would: a bad value, a file another
//! user could write. A refused config makes the service exit at every
//! start, with the reason only in its log; doctor puts it in front.

use std::path::PathBuf;
use std::time::Duration;

use claude_quota_credentials::KeychainMethod;
use serde::Deserialize;

use super::check::Check;

/// How long the daemon binary may take to check its config: it reads one
/// small file, so longer means something is wrong with it.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What to do once the file is fixed.
const RELOAD: &str = "then restart the daemon (`claude-quota service install`) or send it SIGHUP";

/// What `claude-quotad --check-config` prints for a config it would take.
#[derive(Debug, Deserialize)]
struct Report {
    path: PathBuf,
    found: bool,
    keychain: KeychainMethod,
}

/// The config check, and the keychain method the daemon will read the
/// credentials with (the default when the config cannot be checked).
pub async fn check() -> (Check, KeychainMethod) {
    match ask_daemon().await {
        Ok(report) if report.found => {
            let message = format!("{} is valid", report.path.display());
            (Check::ok("config", message), report.keychain)
        }
        Ok(report) => {
            let message = format!(
                "{} does not exist: the defaults apply",
                report.path.display()
            );
            (Check::ok("config", message), report.keychain)
        }
        Err(finding) => (finding, KeychainMethod::default()),
    }
}

/// Runs `claude-quotad --check-config`; the error is the finding when the
/// daemon refuses its config or cannot be asked.
async fn ask_daemon() -> Result<Report, Check> {
    let not_checked =
        |message: String, fix: &str| Check::warn("config", format!("not checked: {message}"), fix);
    let daemon = crate::service::find_daemon().map_err(|err| {
        not_checked(
            format!("{err:#}"),
            "install claude-quotad beside claude-quota",
        )
    })?;
    let mut command = tokio::process::Command::new(&daemon);
    command.arg("--check-config").kill_on_drop(true);
    let output = match tokio::time::timeout(CHECK_TIMEOUT, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(err)) => {
            let message = format!("cannot run {}: {err}", daemon.display());
            return Err(not_checked(message, "reinstall claude-quotad"));
        }
        Err(_) => {
            let message = format!(
                "`{} --check-config` did not finish within {}s",
                daemon.display(),
                CHECK_TIMEOUT.as_secs()
            );
            return Err(not_checked(message, "reinstall claude-quotad"));
        }
    };
    if !output.status.success() {
        let refusal = String::from_utf8_lossy(&output.stderr);
        let refusal = refusal.trim().trim_start_matches("claude-quotad: ");
        return Err(Check::fail(
            "config",
            format!("claude-quotad would not start: {refusal}"),
            format!("fix the file, {RELOAD}"),
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|err| {
        let message = format!(
            "{} answered --check-config with something else ({err})",
            daemon.display()
        );
        not_checked(
            message,
            "install the claude-quotad of the same version as claude-quota",
        )
    })
}

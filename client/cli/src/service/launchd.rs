//! The macOS LaunchAgent: a plist built with the `plist` crate (so every
//! path is escaped correctly), loaded into the user's `gui/<uid>` domain.

use std::path::PathBuf;

use anyhow::Context;
use plist::{Dictionary, Value};

use super::Host;
use super::plan::{Cmd, Step};
use super::spec::Spec;

/// The agent's label: reverse-DNS under the project's name, and the plist's
/// file name, so `launchctl print gui/$UID/<label>` and the file match.
pub const LABEL: &str = "dev.claude-quota.claude-quotad";

/// `~/Library/LaunchAgents/<label>.plist`.
pub fn plist_path(host: &Host) -> PathBuf {
    agents_dir(host).join(format!("{LABEL}.plist"))
}

/// The file launchd sends the daemon's stdout and stderr to.
pub fn log_file(host: &Host) -> PathBuf {
    logs_dir(host).join("claude-quotad.log")
}

/// `launchctl print gui/<uid>/<label>`: the agent's state, exit 0 when loaded.
pub fn print_command(host: &Host) -> Cmd {
    Cmd::new("launchctl", ["print".to_owned(), service_target(host)])
}

/// The plist for `spec`.
pub fn render(spec: &Spec, host: &Host) -> anyhow::Result<String> {
    let log = log_file(host)
        .to_str()
        .context("HOME is not valid UTF-8")?
        .to_owned();
    let program: Vec<Value> = spec.program.iter().cloned().map(Value::String).collect();
    let env: Dictionary = spec
        .env
        .iter()
        .map(|(key, value)| (key.clone(), Value::String(value.clone())))
        .collect();
    let plist: Dictionary = [
        ("Label", Value::String(LABEL.to_owned())),
        ("ProgramArguments", Value::Array(program)),
        ("EnvironmentVariables", Value::Dictionary(env)),
        ("RunAtLoad", Value::Boolean(true)),
        // Restart after a crash (non-zero exit or signal), but not after a
        // clean exit: a daemon that exits 0 was asked to stop.
        (
            "KeepAlive",
            Value::Dictionary(
                [("SuccessfulExit", Value::Boolean(false))]
                    .into_iter()
                    .collect(),
            ),
        ),
        // Interactive: launchd applies no resource throttling (no App Nap,
        // no background CPU/IO priority). Routers wait on this daemon before
        // every model call, and a throttled daemon would make them wait
        // longer; it sleeps on its socket otherwise, so the exemption costs
        // nothing.
        ("ProcessType", Value::String("Interactive".to_owned())),
        ("StandardOutPath", Value::String(log.clone())),
        ("StandardErrorPath", Value::String(log)),
    ]
    .into_iter()
    .collect();
    let mut xml = Vec::new();
    Value::Dictionary(plist).to_writer_xml(&mut xml)?;
    xml.push(b'\n');
    Ok(String::from_utf8(xml)?)
}

/// Writes the plist, then loads it. launchd reads a plist only when it is
/// bootstrapped, so a changed plist is booted out and in again; an
/// unchanged one is made sure to be loaded and restarted in place.
pub fn install_steps(host: &Host, previous: Option<&str>, content: &str) -> Vec<Step> {
    let bootstrap = || {
        let plist = plist_path(host).display().to_string();
        Cmd::new("launchctl", ["bootstrap".to_owned(), domain(host), plist])
    };
    let commands = match previous {
        None => vec![bootstrap()],
        Some(old) if old == content => vec![
            bootstrap().tolerating("already loaded"),
            Cmd::new(
                "launchctl",
                [
                    "kickstart".to_owned(),
                    "-k".to_owned(),
                    service_target(host),
                ],
            ),
        ],
        Some(_) => vec![bootout(host), bootstrap()],
    };
    let mut steps = vec![
        Step::CreateDir(agents_dir(host)),
        Step::CreateDir(logs_dir(host)),
        Step::Write {
            path: plist_path(host),
            content: content.to_owned(),
        },
    ];
    steps.extend(commands.into_iter().map(Step::Run));
    steps
}

/// Stops and unloads the agent, then removes its plist. The log directory
/// is kept: it may hold what the user needs to report a problem.
pub fn uninstall_steps(host: &Host) -> Vec<Step> {
    vec![Step::Run(bootout(host)), Step::Remove(plist_path(host))]
}

fn bootout(host: &Host) -> Cmd {
    Cmd::new("launchctl", ["bootout".to_owned(), service_target(host)]).tolerating("was not loaded")
}

fn agents_dir(host: &Host) -> PathBuf {
    host.home.join("Library/LaunchAgents")
}

fn logs_dir(host: &Host) -> PathBuf {
    host.home.join("Library/Logs/claude-quota")
}

/// The per-user GUI domain, where login agents live.
fn domain(host: &Host) -> String {
    format!("gui/{}", host.uid)
}

fn service_target(host: &Host) -> String {
    format!("gui/{}/{LABEL}", host.uid)
}

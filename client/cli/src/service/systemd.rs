//! The systemd user unit: restarted by systemd after a crash, started at
//! login by `default.target`, logging to the user journal.

use std::fmt::Write;
use std::path::PathBuf;

use super::Host;
use super::plan::{Cmd, Step};
use super::spec::Spec;

/// The unit's name, and its file name.
pub const UNIT: &str = "claude-quotad.service";

/// Where the daemon's log goes: its stderr lands in the journal.
pub const LOGS: &str = "the user journal (journalctl --user -u claude-quotad)";

/// Seconds systemd waits before restarting a crashed daemon: long enough
/// not to spin on a persistent fault, short enough that routers barely
/// notice.
const RESTART_SEC: u32 = 5;

/// `$XDG_CONFIG_HOME/systemd/user/claude-quotad.service`.
pub fn unit_path(host: &Host) -> PathBuf {
    unit_dir(host).join(UNIT)
}

/// `systemctl --user status`: exit 0 only when the unit is active.
pub fn status_command() -> Cmd {
    systemctl(["status", "--no-pager", UNIT])
}

/// The unit file for `spec`.
pub fn render(spec: &Spec) -> String {
    let exec: Vec<String> = spec.program.iter().map(|arg| word(arg, true)).collect();
    let mut unit = format!(
        "# Written by `claude-quota service install`, which rewrites it on every\n\
         # install; `claude-quota service uninstall` removes it.\n\
         [Unit]\n\
         Description=claude-quotad: may this task spend the Claude subscription?\n\
         Documentation={}\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={}\n",
        env!("CARGO_PKG_REPOSITORY"),
        exec.join(" "),
    );
    for (key, value) in &spec.env {
        let _ = writeln!(
            unit,
            "Environment={}",
            word(&format!("{key}={value}"), false)
        );
    }
    let _ = write!(
        unit,
        "Restart=on-failure\n\
         RestartSec={RESTART_SEC}\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n"
    );
    unit
}

/// Writes the unit, makes systemd read it, and starts it: a first install
/// enables and starts it, a re-install restarts it on the new file.
pub fn install_steps(host: &Host, existed: bool, content: &str) -> Vec<Step> {
    let start = if existed {
        vec![systemctl(["enable", UNIT]), systemctl(["restart", UNIT])]
    } else {
        vec![systemctl(["enable", "--now", UNIT])]
    };
    let mut steps = vec![
        Step::CreateDir(unit_dir(host)),
        Step::Write {
            path: unit_path(host),
            content: content.to_owned(),
        },
        Step::Run(systemctl(["daemon-reload"])),
    ];
    steps.extend(start.into_iter().map(Step::Run));
    steps
}

/// Stops and disables the unit, removes its file, and makes systemd forget
/// it.
pub fn uninstall_steps(host: &Host) -> Vec<Step> {
    vec![
        Step::Run(systemctl(["disable", "--now", UNIT]).tolerating("was not enabled")),
        Step::Remove(unit_path(host)),
        Step::Run(systemctl(["daemon-reload"])),
    ]
}

fn unit_dir(host: &Host) -> PathBuf {
    host.config_home.join("systemd/user")
}

fn systemctl<const N: usize>(args: [&str; N]) -> Cmd {
    Cmd::new("systemctl", ["--user"].into_iter().chain(args))
}

/// One word of a unit file setting: `%` specifiers and (in command lines)
/// `$` expansions are escaped, and a word with spaces or quotes is quoted,
/// so a path under "Application Support" survives.
fn word(text: &str, in_command: bool) -> String {
    let mut escaped = text.replace('%', "%%");
    if in_command {
        escaped = escaped.replace('$', "$$");
    }
    if escaped.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\' || c == '\'') {
        format!("\"{}\"", escaped.replace('\\', r"\\").replace('"', "\\\""))
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_with_spaces_quotes_and_specifiers_survive() {
        assert_eq!(
            word("/usr/bin/claude-quotad", true),
            "/usr/bin/claude-quotad"
        );
        assert_eq!(word("/a b/c", true), r#""/a b/c""#);
        assert_eq!(word(r#"x"y\z"#, false), r#""x\"y\\z""#);
        assert_eq!(word("100%$HOME", true), "100%%$$HOME");
        assert_eq!(word("K=$v%", false), "K=$v%%");
    }
}

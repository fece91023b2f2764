//! `claude-quota exec -- CMD`: starts CMD on the account a task goes to
//! now by replacing this process with it (exec(2)), `CLAUDE_CONFIG_DIR`
//! set to the account's directory, or removed for the default login.
//! Choosing an account is choosing a directory: no credential is read,
//! written, copied or moved, and Claude Code keeps refreshing each login
//! in its own place.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode};

use claude_quota_credentials::accounts::DEFAULT_NAME;
use claude_quota_credentials::env::VAR as ENV_TOKEN;

use super::choose::{Answer, Ask, Chosen, choose};
use crate::args::ExecArgs;
use crate::login;

/// What a shell answers when the program cannot be found.
const EXIT_NOT_FOUND: u8 = 127;

/// What a shell answers when the program was found but cannot be run.
const EXIT_CANNOT_RUN: u8 = 126;

/// Chooses the account and becomes CMD; returns only when CMD could not
/// be started (exit 127 when it does not exist, 126 otherwise, as a shell
/// says), or when no account could be chosen.
pub async fn run(socket: &Path, args: &ExecArgs) -> anyhow::Result<ExitCode> {
    let ask = Ask::new(&args.task, args.account.as_deref());
    let answer = choose(socket, &ask).await?;
    if let Answer::Fallback { chosen, why } = &answer {
        let which = if args.account.is_some() {
            "the account asked for"
        } else {
            "the first by priority"
        };
        eprintln!(
            "claude-quota: {why}; running on account {} ({which})",
            chosen.account
        );
    }
    let err = command(&args.command, answer.chosen()).exec();
    let program = args.command[0].to_string_lossy();
    eprintln!("claude-quota: cannot run {program}: {err}");
    Ok(ExitCode::from(
        if err.kind() == std::io::ErrorKind::NotFound {
            EXIT_NOT_FOUND
        } else {
            EXIT_CANNOT_RUN
        },
    ))
}

/// CMD with its arguments, in this environment but for the login:
/// `CLAUDE_CONFIG_DIR` is the account's directory, or unset for the
/// default login; and `CLAUDE_CODE_OAUTH_TOKEN`, which belongs to the
/// account named `default` only, is not passed to any other, where Claude
/// Code would otherwise spend that login instead of the chosen one.
fn command(argv: &[OsString], chosen: &Chosen) -> Command {
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    match &chosen.claude_config_dir {
        Some(dir) => command.env(login::VAR, dir),
        None => command.env_remove(login::VAR),
    };
    if chosen.account != DEFAULT_NAME {
        command.env_remove(ENV_TOKEN);
    }
    command
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    fn envs(command: &Command) -> Vec<(String, Option<String>)> {
        command
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.map(|v| v.to_string_lossy().into_owned()),
                )
            })
            .collect()
    }

    #[test]
    fn the_login_is_set_or_unset_and_the_env_token_stays_with_default() {
        let argv = [OsString::from("claude"), OsString::from("--resume")];
        let work = Chosen {
            account: "work".into(),
            claude_config_dir: Some("/home/ada/.claude-work/".into()),
        };
        let on_work = command(&argv, &work);
        assert_eq!(on_work.get_program(), OsStr::new("claude"));
        assert_eq!(on_work.get_args().collect::<Vec<_>>(), ["--resume"]);
        let mut set = envs(&on_work);
        set.sort();
        assert_eq!(
            set,
            [
                ("CLAUDE_CODE_OAUTH_TOKEN".into(), None),
                (
                    "CLAUDE_CONFIG_DIR".into(),
                    Some("/home/ada/.claude-work/".into())
                ),
            ]
        );
        let default = Chosen {
            account: "default".into(),
            claude_config_dir: None,
        };
        assert_eq!(
            envs(&command(&argv, &default)),
            [("CLAUDE_CONFIG_DIR".into(), None)]
        );
    }
}

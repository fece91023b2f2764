//! `claude-quota account`: the account a task goes to now, as one line
//! (`work /home/ada/.claude-work`, or `default` alone for the default
//! login) or one JSON object, for shell aliases and scripts.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::choose::{Answer, Ask, Chosen, choose};
use crate::EXIT_UNREACHABLE;
use crate::args::AccountArgs;

/// Prints the chosen account; when the daemon could not be asked, the
/// first account by priority, why on stderr, and exit 3.
pub async fn run(socket: &Path, json: bool, args: &AccountArgs) -> anyhow::Result<ExitCode> {
    let ask = Ask::new(args, None);
    let answer = choose(socket, &ask).await?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, answer.chosen())?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", line(answer.chosen()))?;
    }
    match answer {
        Answer::Daemon(_) => Ok(ExitCode::SUCCESS),
        Answer::Fallback { why, .. } => {
            eprintln!("claude-quota: {why}; the first account by priority");
            Ok(ExitCode::from(EXIT_UNREACHABLE))
        }
    }
}

/// `NAME DIR`, or `NAME` for the default login.
fn line(chosen: &Chosen) -> String {
    match &chosen.claude_config_dir {
        Some(dir) => format!("{} {dir}", chosen.account),
        None => chosen.account.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_the_name_and_the_directory() {
        let work = Chosen {
            account: "work".into(),
            claude_config_dir: Some("/home/ada/.claude-work".into()),
        };
        assert_eq!(line(&work), "work /home/ada/.claude-work");
        let default = Chosen {
            account: "default".into(),
            claude_config_dir: None,
        };
        assert_eq!(line(&default), "default");
        assert_eq!(
            serde_json::to_string(&default).unwrap(),
            r#"{"account":"default","claude_config_dir":null}"#
        );
    }
}

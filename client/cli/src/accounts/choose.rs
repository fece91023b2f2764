//! Which account a task goes to now, for `claude-quota account` and
//! `claude-quota exec`: the daemon's choice, or, when no daemon can be
//! asked, the first configured account by priority as
//! `claude-quotad --check-config` resolves them.

use std::path::Path;

use claude_quota::{Client, Status, TaskComplexity, TaskValue};
use claude_quota_credentials::Account;
use serde::Serialize;

use crate::args::AccountArgs;
use crate::check_config;

/// What the task is, and the account asked for, if one is.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    /// How much the task is worth.
    pub value: TaskValue,
    /// How hard it is, when said: the account is then the one the
    /// daemon's `route` answer names.
    pub complexity: Option<TaskComplexity>,
    /// The account to run on whatever its headroom.
    pub account: Option<&'a str>,
}

impl<'a> Ask<'a> {
    /// The task `args` describe, on `account` if one is asked for.
    pub fn new(args: &AccountArgs, account: Option<&'a str>) -> Self {
        Ask {
            value: args.value,
            complexity: args.complexity,
            account,
        }
    }
}

/// The account chosen: what `account` prints and `exec` runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chosen {
    /// The account's name (`default` when none is configured).
    pub account: String,
    /// Its `CLAUDE_CONFIG_DIR`; `None` for Claude Code's default login.
    pub claude_config_dir: Option<String>,
}

impl From<&Account> for Chosen {
    fn from(account: &Account) -> Self {
        Chosen {
            account: account.name.clone(),
            claude_config_dir: account.config_dir_string(),
        }
    }
}

impl Chosen {
    /// The default login, under the name `default`.
    fn default_login() -> Self {
        Chosen::from(&Account::implicit())
    }
}

/// Who chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The daemon, from the readings.
    Daemon(Chosen),
    /// No daemon could be asked: the first account by priority (or the one
    /// asked for), and why the daemon could not be asked.
    Fallback {
        /// The account.
        chosen: Chosen,
        /// Why, in words, for stderr.
        why: String,
    },
}

impl Answer {
    /// The account, whoever chose it.
    pub fn chosen(&self) -> &Chosen {
        match self {
            Answer::Daemon(chosen) | Answer::Fallback { chosen, .. } => chosen,
        }
    }
}

/// The account for `ask`: the daemon's answer; the configured fallback
/// when the daemon cannot be asked within [`claude_quota::ROUTE_TIMEOUT`]
/// (a user waits on it). An account asked for that does not exist is an
/// error, as is any other failure of the daemon.
pub async fn choose(socket: &Path, ask: &Ask<'_>) -> anyhow::Result<Answer> {
    match from_daemon(socket, ask).await {
        Ok(chosen) => Ok(Answer::Daemon(chosen)),
        Err(err) if err.falls_back() => {
            let why = err.to_string();
            let chosen = configured(ask.account).await?;
            Ok(Answer::Fallback { chosen, why })
        }
        Err(err) => Err(err.into()),
    }
}

/// The daemon's answer.
async fn from_daemon(socket: &Path, ask: &Ask<'_>) -> Result<Chosen, ChooseError> {
    let mut client = Client::new(socket)
        .with_timeout(claude_quota::ROUTE_TIMEOUT)
        .with_route_timeout(claude_quota::ROUTE_TIMEOUT);
    if let Some(name) = ask.account {
        let status = client.status().await?;
        return named(&listed(&status), name).map_err(ChooseError::Unknown);
    }
    let (account, claude_config_dir) = match ask.complexity {
        None => {
            let decision = client.decide(ask.value).await?;
            (decision.account, decision.claude_config_dir)
        }
        Some(complexity) => {
            let route = client.route(ask.value, complexity).await;
            if route.tier.is_none() {
                // `route` never fails: no tier is its word for no answer.
                return Err(ChooseError::NoRoute(route.reason));
            }
            (route.account, route.claude_config_dir)
        }
    };
    Ok(match account {
        Some(account) => Chosen {
            account,
            claude_config_dir,
        },
        None => Chosen::default_login(),
    })
}

/// The accounts a status lists, or the implicit `default` when it lists
/// none (a daemon without `[[accounts]]`, or one from before them).
fn listed(status: &Status) -> Vec<Chosen> {
    if status.accounts.is_empty() {
        return vec![Chosen::default_login()];
    }
    status
        .accounts
        .iter()
        .map(|account| Chosen {
            account: account.name.clone(),
            claude_config_dir: account.claude_config_dir.clone(),
        })
        .collect()
}

/// The account named `name` among `accounts`, or why there is none.
fn named(accounts: &[Chosen], name: &str) -> Result<Chosen, String> {
    accounts
        .iter()
        .find(|chosen| chosen.account == name)
        .cloned()
        .ok_or_else(|| {
            let names: Vec<&str> = accounts.iter().map(|c| c.account.as_str()).collect();
            format!(
                "no account named {name:?}; the configured accounts are: {}",
                names.join(", ")
            )
        })
}

/// The fallback: the account named `name`, else the first by priority,
/// as the daemon binary resolves the config; the default login when the
/// config cannot be checked and no account was named.
async fn configured(name: Option<&str>) -> anyhow::Result<Chosen> {
    let accounts = match check_config::run().await {
        Ok(report) => report.accounts.iter().map(Chosen::from).collect(),
        Err(err) if name.is_none() => {
            tracing::debug!(%err, "the configured accounts are unknown; the default login");
            Vec::new()
        }
        Err(err) => anyhow::bail!("cannot learn the configured accounts: {err}"),
    };
    if accounts.is_empty() {
        return Ok(Chosen::default_login());
    }
    match name {
        Some(name) => named(&accounts, name).map_err(anyhow::Error::msg),
        None => Ok(accounts[0].clone()),
    }
}

/// Why the daemon gave no account.
#[derive(Debug, thiserror::Error)]
enum ChooseError {
    /// The daemon could not be asked, or failed.
    #[error(transparent)]
    Daemon(#[from] claude_quota::Error),
    /// The account asked for is not configured.
    #[error("{0}")]
    Unknown(String),
    /// `route` gave no daemon answer, for this reason.
    #[error("{0}")]
    NoRoute(String),
}

impl ChooseError {
    /// Whether the daemon could not be asked, so the configured fallback
    /// stands in for its answer.
    fn falls_back(&self) -> bool {
        match self {
            ChooseError::Daemon(err) => err.is_unreachable(),
            ChooseError::NoRoute(_) => true,
            ChooseError::Unknown(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use claude_quota_credentials::accounts::DEFAULT_NAME;

    use super::*;

    #[test]
    fn an_unknown_name_is_refused_naming_the_configured_ones() {
        let accounts = [
            Chosen {
                account: "work".into(),
                claude_config_dir: Some("/w".into()),
            },
            Chosen::default_login(),
        ];
        assert_eq!(named(&accounts, "work").unwrap(), accounts[0]);
        assert_eq!(
            named(&accounts, "play").unwrap_err(),
            "no account named \"play\"; the configured accounts are: work, default"
        );
        assert_eq!(Chosen::default_login().account, DEFAULT_NAME);
    }
}

//! `claude-quota accounts`: every configured account with its tier, its
//! 5-hour and 7-day windows, where its credentials come from, and which
//! one a `high` task goes to now.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use claude_quota::{Client, Status, TaskValue};
use claude_quota_credentials::accounts::DEFAULT_NAME;
use claude_quota_proto::AccountStatus;

use crate::bars::{View, dim, red};

/// Prints the accounts as a table, or as a JSON array of
/// `status.accounts` entries with `--json`.
pub async fn run(socket: &Path, json: bool, view: &View) -> anyhow::Result<ExitCode> {
    let mut client = Client::connect_to(socket).await?;
    let status = client.status().await?;
    let accounts = of(&status);
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &accounts)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let high = client.decide(TaskValue::High).await?.account;
    let high = high.as_deref().unwrap_or(DEFAULT_NAME);
    write!(out, "{}", table(&accounts, high, view))?;
    Ok(ExitCode::SUCCESS)
}

/// The accounts of a status; a daemon without `[[accounts]]` (or one
/// from before them) lists none, and its one account, `default`, is the
/// status itself.
pub fn of(status: &Status) -> Vec<AccountStatus> {
    if !status.accounts.is_empty() {
        return status.accounts.clone();
    }
    vec![AccountStatus {
        name: DEFAULT_NAME.to_owned(),
        claude_config_dir: None,
        priority: 0,
        tier: status.tier,
        reason: status.reason.clone(),
        five_hour: status.five_hour,
        seven_day: status.seven_day,
        weekly_scoped: status.weekly_scoped.clone(),
        extra_usage: status.extra_usage.clone(),
        as_of: status.as_of,
        stale: status.stale,
        credentials: status.credentials,
        last_error: status.last_error.clone(),
        next_poll_at: status.next_poll_at,
        forecast: status.forecast,
        api_calls: status.api_calls,
    }]
}

/// One row per account, in order of preference: name, tier, the windows,
/// the credential source and the login's directory; the account a `high`
/// task goes to now is marked, and an account's last error follows it.
pub fn table(accounts: &[AccountStatus], high: &str, view: &View) -> String {
    let name_width = accounts
        .iter()
        .map(|a| a.name.len())
        .chain(["ACCOUNT".len()])
        .max()
        .unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<name_width$}  {:<7}  {:>6}  {:>5}  {:<14}  DIRECTORY",
        "ACCOUNT", "TIER", "5-HOUR", "7-DAY", "CREDENTIALS"
    );
    for account in accounts {
        let percent = |window: Option<claude_quota::Window>| {
            window.map_or_else(|| "-".to_owned(), |w| format!("{:.0}%", w.utilization))
        };
        let dir = account
            .claude_config_dir
            .clone()
            .unwrap_or_else(|| "(default login)".to_owned());
        let tier = format!("{:<7}", account.tier.as_str());
        let stale = if account.stale && account.as_of.is_some() {
            " (stale)"
        } else {
            ""
        };
        let marker = if account.name == high {
            format!(
                "  {}",
                view.palette.paint(dim(), "← a high task goes here now")
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:<name_width$}  {}  {:>6}  {:>5}  {:<14}  {dir}{stale}{marker}",
            account.name,
            view.palette
                .paint(crate::style::tier_style(account.tier), &tier),
            percent(account.five_hour),
            percent(account.seven_day),
            account.credentials.to_string(),
        );
        if let Some(error) = &account.last_error {
            let _ = writeln!(
                out,
                "{:<name_width$}  {} {} ({})",
                "",
                view.palette.paint(red(), "last error"),
                error.message,
                error.kind
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use claude_quota::{CredentialSource, LastError, LastErrorKind, Tier, Window};

    use super::*;
    use crate::style::Palette;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
            .unwrap()
            .into()
    }

    fn account(name: &str, dir: Option<&str>, tier: Tier, five: Option<f64>) -> AccountStatus {
        AccountStatus {
            name: name.into(),
            claude_config_dir: dir.map(Into::into),
            priority: 1,
            tier,
            reason: String::new(),
            five_hour: five.map(|u| Window::new(u, None)),
            seven_day: five.map(|u| Window::new(u / 2.0, None)),
            weekly_scoped: Vec::new(),
            extra_usage: None,
            as_of: five.map(|_| now()),
            stale: false,
            credentials: CredentialSource::File,
            last_error: None,
            next_poll_at: None,
            forecast: None,
            api_calls: 0,
        }
    }

    #[test]
    fn one_row_per_account_and_the_one_a_high_task_goes_to() {
        let mut team = account(
            "team-eu",
            Some("/home/ada/.claude-team/"),
            Tier::Unknown,
            None,
        );
        team.credentials = CredentialSource::None;
        team.last_error = Some(LastError {
            kind: LastErrorKind::NoCredentials,
            message: "no Claude Code credentials found".into(),
            at: now(),
        });
        let accounts = [
            account(
                "work",
                Some("/home/ada/.claude-work"),
                Tier::Resting,
                Some(91.0),
            ),
            account("default", None, Tier::Burst, Some(12.0)),
            team,
        ];
        let view = View {
            palette: Palette::plain(),
            unicode: true,
            local_time: false,
            now: now(),
        };
        insta::assert_snapshot!(table(&accounts, "default", &view));
    }
}

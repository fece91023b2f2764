//! `claude-quota history`: the stored readings of one account over a span,
//! as a chart in the terminal ([`terminal`]) or an SVG file ([`svg`]),
//! both drawn from one [`chart::Chart`], or as rows for scripts
//! ([`export`]). The history database is read directly and read-only, so
//! this works with the daemon down; when the daemon answers, the chart
//! takes its thresholds and forecast, otherwise the default thresholds and
//! no forecast.

mod chart;
mod days;
mod export;
#[cfg(test)]
pub(crate) mod fixture;
mod svg;
mod terminal;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::{Local, Utc};
use claude_quota::{Client, Status};
use claude_quota_history::{Row, Store};

use crate::accounts::list;
use crate::args::{Cli, HistoryArgs};
use crate::render::View;
use crate::style::Palette;
use chart::Chart;

/// The account Claude Code's default login is kept under.
const DEFAULT_ACCOUNT: &str = "default";

/// How long to wait for the daemon's thresholds and forecast before
/// drawing without them.
const STATUS_WAIT: Duration = Duration::from_secs(2);

/// Runs `claude-quota history`.
pub async fn run(cli: &Cli, args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let from = now - args.since.length();
    let path = claude_quota_history::default_path();
    let store = Store::open_read_only(&path)?;
    let rows = store
        .rows(args.account.as_deref(), from, now)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let stdout = std::io::stdout().lock();
    if cli.json {
        export::json(&rows, stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.csv {
        export::csv(&rows, stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    let Some(account) = pick_account(&rows, args.account.as_deref()) else {
        println!(
            "no readings in the last {} ({})",
            args.since.name(),
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let status = daemon_status(cli).await;
    let chart = Chart::new(
        &account,
        &rows,
        from,
        now,
        status.as_ref().map(|s| s.thresholds.unwrap_or_default()),
        status
            .as_ref()
            .and_then(|s| list::of(s).into_iter().find(|a| a.name == account))
            .as_ref(),
    );
    if let Some(file) = &args.svg {
        let svg = svg::draw(&chart, args.since.name(), &Local)?;
        std::fs::write(file, svg).with_context(|| format!("cannot write {}", file.display()))?;
        println!(
            "wrote {} ({account}, last {})",
            file.display(),
            args.since.name()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mine: Vec<&Row> = rows.iter().filter(|row| row.account == account).collect();
    let days = days::days(&mine, from, now, &Local);
    let look = terminal::Look {
        palette: Palette::detect(cli.no_color, true),
        unicode: View::unicode_supported(),
    };
    print!(
        "{}",
        terminal::draw(&chart, &days, args.since.name(), look, &Local)
    );
    if status.is_none() {
        println!("(the daemon did not answer: default thresholds, no forecast)");
    }
    let others = other_accounts(&rows, &account);
    if !others.is_empty() {
        println!(
            "also in the history: {} (--account NAME)",
            others.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The account to chart: the one asked for, else `default` when it has
/// rows, else the first named in them.
fn pick_account(rows: &[Row], wanted: Option<&str>) -> Option<String> {
    if let Some(wanted) = wanted {
        return rows
            .iter()
            .any(|r| r.account == wanted)
            .then(|| wanted.to_owned());
    }
    if rows.iter().any(|r| r.account == DEFAULT_ACCOUNT) {
        return Some(DEFAULT_ACCOUNT.to_owned());
    }
    rows.iter().map(|r| r.account.clone()).min()
}

/// The other accounts the rows hold, by name.
fn other_accounts(rows: &[Row], shown: &str) -> Vec<String> {
    let mut names: Vec<String> = rows
        .iter()
        .filter(|r| r.account != shown)
        .map(|r| r.account.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The daemon's status, when it answers within [`STATUS_WAIT`].
async fn daemon_status(cli: &Cli) -> Option<Status> {
    let ask = async {
        let mut client = Client::connect_to(cli.socket_path()).await.ok()?;
        client.status().await.ok()
    };
    tokio::time::timeout(STATUS_WAIT, ask).await.ok().flatten()
}

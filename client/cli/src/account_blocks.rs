//! The status view's part for several accounts: which account a `high`
//! task goes to now, then one block per account (its tier and reason, its
//! windows and caps, where its credentials come from, its last error), in
//! order of preference.

use std::fmt::Write;

use claude_quota::AccountStatus;

use crate::bars::{View, dim, label_width, red, scoped_caps, tier_mark, windows};
use crate::style::span;

/// Writes the blocks; `high` is the account a `high` task goes to now,
/// when the daemon said.
pub fn write(out: &mut String, accounts: &[AccountStatus], high: Option<&str>, view: &View) {
    if let Some(high) = high {
        let _ = writeln!(out, "  a high task goes to {high} now\n");
    }
    for (n, account) in accounts.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        block(out, account, view);
    }
}

/// One account's block.
fn block(out: &mut String, account: &AccountStatus, view: &View) {
    let tier = tier_mark(account.tier, account.stale, account.as_of.is_some(), view);
    let _ = writeln!(
        out,
        "  {}  {tier}  {}",
        view.palette
            .paint(anstyle::Style::new().bold(), &account.name),
        account.reason
    );
    let caps = scoped_caps(&account.weekly_scoped);
    let label = label_width(caps.iter().map(|(name, _)| name.chars().count()));
    windows(
        out,
        "    ",
        label,
        account.five_hour,
        account.seven_day,
        &caps,
        view,
    );
    let mut facts = Vec::new();
    if let Some(as_of) = account.as_of {
        let age = (view.now - as_of).num_seconds().max(0).unsigned_abs();
        facts.push(format!("reading {} old", span(age)));
    }
    if let Some(at) = account.next_poll_at {
        let secs = (at - view.now).num_seconds().max(0).unsigned_abs();
        facts.push(format!("next poll in {}", span(secs)));
    }
    facts.push(format!("credentials: {}", account.credentials));
    facts.push(
        account
            .claude_config_dir
            .clone()
            .unwrap_or_else(|| "default login".to_owned()),
    );
    let _ = writeln!(out, "    {}", view.palette.paint(dim(), &facts.join(" · ")));
    if let Some(error) = &account.last_error {
        let title = view.palette.paint(red(), "last error");
        let _ = writeln!(out, "    {title}  {} ({})", error.message, error.kind);
    }
}

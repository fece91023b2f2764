//! The status view people read: tier, usage bars, countdowns, staleness,
//! the last error with its fix, the forecast, and where tasks go now.
//!
//! Pure: everything it shows comes from its arguments, so every state is
//! snapshot-tested.

use std::fmt::Write;

use anstyle::Style;
use claude_quota::ExtraUsage;
use claude_quota::{LastErrorKind, Provider, Status, Window};

use crate::account_blocks;
pub use crate::bars::View;
use crate::bars::{self, bar, dim, green, red, reset_text, scoped_caps, tier_mark, windows};
use crate::guidance::Guidance;
use crate::pace;
use crate::style::{span, usage_style};

/// The label of the extra usage line.
const EXTRA_USAGE: &str = "extra usage";

/// The label of the binding window's line.
const BINDING: &str = "binding";

/// The most of a window name from the headers that is shown.
const MAX_CLAIM: usize = 64;

/// The whole view.
pub fn status(status: &Status, guidance: Option<&Guidance>, view: &View) -> String {
    let mut out = String::new();
    header(&mut out, status, view);
    if status.accounts.len() > 1 {
        let high = guidance.and_then(|g| g.high_account.as_deref());
        account_blocks::write(&mut out, &status.accounts, high, view);
    } else {
        let caps = model_caps(status);
        let label = label_width(status, &caps);
        let (five, seven) = (status.five_hour, status.seven_day);
        windows(&mut out, "  ", label, five, seven, &caps, view);
        if let Some(extra) = &status.extra_usage {
            extra_usage(&mut out, extra, label, view);
        }
        if let Some(claim) = &status.representative_claim {
            let _ = writeln!(out, "  {BINDING:<label$} {}", binding(claim));
        }
    }
    if let Some(cap) = &status.cloud_capped_by {
        let title = view.palette.paint(red(), "cloud closed");
        let reset = cap
            .resets_at
            .map(|at| format!(" until it resets {}", reset_text(at, view)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {title}  the {} weekly cap is spent ({:.0}%): every task stays local{reset}",
            cap.model, cap.utilization
        );
    }
    out.push('\n');
    freshness(&mut out, status, view);
    if let Some(error) = &status.last_error {
        let title = view.palette.paint(red(), "last error");
        let _ = writeln!(out, "  {title}  {} ({})", error.message, error.kind);
        let _ = writeln!(
            out,
            "  {}  {}",
            view.palette.paint(dim(), "   fix   "),
            fix(error.kind)
        );
    }
    forecast(&mut out, status, view);
    if let Some(guidance) = guidance {
        out.push('\n');
        decisions(&mut out, guidance, view);
    }
    out
}

/// The per-model weekly caps as bars, named by family in lower case; from
/// `seven_day_opus`/`seven_day_sonnet` when a daemon sends no
/// `weekly_scoped`.
pub fn model_caps(status: &Status) -> Vec<(String, Window)> {
    if status.weekly_scoped.is_empty() {
        return [
            ("opus", status.seven_day_opus),
            ("sonnet", status.seven_day_sonnet),
        ]
        .into_iter()
        .filter_map(|(name, window)| Some((name.to_owned(), window?)))
        .collect();
    }
    scoped_caps(&status.weekly_scoped)
}

/// The label column's width: the caps' names and `extra usage`.
fn label_width(status: &Status, caps: &[(String, Window)]) -> usize {
    let extra = status.extra_usage.as_ref().map(|_| EXTRA_USAGE.len());
    bars::label_width(
        caps.iter()
            .map(|(name, _)| name.chars().count())
            .chain(extra),
    )
}

fn header(out: &mut String, status: &Status, view: &View) {
    let tier = tier_mark(status.tier, status.stale, status.as_of.is_some(), view);
    let _ = writeln!(out, "{tier}  {}\n", status.reason);
}

/// `extra usage  ███░░ 48.8%  2.44 of 5.00 EUR`, or `extra usage  off
/// (out_of_credits)` when it cannot be spent.
fn extra_usage(out: &mut String, extra: &ExtraUsage, label: usize, view: &View) {
    let money = money(extra);
    let utilization = extra
        .utilization
        .or_else(|| match (extra.used, extra.limit) {
            (Some(used), Some(limit)) if limit > 0.0 => Some(used / limit * 100.0),
            _ => None,
        });
    let shown = if !extra.enabled {
        let reason = extra
            .disabled_reason
            .as_deref()
            .map(|reason| format!(" ({})", printable(reason)))
            .unwrap_or_default();
        view.palette.paint(dim(), &format!("off{reason}"))
    } else if let Some(utilization) = utilization {
        let percent = view
            .palette
            .paint(usage_style(utilization), &format!("{utilization:.1}%"));
        format!("{} {percent}", bar(utilization, view))
    } else {
        "on".to_owned()
    };
    let money = money.map(|m| format!("  {m}")).unwrap_or_default();
    let _ = writeln!(out, "  {EXTRA_USAGE:<label$} {shown}{money}");
}

/// `2.44 of 5.00 EUR`, `2.44 EUR spent`, or `limit 5.00 EUR`.
fn money(extra: &ExtraUsage) -> Option<String> {
    let currency = extra
        .currency
        .as_deref()
        .map(|c| format!(" {}", printable(c)))
        .unwrap_or_default();
    match (extra.used, extra.limit) {
        (Some(used), Some(limit)) => Some(format!("{used:.2} of {limit:.2}{currency}")),
        (Some(used), None) => Some(format!("{used:.2}{currency} spent")),
        (None, Some(limit)) => Some(format!("limit {limit:.2}{currency}")),
        (None, None) => None,
    }
}

/// The window the rate limiter names as binding, in the view's words.
fn binding(claim: &str) -> String {
    match claim {
        "five_hour" => "5-hour window".to_owned(),
        "seven_day" => "7-day window".to_owned(),
        "seven_day_overage_included" => "7-day window, extra usage included".to_owned(),
        other => printable(other),
    }
}

/// Text from the usage API or the headers without control characters
/// (which could move the cursor or recolor the terminal), cut to a length
/// a line can hold.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_CLAIM)
        .collect()
}

fn freshness(out: &mut String, status: &Status, view: &View) {
    let mut parts = Vec::new();
    match (status.age_s, status.source) {
        (Some(age), Some(source)) => {
            parts.push(format!("reading {} old ({source})", span(age)));
        }
        _ => parts.push("no reading yet".into()),
    }
    if let Some(at) = status.next_poll_at {
        let secs = (at - view.now).num_seconds().max(0).unsigned_abs();
        parts.push(format!("next poll in {}", span(secs)));
    }
    parts.push(format!("{} API calls", status.api_calls));
    if let Some(polling) = status.polling {
        parts.push(format!("polling: {polling}"));
    }
    parts.push(format!("credentials: {}", status.credentials));
    if let Some(local) = &status.local {
        let state = if local.up { "up" } else { "down" };
        parts.push(format!("ollama {state}"));
    }
    let _ = writeln!(out, "  {}", view.palette.paint(dim(), &parts.join(" · ")));
}

fn forecast(out: &mut String, status: &Status, view: &View) {
    let Some(forecast) = status.forecast else {
        return;
    };
    let reset = status.five_hour.and_then(|w| w.resets_at);
    if let Some(words) = pace::at_this_pace(&forecast, reset, |at| reset_text(at, view)) {
        let _ = writeln!(out, "  {words}");
    }
}

fn decisions(out: &mut String, guidance: &Guidance, view: &View) {
    let cloud: Vec<String> = guidance
        .cloud
        .iter()
        .map(|(value, yes)| {
            let answer = if *yes {
                view.palette.paint(green(), "cloud")
            } else {
                view.palette.paint(dim(), "local")
            };
            format!("{value} {answer}")
        })
        .collect();
    let models: Vec<String> = guidance
        .models
        .iter()
        .map(|(complexity, choice)| {
            let style = match choice.provider {
                Provider::Anthropic => green(),
                Provider::Ollama => Style::new(),
            };
            let missing = if choice.available {
                ""
            } else {
                " (not available)"
            };
            format!(
                "{complexity} {}{missing}",
                view.palette.paint(style, &choice.model)
            )
        })
        .collect();
    let _ = writeln!(out, "  where tasks go now");
    let _ = writeln!(out, "    by value       {}", cloud.join(" · "));
    let _ = writeln!(out, "    by complexity  {}", models.join(" · "));
}

/// What a user can do about each kind of fault.
fn fix(kind: LastErrorKind) -> &'static str {
    match kind {
        LastErrorKind::NoCredentials => {
            "log in with Claude Code (`claude`), or set CLAUDE_CODE_OAUTH_TOKEN for the daemon"
        }
        LastErrorKind::Unauthorized => {
            "the login expired or was revoked: open Claude Code (`claude`) to refresh it"
        }
        LastErrorKind::InsufficientScope => {
            "an inference-only token (`claude setup-token`) cannot read usage: unset CLAUDE_CODE_OAUTH_TOKEN for the daemon so it reads Claude Code's login, or rely on `claude-quota statusline` pushes"
        }
        LastErrorKind::RateLimited => {
            "the daemon backs off by itself; `claude-quota statusline` as Claude Code's status line avoids polling"
        }
        LastErrorKind::Network => "check the network and the configured api_url",
        LastErrorKind::BadResponse => {
            "the usage API changed or misbehaved; if it persists, report it"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::Palette;
    use chrono::{DateTime, TimeDelta, Utc};
    use claude_quota::WindowStatus;
    use claude_quota::{
        CredentialSource, DaemonInfo, Forecast, LastError, ModelChoice, Polling, ReadingSource,
        ScopedCap, TaskComplexity, TaskValue, Tier,
    };
    use claude_quota_proto::AccountStatus;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
            .unwrap()
            .into()
    }

    fn window(utilization: f64, resets_in_minutes: i64) -> Option<Window> {
        Some(Window::new(
            utilization,
            Some(now() + TimeDelta::minutes(resets_in_minutes)),
        ))
    }

    fn status(tier: Tier, five: f64, seven: f64) -> Status {
        Status {
            tier,
            reason: format!("5-hour window at {five:.1}%"),
            five_hour: window(five, 133),
            seven_day: window(seven, 3 * 1440 + 240),
            seven_day_opus: None,
            seven_day_sonnet: Some(Window::new(1.0, None)),
            weekly_scoped: vec![ScopedCap {
                model: "Sonnet".into(),
                utilization: 1.0,
                resets_at: None,
                severity: None,
                status: None,
            }],
            cloud_capped_by: None,
            as_of: Some(now() - TimeDelta::seconds(12)),
            source: Some(ReadingSource::Api),
            age_s: Some(12),
            stale: false,
            last_push_at: None,
            credentials: CredentialSource::File,
            subscription_type: Some("max".into()),
            token_expires_at: None,
            lacking_scope: Vec::new(),
            last_error: None,
            last_reply_shape: None,
            last_reply_dropped: Vec::new(),
            extra_usage: None,
            representative_claim: None,
            next_poll_at: Some(now() + TimeDelta::seconds(18)),
            api_calls: 7,
            polling: Some(Polling::Active),
            daemon: DaemonInfo {
                version: "0.1.0".into(),
                pid: 1,
                uptime_s: 60,
            },
            forecast: None,
            local: None,
            accounts: Vec::new(),
            history: None,
            thresholds: None,
        }
    }

    fn guidance(tier: Tier) -> Guidance {
        let cloud = TaskValue::ALL
            .map(|v| {
                (
                    v,
                    tier == Tier::Burst && matches!(v, TaskValue::Critical | TaskValue::High),
                )
            })
            .to_vec();
        let models = TaskComplexity::ALL
            .map(|c| {
                let (model, provider) = match (tier, c) {
                    (Tier::Burst, TaskComplexity::High) => {
                        ("claude-sonnet-4-6", Provider::Anthropic)
                    }
                    (Tier::Resting, _) => ("qwen3:8b", Provider::Ollama),
                    _ => ("qwen3:14b", Provider::Ollama),
                };
                let choice = ModelChoice {
                    model: model.into(),
                    provider,
                    tier,
                    reason: String::new(),
                    stale: false,
                    available: true,
                    account: None,
                    claude_config_dir: None,
                };
                (c, choice)
            })
            .to_vec();
        Guidance {
            cloud,
            models,
            high_account: None,
        }
    }

    fn view(palette: Palette) -> View {
        View {
            palette,
            unicode: true,
            local_time: false,
            now: now(),
        }
    }

    fn both(name: &str, status: &Status) {
        let guidance = guidance(status.tier);
        insta::assert_snapshot!(
            name,
            super::status(status, Some(&guidance), &view(Palette::plain()))
        );
        let colored = super::status(status, Some(&guidance), &view(Palette::colored()));
        insta::assert_snapshot!(format!("{name}_color"), colored.replace('\x1b', "␛"));
    }

    #[test]
    fn burst() {
        let mut status = status(Tier::Burst, 23.0, 41.0);
        status.forecast = Some(Forecast {
            five_hour_pct_per_hour: 12.5,
            resting_at: Some(now() + TimeDelta::minutes(47)),
            exhausted_at: Some(now() + TimeDelta::minutes(210)),
            confidence: None,
        });
        both("burst", &status);
    }

    #[test]
    fn active() {
        both("active", &status(Tier::Active, 63.5, 22.0));
    }

    #[test]
    fn resting() {
        both("resting", &status(Tier::Resting, 91.0, 85.0));
    }

    #[test]
    fn unknown_without_a_reading() {
        let mut status = status(Tier::Unknown, 0.0, 0.0);
        status.reason = "no usage reading yet".into();
        status.five_hour = None;
        status.seven_day = None;
        status.seven_day_sonnet = None;
        status.weekly_scoped.clear();
        status.as_of = None;
        status.source = None;
        status.age_s = None;
        status.stale = true;
        status.credentials = CredentialSource::None;
        status.last_error = Some(LastError {
            kind: LastErrorKind::NoCredentials,
            message: "no Claude Code credentials found".into(),
            at: now(),
        });
        both("unknown", &status);
    }

    #[test]
    fn stale_with_a_rate_limit_error() {
        let mut status = status(Tier::Unknown, 44.0, 30.0);
        status.reason = "last reading is 420s old (stale after 300s)".into();
        status.stale = true;
        status.age_s = Some(420);
        status.last_error = Some(LastError {
            kind: LastErrorKind::RateLimited,
            message: "rate limited by the usage API (429)".into(),
            at: now(),
        });
        both("stale_error", &status);
    }

    #[test]
    fn burst_with_the_cloud_models_cap_spent() {
        let mut status = status(Tier::Burst, 23.0, 41.0);
        let sonnet = ScopedCap {
            model: "Sonnet".into(),
            utilization: 97.0,
            resets_at: Some(now() + TimeDelta::minutes(1440 + 90)),
            severity: Some("critical".into()),
            status: None,
        };
        status.weekly_scoped = vec![
            sonnet.clone(),
            ScopedCap {
                model: "Opus".into(),
                utilization: 12.0,
                resets_at: None,
                severity: None,
                status: None,
            },
        ];
        status.cloud_capped_by = Some(sonnet);
        status.reason = "5-hour window at 23.0% (below 50%); the Sonnet weekly cap at 97.0% (above 80%) closes the cloud".into();
        let mut guidance = guidance(Tier::Active);
        for (_, choice) in &mut guidance.models {
            choice.tier = Tier::Burst;
        }
        insta::assert_snapshot!(
            "cloud_capped",
            super::status(&status, Some(&guidance), &view(Palette::plain()))
        );
    }

    #[test]
    fn extra_usage_the_binding_window_and_a_rejected_window() {
        let mut status = status(Tier::Resting, 92.0, 41.0);
        status.reason = "the 5-hour window is rejected by the rate limiter".into();
        status.five_hour = Some(Window {
            status: Some(WindowStatus::Rejected),
            ..window(92.0, 58).unwrap()
        });
        status.extra_usage = Some(ExtraUsage {
            enabled: true,
            utilization: Some(48.8),
            used: Some(2.44),
            limit: Some(5.0),
            currency: Some("EUR".into()),
            disabled_reason: None,
        });
        status.representative_claim = Some("five_hour".into());
        both("extra_usage", &status);
    }

    #[test]
    fn extra_usage_that_cannot_be_spent_says_why() {
        let mut status = status(Tier::Burst, 23.0, 41.0);
        status.extra_usage = Some(ExtraUsage {
            enabled: false,
            utilization: None,
            used: Some(5.0),
            limit: Some(5.0),
            currency: Some("USD".into()),
            disabled_reason: Some("out_of_credits\u{1b}[2J".into()),
        });
        status.representative_claim = Some("seven_day_overage_included".into());
        insta::assert_snapshot!(
            "extra_usage_off",
            super::status(&status, None, &view(Palette::plain()))
        );
        let without_limit = ExtraUsage {
            enabled: true,
            utilization: None,
            used: Some(1.5),
            limit: None,
            currency: None,
            disabled_reason: None,
        };
        assert_eq!(money(&without_limit).as_deref(), Some("1.50 spent"));
        let mut out = String::new();
        extra_usage(&mut out, &without_limit, 12, &view(Palette::plain()));
        assert_eq!(out, "  extra usage  on  1.50 spent\n");
    }

    fn account(name: &str, dir: Option<&str>, status: &Status) -> AccountStatus {
        AccountStatus {
            name: name.into(),
            claude_config_dir: dir.map(Into::into),
            ..crate::accounts::list::of(status).remove(0)
        }
    }

    #[test]
    fn several_accounts_one_block_each_and_where_a_high_task_goes() {
        let work = status(Tier::Resting, 91.0, 85.0);
        let mut personal = status(Tier::Burst, 12.0, 30.0);
        personal.weekly_scoped.clear();
        let mut team = status(Tier::Unknown, 0.0, 0.0);
        team.reason = "rate limited by the usage API (429)".into();
        team.five_hour = None;
        team.seven_day = None;
        team.weekly_scoped.clear();
        team.stale = true;
        team.credentials = CredentialSource::SecretService;
        team.last_error = Some(LastError {
            kind: LastErrorKind::RateLimited,
            message: "rate limited by the usage API (429)".into(),
            at: now(),
        });
        let mut whole = personal.clone();
        whole.accounts = vec![
            account("work", Some("/home/ada/.claude-work"), &work),
            account("personal", None, &personal),
            account("team", Some("/home/ada/.claude-team/"), &team),
        ];
        let mut guidance = guidance(Tier::Burst);
        guidance.high_account = Some("personal".into());
        insta::assert_snapshot!(
            "several_accounts",
            super::status(&whole, Some(&guidance), &view(Palette::plain()))
        );
        let colored = super::status(&whole, Some(&guidance), &view(Palette::colored()));
        insta::assert_snapshot!("several_accounts_color", colored.replace('\x1b', "␛"));

        let mut one = personal.clone();
        one.accounts = vec![account("default", None, &personal)];
        assert_eq!(
            super::status(&one, Some(&guidance), &view(Palette::plain())),
            super::status(&personal, Some(&guidance), &view(Palette::plain())),
            "one account: the view as it always was"
        );
    }

    #[test]
    fn ascii_bars_for_terminals_without_unicode() {
        let status = status(Tier::Active, 63.5, 22.0);
        let view = View {
            unicode: false,
            ..view(Palette::plain())
        };
        insta::assert_snapshot!(super::status(&status, None, &view));
    }
}

//! The pieces every status view draws with: how to draw ([`View`]), a
//! usage bar with its percent and reset countdown, and the few colors
//! beyond the tier's. Shared by the whole status view and its per-account
//! blocks.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use chrono::{DateTime, Local, Utc};
use claude_quota::{ScopedCap, Tier, Window, WindowStatus};

use crate::style::{Palette, countdown, usage_style};

/// Cells in a usage bar.
const BAR_WIDTH: usize = 30;

/// The narrowest label column (`5-hour`, `7-day`, `sonnet` and a space).
const MIN_LABEL: usize = 7;

/// How to draw.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// Colors on or off.
    pub palette: Palette,
    /// Unicode blocks, or ASCII for terminals that lack them.
    pub unicode: bool,
    /// Show reset times as local clock times too.
    pub local_time: bool,
    /// The moment to count down from.
    pub now: DateTime<Utc>,
}

impl View {
    /// Unicode unless the locale says otherwise (`C`, `POSIX`, or a
    /// non-UTF-8 charset in `LC_ALL`, `LC_CTYPE` or `LANG`).
    pub fn unicode_supported() -> bool {
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|key| std::env::var(key).ok().filter(|v| !v.is_empty()));
        match locale {
            None => true,
            Some(locale) => {
                let locale = locale.to_ascii_lowercase();
                locale.contains("utf-8") || locale.contains("utf8")
            }
        }
    }
}

/// The label column's width for labels of these lengths: the longest and
/// a space, at least [`MIN_LABEL`], so every bar starts in the same column.
pub fn label_width(labels: impl IntoIterator<Item = usize>) -> usize {
    labels
        .into_iter()
        .fold(MIN_LABEL, |width, label| width.max(label + 1))
}

/// The 5-hour and 7-day windows (`no reading` for one missing), then the
/// per-model caps, one line each.
pub fn windows(
    out: &mut String,
    indent: &str,
    label: usize,
    five_hour: Option<Window>,
    seven_day: Option<Window>,
    caps: &[(String, Window)],
    view: &View,
) {
    for (name, window) in [("5-hour", five_hour), ("7-day", seven_day)] {
        match window {
            Some(window) => bar_line(out, indent, name, label, window, view),
            None => {
                let _ = writeln!(
                    out,
                    "{indent}{name:<label$} {}",
                    view.palette.paint(dim(), "no reading")
                );
            }
        }
    }
    for (name, window) in caps {
        bar_line(out, indent, name, label, *window, view);
    }
}

/// One window's line: `{indent}{name} ███░░ 23%  resets in 2h 13m`, the
/// name padded to `label` so every bar starts in the same column.
fn bar_line(out: &mut String, indent: &str, name: &str, label: usize, window: Window, view: &View) {
    let bar = bar(window.utilization, view);
    let percent = view.palette.percent(window.utilization);
    let pad = " ".repeat(4usize.saturating_sub(format!("{:.0}%", window.utilization).len()));
    let rejected = if window.status == Some(WindowStatus::Rejected) {
        format!("  {}", view.palette.paint(red().bold(), "rejected"))
    } else {
        String::new()
    };
    let reset = window
        .resets_at
        .map(|at| format!("  resets {}", reset_text(at, view)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{indent}{name:<label$} {bar} {pad}{percent}{rejected}{reset}"
    );
}

/// A usage bar of [`BAR_WIDTH`] cells, colored by the usage thresholds.
pub fn bar(utilization: f64, view: &View) -> String {
    let filled = ((utilization.clamp(0.0, 100.0) / 100.0) * BAR_WIDTH as f64).round() as usize;
    let (full, empty) = if view.unicode {
        ("█", "░")
    } else {
        ("#", "-")
    };
    format!(
        "{}{}",
        view.palette
            .paint(usage_style(utilization), &full.repeat(filled)),
        view.palette.paint(dim(), &empty.repeat(BAR_WIDTH - filled))
    )
}

/// `in 2h 13m`, or `at Sun 14:13 (in 2h 13m)` with local times on.
pub fn reset_text(at: DateTime<Utc>, view: &View) -> String {
    let remaining = countdown(at, view.now);
    if view.local_time {
        format!(
            "at {} (in {remaining})",
            at.with_timezone(&Local).format("%a %H:%M")
        )
    } else {
        format!("in {remaining}")
    }
}

/// The per-model weekly caps as windows, named by family in lower case.
pub fn scoped_caps(caps: &[ScopedCap]) -> Vec<(String, Window)> {
    caps.iter()
        .map(|cap| {
            let window = Window {
                status: cap.status,
                ..Window::new(cap.utilization, cap.resets_at)
            };
            (cap.model.to_lowercase(), window)
        })
        .collect()
}

/// The tier in capitals and color, ` STALE` after it when the reading it
/// rests on is too old (not when there is none: the reason says so).
pub fn tier_mark(tier: Tier, stale: bool, has_reading: bool, view: &View) -> String {
    let stale = if stale && has_reading {
        format!(" {}", view.palette.paint(red().bold(), "STALE"))
    } else {
        String::new()
    };
    format!("{}{stale}", view.palette.tier(tier))
}

/// Grey, for what matters less.
pub fn dim() -> Style {
    Style::new().fg_color(Some(AnsiColor::BrightBlack.into()))
}

/// Red, for faults.
pub fn red() -> Style {
    Style::new().fg_color(Some(AnsiColor::Red.into()))
}

/// Green, for the cloud.
pub fn green() -> Style {
    Style::new().fg_color(Some(AnsiColor::Green.into()))
}

//! Colors and small text forms shared by every view: the tier's color,
//! usage colors by threshold, and "2h 13m" countdowns.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};
use chrono::{DateTime, TimeDelta, Utc};
use claude_quota::Tier;

/// Whether to color, decided once per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    enabled: bool,
}

impl Palette {
    /// Colors unless `--no-color` or `NO_COLOR` (any non-empty value, per
    /// no-color.org) says otherwise, and only when `terminal_only` is false
    /// or stdout is a terminal.
    pub fn detect(no_color_flag: bool, terminal_only: bool) -> Self {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let terminal = !terminal_only || std::io::stdout().is_terminal();
        Palette {
            enabled: !no_color_flag && !no_color_env && terminal,
        }
    }

    /// A palette that never colors: for tests, and for text that programs
    /// read (the MCP server's summaries).
    pub const fn plain() -> Self {
        Palette { enabled: false }
    }

    /// A palette that always colors, for tests.
    #[cfg(test)]
    pub const fn colored() -> Self {
        Palette { enabled: true }
    }

    /// `text` in `style`, or as is when colors are off (or it is empty).
    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.enabled && !text.is_empty() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    /// The tier's name in capitals and its color.
    pub fn tier(&self, tier: Tier) -> String {
        self.paint(tier_style(tier), &tier.as_str().to_uppercase())
    }

    /// A utilization figure colored by the usage thresholds.
    pub fn percent(&self, utilization: f64) -> String {
        self.paint(usage_style(utilization), &format!("{utilization:.0}%"))
    }
}

/// Green for burst, yellow for active, red for resting, grey for unknown.
pub fn tier_style(tier: Tier) -> Style {
    let color = match tier {
        Tier::Burst => AnsiColor::Green,
        Tier::Active => AnsiColor::Yellow,
        Tier::Resting => AnsiColor::Red,
        Tier::Unknown => AnsiColor::BrightBlack,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

/// Green below 50 %, yellow to 80 %, red above: the contract's bar colors.
pub fn usage_style(utilization: f64) -> Style {
    let color = if utilization > 80.0 {
        AnsiColor::Red
    } else if utilization >= 50.0 {
        AnsiColor::Yellow
    } else {
        AnsiColor::Green
    };
    Style::new().fg_color(Some(color.into()))
}

/// "2h 13m", "47m", "3d 4h", "<1m" until `at`; "now" when past.
pub fn countdown(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    duration(at - now)
}

/// Whole seconds as people say them: `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn span(seconds: u64) -> String {
    if seconds < 60 {
        format!("{seconds}s")
    } else {
        duration(TimeDelta::seconds(
            i64::try_from(seconds).unwrap_or(i64::MAX),
        ))
    }
}

/// A duration in its two largest units.
pub fn duration(delta: TimeDelta) -> String {
    let minutes = delta.num_minutes();
    if delta <= TimeDelta::zero() {
        return "now".into();
    }
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours, mins) {
        (0, 0, 0) => "<1m".into(),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_use_the_two_largest_units() {
        let now = Utc::now();
        let at = |secs| now + TimeDelta::seconds(secs);
        assert_eq!(countdown(at(-5), now), "now");
        assert_eq!(countdown(at(30), now), "<1m");
        assert_eq!(countdown(at(47 * 60 + 10), now), "47m");
        assert_eq!(countdown(at(2 * 3600 + 13 * 60 + 5), now), "2h 13m");
        assert_eq!(countdown(at(3 * 86400 + 4 * 3600 + 59), now), "3d 4h");
    }

    #[test]
    fn plain_palettes_add_no_escapes() {
        assert_eq!(Palette::plain().tier(Tier::Burst), "BURST");
        assert!(Palette::colored().tier(Tier::Burst).contains("\u{1b}["));
    }
}

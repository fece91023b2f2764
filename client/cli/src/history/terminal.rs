//! The chart in a terminal, 80 columns wide: the 5-hour window colored by
//! the band it is in, the 7-day window, dotted lines at the tier
//! thresholds, the 5-hour resets marked, the forecast ahead of now, then a
//! line per day. ASCII where the locale lacks Unicode; colors only when
//! the palette allows (`NO_COLOR`, `--no-color`, not a terminal).

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use chrono::{DateTime, Datelike, TimeDelta, TimeZone, Timelike, Utc, Weekday};
use claude_quota::{Thresholds, Tier};

use super::chart::Chart;
use super::days::Day;
use crate::pace;
use crate::style::{Palette, duration};

/// Columns of the plot: with the 5-column scale on the left and a
/// threshold's name on the right the chart fits 80 columns.
const PLOT: usize = 64;

/// Rows of the plot: 100 % to 0 % in steps of 10.
const ROWS: usize = 11;

/// How to draw: the characters and the colors.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    /// Colors on or off.
    pub palette: Palette,
    /// Unicode glyphs, or ASCII.
    pub unicode: bool,
}

/// The characters of one glyph set.
struct Glyphs {
    five_hour: char,
    seven_day: char,
    forecast: char,
    rise: char,
    threshold: char,
    reset: char,
    axis: char,
    tick_axis: char,
    corner: char,
    rule: char,
    tick: char,
    reset_tick: char,
}

const UNICODE: Glyphs = Glyphs {
    five_hour: '●',
    seven_day: '─',
    forecast: '○',
    rise: '│',
    threshold: '┄',
    reset: '┊',
    axis: '│',
    tick_axis: '┤',
    corner: '└',
    rule: '─',
    tick: '┬',
    reset_tick: '┴',
};

const ASCII: Glyphs = Glyphs {
    five_hour: '*',
    seven_day: '-',
    forecast: 'o',
    rise: '|',
    threshold: '.',
    reset: ':',
    axis: '|',
    tick_axis: '+',
    corner: '+',
    rule: '-',
    tick: '+',
    reset_tick: '^',
};

/// One character of the plot and its style.
#[derive(Clone, Copy)]
struct Cell {
    glyph: char,
    style: Style,
}

const BLANK: Cell = Cell {
    glyph: ' ',
    style: Style::new(),
};

/// Draws `chart` and `days` with times in `tz`; `span` names the span
/// (`24h`).
pub fn draw<Tz: TimeZone>(chart: &Chart, days: &[Day], span: &str, look: Look, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let glyphs = if look.unicode { &UNICODE } else { &ASCII };
    let paint = |style: Style, text: &str| look.palette.paint(style, text);
    let mut out = String::new();
    let forecast = chart
        .projection
        .map(|_| (forecast_style(), glyphs.forecast, "forecast"));
    let legend: Vec<String> = [
        Some((
            band_style(50.0, &chart.thresholds),
            glyphs.five_hour,
            "5-hour",
        )),
        Some((seven_day_style(), glyphs.seven_day, "7-day")),
        forecast,
        Some((dim(), glyphs.reset, "5-hour reset")),
    ]
    .into_iter()
    .flatten()
    .map(|(style, glyph, name)| format!("{} {name}", paint(style, &glyph.to_string())))
    .collect();
    let legend = legend.join("  ");
    let _ = writeln!(
        out,
        "{}, last {span} to {}   {legend}",
        chart.account,
        pace::clock(chart.now, chart.now, tz)
    );
    let grid = plot(chart, glyphs);
    let t = &chart.thresholds;
    for (row, cells) in grid.iter().enumerate() {
        let value = 100 - row * 10;
        let (scale, axis) = if row % 2 == 0 {
            (value.to_string(), glyphs.tick_axis)
        } else {
            (String::new(), glyphs.axis)
        };
        let mut line = format!("{scale:>3} {axis}");
        for cell in cells {
            line.push_str(&paint(cell.style, &cell.glyph.to_string()));
        }
        if row == row_of(t.resting_above) {
            line.push_str(&paint(resting_style(), " resting"));
        } else if row == row_of(t.burst_below) {
            line.push_str(&paint(active_style(), " active"));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    axis(&mut out, chart, glyphs, tz);
    if let Some(projection) = &chart.projection
        && let Some(words) = pace::at_this_pace(&projection.forecast, projection.reset, |at| {
            format!("at {}", pace::clock(at, chart.now, tz))
        })
    {
        let mark = paint(forecast_style(), &glyphs.forecast.to_string());
        // Two lines when one would pass 80 columns: the pace, then the marks.
        match words.split_once(": ") {
            Some((pace, marks)) if words.chars().count() > 76 => {
                let _ = writeln!(out, "{mark} {pace}:\n    {marks}");
            }
            _ => {
                let _ = writeln!(out, "{mark} {words}");
            }
        }
    }
    out.push('\n');
    day_lines(&mut out, days, look);
    out
}

/// The plot's cells, top row (100 %) first.
fn plot(chart: &Chart, glyphs: &Glyphs) -> Vec<Vec<Cell>> {
    let mut grid = vec![vec![BLANK; PLOT]; ROWS];
    let t = &chart.thresholds;
    for (threshold, style) in [
        (t.burst_below, active_style()),
        (t.resting_above, resting_style()),
    ] {
        for cell in &mut grid[row_of(threshold)] {
            *cell = Cell {
                glyph: glyphs.threshold,
                style,
            };
        }
    }
    for reset in &chart.resets {
        if let Some(col) = column(chart, *reset) {
            for row in &mut grid {
                if row[col].glyph == ' ' {
                    row[col] = Cell {
                        glyph: glyphs.reset,
                        style: dim(),
                    };
                }
            }
        }
    }
    let now = column(chart, chart.now).unwrap_or(PLOT);
    for col in 0..now {
        let (start, end) = bucket(chart, col);
        if let Some(value) = chart.seven_day.peak(start, end) {
            let cell = Cell {
                glyph: glyphs.seven_day,
                style: seven_day_style(),
            };
            put(&mut grid, row_of(value), col, cell);
        }
    }
    if let Some(projection) = &chart.projection {
        let ((t0, v0), (t1, v1)) = (projection.start, projection.end);
        let span = (t1 - t0).num_milliseconds().max(1) as f64;
        for col in now..PLOT {
            let (start, _) = bucket(chart, col);
            let at = start.max(t0);
            if at > t1 {
                break;
            }
            let share = (at - t0).num_milliseconds() as f64 / span;
            let cell = Cell {
                glyph: glyphs.forecast,
                style: forecast_style(),
            };
            put(&mut grid, row_of(v0 + (v1 - v0) * share), col, cell);
        }
    }
    let mut previous: Option<usize> = None;
    for col in 0..now {
        let (start, end) = bucket(chart, col);
        let Some(value) = chart.five_hour.peak(start, end) else {
            previous = None;
            continue;
        };
        let row = row_of(value);
        if let Some(before) = previous {
            let style = band_style(value.max(100.0 - before as f64 * 10.0), t);
            let between = row.min(before) + 1..row.max(before);
            for line in grid.get_mut(between).into_iter().flatten() {
                line[col] = Cell {
                    glyph: glyphs.rise,
                    style,
                };
            }
        }
        let cell = Cell {
            glyph: glyphs.five_hour,
            style: band_style(value, t),
        };
        put(&mut grid, row, col, cell);
        previous = Some(row);
    }
    grid
}

/// Sets the cell at `row` and `col` (both on the plot).
fn put(grid: &mut [Vec<Cell>], row: usize, col: usize, cell: Cell) {
    if let Some(place) = grid.get_mut(row).and_then(|line| line.get_mut(col)) {
        *place = cell;
    }
}

/// The time axis: a rule with ticks and reset marks, then the tick times
/// and "now" under it.
fn axis<Tz: TimeZone>(out: &mut String, chart: &Chart, glyphs: &Glyphs, tz: &Tz)
where
    Tz::Offset: std::fmt::Display,
{
    let mut rule = vec![glyphs.rule; PLOT];
    let mut labels = vec![' '; PLOT + 8];
    let place = |col: usize, text: &str, labels: &mut Vec<char>| {
        let len = text.chars().count();
        let start = col.min(PLOT + 8 - len);
        let after = (start + len + 1).min(labels.len());
        let free = labels[start.saturating_sub(1)..after]
            .iter()
            .all(|c| *c == ' ');
        if free {
            for (i, c) in text.chars().enumerate() {
                labels[start + i] = c;
            }
        }
    };
    if let Some(col) = column(chart, chart.now) {
        place(col, "now", &mut labels);
    }
    for (at, text) in ticks(chart, tz) {
        if let Some(col) = column(chart, at) {
            rule[col] = glyphs.tick;
            place(col, &text, &mut labels);
        }
    }
    for reset in &chart.resets {
        if let Some(col) = column(chart, *reset) {
            rule[col] = glyphs.reset_tick;
        }
    }
    let rule: String = rule.into_iter().collect();
    let labels: String = labels.into_iter().collect();
    let _ = writeln!(out, "    {}{rule}", glyphs.corner);
    let _ = writeln!(out, "     {}", labels.trim_end());
}

/// The moments to mark on the time axis, with their text: round hours for
/// short spans, midnights for a week, Mondays for a month.
fn ticks<Tz: TimeZone>(chart: &Chart, tz: &Tz) -> Vec<(DateTime<Utc>, String)>
where
    Tz::Offset: std::fmt::Display,
{
    let span = chart.until - chart.from;
    let (every_hours, format): (u32, &str) = if span <= TimeDelta::hours(8) {
        (1, "%H:%M")
    } else if span <= TimeDelta::hours(36) {
        (4, "%H:%M")
    } else if span <= TimeDelta::days(10) {
        (24, "%a")
    } else {
        (24 * 7, "%b %-d")
    };
    let first = chart.from.with_timezone(tz);
    let first = first.clone() - TimeDelta::seconds(i64::from(first.minute() * 60 + first.second()));
    (1..)
        .map(|hours| first.clone() + TimeDelta::hours(hours))
        .take_while(|at| at.with_timezone(&Utc) < chart.until)
        .filter(|at| {
            let local = at.naive_local();
            match every_hours {
                168 => local.hour() == 0 && local.weekday() == Weekday::Mon,
                24 => local.hour() == 0,
                n => local.hour() % n == 0,
            }
        })
        .map(|at| (at.with_timezone(&Utc), at.format(format).to_string()))
        .collect()
}

/// The lines under the chart: one per day.
fn day_lines(out: &mut String, days: &[Day], look: Look) {
    let _ = writeln!(
        out,
        "{:<12}{:>8}{:>10}{:>10}  mostly",
        "", "peak 5h", "resting", "at 100 %"
    );
    for day in days {
        let date = day.date.format("%a %b %e").to_string();
        let Some(peak) = day.peak_five_hour else {
            let _ = writeln!(
                out,
                "{date:<12}{:>8}",
                look.palette.paint(dim(), "no readings")
            );
            continue;
        };
        let resting = if day.resting > TimeDelta::zero() {
            duration(day.resting)
        } else {
            "-".to_owned()
        };
        let mostly = day
            .mostly
            .map_or_else(|| "-".to_owned(), |tier: Tier| look.palette.tier(tier));
        let _ = writeln!(
            out,
            "{date:<12}{:>8}{resting:>10}{:>10}  {mostly}",
            format!("{peak:.0}%"),
            day.full_windows,
        );
    }
}

/// The plot row of a utilization: 100 % on top, 0 % at the bottom.
fn row_of(value: f64) -> usize {
    let clamped = if value.is_finite() {
        value.clamp(0.0, 100.0)
    } else {
        0.0
    };
    ((100.0 - clamped) / 10.0).round() as usize
}

/// The plot column of a moment, when it lies on the chart.
fn column(chart: &Chart, at: DateTime<Utc>) -> Option<usize> {
    let whole = (chart.until - chart.from).num_milliseconds();
    let part = (at - chart.from).num_milliseconds();
    if whole <= 0 || part < 0 || part >= whole {
        return None;
    }
    Some((part as i128 * PLOT as i128 / whole as i128) as usize)
}

/// The moments a column covers, from its start to the next one's.
fn bucket(chart: &Chart, col: usize) -> (DateTime<Utc>, DateTime<Utc>) {
    let whole = (chart.until - chart.from).num_milliseconds();
    let at = |c: usize| chart.from + TimeDelta::milliseconds(whole * c as i64 / PLOT as i64);
    (at(col), at(col + 1))
}

/// Green in burst, yellow once active, red past the resting threshold.
fn band_style(value: f64, thresholds: &Thresholds) -> Style {
    let color = if value > thresholds.resting_above {
        AnsiColor::Red
    } else if value >= thresholds.burst_below {
        AnsiColor::Yellow
    } else {
        AnsiColor::Green
    };
    Style::new().fg_color(Some(color.into()))
}

fn active_style() -> Style {
    Style::new()
        .fg_color(Some(AnsiColor::Yellow.into()))
        .dimmed()
}

fn resting_style() -> Style {
    Style::new().fg_color(Some(AnsiColor::Red.into())).dimmed()
}

fn seven_day_style() -> Style {
    Style::new().fg_color(Some(AnsiColor::Blue.into()))
}

fn forecast_style() -> Style {
    Style::new().fg_color(Some(AnsiColor::Magenta.into()))
}

fn dim() -> Style {
    Style::new().dimmed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{days, fixture};
    use claude_quota_history::Row;

    fn drawn(look: Look, chart: &Chart) -> String {
        let rows = fixture::rows();
        let mine: Vec<&Row> = rows.iter().collect();
        let days = days::days(&mine, chart.from, chart.now, &Utc);
        draw(chart, &days, "24h", look, &Utc)
    }

    const PLAIN: Look = Look {
        palette: Palette::plain(),
        unicode: true,
    };

    #[test]
    fn a_day_in_the_terminal() {
        let text = drawn(PLAIN, &fixture::chart());
        insta::assert_snapshot!(text);
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} columns: {line}",
                line.chars().count()
            );
        }
    }

    #[test]
    fn a_day_in_ascii() {
        let look = Look {
            unicode: false,
            ..PLAIN
        };
        let text = drawn(look, &fixture::chart());
        assert!(text.is_ascii(), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn without_the_daemon_there_is_no_forecast_and_the_bands_are_the_defaults() {
        let chart = Chart::new(
            "default",
            &fixture::rows(),
            fixture::from(),
            fixture::now(),
            None,
            None,
        );
        let text = drawn(PLAIN, &chart);
        assert!(
            !text.contains('○') && !text.contains("at this pace"),
            "{text}"
        );
        assert!(
            text.contains(" resting") && text.contains(" active"),
            "{text}"
        );
    }

    #[test]
    fn colors_follow_the_bands_and_stay_off_when_asked() {
        let colored = Look {
            palette: Palette::colored(),
            unicode: true,
        };
        let text = drawn(colored, &fixture::chart());
        let red = format!("{}●", band_style(90.0, &Thresholds::default()));
        let green = format!("{}●", band_style(10.0, &Thresholds::default()));
        assert!(text.contains(&red) && text.contains(&green), "{text}");
        assert!(!drawn(PLAIN, &fixture::chart()).contains('\u{1b}'));
    }
}

//! The chart as a standalone SVG, drawn with plotters' SVG backend: the
//! same [`Chart`] the terminal shows, with the tier bands filled, the
//! 5-hour resets and now as vertical lines, and the forecast dashed.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use plotters::prelude::*;

use super::chart::Chart;
use crate::pace;

/// The picture's size in pixels.
const SIZE: (u32, u32) = (960, 480);

/// The 5-hour window's line.
pub const FIVE_HOUR: RGBColor = RGBColor(0xD9, 0x48, 0x1E);
/// The 7-day window's line.
pub const SEVEN_DAY: RGBColor = RGBColor(0x1F, 0x6F, 0xB4);
/// The forecast's dashes.
const FORECAST: RGBColor = RGBColor(0x9C, 0x27, 0xB0);
/// Resets and now.
const GUIDE: RGBColor = RGBColor(0x80, 0x80, 0x80);

/// `chart` as SVG text, with times on the clock of `tz`; `span` names the
/// span (`24h`).
pub fn draw<Tz: TimeZone>(chart: &Chart, span: &str, tz: &Tz) -> anyhow::Result<String>
where
    Tz::Offset: std::fmt::Display,
{
    let mut svg = String::new();
    plot(&mut svg, chart, span, tz).map_err(|err| anyhow::anyhow!("cannot draw the SVG: {err}"))?;
    Ok(svg)
}

/// Hours from now (negative in the past): the x axis.
fn hours(chart: &Chart, at: DateTime<Utc>) -> f64 {
    (at - chart.now).num_milliseconds() as f64 / 3_600_000.0
}

fn plot<Tz: TimeZone>(
    svg: &mut String,
    chart: &Chart,
    span: &str,
    tz: &Tz,
) -> Result<(), Box<dyn std::error::Error>>
where
    Tz::Offset: std::fmt::Display,
{
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let x = |at: DateTime<Utc>| hours(chart, at);
    let (left, right) = (x(chart.from), x(chart.until));
    let caption = format!(
        "{}: 5-hour and 7-day utilization, last {span} to {}",
        chart.account,
        pace::clock(chart.now, chart.now, tz)
    );
    let mut area = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(left..right, 0.0..100.0)?;
    let label = |h: &f64| {
        let at = chart.now + TimeDelta::milliseconds((h * 3_600_000.0) as i64);
        pace::clock(at, chart.now, tz)
    };
    area.configure_mesh()
        .x_labels(8)
        .x_label_formatter(&label)
        .y_labels(11)
        .y_label_formatter(&|v| format!("{v:.0} %"))
        .disable_x_mesh()
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let t = &chart.thresholds;
    let bands = [
        (0.0, t.burst_below, GREEN),
        (t.burst_below, t.resting_above, YELLOW),
        (t.resting_above, 100.0, RED),
    ];
    area.draw_series(bands.into_iter().map(|(low, high, color)| {
        Rectangle::new([(left, low), (right, high)], color.mix(0.08).filled())
    }))?;
    for at in chart.resets.iter().copied().chain([chart.now]) {
        area.draw_series(DashedLineSeries::new(
            [(x(at), 0.0), (x(at), 100.0)],
            4,
            4,
            GUIDE.stroke_width(1),
        ))?;
    }
    for (series, name, color) in [
        (&chart.seven_day, "7-day", SEVEN_DAY),
        (&chart.five_hour, "5-hour", FIVE_HOUR),
    ] {
        for (n, run) in series.runs().into_iter().enumerate() {
            let points = run.into_iter().map(|(at, v)| (x(at), v.min(100.0)));
            let drawn = area.draw_series(LineSeries::new(points, color.stroke_width(2)))?;
            if n == 0 {
                drawn.label(name).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
        }
    }
    if let Some(projection) = &chart.projection {
        let ((t0, v0), (t1, v1)) = (projection.start, projection.end);
        area.draw_series(DashedLineSeries::new(
            [(x(t0), v0), (x(t1), v1)],
            6,
            4,
            FORECAST.stroke_width(2),
        ))?
        .label("forecast")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], FORECAST.stroke_width(2)));
    }
    area.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(GUIDE)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::fixture;

    /// Every `<polyline>` of `color`, as its points.
    fn lines(svg: &roxmltree::Document, color: RGBColor) -> Vec<Vec<(f64, f64)>> {
        let stroke = format!("#{:02X}{:02X}{:02X}", color.0, color.1, color.2);
        svg.descendants()
            .filter(|node| node.has_tag_name("polyline"))
            .filter(|node| node.attribute("stroke") == Some(stroke.as_str()))
            .map(|node| {
                node.attribute("points")
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(|pair| {
                        let (x, y) = pair.split_once(',').expect("x,y");
                        (x.parse().expect("x"), y.parse().expect("y"))
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_svg_is_xml_and_holds_both_series_and_the_forecast() {
        let chart = fixture::chart();
        let text = draw(&chart, "24h", &Utc).unwrap();
        let svg = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
        let root = svg.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.attribute("width"), Some("960"));
        // Every reading of each series is a vertex of its lines (legend
        // samples aside), the 5-hour window's resets drawn as drops.
        for (series, color) in [(&chart.five_hour, FIVE_HOUR), (&chart.seven_day, SEVEN_DAY)] {
            let drawn: usize = lines(&svg, color).iter().map(Vec::len).sum();
            let legend = 2;
            let expected: usize = series.runs().iter().map(Vec::len).sum();
            assert_eq!(drawn, expected + legend, "{text}");
        }
        // The 5-hour window's peak (100 %) is drawn higher up than the
        // 7-day window ever is (SVG's y grows downwards).
        let top = |color| {
            lines(&svg, color)
                .iter()
                .flatten()
                .map(|(_, y)| *y)
                .fold(f64::INFINITY, f64::min)
        };
        assert!(top(FIVE_HOUR) < top(SEVEN_DAY));
        let texts: Vec<&str> = svg
            .descendants()
            .filter(|node| node.has_tag_name("text"))
            .filter_map(|node| node.text())
            .map(str::trim)
            .collect();
        for label in ["5-hour", "7-day", "forecast"] {
            assert!(texts.contains(&label), "{label} in {texts:?}");
        }
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("default: 5-hour and 7-day")),
            "{texts:?}"
        );
    }

    #[test]
    fn an_account_name_cannot_break_the_xml() {
        let chart = Chart::new(
            "<work> & \"home\"",
            &[],
            fixture::from(),
            fixture::now(),
            None,
            Some(&fixture::account()),
        );
        let text = draw(&chart, "24h", &Utc).unwrap();
        let svg = roxmltree::Document::parse(&text).expect("well-formed");
        assert!(
            svg.descendants()
                .filter_map(|node| node.text())
                .any(|t| t.trim().starts_with("<work> & \"home\": 5-hour")),
            "{text}"
        );
    }

    /// The README's picture, `docs/history.svg`, is the fixture's day as
    /// `--svg` draws it; `UPDATE_DOCS=1` redraws it after a change.
    #[test]
    fn the_picture_in_the_docs_is_what_the_fixture_draws() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/history.svg");
        let drawn = draw(&fixture::chart(), "24h", &Utc).unwrap();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(&path, &drawn).expect("write docs/history.svg");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == drawn,
            "docs/history.svg is not what the chart draws now; rerun with UPDATE_DOCS=1"
        );
    }
}

//! The true usage of the simulated day: the 5-hour windows one after
//! another, each from its first use to its reset, and the 7-day window's
//! climb. Utilization is scripted at a few hours and linear in between, so
//! the truth is known at every instant, and every source (the usage API,
//! the status line, response headers) reports it as of its own moment.

use claude_quota::Window;

use crate::clock::SimClock;

/// Seconds in an hour, for plans written in hours.
pub const HOUR: f64 = 3600.0;

/// One window's life: its utilization at scripted hours of the day (the
/// first opens the window) and the hour it resets.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// (hour, percent), hours ascending; flat after the last.
    pub points: &'static [(f64, f64)],
    /// The hour the window resets: it is over from then on.
    pub resets_at_h: f64,
}

impl Span {
    /// The window at `hour`, if it is open then.
    fn at(&self, hour: f64) -> Option<TrueWindow> {
        let &(opens, _) = self.points.first()?;
        if hour < opens || hour >= self.resets_at_h {
            return None;
        }
        let after = self.points.partition_point(|&(h, _)| h <= hour);
        let (h0, u0) = self.points[after - 1];
        let utilization = match self.points.get(after) {
            Some(&(h1, u1)) => u0 + (u1 - u0) * (hour - h0) / (h1 - h0),
            None => u0,
        };
        Some(TrueWindow {
            utilization,
            resets_at: Some(self.resets_at_h * HOUR),
        })
    }
}

/// The day's true usage.
#[derive(Debug, Clone, Copy)]
pub struct Curve {
    /// The 5-hour windows in order; between them none is open (0 %).
    pub five_hour: &'static [Span],
    /// The 7-day window, open all day.
    pub seven_day: Span,
}

/// A window as it truly is at one moment, on the simulated clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrueWindow {
    /// Percent used.
    pub utilization: f64,
    /// The simulated second it resets, if a window is open.
    pub resets_at: Option<f64>,
}

impl TrueWindow {
    /// As a source reports it: the reset on the wall clock.
    fn reported(self, clock: &SimClock) -> Window {
        Window::new(self.utilization, self.resets_at.map(|t| clock.wall(t)))
    }
}

/// Both windows at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// The 5-hour window.
    pub five_hour: TrueWindow,
    /// The 7-day window.
    pub seven_day: TrueWindow,
}

impl Usage {
    /// The windows as every source reports them (5-hour, 7-day).
    pub fn reported(&self, clock: &SimClock) -> (Window, Window) {
        (
            self.five_hour.reported(clock),
            self.seven_day.reported(clock),
        )
    }
}

impl Curve {
    /// The usage at simulated second `t`; before the day, as it begins.
    pub fn at(&self, t: f64) -> Usage {
        let hour = t.max(0.0) / HOUR;
        let closed = TrueWindow {
            utilization: 0.0,
            resets_at: None,
        };
        Usage {
            five_hour: self
                .five_hour
                .iter()
                .find_map(|span| span.at(hour))
                .unwrap_or(closed),
            seven_day: self.seven_day.at(hour).unwrap_or(closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURVE: Curve = Curve {
        five_hour: &[
            Span {
                points: &[(0.0, 10.0), (1.0, 60.0)],
                resets_at_h: 2.0,
            },
            Span {
                points: &[(3.0, 0.0), (4.0, 20.0)],
                resets_at_h: 8.0,
            },
        ],
        seven_day: Span {
            points: &[(0.0, 40.0)],
            resets_at_h: 50.0,
        },
    };

    #[test]
    fn utilization_is_linear_between_points_and_flat_after() {
        let at = |h: f64| CURVE.at(h * HOUR).five_hour;
        assert_eq!(at(0.5).utilization, 35.0);
        assert_eq!(at(1.5).utilization, 60.0);
        assert_eq!(at(1.5).resets_at, Some(2.0 * HOUR));
        assert_eq!(at(-1.0), at(0.0), "before the day, as it begins");
        assert_eq!(CURVE.at(5.0 * HOUR).seven_day.utilization, 40.0);
    }

    #[test]
    fn a_window_is_over_at_its_reset_and_none_is_open_until_the_next() {
        let at = |h: f64| CURVE.at(h * HOUR).five_hour;
        let closed = TrueWindow {
            utilization: 0.0,
            resets_at: None,
        };
        assert_eq!(at(2.0), closed);
        assert_eq!(at(2.9), closed);
        assert_eq!(at(3.5).utilization, 10.0);
        assert_eq!(at(3.5).resets_at, Some(8.0 * HOUR));
    }
}

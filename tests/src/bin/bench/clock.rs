//! Simulated time: the day runs `scale` times faster than the real one, and
//! each of its moments has one real instant (what the router's timers wait
//! for and the truth is read at) and one wall-clock time (what `resets_at`
//! says to the daemon, which reads resets and forecasts on the wall clock).

use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// The simulated day's clock, shared by everything in one run.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    /// The real instant the day begins.
    start: Instant,
    /// The same moment on the wall clock: a whole second.
    wall_start: DateTime<Utc>,
    /// Simulated seconds per real second.
    scale: f64,
}

impl SimClock {
    /// A day beginning at the next whole wall-clock second at least `lead`
    /// from now. Rate-limit headers carry resets in whole seconds, so a
    /// reset a whole number of real seconds into the day reaches the daemon
    /// exactly, whichever source carries it.
    pub fn starting_in(lead: Duration, scale: f64) -> SimClock {
        let (now, wall_now) = (Instant::now(), Utc::now());
        let earliest = wall_now + TimeDelta::from_std(lead).expect("a short lead");
        let second = TimeDelta::seconds(1);
        let truncated = earliest
            .duration_trunc(second)
            .expect("a second divides the clock");
        let wall_start = if truncated < earliest {
            truncated + second
        } else {
            truncated
        };
        let wait = (wall_start - wall_now)
            .to_std()
            .expect("the start is ahead");
        SimClock {
            start: now + wait,
            wall_start,
            scale,
        }
    }

    /// The simulated second of the real instant `at` (negative before the
    /// day begins).
    pub fn sim(&self, at: Instant) -> f64 {
        match at.checked_duration_since(self.start) {
            Some(after) => self.simulated(after),
            None => -self.simulated(self.start - at),
        }
    }

    /// The real instant of simulated second `t` (`t` ≥ 0).
    pub fn instant(&self, t: f64) -> Instant {
        self.start + self.real(t)
    }

    /// The wall-clock time of simulated second `t` (`t` ≥ 0), to the
    /// nanosecond.
    pub fn wall(&self, t: f64) -> DateTime<Utc> {
        let nanos = (t / self.scale * 1e9).round() as i64;
        self.wall_start + TimeDelta::nanoseconds(nanos)
    }

    /// A real duration in simulated seconds.
    pub fn simulated(&self, real: Duration) -> f64 {
        real.as_secs_f64() * self.scale
    }

    /// The real duration of `t` simulated seconds (`t` ≥ 0).
    pub fn real(&self, t: f64) -> Duration {
        Duration::from_secs_f64(t / self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_begins_on_a_whole_second_and_both_clocks_agree() {
        let clock = SimClock::starting_in(Duration::from_millis(10), 300.0);
        assert_eq!(clock.wall(0.0).timestamp_subsec_nanos(), 0);
        assert_eq!(
            clock.wall(18_000.0) - clock.wall(0.0),
            TimeDelta::minutes(1)
        );
        assert!((clock.sim(clock.instant(600.0)) - 600.0).abs() < 1e-6);
        assert!(clock.sim(Instant::now()) < 0.0, "the day is ahead");
        assert_eq!(clock.real(30.0), Duration::from_millis(100));
    }
}

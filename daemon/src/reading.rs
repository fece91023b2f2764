//! A usage reading: the windows as measured at one moment, from one source,
//! and when the daemon received it on its monotonic clock.
//!
//! Readings are ordered and aged by that clock (docs/decisions.md, "Defences"): at
//! arrival `as_of` becomes an age, and from then on only the monotonic
//! clock counts, so a wall-clock step (NTP, resume, VM restore) neither
//! freezes the tier on an old reading nor revives one. `as_of` is for
//! display.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use claude_quota_proto::{ExtraUsage, ReadingSource, ScopedCap, Window};
use serde::{Deserialize, Serialize};

/// What the daemon knows of the subscription's usage at one moment. Any
/// part may be missing: no 5-hour window means none is open (nothing used
/// in the last five hours), which the policy reads as an idle window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The rolling 5-hour window; `None` when no session window is open.
    pub five_hour: Option<Window>,
    /// The rolling 7-day window, when reported.
    pub seven_day: Option<Window>,
    /// The per-model weekly caps, when reported; a reading saved before
    /// they were known has none.
    #[serde(default)]
    pub weekly_scoped: Vec<ScopedCap>,
    /// Extra usage (money beyond the windows), when reported.
    #[serde(default)]
    pub extra_usage: Option<ExtraUsage>,
    /// Whether `extra_usage` is the plan's spend limit (`spend` in the
    /// usage reply) rather than optional overage credits: on a plan with
    /// no usage windows, the spend limit decides the tier.
    #[serde(default)]
    pub spend_limit: bool,
    /// The binding window the rate limiter named, from response headers.
    #[serde(default)]
    pub representative_claim: Option<String>,
    /// When it was taken, by the wall clock; never later than its arrival.
    pub as_of: DateTime<Utc>,
    /// Where it came from.
    pub source: ReadingSource,
    /// When the daemon received it; not saved (an `Instant` means nothing
    /// to another process), set again from `as_of` when loaded.
    #[serde(skip)]
    pub received: Received,
}

/// A reading's arrival on the monotonic clock, and how old it was then.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Received {
    /// When it arrived.
    pub at: Instant,
    /// Its age on arrival: the wall-clock now less `as_of`, at least zero.
    pub age: Duration,
}

impl Default for Received {
    /// Arrived just now, brand new; [`Reading::arrived`] sets the truth.
    fn default() -> Self {
        Received {
            at: Instant::now(),
            age: Duration::ZERO,
        }
    }
}

impl Reading {
    /// Marks the reading as received now, when the wall clock reads
    /// `wall_now`: an `as_of` in the future counts as now (docs/decisions.md, "Defences"),
    /// one in the past becomes the age on arrival.
    pub fn arrived(mut self, wall_now: DateTime<Utc>) -> Self {
        self.as_of = self.as_of.min(wall_now);
        self.received = Received {
            at: Instant::now(),
            age: (wall_now - self.as_of).to_std().unwrap_or_default(),
        };
        self
    }

    /// Its age at `now` on the monotonic clock.
    pub fn age(&self, now: Instant) -> Duration {
        self.received
            .age
            .saturating_add(now.saturating_duration_since(self.received.at))
    }

    /// Whether it was taken after `other`, by the monotonic clock.
    pub fn is_newer_than(&self, other: &Reading, now: Instant) -> bool {
        self.age(now) < other.age(now)
    }

    /// The weekly cap of model `family`, matched case-insensitively, as the
    /// API spells families differently in its two reply forms.
    pub fn cap(&self, family: &str) -> Option<&ScopedCap> {
        self.weekly_scoped
            .iter()
            .find(|cap| cap.model.eq_ignore_ascii_case(family))
    }
}

impl Reading {
    /// The resets that change the assessment by themselves: the two
    /// windows' and the cloud family's cap.
    pub fn resets(&self, cloud_family: Option<&str>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let cap = cloud_family.and_then(|family| self.cap(family));
        [
            self.five_hour.and_then(|w| w.resets_at),
            self.seven_day.and_then(|w| w.resets_at),
            cap.and_then(|cap| cap.resets_at),
        ]
        .into_iter()
        .flatten()
    }
}

#[cfg(test)]
impl Reading {
    /// A reading from the API of these windows and nothing else, taken at
    /// `now` and `age` old then: what the policy's tests reason about.
    pub fn of_windows(
        five_hour: Option<Window>,
        seven_day: Option<Window>,
        now: crate::policy::Now,
        age: Duration,
    ) -> Reading {
        Reading {
            five_hour,
            seven_day,
            weekly_scoped: Vec::new(),
            extra_usage: None,
            spend_limit: false,
            representative_claim: None,
            as_of: now.wall,
            source: ReadingSource::Api,
            received: Received {
                at: now.monotonic,
                age,
            },
        }
    }
}

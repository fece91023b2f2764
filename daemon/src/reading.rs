//! A usage reading: the windows as measured at one moment, from one source.

use chrono::{DateTime, Utc};
use claude_quota_proto::{ReadingSource, Window};
use serde::{Deserialize, Serialize};

/// What the daemon knows of the subscription's usage at one moment. The
/// 5-hour window is required: without it no tier can be named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The rolling 5-hour window.
    pub five_hour: Window,
    /// The rolling 7-day window, when reported.
    pub seven_day: Option<Window>,
    /// The 7-day Opus window, when reported.
    pub seven_day_opus: Option<Window>,
    /// The 7-day Sonnet window, when reported.
    pub seven_day_sonnet: Option<Window>,
    /// When it was taken.
    pub as_of: DateTime<Utc>,
    /// Where it came from.
    pub source: ReadingSource,
}

impl Reading {
    /// Age of the reading at `now`, never negative (clocks can step back).
    pub fn age(&self, now: DateTime<Utc>) -> chrono::TimeDelta {
        (now - self.as_of).max(chrono::TimeDelta::zero())
    }
}

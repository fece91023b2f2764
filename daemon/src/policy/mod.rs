//! The policy (docs/policy.md): everything the daemon answers, as one pure
//! function of what it knows. [`verdict`] takes the state, the config, what
//! Ollama holds and the moment, and returns a [`Verdict`] from which every
//! `should_use_cloud`, `select_model`, `route`, status and notification is
//! read, so no two answers can rest on different views of the state.
//!
//! - [`tier`]: which tier a reading puts the subscription in, and why.
//! - [`pace`]: the opt-in rule that saves the cloud early at a fast pace.
//! - [`table`]: the answer table, tier × task value and complexity.
//! - [`local_choice`]: which local model to name, given what is pulled.
//! - [`plan`]: when the reading could next change an answer, so when to poll.
//! - [`verdict`](mod@verdict): the verdict and the replies read from it.
//! - [`accounts`]: every account's verdict, and which account a question
//!   goes to.
//!
//! Nothing here does I/O or reads the clock, so every rule is tested as a
//! table, and the socket server only reads answers off a verdict.

mod accounts;
mod local_choice;
mod pace;
mod plan;
mod table;
mod tier;
mod verdict;

use std::time::Instant;

use chrono::{DateTime, Utc};

pub use accounts::{Question, UnknownAccount, Verdicts, verdicts};
pub use plan::{contradicts_model, next_poll_in};
pub use verdict::{Verdict, position, verdict};

/// A per-model weekly cap of `model` at `utilization`, nothing else known:
/// what the policy's tests put in a reading.
#[cfg(test)]
pub fn cap(model: &str, utilization: f64) -> claude_quota_proto::ScopedCap {
    claude_quota_proto::ScopedCap {
        model: model.into(),
        utilization,
        resets_at: None,
        severity: None,
        status: None,
    }
}

/// One moment on both clocks: the monotonic one orders and ages readings,
/// the wall one places resets and forecasts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Now {
    /// The wall clock.
    pub wall: DateTime<Utc>,
    /// The monotonic clock.
    pub monotonic: Instant,
}

impl Now {
    /// This moment.
    pub fn current() -> Self {
        Now {
            wall: Utc::now(),
            monotonic: Instant::now(),
        }
    }

    /// The monotonic instant at wall time `at` (in the future), as the
    /// clocks stand now; `None` when it is too far to represent.
    pub fn instant_at(&self, at: DateTime<Utc>) -> Option<Instant> {
        let ahead = (at - self.wall).to_std().unwrap_or_default();
        self.monotonic.checked_add(ahead)
    }
}

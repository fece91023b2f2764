//! How long to wait before the next poll: the interval while all is well,
//! doubling with jitter after each fault up to a cap, and never less than
//! what a 429's `Retry-After` asked for.

use std::time::Duration;

/// The poll schedule's memory of recent faults.
#[derive(Debug, Clone)]
pub struct Backoff {
    interval: Duration,
    cap: Duration,
    /// Faults since the last success.
    failures: u32,
}

impl Backoff {
    /// A schedule polling every `interval`, backing off to at most `cap`.
    pub fn new(interval: Duration, cap: Duration) -> Self {
        Backoff {
            interval,
            cap: cap.max(interval),
            failures: 0,
        }
    }

    /// Takes a new interval and cap (after a config reload), keeping the
    /// count of faults.
    pub fn reconfigure(&mut self, interval: Duration, cap: Duration) {
        self.interval = interval;
        self.cap = cap.max(interval);
    }

    /// Takes the count of faults saved before a restart, so the backoff
    /// goes on from where it was.
    pub fn restore(&mut self, failures: u32) {
        self.failures = failures;
    }

    /// Faults since the last success, to save with the cooldown.
    pub fn faults(&self) -> u32 {
        self.failures
    }

    /// The delay after a good poll: back to the plain interval.
    pub fn success(&mut self) -> Duration {
        self.failures = 0;
        self.interval
    }

    /// The delay after a fault: `interval × 2^failures`, capped, less up to
    /// 20 % of jitter so many daemons do not retry in step; at least
    /// `retry_after` when the server named one.
    pub fn failure(&mut self, retry_after: Option<Duration>) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let doubled = self
            .interval
            .saturating_mul(2u32.saturating_pow(self.failures.min(16)));
        let ceiling = doubled.min(self.cap);
        let jittered = ceiling.mul_f64(1.0 - 0.2 * fastrand::f64());
        jittered
            .max(self.interval)
            .max(retry_after.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_double_the_delay_up_to_the_cap_and_success_resets_it() {
        let interval = Duration::from_secs(30);
        let cap = Duration::from_secs(600);
        let mut backoff = Backoff::new(interval, cap);
        let mut previous = interval;
        for n in 1..=10u32 {
            let delay = backoff.failure(None);
            let ceiling = (interval * 2u32.pow(n)).min(cap);
            assert!(
                delay <= ceiling && delay >= ceiling.mul_f64(0.8),
                "{n}: {delay:?}"
            );
            assert!(
                delay >= previous.mul_f64(0.8),
                "{n}: {delay:?} after {previous:?}"
            );
            previous = delay;
        }
        assert!(previous >= cap.mul_f64(0.8));
        assert_eq!(backoff.success(), interval);
        assert!(backoff.failure(None) <= interval * 2);
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(600));
        assert_eq!(
            backoff.failure(Some(Duration::from_secs(20))),
            Duration::from_secs(20)
        );
    }
}

//! The score of a day's answers: each of the router's questions, its
//! answer beside the truth at that instant, and the wrong stretches.

use crate::truth::Answer;

/// The answers of one run, compared as they come.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    /// Questions asked.
    pub questions: u64,
    /// Answers that differ from the truth in tier or in the cloud answer.
    pub wrong: u64,
    /// Of those, the ones that sent a task to the cloud the truth kept
    /// local: the costly kind.
    pub cloud_when_local: u64,
    /// Wrong answers in a row so far.
    run: u64,
    /// The most wrong answers in a row.
    longest_run: u64,
}

impl Tally {
    /// Scores one answer against the truth at the instant it was given.
    pub fn record(&mut self, given: Answer, truth: Answer) {
        self.questions += 1;
        if given == truth {
            self.run = 0;
            return;
        }
        self.wrong += 1;
        if given.use_cloud && !truth.use_cloud {
            self.cloud_when_local += 1;
        }
        self.run += 1;
        self.longest_run = self.longest_run.max(self.run);
    }

    /// The router stops asking: a wrong stretch ends with its questions.
    pub fn pause(&mut self) {
        self.run = 0;
    }

    /// The share of questions answered wrong, 0 to 1.
    pub fn wrong_share(&self) -> f64 {
        if self.questions == 0 {
            return 0.0;
        }
        self.wrong as f64 / self.questions as f64
    }

    /// The longest stretch of wrong answers, in simulated seconds, when a
    /// question comes every `every` seconds: each wrong answer stood until
    /// the next question, so a lone one counts `every`.
    pub fn longest_wrong_s(&self, every: f64) -> f64 {
        self.longest_run as f64 * every
    }
}

#[cfg(test)]
mod tests {
    use claude_quota::Tier;

    use super::*;

    const BURST: Answer = Answer {
        tier: Tier::Burst,
        use_cloud: true,
    };
    const ACTIVE: Answer = Answer {
        tier: Tier::Active,
        use_cloud: false,
    };
    const UNKNOWN: Answer = Answer {
        tier: Tier::Unknown,
        use_cloud: false,
    };

    #[test]
    fn a_wrong_tier_or_cloud_answer_counts_and_the_costly_kind_is_named() {
        let mut tally = Tally::default();
        tally.record(BURST, BURST);
        tally.record(BURST, ACTIVE);
        tally.record(UNKNOWN, ACTIVE);
        tally.record(ACTIVE, ACTIVE);
        assert_eq!(
            (tally.questions, tally.wrong, tally.cloud_when_local),
            (4, 2, 1)
        );
        assert_eq!(tally.wrong_share(), 0.5);
        assert_eq!(Tally::default().wrong_share(), 0.0);
    }

    #[test]
    fn the_longest_stretch_is_the_most_wrong_answers_in_a_row() {
        let mut tally = Tally::default();
        for truth in [ACTIVE, ACTIVE, BURST, ACTIVE, ACTIVE, ACTIVE, BURST] {
            tally.record(BURST, truth);
        }
        assert_eq!(tally.longest_wrong_s(10.0), 30.0);
        assert_eq!(tally.wrong, 5);
    }

    #[test]
    fn a_stretch_ends_when_the_router_stops_asking() {
        let mut tally = Tally::default();
        tally.record(BURST, ACTIVE);
        tally.record(BURST, ACTIVE);
        tally.pause();
        tally.record(BURST, ACTIVE);
        assert_eq!(tally.longest_wrong_s(10.0), 20.0);
    }
}

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
    /// Every run of wrong answers, in order.
    pub stretches: Vec<Stretch>,
    /// Whether the last answer was wrong (its stretch goes on).
    in_stretch: bool,
}

/// Wrong answers in a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stretch {
    /// When the first came, in simulated seconds.
    pub from: f64,
    /// How many.
    pub answers: u64,
    /// The first one.
    pub given: Answer,
    /// What the truth said then.
    pub truth: Answer,
}

impl Tally {
    /// Scores the answer `given` at simulated second `at` against the
    /// truth at that instant.
    pub fn record(&mut self, at: f64, given: Answer, truth: Answer) {
        self.questions += 1;
        if given == truth {
            self.in_stretch = false;
            return;
        }
        self.wrong += 1;
        if given.use_cloud && !truth.use_cloud {
            self.cloud_when_local += 1;
        }
        match self.stretches.last_mut() {
            Some(stretch) if self.in_stretch => stretch.answers += 1,
            _ => self.stretches.push(Stretch {
                from: at,
                answers: 1,
                given,
                truth,
            }),
        }
        self.in_stretch = true;
    }

    /// The router stops asking: a wrong stretch ends with its questions.
    pub fn pause(&mut self) {
        self.in_stretch = false;
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
        let longest = self.stretches.iter().map(|s| s.answers).max();
        longest.unwrap_or(0) as f64 * every
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
        tally.record(0.0, BURST, BURST);
        tally.record(10.0, BURST, ACTIVE);
        tally.record(20.0, UNKNOWN, ACTIVE);
        tally.record(30.0, ACTIVE, ACTIVE);
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
        for (at, truth) in [ACTIVE, ACTIVE, BURST, ACTIVE, ACTIVE, ACTIVE, BURST]
            .into_iter()
            .enumerate()
        {
            tally.record(at as f64 * 10.0, BURST, truth);
        }
        assert_eq!(tally.longest_wrong_s(10.0), 30.0);
        assert_eq!(tally.wrong, 5);
        let runs: Vec<(f64, u64)> = tally
            .stretches
            .iter()
            .map(|s| (s.from, s.answers))
            .collect();
        assert_eq!(runs, [(0.0, 2), (30.0, 3)]);
        assert_eq!(Tally::default().longest_wrong_s(10.0), 0.0);
    }

    #[test]
    fn a_stretch_ends_when_the_router_stops_asking() {
        let mut tally = Tally::default();
        tally.record(0.0, BURST, ACTIVE);
        tally.record(10.0, BURST, ACTIVE);
        tally.pause();
        tally.record(3600.0, BURST, ACTIVE);
        assert_eq!(tally.longest_wrong_s(10.0), 20.0);
        assert_eq!(tally.stretches.len(), 2);
    }
}

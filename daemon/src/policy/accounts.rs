//! Several accounts, one answer (docs/policy.md, "Several accounts"): each
//! account's verdict, and which account a question goes to. A question
//! naming an account is answered for that account alone; one naming none
//! goes to the preferred account (lowest `priority`) whose verdict sends
//! this task to the cloud, else to the preferred account. So a task worth
//! the cloud spends the first subscription with headroom, and a task that
//! stays local is answered by the account the user prefers.

use claude_quota_credentials::Account;
use claude_quota_proto::{LocalInfo, Reply, TaskComplexity, TaskValue};

use super::{Now, Verdict, verdict};
use crate::config::Config;
use crate::state::{Snapshot, State};

/// A question a router asks before a model call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    /// `route`: where a task of this value and complexity goes.
    Route(TaskValue, TaskComplexity),
    /// `should_use_cloud`: whether a task of this value may go to the cloud.
    Decision(TaskValue),
    /// `select_model`: the model for a task of this complexity.
    Model(TaskComplexity),
}

impl Question {
    /// The question whose answer `status` shows at its top level: where a
    /// `high` task goes now.
    pub const HIGH_TASK: Question = Question::Route(TaskValue::High, TaskComplexity::High);
}

/// A question named an account that is not configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} matches no configured account (configured: {names})")]
pub struct UnknownAccount {
    /// What was asked for.
    pub what: String,
    /// The accounts there are.
    pub names: String,
}

/// Every account's verdict at one moment, in order of preference.
#[derive(Debug, Clone)]
pub struct Verdicts {
    accounts: Vec<(Account, Verdict)>,
    /// Whether accounts are configured, so that answers name theirs.
    labelled: bool,
}

/// The verdict on every account of `state` (an empty state is one unknown
/// account, `default`), as in [`verdict`]; answers name their account when
/// accounts are configured (`[[accounts]]`), and are as they always were
/// when not.
pub fn verdicts(state: &State, config: &Config, local: &LocalInfo, now: Now) -> Verdicts {
    let labelled = !config.accounts.is_empty();
    let mut accounts: Vec<(Account, Verdict)> = state
        .accounts
        .iter()
        .map(|held| {
            let verdict = verdict(&held.snapshot, config, local, now);
            (held.account.clone(), verdict)
        })
        .collect();
    if accounts.is_empty() {
        let verdict = verdict(&Snapshot::default(), config, local, now);
        accounts.push((Account::implicit(), verdict));
    }
    Verdicts { accounts, labelled }
}

impl Verdicts {
    /// The answer to `question` for the account named `account`, or for
    /// the account it goes to.
    pub fn answer(
        &self,
        account: Option<&str>,
        question: Question,
    ) -> Result<Reply, UnknownAccount> {
        let at = match account {
            Some(name) => self.position(name)?,
            None => self.pick(question),
        };
        Ok(self.answer_at(at, question))
    }

    /// The answer to `question` for the account at `at` (of [`pick`] or
    /// [`position`]).
    ///
    /// [`pick`]: Verdicts::pick
    /// [`position`]: Verdicts::position
    pub fn answer_at(&self, at: usize, question: Question) -> Reply {
        let (account, verdict) = &self.accounts[at];
        let mut reply = verdict.answer(question);
        if self.labelled {
            label(&mut reply, account);
        }
        reply
    }

    /// Where the account a question naming none goes to stands: the first
    /// whose verdict sends it to the cloud, else the first.
    pub fn pick(&self, question: Question) -> usize {
        self.accounts
            .iter()
            .position(|(_, verdict)| verdict.uses_cloud(question))
            .unwrap_or(0)
    }

    /// Where the account named `name` stands.
    pub fn position(&self, name: &str) -> Result<usize, UnknownAccount> {
        self.accounts
            .iter()
            .position(|(account, _)| account.name == name)
            .ok_or_else(|| UnknownAccount {
                what: format!("account {name:?}"),
                names: self.names(),
            })
    }

    /// The accounts and their verdicts, in order of preference.
    pub fn iter(&self) -> impl Iterator<Item = &(Account, Verdict)> {
        self.accounts.iter()
    }

    /// When the clock alone next changes one of the verdicts.
    pub fn changes_at(&self) -> Option<std::time::Instant> {
        self.accounts
            .iter()
            .filter_map(|(_, verdict)| verdict.assessment.changes_at)
            .min()
    }

    /// Takes the verdicts apart, in order of preference.
    pub fn into_inner(self) -> Vec<(Account, Verdict)> {
        self.accounts
    }

    fn names(&self) -> String {
        let names: Vec<&str> = self.accounts.iter().map(|(a, _)| a.name.as_str()).collect();
        names.join(", ")
    }
}

/// Names `account` in a question's `reply`.
fn label(reply: &mut Reply, account: &Account) {
    let (name, dir) = match reply {
        Reply::Route(choice) => (&mut choice.account, &mut choice.claude_config_dir),
        Reply::Decision(decision) => (&mut decision.account, &mut decision.claude_config_dir),
        Reply::Model(choice) => (&mut choice.account, &mut choice.claude_config_dir),
        _ => return,
    };
    *name = Some(account.name.clone());
    *dir = account.config_dir_string();
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use claude_quota_proto::{Provider, Tier, Window};

    use super::*;
    use crate::reading::Reading;
    use crate::state::AccountState;

    /// Accounts named as given, in that order of preference, each at its
    /// 5-hour utilization (`None`: no reading yet).
    fn state(accounts: &[(&str, Option<f64>)], now: Now) -> State {
        let accounts = accounts
            .iter()
            .enumerate()
            .map(|(at, &(name, five))| {
                let mut snapshot = Snapshot::default();
                if let Some(pct) = five {
                    let window = Some(Window::new(pct, None));
                    snapshot.offer(Reading::of_windows(window, None, now, Duration::ZERO));
                }
                AccountState {
                    account: Account {
                        name: name.into(),
                        claude_config_dir: Some(format!("/home/u/.claude-{name}").into()),
                        priority: at as i64 + 1,
                    },
                    snapshot,
                }
            })
            .collect();
        State { accounts }
    }

    fn local() -> LocalInfo {
        LocalInfo {
            url: "http://127.0.0.1:11434".into(),
            up: true,
            models: vec!["qwen3:14b".into(), "qwen3:8b".into()],
        }
    }

    fn judged(accounts: &[(&str, Option<f64>)]) -> Verdicts {
        let now = Now::current();
        let mut verdicts = verdicts(&state(accounts, now), &Config::default(), &local(), now);
        verdicts.labelled = true;
        verdicts
    }

    fn route(verdicts: &Verdicts, account: Option<&str>, value: TaskValue) -> (String, bool) {
        let question = Question::Route(value, TaskComplexity::High);
        match verdicts.answer(account, question).unwrap() {
            Reply::Route(choice) => (choice.account.unwrap(), choice.use_cloud),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_task_worth_the_cloud_goes_to_the_first_account_with_headroom() {
        let verdicts = judged(&[
            ("work", Some(90.0)),
            ("home", Some(10.0)),
            ("spare", Some(5.0)),
        ]);
        assert_eq!(
            route(&verdicts, None, TaskValue::High),
            ("home".into(), true)
        );
        assert_eq!(
            route(&verdicts, None, TaskValue::Critical),
            ("home".into(), true)
        );
        // Local in every account: the preferred account answers.
        assert_eq!(
            route(&verdicts, None, TaskValue::Low),
            ("work".into(), false)
        );
        assert_eq!(
            route(&verdicts, None, TaskValue::Routine),
            ("work".into(), false)
        );
        let nobody = judged(&[("work", Some(90.0)), ("home", None)]);
        assert_eq!(
            route(&nobody, None, TaskValue::High),
            ("work".into(), false)
        );
    }

    #[test]
    fn a_question_naming_an_account_is_answered_for_it_alone() {
        let verdicts = judged(&[("work", Some(90.0)), ("home", Some(10.0))]);
        assert_eq!(
            route(&verdicts, Some("work"), TaskValue::High),
            ("work".into(), false)
        );
        let Reply::Decision(decision) = verdicts
            .answer(Some("home"), Question::Decision(TaskValue::High))
            .unwrap()
        else {
            panic!()
        };
        assert!(decision.use_cloud);
        assert_eq!(decision.tier, Tier::Burst);
        assert_eq!(
            decision.claude_config_dir.as_deref(),
            Some("/home/u/.claude-home")
        );
        let unknown = verdicts
            .answer(Some("play"), Question::Model(TaskComplexity::High))
            .unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "account \"play\" matches no configured account (configured: work, home)"
        );
    }

    #[test]
    fn each_kind_of_question_picks_by_its_own_answer() {
        let verdicts = judged(&[("work", Some(60.0)), ("home", Some(10.0))]);
        let model = verdicts
            .answer(None, Question::Model(TaskComplexity::High))
            .unwrap();
        let Reply::Model(choice) = model else {
            panic!()
        };
        assert_eq!(
            (choice.account.as_deref(), choice.provider),
            (Some("home"), Provider::Anthropic)
        );
        assert_eq!(verdicts.pick(Question::Model(TaskComplexity::Low)), 0);
        assert_eq!(verdicts.pick(Question::HIGH_TASK), 1);
    }

    #[test]
    fn without_configured_accounts_answers_are_as_they_always_were() {
        let now = Now::current();
        let verdicts = verdicts(
            &state(&[("default", Some(10.0))], now),
            &Config::default(),
            &local(),
            now,
        );
        let Reply::Route(choice) = verdicts.answer(None, Question::HIGH_TASK).unwrap() else {
            panic!()
        };
        assert_eq!((choice.account, choice.claude_config_dir), (None, None));
        // No account at all yet: one unknown account, answered locally.
        let empty = super::verdicts(&State::default(), &Config::default(), &local(), now);
        let Reply::Route(choice) = empty.answer(None, Question::HIGH_TASK).unwrap() else {
            panic!()
        };
        assert_eq!((choice.tier, choice.use_cloud), (Tier::Unknown, false));
    }
}

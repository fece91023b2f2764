//! The replies routers ask for before every model call (`route`,
//! `should_use_cloud`, `select_model`), worked out and encoded to JSON once
//! per change instead of once per question: for every account, and for
//! questions naming no account, whichever account each goes to. A question
//! then costs a lock, a clock read and a reference count, not a verdict, a
//! few `format!`s and a serialization.
//!
//! The encodings stand until the state, the config or Ollama's model list
//! changes, or the clock reaches the moment a verdict changes by itself
//! ([`Verdicts::changes_at`]: a fresh reading turning stale, a window
//! resetting).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use claude_quota_proto::{LocalInfo, Reply, TaskComplexity, TaskValue};
use serde_json::value::RawValue;
use tokio::sync::watch;

use super::{Machinery, Outgoing};
use crate::config::Config;
use crate::policy::{self, Now, Question, UnknownAccount, Verdicts};
use crate::state::State;

/// The answers to routers' questions, as of now.
pub struct Answers {
    inputs: Mutex<Inputs>,
    machinery: Machinery,
}

/// What the answers are worked out from, and the last working-out.
struct Inputs {
    state: watch::Receiver<State>,
    config: watch::Receiver<Arc<Config>>,
    local: watch::Receiver<LocalInfo>,
    encoded: Option<Encoded>,
}

/// One set of verdicts and every answer of them, encoded.
struct Encoded {
    verdicts: Arc<Verdicts>,
    /// Each account's answers, in the verdicts' order.
    accounts: Vec<Table>,
    /// The answers to questions naming no account.
    picked: Table,
    changes_at: Option<Instant>,
}

/// Every answer of one kind of asking, in `ALL` order.
struct Table {
    decisions: [Arc<RawValue>; TaskValue::ALL.len()],
    models: [Arc<RawValue>; TaskComplexity::ALL.len()],
    routes: [[Arc<RawValue>; TaskComplexity::ALL.len()]; TaskValue::ALL.len()],
}

impl Answers {
    /// Answers worked out from these inputs, with the `machinery` on.
    pub fn new(
        state: watch::Receiver<State>,
        config: watch::Receiver<Arc<Config>>,
        local: watch::Receiver<LocalInfo>,
        machinery: Machinery,
    ) -> Self {
        Answers {
            inputs: Mutex::new(Inputs {
                state,
                config,
                local,
                encoded: None,
            }),
            machinery,
        }
    }

    /// The reply to `question` for `account` (or for the account it goes
    /// to, when it names none).
    pub fn answer(
        &self,
        account: Option<&str>,
        question: Question,
    ) -> Result<Outgoing, UnknownAccount> {
        let Machinery {
            answer_cache,
            pre_encoding,
            ..
        } = self.machinery;
        if answer_cache && pre_encoding {
            return self
                .current(|encoded| encoded.get(account, question))
                .map(Outgoing::Encoded);
        }
        let verdicts = if answer_cache {
            self.current(|encoded| Arc::clone(&encoded.verdicts))
        } else {
            Arc::new(self.lock().verdicts(Now::current()))
        };
        verdicts.answer(account, question).map(Outgoing::Reply)
    }

    fn lock(&self) -> MutexGuard<'_, Inputs> {
        self.inputs
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// `pick` of the encodings as of now, worked out again first when an
    /// input changed or the clock passed a verdict's `changes_at`.
    fn current<T>(&self, pick: impl FnOnce(&Encoded) -> T) -> T {
        let now = Now::current();
        let mut inputs = self.lock();
        let changed = [
            inputs.state.has_changed(),
            inputs.config.has_changed(),
            inputs.local.has_changed(),
        ]
        .into_iter()
        .any(|changed| changed.unwrap_or(true));
        let expired = |e: &Encoded| e.changes_at.is_some_and(|at| now.monotonic >= at);
        if changed || inputs.encoded.as_ref().is_none_or(expired) {
            let verdicts = inputs.verdicts(now);
            inputs.encoded = Some(Encoded::of(verdicts));
        }
        pick(inputs.encoded.as_ref().expect("just encoded"))
    }
}

impl Inputs {
    /// The policy's verdicts on the inputs as they are now, marking them
    /// seen.
    fn verdicts(&mut self, now: Now) -> Verdicts {
        policy::verdicts(
            &self.state.borrow_and_update(),
            &self.config.borrow_and_update(),
            &self.local.borrow_and_update(),
            now,
        )
    }
}

impl Encoded {
    fn of(verdicts: Verdicts) -> Self {
        let accounts = (0..verdicts.iter().count())
            .map(|at| Table::of(|q| verdicts.answer_at(at, q)))
            .collect();
        Encoded {
            picked: Table::of(|q| verdicts.answer_at(verdicts.pick(q), q)),
            accounts,
            changes_at: verdicts.changes_at(),
            verdicts: Arc::new(verdicts),
        }
    }

    fn get(
        &self,
        account: Option<&str>,
        question: Question,
    ) -> Result<Arc<RawValue>, UnknownAccount> {
        let table = match account {
            Some(name) => &self.accounts[self.verdicts.position(name)?],
            None => &self.picked,
        };
        Ok(table.get(question))
    }
}

impl Table {
    /// Every answer `answer` gives, encoded.
    fn of(answer: impl Fn(Question) -> Reply) -> Self {
        let encode = |question| {
            let json = serde_json::to_string(&answer(question)).expect("replies serialize");
            Arc::from(RawValue::from_string(json).expect("serde_json wrote JSON"))
        };
        Table {
            decisions: TaskValue::ALL.map(|value| encode(Question::Decision(value))),
            models: TaskComplexity::ALL.map(|c| encode(Question::Model(c))),
            routes: TaskValue::ALL
                .map(|value| TaskComplexity::ALL.map(|c| encode(Question::Route(value, c)))),
        }
    }

    fn get(&self, question: Question) -> Arc<RawValue> {
        let value = |v| policy::position(&TaskValue::ALL, v);
        let complexity = |c| policy::position(&TaskComplexity::ALL, c);
        Arc::clone(match question {
            Question::Route(v, c) => &self.routes[value(v)][complexity(c)],
            Question::Decision(v) => &self.decisions[value(v)],
            Question::Model(c) => &self.models[complexity(c)],
        })
    }
}

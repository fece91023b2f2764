//! The replies routers ask for before every model call (`route`,
//! `should_use_cloud`, `select_model`), worked out and encoded to JSON once
//! per change instead of once per question. A question then costs a lock,
//! a clock read and a reference count, not a verdict, a few `format!`s and
//! a serialization.
//!
//! The encodings stand until the state, the config or Ollama's model list
//! changes, or the clock reaches the moment the verdict changes by itself
//! ([`Assessment::changes_at`]: a fresh reading turning stale, a window
//! resetting).

use std::sync::{Arc, Mutex};

use claude_quota_proto::{LocalInfo, Reply, TaskComplexity, TaskValue};
use serde_json::value::RawValue;
use tokio::sync::watch;

use super::{Machinery, Outgoing};
use crate::config::Config;
#[cfg(doc)]
use crate::policy::Assessment;
use crate::policy::{self, Now, Verdict};
use crate::state::Snapshot;

/// A question a router asks before a model call.
#[derive(Debug, Clone, Copy)]
enum Question {
    Route(TaskValue, TaskComplexity),
    Decision(TaskValue),
    Model(TaskComplexity),
}

/// The answers to routers' questions, as of now.
pub struct Answers {
    inputs: Mutex<Inputs>,
    machinery: Machinery,
}

/// What the answers are worked out from, and the last working-out.
struct Inputs {
    state: watch::Receiver<Snapshot>,
    config: watch::Receiver<Arc<Config>>,
    local: watch::Receiver<LocalInfo>,
    encoded: Option<Encoded>,
}

/// One verdict and every answer of it, encoded, in `ALL` order.
struct Encoded {
    verdict: Arc<Verdict>,
    decisions: [Arc<RawValue>; TaskValue::ALL.len()],
    models: [Arc<RawValue>; TaskComplexity::ALL.len()],
    routes: [[Arc<RawValue>; TaskComplexity::ALL.len()]; TaskValue::ALL.len()],
}

impl Answers {
    /// Answers worked out from these inputs, with the `machinery` on.
    pub fn new(
        state: watch::Receiver<Snapshot>,
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

    /// The `route` reply for a task of `value` and `complexity`.
    pub fn route(&self, value: TaskValue, complexity: TaskComplexity) -> Outgoing {
        self.answer(Question::Route(value, complexity))
    }

    /// The `should_use_cloud` reply for a task of `value`.
    pub fn decision(&self, value: TaskValue) -> Outgoing {
        self.answer(Question::Decision(value))
    }

    /// The `select_model` reply for a task of `complexity`.
    pub fn model(&self, complexity: TaskComplexity) -> Outgoing {
        self.answer(Question::Model(complexity))
    }

    fn answer(&self, question: Question) -> Outgoing {
        let Machinery {
            answer_cache,
            pre_encoding,
            ..
        } = self.machinery;
        if answer_cache && pre_encoding {
            return Outgoing::Encoded(self.current(|encoded| encoded.get(question)));
        }
        let verdict = if answer_cache {
            self.current(|encoded| Arc::clone(&encoded.verdict))
        } else {
            let mut inputs = self.lock();
            Arc::new(inputs.verdict(Now::current()))
        };
        Outgoing::Reply(reply(&verdict, question))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inputs> {
        self.inputs
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// `pick` of the encodings as of now, worked out again first when an
    /// input changed or the clock passed the verdict's `changes_at`.
    fn current<T>(&self, pick: impl Fn(&Encoded) -> T) -> T {
        let now = Now::current();
        let mut inputs = self.lock();
        let changed = [
            inputs.state.has_changed(),
            inputs.config.has_changed(),
            inputs.local.has_changed(),
        ]
        .into_iter()
        .any(|changed| changed.unwrap_or(true));
        let expired = |e: &Encoded| {
            e.verdict
                .assessment
                .changes_at
                .is_some_and(|at| now.monotonic >= at)
        };
        if changed || inputs.encoded.as_ref().is_none_or(expired) {
            let verdict = inputs.verdict(now);
            inputs.encoded = Some(Encoded::of(verdict));
        }
        pick(inputs.encoded.as_ref().expect("just encoded"))
    }
}

impl Inputs {
    /// The policy's verdict on the inputs as they are now, marking them seen.
    fn verdict(&mut self, now: Now) -> Verdict {
        policy::verdict(
            &self.state.borrow_and_update(),
            &self.config.borrow_and_update(),
            &self.local.borrow_and_update(),
            now,
        )
    }
}

impl Encoded {
    fn of(verdict: Verdict) -> Self {
        let encode = |question| encode(&reply(&verdict, question));
        Encoded {
            decisions: TaskValue::ALL.map(|value| encode(Question::Decision(value))),
            models: TaskComplexity::ALL.map(|c| encode(Question::Model(c))),
            routes: TaskValue::ALL
                .map(|value| TaskComplexity::ALL.map(|c| encode(Question::Route(value, c)))),
            verdict: Arc::new(verdict),
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

/// The reply to `question` read off `verdict`.
fn reply(verdict: &Verdict, question: Question) -> Reply {
    match question {
        Question::Route(value, complexity) => Reply::Route(verdict.route(value, complexity)),
        Question::Decision(value) => Reply::Decision(verdict.decision(value)),
        Question::Model(complexity) => Reply::Model(verdict.model(complexity)),
    }
}

fn encode(reply: &Reply) -> Arc<RawValue> {
    let json = serde_json::to_string(reply).expect("replies serialize");
    Arc::from(RawValue::from_string(json).expect("serde_json wrote JSON"))
}

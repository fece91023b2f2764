//! The replies routers ask for before every model call (`route`,
//! `should_use_cloud`, `select_model`), encoded to JSON once per change
//! instead of once per question. A question then costs a lock, a clock read
//! and a reference count, not a verdict, a few `format!`s and a
//! serialization.
//!
//! An encoding stands until the state, the config or Ollama's model list
//! changes, or the clock passes the moment the verdict's words would change
//! by themselves ([`Verdict::text_until`]: a fresh reading turning stale, a
//! window resetting, a stale reading's age).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use claude_quota_proto::{LocalInfo, Reply, TaskComplexity, TaskValue};
use serde_json::value::RawValue;
use tokio::sync::watch;

use crate::config::Config;
use crate::policy::{self, Now, Verdict, position};
use crate::state::Snapshot;

/// The encoded replies and the inputs they were built from.
pub struct AnswerCache {
    inner: Mutex<Inputs>,
}

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
    until: Option<Instant>,
}

impl AnswerCache {
    /// A cache that watches these inputs for changes.
    pub fn new(
        state: watch::Receiver<Snapshot>,
        config: watch::Receiver<Arc<Config>>,
        local: watch::Receiver<LocalInfo>,
    ) -> Self {
        AnswerCache {
            inner: Mutex::new(Inputs {
                state,
                config,
                local,
                encoded: None,
            }),
        }
    }

    /// The encoded `should_use_cloud` reply for `value`.
    pub fn decision(&self, value: TaskValue) -> Arc<RawValue> {
        let at = position(&TaskValue::ALL, value);
        self.current(|encoded| encoded.decisions[at].clone())
    }

    /// The encoded `select_model` reply for `complexity`.
    pub fn model(&self, complexity: TaskComplexity) -> Arc<RawValue> {
        let at = position(&TaskComplexity::ALL, complexity);
        self.current(|encoded| encoded.models[at].clone())
    }

    /// The encoded `route` reply for `value` and `complexity`.
    pub fn route(&self, value: TaskValue, complexity: TaskComplexity) -> Arc<RawValue> {
        let row = position(&TaskValue::ALL, value);
        let column = position(&TaskComplexity::ALL, complexity);
        self.current(|encoded| encoded.routes[row][column].clone())
    }

    /// The verdict the encoded answers were read off, for building a reply
    /// afresh (a measurement of what pre-encoding is worth).
    pub fn verdict(&self) -> Arc<Verdict> {
        self.current(|encoded| Arc::clone(&encoded.verdict))
    }

    fn current<T>(&self, pick: impl Fn(&Encoded) -> T) -> T {
        let now = Now::current();
        let mut inputs = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let changed = [
            inputs.state.has_changed(),
            inputs.config.has_changed(),
            inputs.local.has_changed(),
        ]
        .into_iter()
        .any(|changed| changed.unwrap_or(true));
        let expired = |e: &Encoded| e.until.is_some_and(|until| now.monotonic >= until);
        if changed || inputs.encoded.as_ref().is_none_or(expired) {
            let Inputs {
                state,
                config,
                local,
                ..
            } = &mut *inputs;
            let verdict = policy::verdict(
                &state.borrow_and_update(),
                &config.borrow_and_update(),
                &local.borrow_and_update(),
                now,
            );
            inputs.encoded = Some(Encoded::of(verdict));
        }
        pick(inputs.encoded.as_ref().expect("just encoded"))
    }
}

impl Encoded {
    fn of(verdict: Verdict) -> Self {
        Encoded {
            decisions: TaskValue::ALL.map(|value| raw(Reply::Decision(verdict.decision(value)))),
            models: TaskComplexity::ALL.map(|c| raw(Reply::Model(verdict.model(c)))),
            routes: TaskValue::ALL.map(|value| {
                TaskComplexity::ALL.map(|c| raw(Reply::Route(verdict.route(value, c))))
            }),
            until: verdict.text_until,
            verdict: Arc::new(verdict),
        }
    }
}

fn raw(reply: Reply) -> Arc<RawValue> {
    let json = serde_json::to_string(&reply).expect("replies serialize");
    Arc::from(RawValue::from_string(json).expect("serde_json wrote JSON"))
}

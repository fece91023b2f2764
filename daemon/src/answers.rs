//! The replies routers ask for before every model call, `should_use_cloud`
//! and `select_model`, encoded to JSON once per change instead of once per
//! question. A question then costs a lock, a clock read and a reference
//! count, not an assessment, two `format!`s and a serialization.
//!
//! An encoding stands until the state, the config or Ollama's model list
//! changes, or the clock passes the moment the assessment would change by
//! itself: when a fresh reading turns stale, or, for a stale reading whose
//! age the reason quotes in seconds, after a second.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use claude_quota_proto::{LocalInfo, Reply, TaskComplexity, TaskValue};
use serde_json::value::RawValue;
use tokio::sync::watch;

use crate::config::Config;
use crate::policy::Now;
use crate::state::Snapshot;

/// Replies for every task value and complexity, in `ALL` order.
pub struct Built {
    /// `should_use_cloud` for each of [`TaskValue::ALL`].
    pub decisions: [Reply; TaskValue::ALL.len()],
    /// `select_model` for each of [`TaskComplexity::ALL`].
    pub models: [Reply; TaskComplexity::ALL.len()],
    /// `route` for each of [`TaskValue::ALL`] × [`TaskComplexity::ALL`].
    pub routes: [[Reply; TaskComplexity::ALL.len()]; TaskValue::ALL.len()],
    /// When the assessment behind them changes by itself
    /// ([`crate::policy::Assessment::holds_until`]).
    pub until: Option<Instant>,
}

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

struct Encoded {
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

    /// The encoded `should_use_cloud` reply for `value`; `build` makes
    /// every reply afresh when the encoded ones no longer hold.
    pub fn decision(&self, value: TaskValue, build: impl FnOnce(Now) -> Built) -> Arc<RawValue> {
        let at = index(&TaskValue::ALL, value);
        self.current(build, |encoded| encoded.decisions[at].clone())
    }

    /// The encoded `select_model` reply for `complexity`, as [`Self::decision`].
    pub fn model(
        &self,
        complexity: TaskComplexity,
        build: impl FnOnce(Now) -> Built,
    ) -> Arc<RawValue> {
        let at = index(&TaskComplexity::ALL, complexity);
        self.current(build, |encoded| encoded.models[at].clone())
    }

    /// The encoded `route` reply for `value` and `complexity`, as
    /// [`Self::decision`].
    pub fn route(
        &self,
        value: TaskValue,
        complexity: TaskComplexity,
        build: impl FnOnce(Now) -> Built,
    ) -> Arc<RawValue> {
        let (row, column) = (
            index(&TaskValue::ALL, value),
            index(&TaskComplexity::ALL, complexity),
        );
        self.current(build, |encoded| encoded.routes[row][column].clone())
    }

    fn current<T>(&self, build: impl FnOnce(Now) -> Built, pick: impl Fn(&Encoded) -> T) -> T {
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
            inputs.state.mark_unchanged();
            inputs.config.mark_unchanged();
            inputs.local.mark_unchanged();
            inputs.encoded = Some(encode(build(now)));
        }
        pick(inputs.encoded.as_ref().expect("just encoded"))
    }
}

fn encode(built: Built) -> Encoded {
    let raw = |reply: Reply| -> Arc<RawValue> {
        let json = serde_json::to_string(&reply).expect("replies serialize");
        Arc::from(RawValue::from_string(json).expect("serde_json wrote JSON"))
    };
    Encoded {
        decisions: built.decisions.map(raw),
        models: built.models.map(raw),
        routes: built.routes.map(|row| row.map(raw)),
        until: built.until,
    }
}

fn index<T: PartialEq>(all: &[T], item: T) -> usize {
    all.iter()
        .position(|each| *each == item)
        .expect("ALL lists every variant")
}

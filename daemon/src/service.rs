//! Answers requests from the shared state: the one place that turns a
//! [`Request`] into a [`Reply`], independent of sockets and framing. Every
//! answer is read off the policy's verdict ([`crate::policy`]).

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use claude_quota_proto::{
    ConfiguredModels, ErrorCode, JsonCodec, LocalInfo, PROTOCOL_VERSION, Reply, Request, Status,
    TaskComplexity, TaskValue,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::answers::AnswerCache;
use crate::config::Config;
use crate::demand::{Demand, Listening};
use crate::ingest::{self, Taken};
use crate::machinery::Machinery;
use crate::outgoing::Outgoing;
use crate::policy::{self, Now};
use crate::poller::{PollRequest, Wish};
use crate::state::Snapshot;
use crate::status::{self, Process};

/// The daemon's name and version, as `hello` and `status` report it.
pub const DAEMON_NAME: &str = concat!("claude-quotad/", env!("CARGO_PKG_VERSION"));

/// Everything a connection needs to answer; cheap to share.
pub struct Service {
    state: Arc<watch::Sender<Snapshot>>,
    config: watch::Receiver<Arc<Config>>,
    polls: mpsc::Sender<PollRequest>,
    local: watch::Receiver<LocalInfo>,
    answers: AnswerCache,
    demand: Arc<Demand>,
    process: Process,
    machinery: Machinery,
}

/// A question a router asks before a model call.
#[derive(Debug, Clone, Copy)]
enum Question {
    Route(TaskValue, TaskComplexity),
    Decision(TaskValue),
    Model(TaskComplexity),
}

/// How long the first question after an idle spell waits for the poll it
/// triggers before answering from what the daemon has.
const WAKE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Service {
    /// A service over the daemon's state and config, and what Ollama
    /// reports (`local`); it tells the poller of every request through
    /// `demand` and asks it for polls on `polls`.
    pub fn new(
        state: Arc<watch::Sender<Snapshot>>,
        config: watch::Receiver<Arc<Config>>,
        polls: mpsc::Sender<PollRequest>,
        local: watch::Receiver<LocalInfo>,
        demand: Arc<Demand>,
    ) -> Self {
        Service {
            answers: AnswerCache::new(state.subscribe(), config.clone(), local.clone()),
            state,
            config,
            polls,
            local,
            demand,
            process: Process {
                started: Instant::now(),
            },
            machinery: Machinery::of_this_build(),
        }
    }

    /// Notes that someone listens. On the first request after an idle
    /// spell, wakes the poller and waits (at most [`WAKE_WAIT`]) for the
    /// poll it triggers; otherwise it costs two relaxed atomic operations.
    pub async fn attend(&self) {
        if self.demand.touch() {
            let _ = tokio::time::timeout(WAKE_WAIT, self.ask_poller(Wish::Wake)).await;
        }
    }

    /// Counts a subscriber as listening until the guard is dropped.
    pub fn listen(&self) -> Listening {
        self.demand.listen()
    }

    /// A receiver that wakes at every change of state, for `subscribe`.
    pub fn watch_state(&self) -> watch::Receiver<Snapshot> {
        self.state.subscribe()
    }

    /// The reply to `request` as of now. `subscribe` and `refresh` are
    /// driven by the connection (the stream, the poll to wait for); their
    /// reply here is the `status` they send. The questions routers ask
    /// before every model call come encoded from the [`AnswerCache`].
    pub fn answer(&self, request: Request) -> Outgoing {
        match request {
            Request::Hello { protocol, .. } if protocol != PROTOCOL_VERSION => Reply::error(
                ErrorCode::UnsupportedProtocol,
                format!(
                    "protocol {protocol} is not supported; this daemon speaks {PROTOCOL_VERSION}"
                ),
            )
            .into(),
            Request::Hello { .. } => self.hello().into(),
            Request::Status | Request::Subscribe | Request::Refresh => {
                Reply::Status(Box::new(self.look().0)).into()
            }
            Request::Route {
                task_value,
                task_complexity,
                ..
            } => self.ask(Question::Route(task_value, task_complexity)),
            Request::ShouldUseCloud { task_value, .. } => self.ask(Question::Decision(task_value)),
            Request::SelectModel {
                task_complexity, ..
            } => self.ask(Question::Model(task_complexity)),
            Request::Ingest(pushed) => match ingest::apply(&self.state, *pushed, Utc::now()) {
                Ok(taken) => {
                    if taken == Taken::Reading {
                        self.demand.pushed();
                    }
                    Reply::Ok.into()
                }
                Err(refused) => Reply::error(ErrorCode::BadRequest, refused.to_string()).into(),
            },
        }
    }

    /// The answer to a router's question: encoded once per change (the
    /// [`AnswerCache`]), unless this is a build measuring what that is
    /// worth ([`Machinery`]).
    fn ask(&self, question: Question) -> Outgoing {
        let machinery = self.machinery;
        if machinery.answer_cache && machinery.pre_encoding {
            return Outgoing::Encoded(match question {
                Question::Route(value, complexity) => self.answers.route(value, complexity),
                Question::Decision(value) => self.answers.decision(value),
                Question::Model(complexity) => self.answers.model(complexity),
            });
        }
        let verdict = if machinery.answer_cache {
            self.answers.verdict()
        } else {
            let now = Now::current();
            let config = self.config.borrow().clone();
            let verdict = policy::verdict(&self.state.borrow(), &config, &self.local.borrow(), now);
            Arc::new(verdict)
        };
        Outgoing::Reply(match question {
            Question::Route(value, complexity) => Reply::Route(verdict.route(value, complexity)),
            Question::Decision(value) => Reply::Decision(verdict.decision(value)),
            Question::Model(complexity) => Reply::Model(verdict.model(complexity)),
        })
    }

    /// The codec for a client connection.
    pub fn codec(&self) -> JsonCodec<Request, Outgoing> {
        self.machinery.codec()
    }

    /// The `hello` reply: who answers, and the models and subagent mapping
    /// it is configured with, which clients fall back on and hooks apply.
    fn hello(&self) -> Reply {
        let config = self.config.borrow();
        let models = &config.models;
        Reply::Hello {
            protocol: PROTOCOL_VERSION,
            daemon: DAEMON_NAME.to_owned(),
            models: Some(ConfiguredModels {
                cloud: models.cloud.clone(),
                local_large: models.local_large.clone(),
                local_small: models.local_small.clone(),
            }),
            claude_code: Some(config.claude_code.to_wire()),
        }
    }

    /// Asks the poller for a poll now and waits until it is done (or was
    /// refused: too soon after the last one, or during a cooldown).
    pub async fn refresh(&self) {
        self.ask_poller(Wish::Refresh).await;
    }

    async fn ask_poller(&self, wish: Wish) {
        let (done, wait) = oneshot::channel();
        if self.polls.send(PollRequest { wish, done }).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// The full status as of now, and when the clock alone may change what
    /// it shows (a fresh reading turning stale, a window resetting), for
    /// subscribers to look again then.
    pub fn look(&self) -> (Status, Option<Instant>) {
        let now = Now::current();
        let config = self.config.borrow().clone();
        let local = self.local.borrow().clone();
        let state = self.state.borrow();
        let verdict = policy::verdict(&state, &config, &local, now);
        let until = verdict.tier_until;
        let status = status::status(verdict, &state, &local, self.process, now);
        (status, until)
    }
}

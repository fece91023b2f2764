//! The one place a request is decided: [`Service::handle`] turns each
//! [`Request`] into what to write back (or into a status stream), and
//! decides whether asking counts as demand for fresh readings, whether it
//! waits for a poll, and in which order a push and its wake-up happen.
//! Nothing here knows of sockets or framing ([`crate::socket`] carries the
//! bytes); every answer is read off the policy's verdict ([`crate::policy`]),
//! through the speed machinery ([`crate::speed`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use claude_quota_proto::{
    ConfiguredModels, ErrorCode, Ingest, LocalInfo, PROTOCOL_VERSION, Reply, Request, Status,
};
use futures_util::future::join_all;
use tokio::sync::{oneshot, watch};

use crate::config::Config;
use crate::demand::{Demand, Listening};
use crate::fleet::Roster;
use crate::ingest::{self, Taken};
use crate::policy::{self, Now, Question};
use crate::poller::{PollRequest, PollerLine, Wish};
use crate::speed::{Answers, Machinery, Outgoing};
use crate::state::{AccountCell, State};
use crate::status::{self, Process};

/// The daemon's name and version, as `hello` and `status` report it.
pub const DAEMON_NAME: &str = concat!("claude-quotad/", env!("CARGO_PKG_VERSION"));

/// How long the first question after an idle spell waits for the poll it
/// triggers before answering from what the daemon has.
const WAKE_WAIT: Duration = Duration::from_secs(2);

/// What a request comes to.
#[derive(Debug)]
pub enum Handled {
    /// Write this, then read the next request.
    Reply(Outgoing),
    /// Stream statuses on this connection until the client closes
    /// ([`crate::socket`] drives it with [`Service::subscribe`]).
    Subscribe,
}

impl From<Reply> for Handled {
    fn from(reply: Reply) -> Self {
        Handled::Reply(reply.into())
    }
}

/// Everything needed to answer; shared by every connection.
pub struct Service {
    state: Arc<watch::Sender<State>>,
    config: watch::Receiver<Arc<Config>>,
    roster: watch::Receiver<Arc<Roster>>,
    local: watch::Receiver<LocalInfo>,
    answers: Answers,
    demand: Arc<Demand>,
    machinery: Machinery,
    process: Process,
}

impl Service {
    /// A service over the daemon's state and config, the accounts running
    /// (`roster`: where to ask for polls and tell of pushes), and what
    /// Ollama reports (`local`); it tells the pollers of every request
    /// through `demand`.
    pub fn new(
        state: Arc<watch::Sender<State>>,
        config: watch::Receiver<Arc<Config>>,
        roster: watch::Receiver<Arc<Roster>>,
        local: watch::Receiver<LocalInfo>,
        demand: Arc<Demand>,
    ) -> Self {
        let machinery = Machinery::of_this_build();
        Service {
            answers: Answers::new(state.subscribe(), config.clone(), local.clone(), machinery),
            state,
            config,
            roster,
            local,
            demand,
            machinery,
            process: Process {
                started: Instant::now(),
            },
        }
    }

    /// Decides `request`. Questions count as demand (the first after an
    /// idle spell waits, at most [`WAKE_WAIT`], for the poll it wakes);
    /// looking (`hello`, `status`) does not, so a glance never spends an
    /// API call.
    pub async fn handle(&self, request: Request) -> Handled {
        if !matches!(request, Request::Hello { .. }) {
            self.demand.wants_local();
        }
        match request {
            Request::Hello { protocol, .. } => self.hello(protocol).into(),
            Request::Status => Reply::Status(Box::new(self.status().0)).into(),
            Request::Subscribe => Handled::Subscribe,
            Request::Refresh => {
                self.attend().await;
                self.ask_pollers(Wish::Refresh).await;
                Reply::Status(Box::new(self.status().0)).into()
            }
            // A push brings its own reading: it must be in before the
            // poller, woken by it, decides whether to poll.
            Request::Ingest(push) => {
                let reply = self.ingest(*push);
                self.attend().await;
                reply.into()
            }
            Request::Route {
                task_value,
                task_complexity,
                account,
            } => {
                let question = Question::Route(task_value, task_complexity);
                self.ask(account.as_deref(), question).await
            }
            Request::ShouldUseCloud {
                task_value,
                account,
            } => {
                self.ask(account.as_deref(), Question::Decision(task_value))
                    .await
            }
            Request::SelectModel {
                task_complexity,
                account,
            } => {
                let question = Question::Model(task_complexity);
                self.ask(account.as_deref(), question).await
            }
            Request::Metrics => Reply::Metrics {
                text: self.metrics(),
            }
            .into(),
        }
    }

    /// A router's question before a model call, for `account` or for the
    /// account it goes to.
    async fn ask(&self, account: Option<&str>, question: Question) -> Handled {
        self.attend().await;
        match self.answers.answer(account, question) {
            Ok(reply) => Handled::Reply(reply),
            Err(unknown) => Reply::error(ErrorCode::BadRequest, unknown.to_string()).into(),
        }
    }

    /// The codec a client connection speaks.
    pub fn codec(&self) -> crate::speed::RequestCodec {
        self.machinery.codec()
    }

    /// Starts a subscription: the subscriber counts as listening until the
    /// guard is dropped, and as a question (it may wake idle pollers).
    pub async fn subscribe(&self) -> (Listening, watch::Receiver<State>) {
        let listening = self.demand.listen();
        self.attend().await;
        (listening, self.state.subscribe())
    }

    /// The full status as of now, and when the clock alone may change what
    /// it shows (a fresh reading turning stale, a window resetting), for
    /// subscribers to look again then.
    pub fn status(&self) -> (Status, Option<Instant>) {
        let now = Now::current();
        let config = self.config.borrow().clone();
        let local = self.local.borrow().clone();
        let state = self.state.borrow();
        let verdicts = policy::verdicts(&state, &config, &local, now);
        let changes_at = verdicts.changes_at();
        let status = status::status(verdicts, &state, &local, self.process, now);
        (status, changes_at)
    }

    /// The metrics as of now in the Prometheus text format: the status,
    /// with each account's faults counted since start.
    pub fn metrics(&self) -> String {
        let status = self.status().0;
        crate::metrics::render(&status, &self.state.borrow(), Utc::now())
    }

    /// The `hello` reply: who answers, and the models and subagent mapping
    /// it is configured with, which clients fall back on and hooks apply.
    fn hello(&self, protocol: u32) -> Reply {
        if protocol != PROTOCOL_VERSION {
            return Reply::error(
                ErrorCode::UnsupportedProtocol,
                format!(
                    "protocol {protocol} is not supported; this daemon speaks {PROTOCOL_VERSION}"
                ),
            );
        }
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

    /// Takes a pushed reading into its account (named, or by the pushing
    /// session's `CLAUDE_CONFIG_DIR`, else `default` or the only one); one
    /// that became current tells that account's poller, which may then
    /// spare or hasten its next poll.
    fn ingest(&self, push: Ingest) -> Reply {
        let roster = Arc::clone(&self.roster.borrow());
        let (account, line) =
            match roster.find(push.account.as_deref(), push.claude_config_dir.as_deref()) {
                Ok(found) => found,
                Err(unknown) => return Reply::error(ErrorCode::BadRequest, unknown.to_string()),
            };
        let cell = AccountCell::new(Arc::clone(&self.state), &account.name);
        match ingest::apply(&cell, push, Utc::now()) {
            Ok(taken) => {
                if taken == Taken::Reading {
                    line.pushed.notify_one();
                }
                Reply::Ok
            }
            Err(refused) => Reply::error(ErrorCode::BadRequest, refused.to_string()),
        }
    }

    /// Notes that someone listens. On the first request after an idle
    /// spell, wakes the poller and waits (at most [`WAKE_WAIT`]) for the
    /// poll it triggers; otherwise it costs two relaxed atomic operations.
    async fn attend(&self) {
        if self.demand.touch() {
            let _ = tokio::time::timeout(WAKE_WAIT, self.ask_pollers(Wish::Wake)).await;
        }
    }

    /// Asks every account's poller for a poll and waits until each is done
    /// (or refused: too soon after its last one, or during its cooldown).
    async fn ask_pollers(&self, wish: Wish) {
        let lines: Vec<PollerLine> = self
            .roster
            .borrow()
            .accounts
            .iter()
            .map(|(_, line)| line.clone())
            .collect();
        join_all(lines.iter().map(|line| ask_poller(line, wish))).await;
    }
}

/// Asks one poller for a poll and waits until it is settled.
async fn ask_poller(line: &PollerLine, wish: Wish) {
    let (done, wait) = oneshot::channel();
    if line.wishes.send(PollRequest { wish, done }).await.is_ok() {
        let _ = wait.await;
    }
}

//! Answers requests from the shared state: the one place that turns a
//! [`Request`] into a [`Reply`], independent of sockets and framing.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_proto::{
    ConfiguredModels, DaemonInfo, Decision, ErrorCode, ExtraUsage, LocalInfo, ModelChoice,
    PROTOCOL_VERSION, Provider, ReadingSource, Reply, Request, RouteChoice, ScopedCap, Status,
    TaskComplexity, TaskValue, Window,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::answers::{AnswerCache, Built, Outgoing};
use crate::config::Config;
use crate::demand::{Demand, Listening};
use crate::local_choice;
use crate::policy::{self, Assessment, Now};
use crate::poller::{PollRequest, Wish};
use crate::reading::Reading;
use crate::state::Snapshot;

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
    started: Instant,
}

/// How long the first question after an idle spell waits for the poll it
/// triggers before answering from what the daemon has.
const WAKE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl Service {
    /// A service over the daemon's state and config, and what Ollama
    /// reports (`local`), which `select_model` consults; it tells the
    /// poller of every request through `demand` and asks it for polls on
    /// `polls`.
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
            started: Instant::now(),
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
    /// before every model call come from the [`AnswerCache`], encoded once
    /// per change.
    pub fn answer(&self, request: Request) -> Outgoing {
        let build = |now| self.build_answers(now);
        match request {
            Request::Hello { protocol, .. } if protocol != PROTOCOL_VERSION => Reply::error(
                ErrorCode::UnsupportedProtocol,
                format!(
                    "protocol {protocol} is not supported; this daemon speaks {PROTOCOL_VERSION}"
                ),
            )
            .into(),
            Request::Hello { .. } => {
                let config = self.config.borrow();
                Reply::Hello {
                    protocol: PROTOCOL_VERSION,
                    daemon: DAEMON_NAME.to_owned(),
                    models: Some(ConfiguredModels {
                        cloud: config.models.cloud.clone(),
                        local_large: config.models.local_large.clone(),
                        local_small: config.models.local_small.clone(),
                    }),
                    claude_code: Some(config.claude_code.to_wire()),
                }
                .into()
            }
            Request::Status | Request::Subscribe | Request::Refresh => self.status().into(),
            Request::ShouldUseCloud { task_value } => {
                Outgoing::Encoded(self.answers.decision(task_value, build))
            }
            Request::SelectModel { task_complexity } => {
                Outgoing::Encoded(self.answers.model(task_complexity, build))
            }
            Request::Route {
                task_value,
                task_complexity,
            } => Outgoing::Encoded(self.answers.route(task_value, task_complexity, build)),
            Request::Ingest {
                source,
                five_hour,
                seven_day,
                as_of,
                weekly_scoped,
                extra_usage,
                representative_claim,
            } => {
                let pushed = Pushed {
                    source,
                    five_hour,
                    seven_day,
                    as_of,
                    weekly_scoped,
                    extra_usage,
                    representative_claim,
                };
                self.ingest(pushed).into()
            }
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

    /// The full status reply.
    fn status(&self) -> Reply {
        Reply::Status(Box::new(self.status_now()))
    }

    /// The full status as of now.
    pub fn status_now(&self) -> Status {
        self.status_at(Now::current())
    }

    /// How long until the reading held turns stale, by the monotonic
    /// clock; `None` when it already is (or there is none).
    pub fn stale_in(&self) -> Option<std::time::Duration> {
        let stale_after = self.config.borrow().stale_after.0;
        let age = self.state.borrow().reading.as_ref()?.age(Instant::now());
        // Wake just after the boundary, when `assess` calls it stale.
        stale_after
            .checked_sub(age)
            .map(|left| left.saturating_add(std::time::Duration::from_millis(1)))
    }

    fn status_at(&self, now: Now) -> Status {
        let config = self.config.borrow().clone();
        let state = self.state.borrow();
        let assessment = assess(&config, &state, now);
        let reading = state.reading.as_ref();
        let window = |pick: fn(&Reading) -> Option<Window>| reading.and_then(pick);
        Status {
            tier: assessment.tier,
            reason: assessment.reason,
            five_hour: window(|r| r.five_hour),
            seven_day: window(|r| r.seven_day),
            seven_day_opus: scoped_window(reading, "opus"),
            seven_day_sonnet: scoped_window(reading, "sonnet"),
            weekly_scoped: reading.map(|r| r.weekly_scoped.clone()).unwrap_or_default(),
            cloud_capped_by: assessment.cloud_capped_by,
            as_of: reading.map(|r| r.as_of),
            source: reading.map(|r| r.source),
            age_s: reading.map(|r| r.age(now.monotonic).as_secs()),
            stale: assessment.stale,
            last_push_at: state.last_push_at,
            credentials: state.credentials.source,
            subscription_type: state.credentials.subscription_type.clone(),
            token_expires_at: state.credentials.expires_at,
            lacking_scope: state.credentials.lacking_scope.clone(),
            last_error: state.last_error.clone(),
            last_reply_shape: state.last_reply_shape,
            last_reply_dropped: state.last_reply_dropped.clone(),
            extra_usage: reading.and_then(|r| r.extra_usage.clone()),
            representative_claim: reading.and_then(|r| r.representative_claim.clone()),
            next_poll_at: state.next_poll_at,
            api_calls: state.api_calls,
            polling: Some(state.polling),
            daemon: DaemonInfo {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                pid: std::process::id(),
                uptime_s: self.started.elapsed().as_secs(),
            },
            forecast: state
                .history
                .forecast(config.thresholds.resting_above, now.wall),
            local: Some(self.local.borrow().clone()),
        }
    }

    /// Every decision and model choice as of `now`, from one view of the
    /// inputs, for the answer cache.
    fn build_answers(&self, now: Now) -> Built {
        let config = self.config.borrow().clone();
        let assessment = assess(&config, &self.state.borrow(), now);
        let local = self.local.borrow();
        let models = TaskComplexity::ALL
            .map(|complexity| model_choice(&assessment, &config, &local, complexity));
        let decisions = TaskValue::ALL.map(|value| decision(&assessment, value));
        let routes = TaskValue::ALL.map(|value| {
            TaskComplexity::ALL
                .map(|complexity| route(&assessment, &config, &local, value, complexity))
        });
        Built {
            decisions,
            models,
            routes,
            until: assessment.holds_until,
        }
    }

    fn ingest(&self, pushed: Pushed) -> Reply {
        let now = Utc::now();
        let mut reading = match pushed_reading(pushed, now) {
            Ok(reading) => reading,
            Err(message) => return Reply::error(ErrorCode::BadRequest, message),
        };
        let mut taken = false;
        self.state.send_if_modified(|s| {
            s.last_push_at = Some(now);
            // A push rarely carries per-model caps or extra usage; they
            // change slowly, so the last ones known stay in force rather
            // than vanish.
            if let Some(held) = &s.reading {
                if reading.weekly_scoped.is_empty() {
                    reading.weekly_scoped.clone_from(&held.weekly_scoped);
                }
                if reading.extra_usage.is_none() {
                    reading.extra_usage.clone_from(&held.extra_usage);
                    reading.spend_limit = held.spend_limit;
                }
            }
            taken = s.offer(reading);
            taken
        });
        tracing::debug!(taken, "pushed reading");
        Reply::Ok
    }
}

/// The `should_use_cloud` reply for a task of `value`.
fn decision(assessment: &Assessment, value: TaskValue) -> Reply {
    let Assessment {
        tier,
        reason,
        stale,
        ..
    } = assessment;
    let use_cloud = policy::should_use_cloud(assessment, value);
    let verdict = if use_cloud { "cloud" } else { "local" };
    Reply::Decision(Decision {
        use_cloud,
        tier: *tier,
        reason: format!("{value} task in {tier} tier → {verdict}: {reason}"),
        stale: *stale,
    })
}

/// The `select_model` reply for a task of `complexity`, preferring a model
/// Ollama has pulled.
fn model_choice(
    assessment: &Assessment,
    config: &Config,
    local: &LocalInfo,
    complexity: TaskComplexity,
) -> Reply {
    let Assessment {
        tier,
        reason,
        stale,
        ..
    } = assessment;
    let (model, provider) = policy::select_model(&config.models, assessment, complexity);
    let choice = local_choice::prefer_pulled(&config.models, local, model, provider);
    let mut reason = format!("{complexity} complexity in {tier} tier: {reason}");
    if let Some(note) = choice.note {
        reason = format!("{reason}; {note}");
    }
    Reply::Model(ModelChoice {
        model: choice.model.to_owned(),
        provider,
        tier: *tier,
        reason,
        stale: *stale,
        available: choice.available,
    })
}

/// The `route` reply for a task of `value` and `complexity`: the cloud
/// only when the value allows it and the complexity calls for the cloud
/// model; otherwise the local model for the complexity, or for `medium`
/// when the complexity asked for the cloud.
fn route(
    assessment: &Assessment,
    config: &Config,
    local: &LocalInfo,
    value: TaskValue,
    complexity: TaskComplexity,
) -> Reply {
    let Reply::Decision(decision) = decision(assessment, value) else {
        unreachable!("decision() builds a decision")
    };
    let chosen = |complexity| match model_choice(assessment, config, local, complexity) {
        Reply::Model(choice) => choice,
        _ => unreachable!("model_choice() builds a model"),
    };
    let mut choice = chosen(complexity);
    let use_cloud = decision.use_cloud && choice.provider == Provider::Anthropic;
    if !use_cloud && choice.provider == Provider::Anthropic {
        choice = chosen(TaskComplexity::Medium);
    }
    let reason = if use_cloud {
        decision.reason
    } else {
        format!("{}; {}", decision.reason, choice.reason)
    };
    Reply::Route(RouteChoice {
        provider: choice.provider,
        model: choice.model,
        use_cloud,
        tier: choice.tier,
        reason,
        stale: choice.stale,
        available: choice.available,
    })
}

/// The assessment every answer rests on: the policy table with the cloud
/// model's own weekly cap, and pace when it is on.
pub fn assess(config: &Config, state: &Snapshot, now: Now) -> Assessment {
    let reading = state.reading.as_ref();
    let assessment = policy::assess(
        &config.thresholds,
        config.models.family(),
        reading,
        config.stale_after.0,
        now.monotonic,
    );
    if !config.policy.pace {
        return assessment;
    }
    let forecast = state
        .history
        .forecast(config.thresholds.resting_above, now.wall);
    let resets_at = reading.and_then(|r| r.five_hour?.resets_at);
    policy::pace(assessment, forecast.as_ref(), resets_at, now)
}

/// The cap of `family` as a window, for the status fields that predate
/// `weekly_scoped` and name Opus and Sonnet on their own.
fn scoped_window(reading: Option<&Reading>, family: &str) -> Option<Window> {
    let cap = reading?.cap(family)?;
    Some(Window::new(cap.utilization, cap.resets_at))
}

/// An `ingest` request's reading, as sent.
struct Pushed {
    source: ReadingSource,
    five_hour: Option<Window>,
    seven_day: Option<Window>,
    as_of: Option<DateTime<Utc>>,
    weekly_scoped: Vec<ScopedCap>,
    extra_usage: Option<ExtraUsage>,
    representative_claim: Option<String>,
}

/// Checks a pushed reading; the message says what was wrong with it. A
/// claimed `as_of` in the future counts as now (clocks of one machine
/// agree, so that is rounding, not news from the future).
fn pushed_reading(pushed: Pushed, now: DateTime<Utc>) -> Result<Reading, String> {
    let Pushed {
        source,
        five_hour,
        seven_day,
        as_of,
        weekly_scoped,
        extra_usage,
        representative_claim,
    } = pushed;
    if !source.is_pushed() {
        return Err(format!(
            "ingest source must be \"statusline\" or \"headers\", not {:?}",
            source.as_str()
        ));
    }
    if five_hour.is_none()
        && seven_day.is_none()
        && weekly_scoped.is_empty()
        && extra_usage.is_none()
    {
        return Err(
            "ingest needs a five_hour or seven_day window, a weekly_scoped cap or extra_usage"
                .into(),
        );
    }
    let windows = [
        ("five_hour", five_hour, TimeDelta::hours(5)),
        ("seven_day", seven_day, TimeDelta::days(7)),
    ];
    for (name, window, length) in windows {
        let Some(window) = window else { continue };
        if !window.utilization.is_finite() || window.utilization < 0.0 {
            return Err(format!(
                "{name}.utilization {} is not a percentage",
                window.utilization
            ));
        }
        if window.resets_at.is_some_and(|at| at < now - length) {
            return Err(format!(
                "{name}.resets_at is more than a window in the past"
            ));
        }
    }
    Ok(Reading {
        five_hour,
        seven_day,
        weekly_scoped,
        extra_usage,
        spend_limit: false,
        representative_claim,
        as_of: as_of.unwrap_or(now),
        source,
        received: Default::default(),
    }
    .arrived(now))
}

//! Watches the local Ollama server: once per poll interval, while someone
//! asks, it asks `{ollama.url}/api/tags` which models are pulled and
//! publishes the answer on its own `watch` channel. While nobody asks it
//! waits for the next request instead of looking on a clock, so an idle
//! daemon does not wake every interval to ask a server whose answer nobody
//! reads (docs/decisions.md, "An idle daemon sleeps").
//!
//! It runs apart from the usage poller on purpose: Ollama being slow or
//! down must never delay a usage reading, and a usage backoff must never
//! leave the model list stale.

use std::sync::Arc;
use std::time::Duration;

use claude_quota_proto::LocalInfo;
use serde::Deserialize;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::demand::{Demand, DemandWatcher};

/// The path that lists pulled models.
const TAGS_PATH: &str = "/api/tags";

/// How long one query may take. Ollama answers `/api/tags` from disk in
/// milliseconds; a server slower than this is as good as down for routing.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The most model names the status lists: every status reply carries them,
/// and it must fit in one frame whatever the server at `ollama.url` says.
const MAX_MODELS: usize = 256;

/// A name longer than this is no Ollama tag (`namespace/model:tag`), and is
/// left out for the same reason.
const MAX_NAME_LEN: usize = 200;

/// What is known before the first answer: nothing is pulled for sure, so
/// nothing is claimed to be available.
pub fn not_yet_asked(config: &Config) -> LocalInfo {
    down(&config.ollama.url)
}

fn down(url: &str) -> LocalInfo {
    LocalInfo {
        url: url.to_owned(),
        up: false,
        models: Vec::new(),
    }
}

/// The task that asks Ollama and publishes what it says.
pub struct OllamaWatch {
    http: reqwest::Client,
    config: watch::Receiver<Arc<Config>>,
    local: watch::Sender<LocalInfo>,
    demand: Arc<Demand>,
    /// Requests and subscribers seen since the last look.
    asked: DemandWatcher,
}

/// The part of Ollama's `/api/tags` reply we read; other keys are ignored.
#[derive(Deserialize)]
struct Tags {
    models: Vec<Tag>,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
}

impl OllamaWatch {
    /// A watcher publishing into `local`, following `config` (a reload
    /// that changes `ollama.url` is asked at once) and `demand` (looking
    /// again only once someone asked since the last look).
    pub fn new(
        config: watch::Receiver<Arc<Config>>,
        local: watch::Sender<LocalInfo>,
        demand: Arc<Demand>,
    ) -> anyhow::Result<Self> {
        Ok(OllamaWatch {
            http: crate::http::client(TIMEOUT)?,
            config,
            local,
            asked: demand.watcher(),
            demand,
        })
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let (url, interval) = {
                let config = self.config.borrow_and_update();
                (config.ollama.url.clone(), config.poll_interval.0)
            };
            let info = tokio::select! {
                () = shutdown.cancelled() => return,
                info = self.ask(&url) => info,
            };
            self.publish(info);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
                Ok(()) = self.config.changed() => continue,
            }
            if self.asked.listened() {
                continue;
            }
            // Nobody asked since the last look: the next request wakes us.
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.demand.local_wanted() => {}
                Ok(()) = self.config.changed() => {}
            }
        }
    }

    /// What Ollama at `url` reports; any failure reads as down.
    async fn ask(&self, url: &str) -> LocalInfo {
        match self.pulled_models(url).await {
            Ok(models) => LocalInfo {
                url: url.to_owned(),
                up: true,
                models,
            },
            Err(err) => {
                tracing::debug!(url, %err, "Ollama did not answer");
                down(url)
            }
        }
    }

    /// The pulled model tags, at most [`MAX_MODELS`]; an answer that is not
    /// a model list (or is over 1 MiB) means something other than Ollama
    /// listens there, which is as good as down.
    async fn pulled_models(&self, url: &str) -> Result<Vec<String>, String> {
        let response = self
            .http
            .get(format!("{}{TAGS_PATH}", url.trim_end_matches('/')))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| err.to_string())?;
        let body = crate::http::body_within_limit(response)
            .await
            .map_err(|err| err.to_string())?;
        let tags: Tags =
            serde_json::from_slice(&body).map_err(|err| format!("not a model list: {err}"))?;
        let listed = tags.models.len();
        let models: Vec<String> = tags
            .models
            .into_iter()
            .map(|tag| tag.name)
            .filter(|name| name.len() <= MAX_NAME_LEN)
            .take(MAX_MODELS)
            .collect();
        if models.len() < listed {
            tracing::debug!(listed, kept = models.len(), "Ollama's model list cut short");
        }
        Ok(models)
    }

    /// Publishes `info` only when it differs, and logs each change of
    /// reachability once rather than every interval.
    fn publish(&self, info: LocalInfo) {
        let was_up = self.local.borrow().up;
        if info.up != was_up {
            tracing::info!(url = %info.url, up = info.up, models = ?info.models, "Ollama reachability changed");
        }
        self.local.send_if_modified(|held| {
            let changed = *held != info;
            *held = info;
            changed
        });
    }
}

//! `claude-quotad`: wires the poller, the socket server and the signal
//! handlers together, and owns the shutdown path.

mod answers;
mod backoff;
mod config;
mod config_rules;
mod connection;
mod credentials;
mod demand;
mod forecast;
mod http;
mod local_choice;
mod logging;
mod notify;
mod ollama;
mod persist;
mod policy;
mod poller;
mod reading;
mod secret;
mod server;
mod service;
mod settings;
mod signals;
mod socket;
mod socket_dir;
mod state;
mod subscription;
mod usage_api;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::demand::Demand;
use crate::ollama::OllamaWatch;
use crate::poller::Poller;
use crate::service::Service;
use crate::settings::Args;
use crate::signals::{Event, Signals};
use crate::state::Snapshot;

/// How long shutdown waits for connections to finish the request in hand;
/// the contract allows 2 s from signal to exit.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(1500);

/// Queued wishes for a poll (`refresh`, waking from idle); more than this
/// many waiting clients simply wait for the next slot.
const POLL_QUEUE: usize = 256;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    logging::init(args.log_format);
    raise_fd_limit();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut signals = Signals::install().context("cannot install signal handlers")?;
    let config = args.load_config()?;
    let socket_path = args.socket_path();
    let (listener, socket_file) = socket::bind(&socket_path).await?;
    tracing::info!(
        socket = %socket_path.display(),
        api_url = %config.api_url,
        poll_interval = %config.poll_interval,
        version = env!("CARGO_PKG_VERSION"),
        "claude-quotad listening"
    );

    let max_connections = config.max_connections;
    let (local_tx, local_rx) = watch::channel(ollama::not_yet_asked(&config));
    let (config_tx, config_rx) = watch::channel(Arc::new(config));
    let state_path = persist::default_path();
    let saved = persist::load(&state_path);
    let mut restored = Snapshot {
        cooldown: saved.cooldown,
        last_error: saved.last_error,
        ..Snapshot::default()
    };
    if let Some(reading) = saved.reading {
        tracing::info!(as_of = %reading.as_of, "restored the last saved reading");
        restored.offer(reading);
    }
    let state = Arc::new(watch::Sender::new(restored));
    let (polls_tx, polls_rx) = mpsc::channel(POLL_QUEUE);
    let demand = Arc::new(Demand::default());
    let shutdown = CancellationToken::new();

    let poller = Poller::new(
        Arc::clone(&state),
        config_rx.clone(),
        polls_rx,
        Arc::clone(&demand),
    )?;
    let poller = tokio::spawn(poller.run(shutdown.clone()));
    let persister = tokio::spawn(persist::run(
        state_path,
        state.subscribe(),
        shutdown.clone(),
    ));

    let notifier = tokio::spawn(notify::run(
        state.subscribe(),
        config_rx.clone(),
        shutdown.clone(),
    ));
    let ollama = OllamaWatch::new(config_rx.clone(), local_tx)?;
    let ollama = tokio::spawn(ollama.run(shutdown.clone()));

    let service = Arc::new(Service::new(state, config_rx, polls_tx, local_rx, demand));
    let connections = TaskTracker::new();
    let server = tokio::spawn(server::serve(
        listener,
        service,
        max_connections,
        shutdown.clone(),
        connections.clone(),
    ));

    wait_for_shutdown(&mut signals, &args, &config_tx).await;

    tracing::info!("shutting down");
    shutdown.cancel();
    let _ = server.await;
    connections.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish in time");
    }
    poller.abort();
    let _ = persister.await;
    ollama.abort();
    notifier.abort();
    drop(socket_file);
    tracing::info!("stopped");
    Ok(())
}

/// Waits for SIGTERM or SIGINT; reloads the config on every SIGHUP in the
/// meantime, keeping the old one when the new one is invalid.
async fn wait_for_shutdown(
    signals: &mut Signals,
    args: &Args,
    config: &watch::Sender<Arc<config::Config>>,
) {
    while signals.next().await == Event::Reload {
        match args.load_config() {
            Ok(new) => {
                config.send_replace(Arc::new(new));
            }
            Err(err) => tracing::error!(%err, "config not reloaded; keeping the old one"),
        }
    }
}

/// Lifts the soft open-file limit as high as the system allows: each
/// client holds a descriptor, and the common soft default of 1024 is below
/// the connection cap. (`rlimit` also knows macOS's `kern.maxfilesperproc`,
/// which a plain setrlimit to the reported hard limit trips over.)
fn raise_fd_limit() {
    if let Err(err) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::debug!(%err, "cannot raise the open-file limit");
    }
}

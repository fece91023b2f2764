//! `claude-quotad`: wires the poller, the socket server and the signal
//! handlers together, and owns the shutdown path.

mod args;
mod backoff;
mod climb;
mod config;
mod credential_cache;
mod demand;
mod fetch;
mod fleet;
mod forecast;
mod history;
mod http;
mod ingest;
mod logging;
mod metrics;
mod notify;
mod ollama;
mod ownership;
mod persist;
mod policy;
mod poller;
mod reading;
mod schedule;
mod service;
mod signals;
mod socket;
mod speed;
mod state;
mod status;
mod supervise;
mod usage_api;
mod usage_reply;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::args::Args;
use crate::demand::Demand;
use crate::fleet::{Fleet, Roster};
use crate::ollama::OllamaWatch;
use crate::service::Service;
use crate::signals::{Event, Signals};
use crate::state::State;
use crate::supervise::Supervisor;

/// How long shutdown waits for connections to finish the request in hand;
/// the contract allows 2 s from signal to exit.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(1500);

/// How long the background tasks get to stop once connections are done
/// (within the contract's 2 s from signal to exit).
const TASK_GRACE: Duration = Duration::from_millis(200);

/// How long the runtime waits for blocking threads at exit: a credential
/// read hung on D-Bus or a FIFO never ends, and must not hold up the exit.
const BLOCKING_GRACE: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    match start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, each cause once: the Debug form anyhow prints when
            // main returns an error repeats causes and adds a backtrace.
            eprintln!("claude-quotad: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn start() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.check_config {
        match args.check_report() {
            Ok(report) => println!("{report}"),
            Err(err) => {
                eprintln!("claude-quotad: {err}");
                std::process::exit(1);
            }
        }
        return Ok(());
    }
    logging::init(args.log_format);
    raise_fd_limit();
    ignore_file_size_signal();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcome = runtime.block_on(run(args));
    runtime.shutdown_timeout(BLOCKING_GRACE);
    outcome
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
    let metrics_listener = match config.metrics.listen {
        Some(addr) => Some(metrics::bind(addr).await?),
        None => None,
    };
    let (local_tx, local_rx) = watch::channel(ollama::not_yet_asked(&config));
    let (config_tx, config_rx) = watch::channel(Arc::new(config));
    let state = Arc::new(watch::Sender::new(State::default()));
    let (roster_tx, roster_rx) = watch::channel(Arc::new(Roster::default()));
    let demand = Arc::new(Demand::default());
    let shutdown = CancellationToken::new();

    let mut tasks = Supervisor::default();
    let mut fleet = Fleet::new(
        Arc::clone(&state),
        config_rx.clone(),
        Arc::clone(&demand),
        roster_tx,
    );
    fleet.start().await?;
    tasks.spawn("accounts", fleet.run(shutdown.clone()));
    tasks.spawn(
        "persistence",
        persist::run(state.subscribe(), shutdown.clone()),
    );
    tasks.spawn(
        "notifier",
        notify::run(
            state.subscribe(),
            config_rx.clone(),
            local_rx.clone(),
            shutdown.clone(),
        ),
    );
    tasks.spawn(
        "history",
        history::run(
            claude_quota_history::default_path(),
            Arc::clone(&state),
            config_rx.clone(),
            local_rx.clone(),
            shutdown.clone(),
        ),
    );
    let ollama = OllamaWatch::new(config_rx.clone(), local_tx, Arc::clone(&demand))?;
    tasks.spawn("Ollama watcher", ollama.run(shutdown.clone()));
    let service = Arc::new(Service::new(state, config_rx, roster_rx, local_rx, demand));
    if let Some(listener) = metrics_listener {
        // The same text as the socket's `metrics` request.
        let service = Arc::clone(&service);
        let render: metrics::Render = Arc::new(move || service.metrics());
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "serving GET /metrics");
        }
        tasks.spawn(
            "metrics endpoint",
            metrics::serve(listener, render, shutdown.clone()),
        );
    }
    let connections = TaskTracker::new();
    tasks.spawn(
        "accept loop",
        socket::serve(
            listener,
            service,
            max_connections,
            shutdown.clone(),
            connections.clone(),
        ),
    );

    let failed = tokio::select! {
        () = wait_for_shutdown(&mut signals, &args, &config_tx) => None,
        ended = tasks.first_to_end() => Some(ended),
    };
    match &failed {
        None => tracing::info!("shutting down"),
        Some(ended) => tracing::error!("{ended}"),
    }
    shutdown.cancel();
    connections.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish in time");
    }
    tasks.finish(TASK_GRACE).await;
    drop(socket_file);
    tracing::info!("stopped");
    failed.map_or(Ok(()), |ended| Err(ended.into()))
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

/// Ignores SIGXFSZ: past a file-size limit (`ulimit -f`) a write then
/// fails with `EFBIG`, which the history and the saved reading report,
/// instead of the signal killing the daemon.
fn ignore_file_size_signal() {
    // SAFETY: making a signal ignored has no preconditions.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
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

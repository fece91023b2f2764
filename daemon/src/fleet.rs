//! The accounts the daemon runs: one poller each, started and stopped as
//! the config's `[[accounts]]` change (at start and on every SIGHUP), and
//! the [`Roster`] the service finds them by. One account's fault stays in
//! its own part of the state and its own poller.
//!
//! The fleet is one supervised task: a poller that ends without being
//! stopped ends the fleet, and with it the daemon, so that the service
//! manager starts a whole one again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use claude_quota_credentials::Account;
use claude_quota_credentials::accounts::same_dir;
use tokio::sync::watch;
use tokio::task::{self, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::demand::Demand;
use crate::persist;
use crate::policy::UnknownAccount;
use crate::poller::{self, Poller, PollerLine};
use crate::state::{AccountCell, AccountState, Snapshot, State};
use crate::supervise;

/// How long a stopped poller may take to end (it is waiting, or its poll
/// is abandoned).
const STOP_GRACE: Duration = Duration::from_secs(2);

/// The accounts running now, in order of preference, and the line to
/// each one's poller.
#[derive(Debug, Default)]
pub struct Roster {
    /// One entry per account.
    pub accounts: Vec<(Account, PollerLine)>,
}

impl Roster {
    /// The account named `name`, or the one whose login is `dir` (the
    /// `CLAUDE_CONFIG_DIR` of the session that asks); with neither, the
    /// account named `default`, or the only one.
    pub fn find(
        &self,
        name: Option<&str>,
        dir: Option<&str>,
    ) -> Result<&(Account, PollerLine), UnknownAccount> {
        let found = match (name, dir) {
            (Some(name), _) => self.accounts.iter().find(|(a, _)| a.name == name),
            (None, Some(dir)) => self.accounts.iter().find(|(a, _)| {
                a.claude_config_dir
                    .as_deref()
                    .is_some_and(|own| same_dir(own, dir))
            }),
            (None, None) => self
                .accounts
                .iter()
                .find(|(a, _)| a.name == claude_quota_credentials::accounts::DEFAULT_NAME)
                .or(match self.accounts.as_slice() {
                    [only] => Some(only),
                    _ => None,
                }),
        };
        found.ok_or_else(|| UnknownAccount {
            what: match (name, dir) {
                (Some(name), _) => format!("account {name:?}"),
                (None, Some(dir)) => format!("claude_config_dir {dir:?}"),
                (None, None) => "a push naming no account".to_owned(),
            },
            names: self.names(),
        })
    }

    /// The configured accounts' names, for messages.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.accounts.iter().map(|(a, _)| a.name.as_str()).collect();
        names.join(", ")
    }
}

/// A poller running, and how to stop it.
struct Running {
    account: Account,
    stop: CancellationToken,
    task: task::Id,
}

/// The task that starts and stops the pollers.
pub struct Fleet {
    state: Arc<watch::Sender<State>>,
    config: watch::Receiver<Arc<Config>>,
    demand: Arc<Demand>,
    roster: watch::Sender<Arc<Roster>>,
    pollers: JoinSet<()>,
    running: HashMap<String, Running>,
    /// A poller that ended on its own while others were being stopped.
    lost: Option<String>,
}

impl Fleet {
    /// A fleet publishing into `state` and `roster`, started with
    /// [`Fleet::start`].
    pub fn new(
        state: Arc<watch::Sender<State>>,
        config: watch::Receiver<Arc<Config>>,
        demand: Arc<Demand>,
        roster: watch::Sender<Arc<Roster>>,
    ) -> Self {
        Fleet {
            state,
            config,
            demand,
            roster,
            pollers: JoinSet::new(),
            running: HashMap::new(),
            lost: None,
        }
    }

    /// Starts the pollers of the config's accounts, each after restoring
    /// what was saved of it; fails when one cannot be built.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        let config = self.config.borrow_and_update().clone();
        self.reconcile(&config).await
    }

    /// Keeps the pollers in step with the config until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) {
        while self.lost.is_none() {
            tokio::select! {
                () = shutdown.cancelled() => return,
                Ok(()) = self.config.changed() => {
                    let config = self.config.borrow_and_update().clone();
                    if let Err(err) = self.reconcile(&config).await {
                        tracing::error!(%err, "cannot start an account's poller");
                    }
                }
                Some(ended) = self.pollers.join_next_with_id() => {
                    let (id, how) = match ended {
                        Ok((id, ())) => (id, "ended".to_owned()),
                        Err(err) => (err.id(), supervise::describe(err)),
                    };
                    let name = self.name_of(id).unwrap_or_default();
                    self.lost = Some(format!("the poller task {how} (account {name:?})"));
                }
            }
        }
        if let Some(lost) = &self.lost {
            tracing::error!("{lost}");
        }
    }

    /// Starts the accounts of `config` that are not running, stops those
    /// it no longer has (an account whose directory changed is both), and
    /// publishes the roster and the state in the config's order.
    async fn reconcile(&mut self, config: &Config) -> anyhow::Result<()> {
        let wanted = config.accounts();
        let gone: Vec<String> = self
            .running
            .iter()
            .filter(|(_, running)| !wanted.contains(&running.account))
            .map(|(name, _)| name.clone())
            .collect();
        self.stop(&gone).await;
        let mut lines = Vec::with_capacity(wanted.len());
        let mut failed = None;
        for account in wanted {
            match self.line_to(account) {
                Ok(line) => lines.push((account.clone(), line)),
                Err(err) => failed = Some(err),
            }
        }
        self.state.send_modify(|state| {
            let mut held = std::mem::take(&mut state.accounts);
            state.accounts = lines
                .iter()
                .filter_map(|(account, _)| {
                    let at = held.iter().position(|h| h.account.name == account.name)?;
                    Some(held.swap_remove(at))
                })
                .collect();
        });
        self.roster
            .send_replace(Arc::new(Roster { accounts: lines }));
        failed.map_or(Ok(()), Err)
    }

    /// The line to `account`'s poller, starting it when it is not running.
    fn line_to(&mut self, account: &Account) -> anyhow::Result<PollerLine> {
        if let Some(line) = self.roster.borrow().accounts.iter().find_map(|(a, line)| {
            (a == account && self.running.contains_key(&a.name)).then(|| line.clone())
        }) {
            return Ok(line);
        }
        let saved = persist::load(&persist::path_for(&account.name));
        let mut snapshot = Snapshot {
            cooldown: saved.cooldown,
            last_error: saved.last_error,
            ..Snapshot::default()
        };
        if let Some(reading) = saved.reading {
            tracing::info!(account = %account.name, as_of = %reading.as_of, "restored the last saved reading");
            snapshot.offer(reading);
        }
        self.state.send_modify(|state| {
            state
                .accounts
                .retain(|held| held.account.name != account.name);
            state.accounts.push(AccountState {
                account: account.clone(),
                snapshot,
            });
        });
        let (line, ends) = poller::line();
        let cell = AccountCell::new(Arc::clone(&self.state), &account.name);
        let poller = Poller::new(
            account.clone(),
            cell,
            self.config.clone(),
            ends,
            self.demand.watcher(),
        )?;
        let stop = CancellationToken::new();
        let handle = self
            .pollers
            .spawn(supervise::watched("poller", poller.run(stop.clone())));
        self.running.insert(
            account.name.clone(),
            Running {
                account: account.clone(),
                stop,
                task: handle.id(),
            },
        );
        tracing::info!(account = %account.name, "polling the account");
        Ok(line)
    }

    /// Stops the pollers of the accounts `names` and waits (a little) for
    /// them to end.
    async fn stop(&mut self, names: &[String]) {
        let mut ending = Vec::new();
        for name in names {
            if let Some(running) = self.running.remove(name) {
                running.stop.cancel();
                ending.push(running.task);
                tracing::info!(account = %name, "stopped polling the account");
            }
        }
        let wait = async {
            while !ending.is_empty() {
                let id = match self.pollers.join_next_with_id().await {
                    Some(Ok((id, ()))) => id,
                    Some(Err(err)) => err.id(),
                    None => return,
                };
                if !ending.contains(&id) {
                    let name = self.name_of(id).unwrap_or_default();
                    self.lost = Some(format!("the poller task ended (account {name:?})"));
                }
                ending.retain(|task| *task != id);
            }
        };
        if tokio::time::timeout(STOP_GRACE, wait).await.is_err() {
            tracing::warn!("a stopped poller did not end in time");
        }
    }

    fn name_of(&self, id: task::Id) -> Option<String> {
        self.running
            .iter()
            .find(|(_, running)| running.task == id)
            .map(|(name, _)| name.clone())
    }
}

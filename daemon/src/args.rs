//! The command line, and how it layers over the config file: flags beat
//! environment variables (clap reads both), which beat the file, which
//! beats the defaults.

use std::path::PathBuf;

use clap::Parser;

use crate::config::{Config, ConfigError, NotADuration, Seconds, Source};
use crate::logging::LogFormat;
use crate::ownership;

/// claude-quotad: keeps the Claude subscription's usage tier in memory and
/// answers routers over a Unix socket whether a task may use the cloud.
///
/// Runs in the foreground; launchd or systemd supervise it
/// (`claude-quota service install`). Logs go to stderr, level from RUST_LOG.
#[derive(Debug, Clone, Parser)]
#[command(name = "claude-quotad", version)]
pub struct Args {
    /// Socket to listen on [default: $XDG_RUNTIME_DIR/claude-quota/claude-quotad.sock
    /// (without XDG_RUNTIME_DIR, /run/user/<uid>/claude-quota/ when that is yours alone),
    /// or ~/Library/Application Support/claude-quota/claude-quotad.sock on macOS]
    #[arg(long, env = "CLAUDE_QUOTA_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Config file [default: <config dir>/claude-quota/config.toml]
    #[arg(long, env = "CLAUDE_QUOTA_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Base URL of the usage API (overrides the config file)
    #[arg(long, env = "CLAUDE_QUOTA_API_URL", value_name = "URL")]
    pub api_url: Option<String>,

    /// Seconds between polls of the usage API, 10 to 3600 (overrides the config file)
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub poll_interval: Option<Seconds>,

    /// Log line format
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Check the config as a start would read it (the file, with flags and
    /// environment over it) and exit: 0 with a JSON line naming the file and
    /// the keychain method when it would be taken, 1 with the reason when not
    #[arg(long)]
    pub check_config: bool,
}

fn parse_seconds(text: &str) -> Result<Seconds, NotADuration> {
    // Text that is no number at all is as unusable as a negative one.
    let secs: f64 = text.trim().parse().unwrap_or(f64::NAN);
    Seconds::try_from_secs(secs)
}

impl Args {
    /// The config file to read, and whether it must exist (it must when
    /// named explicitly).
    pub fn config_path(&self) -> (PathBuf, bool) {
        match &self.config {
            Some(path) => (path.clone(), true),
            None => {
                let dir = dirs::config_dir().unwrap_or_else(|| PathBuf::from("."));
                (dir.join("claude-quota").join("config.toml"), false)
            }
        }
    }

    /// The socket to bind.
    pub fn socket_path(&self) -> PathBuf {
        self.socket
            .clone()
            .unwrap_or_else(claude_quota_proto::default_socket_path)
    }

    /// Reads the config file and lays the flags over it; used at start and
    /// again on every SIGHUP.
    pub fn load_config(&self) -> Result<Config, ConfigError> {
        self.load().map(|(_, config)| config)
    }

    /// What `--check-config` prints for a config the daemon would take:
    /// `claude-quota doctor` reads the keychain method from it, so that it
    /// reads the credentials the way the daemon will, and the CLI the
    /// resolved accounts (`claude-quota exec` falls back on the first when
    /// the daemon is down), so that neither parses the file again.
    pub fn check_report(&self) -> Result<String, ConfigError> {
        let (source, config) = self.load()?;
        let accounts: Vec<_> = config
            .accounts()
            .iter()
            .map(|account| {
                serde_json::json!({
                    "name": account.name,
                    "claude_config_dir": account.config_dir_string(),
                    "priority": account.priority,
                })
            })
            .collect();
        Ok(serde_json::json!({
            "path": source.path,
            "found": source.text.is_some(),
            "keychain": config.keychain,
            "accounts": accounts,
        })
        .to_string())
    }

    /// The file as read, and the configuration it makes with the flags.
    fn load(&self) -> Result<(Source, Config), ConfigError> {
        let (path, required) = self.config_path();
        let source = Source::read(&path, required)?;
        let mut settings = source.parse()?;
        // A hook that does not exist yet fails when it runs, logged then.
        if let Some(hook) = &settings.notify.command
            && let Some(reason) = ownership::untrusted_path(hook)
        {
            return Err(ConfigError::Untrusted {
                what: "[notify] command",
                path: hook.clone(),
                reason,
            });
        }
        if let Some(url) = &self.api_url {
            settings.api_url.clone_from(url);
        }
        if let Some(interval) = self.poll_interval {
            settings.poll_interval = interval;
        }
        let config =
            Config::check(settings).map_err(|broken| match self.flag_for(&broken.key) {
                Some(flag) => ConfigError::Invalid {
                    place: flag.into(),
                    broken,
                },
                None => source.refuse(broken),
            })?;
        Ok((source, config))
    }

    /// The flag (or its environment variable) that set `key`, if one did.
    fn flag_for(&self, key: &str) -> Option<&'static str> {
        match key {
            "api_url" if self.api_url.is_some() => Some("--api-url (or CLAUDE_QUOTA_API_URL)"),
            "poll_interval" if self.poll_interval.is_some() => Some("--poll-interval"),
            _ => None,
        }
    }
}

//! A real `claude-quotad` process in a private temp dir: its own HOME,
//! runtime dir, config dir and credentials, so tests never touch the
//! user's, and run in parallel without meeting.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use claude_quota::{Client, LastErrorKind, Status, TaskValue};
use tempfile::TempDir;

/// Where the daemon looks for its config by default, relative to the temp
/// dir whose `home/` is its HOME and `config/` its `XDG_CONFIG_HOME`: macOS
/// keeps configuration under Application Support and ignores XDG.
const DEFAULT_CONFIG: &str = if cfg!(target_os = "macos") {
    "home/Library/Application Support/claude-quota/config.toml"
} else {
    "config/claude-quota/config.toml"
};

/// A test's config with the fixed poll schedule unless it names one: most
/// tests change the fake API and wait for the daemon to see it within a
/// few poll intervals, which the adaptive schedule (polling only when the
/// reading could change an answer) would rightly not do.
fn with_fixed_schedule(toml: &str) -> String {
    if toml.contains("adaptive") {
        return toml.to_owned();
    }
    match toml.find("[policy]") {
        Some(at) => {
            let (before, after) = toml.split_at(at + "[policy]".len());
            format!("{before}\nadaptive = false{after}")
        }
        None => format!("{toml}\n[policy]\nadaptive = false\n"),
    }
}

/// The daemon's history database, relative to its temp dir (its
/// `XDG_STATE_HOME` is `state/`).
const HISTORY: &str = "state/claude-quota/history.sqlite3";

/// Whether the tests run as root, whom file modes do not stop.
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// How long a daemon may take to open its socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// What the daemon logs once its socket is ready.
const LISTENING: &str = "claude-quotad listening";

/// The directory holding the workspace's built binaries: a test executable
/// lives in `target/<profile>/deps/`, the bench binary beside the daemon.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().expect("target/<profile> directory");
    match dir.file_name() {
        Some(name) if name == "deps" => dir.parent().expect("target/<profile>"),
        _ => dir,
    }
    .to_owned()
}

/// The path of a workspace binary, built by `cargo test --workspace`.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` (or `cargo test --workspace`) first",
        path.display()
    );
    path
}

/// How to start a daemon.
pub struct DaemonBuilder {
    dir: TempDir,
    socket: PathBuf,
    /// Whether the daemon is told its socket with `--socket`, or finds it
    /// the default way.
    pass_socket: bool,
    args: Vec<String>,
    env: Vec<(String, String)>,
    config: Option<String>,
    config_mode: u32,
    config_owner: Option<u32>,
    saved_state: Option<String>,
    secret_service: bool,
    honour_permissions: bool,
    file_size_limit: Option<u64>,
}

impl DaemonBuilder {
    /// Polls the fake at `api_url` every `poll_interval` seconds.
    pub fn api(mut self, api_url: &str, poll_interval: f64) -> Self {
        self.args.extend([
            "--api-url".into(),
            api_url.into(),
            "--poll-interval".into(),
            poll_interval.to_string(),
        ]);
        self
    }

    /// Makes file permissions hold for the daemon even when the tests run
    /// as root (as CI does): it runs without the capabilities that let
    /// root write where the mode says no (`setpriv`, util-linux).
    pub fn honouring_permissions(mut self) -> Self {
        self.honour_permissions = true;
        self
    }

    /// Limits the size of every file the daemon writes (`RLIMIT_FSIZE`),
    /// as a full disk would: past it a write fails.
    pub fn file_size_limit(mut self, bytes: u64) -> Self {
        self.file_size_limit = Some(bytes);
        self
    }

    /// Where the daemon keeps its history of readings.
    pub fn history_path(&self) -> PathBuf {
        self.dir.path().join(HISTORY)
    }

    /// Writes Claude Code's credentials file holding `token`.
    pub fn credentials_file(self, token: &str, expires_at_ms: Option<i64>) -> Self {
        write_credentials(&self.claude_dir(), token, expires_at_ms);
        self
    }

    /// The directory of another Claude Code login, `home/.claude-NAME`
    /// (a `CLAUDE_CONFIG_DIR` an `[[accounts]]` table can name).
    pub fn login_dir(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("home/.claude-{name}"))
    }

    /// The `[[accounts]]` tables naming the logins `names` of
    /// [`Self::login_dir`], in that order of preference.
    pub fn accounts_config(&self, names: &[&str]) -> String {
        names
            .iter()
            .map(|name| {
                format!(
                    "[[accounts]]\nname = \"{name}\"\nclaude_config_dir = \"{}\"\n",
                    self.login_dir(name).display()
                )
            })
            .collect()
    }

    /// Writes the credentials file of the login [`Self::login_dir`] names,
    /// holding `token`.
    pub fn login(self, name: &str, token: &str) -> Self {
        write_credentials(&self.login_dir(name), token, None);
        self
    }

    /// Sets an environment variable for the daemon.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs the daemon inside a private Secret Service session (see
    /// [`crate::secret_service`]); check [`crate::secret_service::available`]
    /// first.
    pub fn secret_service(mut self) -> Self {
        self.secret_service = true;
        self
    }

    /// Runs the daemon inside a private Secret Service holding Claude
    /// Code's item with `token`, stored the README's way under the account
    /// attribute `attribute` (`username` or `account`) for `$USER`.
    pub fn keyring_item(self, token: &str, attribute: &str, expires_at_ms: Option<i64>) -> Self {
        let dir = self.dir.path().join("keyring-item");
        write_credentials(&dir, token, expires_at_ms);
        self.env(
            "CQ_KEYRING_ITEM",
            &dir.join(".credentials.json").display().to_string(),
        )
        .env("CQ_KEYRING_ATTRIBUTE", attribute)
        .secret_service()
    }

    /// Adds a second item to the private Secret Service: `secret` stored
    /// as service `service` under the `username` attribute for `$USER`.
    pub fn other_keyring_item(self, service: &str, secret: &str) -> Self {
        let path = self.dir.path().join("other-keyring-item");
        fs::write(&path, secret).expect("write keyring item");
        self.env("CQ_KEYRING_OTHER_ITEM", &path.display().to_string())
            .env("CQ_KEYRING_OTHER_SERVICE", service)
            .secret_service()
    }

    /// Listens on `socket` instead of the private default.
    pub fn socket(mut self, socket: &Path) -> Self {
        self.socket = socket.to_owned();
        self
    }

    /// Lets the daemon find its socket the default way with no
    /// `XDG_RUNTIME_DIR`: `$TMPDIR/claude-quota-<uid>/`, with `TMPDIR` in
    /// the private temp dir.
    pub fn default_socket(mut self) -> Self {
        // SAFETY: getuid has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        self.socket = self
            .tmpdir()
            .join(format!("claude-quota-{uid}/claude-quotad.sock"));
        self.pass_socket = false;
        self
    }

    /// The daemon's `TMPDIR`.
    pub fn tmpdir(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// The socket it will listen on.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// Uses this TOML as the config file.
    pub fn config(mut self, toml: &str) -> Self {
        self.config = Some(toml.into());
        self
    }

    /// Gives the config file this mode instead of 0600 (the daemon
    /// refuses one that others can write).
    pub fn config_mode(mut self, mode: u32) -> Self {
        self.config_mode = mode;
        self
    }

    /// Hands the config file to this uid (which needs root).
    pub fn config_owner(mut self, uid: u32) -> Self {
        self.config_owner = Some(uid);
        self
    }

    /// Uses this JSON as the state file a previous run left behind.
    pub fn saved_state(mut self, json: &str) -> Self {
        self.saved_state = Some(json.into());
        self
    }

    /// The directory Claude Code would keep its files in.
    pub fn claude_dir(&self) -> PathBuf {
        self.dir.path().join("home/.claude")
    }

    /// Where the daemon will keep its last reading (to plant one before
    /// it starts).
    pub fn saved_reading_path(&self) -> PathBuf {
        self.dir.path().join("state/claude-quota/last-reading.json")
    }

    /// Starts the daemon and waits until it accepts connections.
    pub fn start(self) -> Daemon {
        let daemon = self.spawn();
        daemon.wait_until_ready(0);
        daemon
    }

    /// Starts the daemon without waiting (for tests of start-up failures).
    pub fn spawn(self) -> Daemon {
        let root = self.dir.path();
        for sub in ["home/.claude", "config", "state"] {
            fs::create_dir_all(root.join(sub)).expect("create temp dirs");
        }
        let config_path = root.join(DEFAULT_CONFIG);
        fs::create_dir_all(config_path.parent().expect("config dir")).expect("create config dir");
        {
            let toml = with_fixed_schedule(self.config.as_deref().unwrap_or_default());
            fs::write(&config_path, toml).expect("write config");
            // Whatever the umask: the daemon refuses a config others can write.
            fs::set_permissions(&config_path, fs::Permissions::from_mode(self.config_mode))
                .expect("set the config's mode");
            if let Some(uid) = self.config_owner {
                std::os::unix::fs::chown(&config_path, Some(uid), None).expect("chown the config");
            }
        }
        if let Some(json) = &self.saved_state {
            let dir = root.join("state/claude-quota");
            fs::create_dir_all(&dir).expect("create state dir");
            let file = dir.join("last-reading.json");
            fs::write(&file, json).expect("write state file");
            // As the daemon writes it, whatever the umask.
            fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("set its mode");
        }
        let log = root.join("daemon.log");
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open daemon log");
        let mut command = if self.secret_service {
            let wrapper = crate::secret_service::wrapper(&bin("claude-quotad"), &root.join("bus"));
            let mut command = Command::new(&wrapper[0]);
            command.args(&wrapper[1..]).process_group(0);
            command
        } else if self.honour_permissions && is_root() {
            let mut command = Command::new("setpriv");
            command
                .arg("--bounding-set=-dac_override,-dac_read_search")
                .arg("--")
                .arg(bin("claude-quotad"));
            command
        } else {
            Command::new(bin("claude-quotad"))
        };
        if let Some(limit) = self.file_size_limit {
            // SAFETY: setrlimit is async-signal-safe and touches only the child.
            unsafe {
                command.pre_exec(move || {
                    let rlimit = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        command.args(&self.args).env_clear();
        if self.pass_socket {
            command
                .arg("--socket")
                .arg(&self.socket)
                .env("XDG_RUNTIME_DIR", root.join("run"));
        }
        command
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", root.join("home"))
            .env("TMPDIR", root.join("tmp"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_STATE_HOME", root.join("state"))
            .env("CLAUDE_CONFIG_DIR", root.join("home/.claude"))
            .env("RUST_LOG", "claude_quotad=trace,info")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        let child = command.spawn().expect("spawn claude-quotad");
        Daemon {
            child: Some(child),
            command,
            group: self.secret_service,
            socket: self.socket,
            config_path,
            log,
            dir: self.dir,
        }
    }
}

/// A running daemon, killed when dropped (with its private session bus
/// and keyring, when it runs in one).
pub struct Daemon {
    child: Option<Child>,
    /// How it was started, to start it again in the same place.
    command: Command,
    group: bool,
    socket: PathBuf,
    config_path: PathBuf,
    log: PathBuf,
    dir: TempDir,
}

impl Daemon {
    /// A builder with a fresh temp dir and no credentials.
    pub fn builder() -> DaemonBuilder {
        let dir = tempfile::Builder::new()
            .prefix("cq-")
            .tempdir()
            .expect("temp dir");
        // Made now, so that a test can prepare the default socket's place.
        fs::create_dir(dir.path().join("tmp")).expect("create the daemon's TMPDIR");
        DaemonBuilder {
            socket: dir.path().join("run/claude-quota/claude-quotad.sock"),
            pass_socket: true,
            dir,
            args: Vec::new(),
            env: Vec::new(),
            config: None,
            config_mode: 0o600,
            config_owner: None,
            saved_state: None,
            secret_service: false,
            honour_permissions: false,
            file_size_limit: None,
        }
    }

    /// The daemon's socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Its private temp dir.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Where it keeps its history of readings.
    pub fn history_path(&self) -> PathBuf {
        self.dir.path().join(HISTORY)
    }

    /// Its config file.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The directory Claude Code would keep its files in.
    pub fn claude_dir(&self) -> PathBuf {
        self.dir.path().join("home/.claude")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until a line of the log contains `needle` and returns that
    /// line; panics with the whole log after `timeout`.
    pub async fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_nth_log(needle, 1, timeout).await
    }

    /// Waits until `n` lines of the log contain `needle` (the daemon did a
    /// thing `n` times, each logged) and returns the `n`th; panics with
    /// the whole log after `timeout`.
    pub async fn wait_for_nth_log(&self, needle: &str, n: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            if let Some(line) = log.lines().filter(|line| line.contains(needle)).nth(n - 1) {
                return line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} not logged {n} times within {timeout:?}; log:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A client connected to it.
    pub async fn client(&self) -> Client {
        Client::connect_to(&self.socket)
            .await
            .expect("connect to daemon")
    }

    /// Runs `claude-quota ARGS --socket <ours>` to completion.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli_at(&self.socket, args, b"")
    }

    /// Runs `claude-quota ARGS --socket <ours>` as the daemon's user would:
    /// with its HOME, config, state (the history) and Claude Code
    /// directories.
    pub fn cli_at_home(&self, args: &[&str]) -> Output {
        let root = self.dir.path();
        Command::new(bin("claude-quota"))
            .args(args)
            .arg("--socket")
            .arg(&self.socket)
            .env("HOME", root.join("home"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_STATE_HOME", root.join("state"))
            .env("CLAUDE_CONFIG_DIR", self.claude_dir())
            .env_remove("NO_COLOR")
            .env_remove("CLAUDE_QUOTA_SOCKET")
            .stdin(Stdio::null())
            .output()
            .expect("run claude-quota")
    }

    /// Runs `claude-quota ARGS --socket <ours>` with `stdin` as its input.
    pub fn cli_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        cli_at(&self.socket, args, stdin)
    }

    /// Waits until `api` has answered `polls` more requests (the daemon
    /// still polls it, e.g. after a refused reload) and returns the status
    /// then.
    pub async fn wait_for_polls(
        &self,
        api: &crate::FakeApi,
        polls: usize,
        timeout: Duration,
    ) -> Status {
        let before = api.requests();
        self.wait_for(timeout, |_| api.requests() >= before + polls)
            .await
    }

    /// Asks `should_use_cloud` every 50 ms, as a busy router does, until
    /// `api` has answered `polls` more requests; returns when the last
    /// request before the asking (if any) and each new one arrived, so
    /// their gaps are the poll intervals. Panics after `timeout`.
    pub async fn ask_until_polls(
        &self,
        api: &crate::FakeApi,
        polls: usize,
        timeout: Duration,
    ) -> Vec<Instant> {
        let before = api.requests();
        let deadline = Instant::now() + timeout;
        let mut client = self.client().await;
        while api.requests() < before + polls {
            assert!(
                Instant::now() < deadline,
                "{} of {polls} polls within {timeout:?} of questions; log:\n{}",
                api.requests() - before,
                self.log()
            );
            client
                .should_use_cloud(TaskValue::High)
                .await
                .expect("an answer");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        api.request_times()[before.saturating_sub(1)..before + polls].to_vec()
    }

    /// Polls the status until `done` holds, or panics after `timeout` with
    /// the last status and the daemon's log.
    pub async fn wait_for(&self, timeout: Duration, done: impl Fn(&Status) -> bool) -> Status {
        let deadline = Instant::now() + timeout;
        let mut client = self.client().await;
        loop {
            let status = client.status().await.expect("status");
            if done(&status) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "condition not met within {timeout:?}; last status: {status:#?}\nlog:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `last_error` shows a fault of `kind`, as [`Self::wait_for`].
    pub async fn wait_for_error(&self, timeout: Duration, kind: LastErrorKind) -> Status {
        self.wait_for(timeout, |s| {
            s.last_error.as_ref().map(|e| e.kind) == Some(kind)
        })
        .await
    }

    /// Kills the daemon with SIGKILL (no chance to clean up) and starts it
    /// again with the same arguments, environment and files.
    pub fn kill_and_restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill -9");
            child.wait().expect("reap");
        }
        let started_before = self.log().matches(LISTENING).count();
        self.child = Some(self.command.spawn().expect("respawn claude-quotad"));
        self.wait_until_ready(started_before);
    }

    /// Starts a second daemon exactly like this one (same socket, files and
    /// environment; it logs to the same file) and does not wait for it.
    pub fn spawn_twin(&mut self) -> Child {
        self.command.spawn().expect("spawn a second claude-quotad")
    }

    /// Sends a signal to the daemon.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut().expect("running");
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the daemon started after `started_before` others (that
    /// logged to the same file) serves: its socket accepts connections,
    /// and it has logged that it listens, which it does once the socket is
    /// all set (its mode included: a socket accepts connections as soon as
    /// it is bound).
    fn wait_until_ready(&self, started_before: usize) {
        let deadline = Instant::now() + START_TIMEOUT;
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err()
            || self.log().matches(LISTENING).count() <= started_before
        {
            assert!(
                Instant::now() < deadline,
                "claude-quotad did not open {} within {START_TIMEOUT:?}; log:\n{}",
                self.socket.display(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if self.group {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `claude-quota ARGS --socket SOCKET` to completion, feeding `stdin`.
pub fn cli_at(socket: &Path, args: &[&str], stdin: &[u8]) -> Output {
    cli_in_login(socket, args, stdin, None)
}

/// [`cli_at`] as Claude Code runs its status line and hooks in a session
/// of the login `claude_config_dir` (its `CLAUDE_CONFIG_DIR`; `None`: the
/// default login, the variable unset).
pub fn cli_in_login(
    socket: &Path,
    args: &[&str],
    stdin: &[u8],
    claude_config_dir: Option<&Path>,
) -> Output {
    use std::io::Write;
    let mut command = Command::new(bin("claude-quota"));
    match claude_config_dir {
        Some(dir) => command.env("CLAUDE_CONFIG_DIR", dir),
        None => command.env_remove("CLAUDE_CONFIG_DIR"),
    };
    let mut child = command
        .args(args)
        .arg("--socket")
        .arg(socket)
        .env_remove("NO_COLOR")
        .env_remove("CLAUDE_QUOTA_SOCKET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run claude-quota");
    let mut input = child.stdin.take().expect("stdin");
    // A command that ignores its input may exit before reading it all.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("wait for claude-quota")
}
/// An `expiresAt` (unix ms) that never comes: 2100-01-01.
pub const FAR_FUTURE_MS: i64 = 4_102_444_800_000;

/// Writes a credentials file the way Claude Code does.
pub fn write_credentials(claude_dir: &Path, token: &str, expires_at_ms: Option<i64>) {
    fs::create_dir_all(claude_dir).expect("create claude dir");
    let body = serde_json::json!({
        "claudeAiOauth": {
            "accessToken": token,
            "refreshToken": crate::leaks::REFRESH_TOKEN,
            "expiresAt": expires_at_ms,
            "scopes": ["user:inference", "user:profile"],
            "subscriptionType": "max",
            "rateLimitTier": "default_claude_max_20x"
        }
    });
    let tmp = claude_dir.join(".credentials.json.tmp");
    fs::write(&tmp, body.to_string()).expect("write credentials");
    fs::rename(&tmp, claude_dir.join(".credentials.json")).expect("rename credentials");
}

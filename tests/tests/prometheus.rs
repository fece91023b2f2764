//! The metrics as Prometheus itself reads them: `promtool check metrics`
//! accepts what the daemon renders, and a real Prometheus server, scraping
//! the daemon's `[metrics]` endpoint every second, answers a query for
//! the 5-hour utilization through its HTTP API. Debian's `prometheus`
//! package brings both programs; without them the suite is NOT RUN
//! locally and fails in CI (`tests/src/suites.rs`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use claude_quota_e2e::FakeApi;
use claude_quota_e2e::scrape::{self, metrics_addr, metrics_daemon};
use claude_quota_e2e::suites::{self, PROMETHEUS};
use tempfile::TempDir;

/// How long a Prometheus server may take to start and scrape (it opens
/// its database first; the machine may be busy).
const PROMETHEUS_WAIT: Duration = Duration::from_secs(60);

/// Whether `promtool` runs too (it comes with the server).
fn promtool_ready() -> bool {
    suites::available(
        PROMETHEUS.name,
        suites::runs(Path::new("promtool"), &["--version"], "promtool"),
        PROMETHEUS.install_program,
        PROMETHEUS.require_env,
    )
}

/// Runs `promtool check metrics` on `text`; returns its verdict.
fn promtool_check(text: &str) -> std::process::Output {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    child.wait_with_output().expect("wait for promtool")
}

/// Asserts that `promtool check metrics` takes `text` without a remark.
fn assert_promtool_accepts(text: &str) {
    let verdict = promtool_check(text);
    assert!(
        verdict.status.success() && verdict.stdout.is_empty() && verdict.stderr.is_empty(),
        "promtool refused the metrics ({}):\n{}{}\n{text}",
        verdict.status,
        String::from_utf8_lossy(&verdict.stdout),
        String::from_utf8_lossy(&verdict.stderr),
    );
}

#[tokio::test]
async fn promtool_accepts_claude_quota_metrics_and_the_endpoint_alike() {
    if !PROMETHEUS.ready() || !promtool_ready() {
        return;
    }
    let api = FakeApi::start();
    let daemon = metrics_daemon(&api).await;
    let output = daemon.cli(&["metrics"]);
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).expect("UTF-8");
    let five_hour =
        r#"claude_quota_utilization_percent{account="default",window="five_hour"} 10.0"#;
    assert!(printed.lines().any(|line| line == five_hour), "{printed}");
    assert_promtool_accepts(&printed);
    let served = scrape::get(metrics_addr(&daemon).await, "/metrics").await;
    assert!(
        served.body.lines().any(|line| line == five_hour),
        "{served:?}"
    );
    assert_promtool_accepts(&served.body);
    // And it does refuse what is not the format, so its yes means something.
    let refused = promtool_check("claude_quota_x{ 1\n");
    assert!(!refused.status.success(), "promtool took a broken line");
}

/// A Prometheus server in a temp dir of its own, killed when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: TempDir,
}

impl Prometheus {
    /// Starts a server scraping `target`'s `/metrics` every second.
    fn start(target: SocketAddr) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("cq-prometheus-")
            .tempdir()
            .expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: claude-quota\n    static_configs:\n      \
                 - targets: [\"{target}\"]\n"
            ),
        )
        .expect("write prometheus.yml");
        let addr: SocketAddr = ([127, 0, 0, 1], scrape::free_port()).into();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start prometheus");
        Prometheus { child, addr, dir }
    }

    /// What it logged so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// The values of the instant query `query`, once its HTTP API answers.
    async fn query(&self, query: &str) -> Vec<String> {
        let target = format!("/api/v1/query?query={}", url_encode(query));
        let response = scrape::get(self.addr, &target).await;
        assert_eq!(response.status, 200, "{response:?}");
        let reply: serde_json::Value =
            serde_json::from_str(&response.body).expect("the API answers JSON");
        assert_eq!(reply["status"], "success", "{reply}");
        reply["data"]["result"]
            .as_array()
            .expect("a vector result")
            .iter()
            .map(|series| series["value"][1].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Waits until it says it is ready to serve queries.
    async fn wait_until_ready(&mut self, deadline: Instant) {
        loop {
            if tokio::net::TcpStream::connect(self.addr).await.is_ok()
                && scrape::get(self.addr, "/-/ready").await.status == 200
            {
                return;
            }
            assert!(
                self.child.try_wait().expect("try_wait").is_none(),
                "prometheus exited:\n{}",
                self.log()
            );
            assert!(
                Instant::now() < deadline,
                "prometheus was not ready on {}:\n{}",
                self.addr,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes everything but unreserved characters, for a query string.
fn url_encode(text: &str) -> String {
    text.bytes().fold(String::new(), |mut out, byte| {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
        out
    })
}

#[tokio::test]
async fn a_prometheus_server_scrapes_the_endpoint_and_answers_for_the_five_hour_window() {
    if !PROMETHEUS.ready() {
        return;
    }
    let api = FakeApi::start();
    let daemon = metrics_daemon(&api).await;
    let mut prometheus = Prometheus::start(metrics_addr(&daemon).await);
    let deadline = Instant::now() + PROMETHEUS_WAIT;
    prometheus.wait_until_ready(deadline).await;
    let query = r#"claude_quota_utilization_percent{account="default",window="five_hour",job="claude-quota"}"#;
    loop {
        let values = prometheus.query(query).await;
        if values == ["10"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no sample of the 5-hour window yet ({values:?}); prometheus log:\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // It scraped the target healthy: `up` is 1.
    assert_eq!(prometheus.query(r#"up{job="claude-quota"}"#).await, ["1"]);
}

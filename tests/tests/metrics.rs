//! `[metrics] listen`: the daemon serves `GET /metrics` in the Prometheus
//! text format, from the same status the socket answers; any other path
//! is 404; a client that connects and sends nothing, or trickles, holds a
//! slot for seconds only, never more than a few slots, and never stalls
//! the daemon; an address other machines can reach is refused unless
//! `allow_remote` says so.

use std::time::{Duration, Instant};

use claude_quota::{LastErrorKind, Tier};
use claude_quota_e2e::fake_api::usage_body;
use claude_quota_e2e::scrape::{self, metrics_addr, metrics_daemon};
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(15);

/// How many clients the endpoint serves at once (the daemon's
/// `metrics::endpoint::MAX_CONNECTIONS`).
const SLOTS: usize = 4;

/// The value of the sample `series` (name and labels as written) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn get_metrics_shows_the_windows_tier_calls_and_faults_by_kind() {
    let api = FakeApi::start();
    let daemon = metrics_daemon(&api).await;
    let addr = metrics_addr(&daemon).await;
    let response = scrape::get(addr, "/metrics").await;
    assert_eq!(response.status, 200, "{response:?}");
    assert!(
        response
            .head
            .to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{response:?}"
    );
    let text = &response.body;
    let five_hour = r#"claude_quota_utilization_percent{account="default",window="five_hour"}"#;
    assert_eq!(sample(text, five_hour), Some(10.0), "{text}");
    let seven_day = r#"claude_quota_utilization_percent{account="default",window="seven_day"}"#;
    assert_eq!(sample(text, seven_day), Some(20.0), "{text}");
    let burst = r#"claude_quota_tier{account="default",tier="burst"}"#;
    assert_eq!(sample(text, burst), Some(1.0), "{text}");
    assert!(
        sample(text, r#"claude_quota_api_calls_total{account="default"}"#) >= Some(1.0),
        "{text}"
    );

    api.fail_with(Fault::Body("<html>busy</html>".into()));
    daemon
        .wait_for_error(WAIT, LastErrorKind::BadResponse)
        .await;
    let text = scrape::get(addr, "/metrics").await.body;
    let faults = r#"claude_quota_errors_total{account="default",kind="bad_response"}"#;
    assert!(sample(&text, faults) >= Some(1.0), "{text}");
    let none = r#"claude_quota_errors_total{account="default",kind="unauthorized"}"#;
    assert_eq!(sample(&text, none), Some(0.0), "{text}");
}

/// Each configured account has its own samples: one account's faults and
/// calls are never another's.
#[tokio::test]
async fn every_account_has_its_own_windows_calls_and_faults() {
    const WORK: &str = "sk-ant-oat01-work-account-token";
    const HOME: &str = "sk-ant-oat01-home-account-token";
    let api = FakeApi::start();
    api.serve_account(WORK, usage_body(90.0, Some(20.0)));
    api.fail_account(HOME, Fault::Body("<html>busy</html>".into()));
    let builder = Daemon::builder()
        .api(&api.url(), 0.2)
        .login("work", WORK)
        .login("home", HOME);
    let config = builder.accounts_config(&["work", "home"]);
    let daemon = builder.config(&config).start();
    daemon
        .wait_for(WAIT, |s| {
            let [work, home] = s.accounts.as_slice() else {
                return false;
            };
            work.tier == Tier::Resting
                && home.last_error.as_ref().map(|e| e.kind) == Some(LastErrorKind::BadResponse)
        })
        .await;
    let text = daemon.client().await.metrics().await.expect("metrics");
    let work_5h = r#"claude_quota_utilization_percent{account="work",window="five_hour"}"#;
    assert_eq!(sample(&text, work_5h), Some(90.0), "{text}");
    let home_5h = r#"claude_quota_utilization_percent{account="home",window="five_hour"}"#;
    assert_eq!(sample(&text, home_5h), None, "{text}");
    let fault = |account: &str| {
        let series =
            format!(r#"claude_quota_errors_total{{account="{account}",kind="bad_response"}}"#);
        sample(&text, &series)
    };
    assert_eq!(fault("work"), Some(0.0), "{text}");
    assert!(fault("home") >= Some(1.0), "{text}");
    let calls = r#"claude_quota_api_calls_total{account="work"}"#;
    assert!(sample(&text, calls) >= Some(1.0), "{text}");
}

#[tokio::test]
async fn only_get_metrics_is_served() {
    let api = FakeApi::start();
    let daemon = metrics_daemon(&api).await;
    let addr = metrics_addr(&daemon).await;
    for path in [
        "/",
        "/metrics/",
        "/metricsx",
        "/favicon.ico",
        "/api/v1/query",
    ] {
        let response = scrape::get(addr, path).await;
        assert_eq!(response.status, 404, "{path}: {response:?}");
        assert!(!response.body.contains("claude_quota_"), "{path}");
    }
    let post = scrape::request(addr, "POST", "/metrics").await;
    assert_eq!(post.status, 405, "{post:?}");
    let head = scrape::request(addr, "HEAD", "/metrics").await;
    assert_eq!((head.status, head.body.as_str()), (200, ""), "{head:?}");
    let query = scrape::get(addr, "/metrics?debug=1").await;
    assert_eq!(query.status, 200, "{query:?}");
}

/// A client that sends one byte of a request every 300 ms until the
/// daemon closes on it; returns when it did.
async fn trickle(mut stream: TcpStream) -> Instant {
    let request = b"GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Slow: ".iter();
    for byte in request.chain(std::iter::repeat(&b'a')) {
        if stream.write_all(&[*byte]).await.is_err() {
            return Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    unreachable!("the bytes never end")
}

/// A client that connects and sends nothing; returns when the daemon
/// closed the connection.
async fn idle(mut stream: TcpStream) -> Instant {
    let mut byte = [0u8; 1];
    let _ = stream.read(&mut byte).await;
    Instant::now()
}

#[tokio::test]
async fn silent_and_trickling_clients_hold_a_few_slots_for_seconds_and_never_stall_the_daemon() {
    let api = FakeApi::start();
    let daemon = metrics_daemon(&api).await;
    let addr = metrics_addr(&daemon).await;
    let start = Instant::now();
    let mut holders = Vec::new();
    for n in 0..SLOTS {
        // Connected here, in order: the daemon accepts them from one
        // queue, so all of them before the one below.
        let stream = TcpStream::connect(addr).await.expect("connect");
        holders.push(if n % 2 == 0 {
            tokio::spawn(idle(stream))
        } else {
            tokio::spawn(trickle(stream))
        });
    }

    // One more is turned away at once, without sending a thing.
    let mut extra = TcpStream::connect(addr).await.expect("connect");
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), extra.read_to_end(&mut reply))
        .await
        .expect("a client past the cap is answered at once")
        .expect("read the refusal");
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply:?}");

    // The socket answers as ever meanwhile.
    let asked = Instant::now();
    let status = daemon.client().await.status().await.expect("status");
    assert_eq!(status.tier, Tier::Burst);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );

    // The daemon closes on every holder within the endpoint's deadline.
    for holder in holders {
        let closed = tokio::time::timeout(WAIT, holder)
            .await
            .expect("the daemon closed on the holder")
            .expect("the holder task");
        assert!(
            closed - start < Duration::from_secs(12),
            "{:?}",
            closed - start
        );
    }
    let response = scrape::get(addr, "/metrics").await;
    assert_eq!(response.status, 200, "{response:?}");
    let log = daemon.log();
    assert!(!log.contains("panicked"), "{log}");
}

#[tokio::test]
async fn a_listen_address_others_can_reach_is_refused_naming_the_line() {
    let mut daemon = Daemon::builder()
        .credentials_file(TOKEN, None)
        .config("poll_interval = 30\n[metrics]\nlisten = \"0.0.0.0:9464\"\n")
        .spawn();
    let status = daemon.wait_exit(WAIT).expect("the daemon exits");
    assert_eq!(status.code(), Some(1), "{}", daemon.log());
    let log = daemon.log();
    let refusal = format!(
        "{}, line 3: metrics.listen = \"0.0.0.0:9464\" is not allowed: must be a loopback address",
        daemon.config_path().display()
    );
    assert!(log.contains(&refusal), "want {refusal}\n{log}");
    assert!(log.contains("allow_remote = true"), "{log}");
}

#[tokio::test]
async fn a_port_already_taken_stops_the_start_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("take a port");
    let addr = taken.local_addr().expect("its address");
    let mut daemon = Daemon::builder()
        .credentials_file(TOKEN, None)
        .config(&format!("[metrics]\nlisten = \"{addr}\"\n"))
        .spawn();
    let status = daemon.wait_exit(WAIT).expect("the daemon exits");
    assert_eq!(status.code(), Some(1), "{}", daemon.log());
    let log = daemon.log();
    assert!(
        log.contains(&format!("cannot listen for [metrics] on {addr}")),
        "{log}"
    );
    assert!(!daemon.socket().exists(), "the socket was removed");
}

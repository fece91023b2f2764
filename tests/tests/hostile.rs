//! Hostile or broken clients: none of them gets in, slows the others, or
//! costs the daemon its state.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use claude_quota::{TaskValue, Tier};
use claude_quota_e2e::wire::RawConnection;
use claude_quota_e2e::{Daemon, FakeApi, TOKEN, other_user};
use claude_quota_proto::{ErrorCode, Reply};
use futures_util::FutureExt;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(10);

async fn burst_daemon(config: &str) -> (FakeApi, Daemon) {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&api.url(), 1.0)
        .credentials_file(TOKEN, None)
        .config(config)
        .start();
    daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    (api, daemon)
}

/// Lets this test process hold a few thousand sockets (`rlimit` also
/// knows macOS's `kern.maxfilesperproc`, where raising the soft limit to
/// an infinite hard limit fails).
fn raise_fd_limit() {
    let limit = rlimit::increase_nofile_limit(u64::MAX).expect("raise the open-file limit");
    assert!(limit >= 2500, "need 2,500 descriptors, have {limit}");
}

#[tokio::test]
async fn the_socket_and_its_directory_are_private() {
    let (_api, daemon) = burst_daemon("").await;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(daemon.socket()), 0o600);
    assert_eq!(mode(daemon.socket().parent().unwrap()), 0o700);
}

#[tokio::test]
async fn a_peer_of_another_uid_is_refused_before_any_request() {
    if !other_user::available() {
        return;
    }
    let api = FakeApi::start();
    let daemon = Daemon::builder().api(&api.url(), 1.0).start();
    // Open every door the file system has, so only the daemon's own check
    // stands between user nobody and the socket. (The nobody side is a raw
    // connection: the clients would refuse the daemon first.)
    std::fs::set_permissions(daemon.socket(), std::fs::Permissions::from_mode(0o666)).unwrap();
    other_user::open_up_to(daemon.socket().parent().unwrap(), daemon.root());

    const ASK_STATUS: &str = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.sendall(b'\0\0\0\x11{"type":"status"}')
    print(len(s.recv(65536)))
except OSError:
    print(0)
"#;
    let output = other_user::command(other_user::python())
        .args(["-c", ASK_STATUS])
        .arg(daemon.socket())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout.trim(),
        "0",
        "nobody learned nothing, the daemon closed"
    );
    assert!(
        daemon
            .log()
            .contains("refused a connection from another user"),
        "{}",
        daemon.log()
    );
    // The owner is still served.
    assert!(daemon.client().await.status().await.is_ok());
}

#[tokio::test]
async fn past_the_connection_cap_clients_are_told_and_others_keep_working() {
    let (_api, daemon) = burst_daemon("max_connections = 5\n").await;
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut client = daemon.client().await;
        client.hello("holder").await.unwrap();
        held.push(client);
    }
    let mut extra = RawConnection::connect(daemon.socket()).await;
    match extra.recv().await {
        Some(Reply::Error {
            code: ErrorCode::TooManyConnections,
            message,
        }) => {
            assert!(message.contains('5'), "{message}");
        }
        other => panic!("expected too_many_connections, got {other:?}"),
    }
    assert!(extra.recv().await.is_none(), "closed after the refusal");
    assert!(held[0].should_use_cloud(TaskValue::High).await.unwrap());
    held.pop();
    // The daemon frees the slot once it sees the client gone: a new
    // client is refused until then, and served from then on.
    let deadline = Instant::now() + WAIT;
    let mut again = daemon.client().await;
    while let Err(err) = again.status().await {
        assert!(
            Instant::now() < deadline,
            "the freed slot is not reused: {err}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        again = daemon.client().await;
    }
}

#[tokio::test]
async fn a_client_stalling_mid_frame_is_dropped() {
    let (_api, daemon) = burst_daemon("").await;
    // An idle connection (no partial frame) is not a stall: opened first,
    // it has been idle longer than the stalled one lived once that one is
    // dropped. (Raw, since a client would connect again unseen.)
    let mut idle = RawConnection::connect(daemon.socket()).await;
    let mut stalled = RawConnection::connect(daemon.socket()).await;
    stalled.send_raw(&[0, 0, 0, 40, b'{']).await;
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(15), stalled.recv()).await;
    assert!(
        matches!(closed, Ok(None)),
        "dropped, not answered: {closed:?}"
    );
    let after = started.elapsed();
    assert!(after >= Duration::from_secs(4), "{after:?}");
    assert!(matches!(
        idle.ask(json!({"type": "status"})).await,
        Reply::Status(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_broken_connections_cost_a_good_client_nothing() {
    raise_fd_limit();
    let (_api, daemon) = burst_daemon("").await;
    let mut good = daemon.client().await;
    let socket = daemon.socket().to_owned();
    let attack = tokio::spawn(async move {
        let mut streams = Vec::new();
        for i in 0..1000u32 {
            let mut stream = RawConnection::connect(&socket).await;
            let bytes: &[u8] = match i % 4 {
                0 => &[0, 0, 0, 200, b'{', b'"'], // half a frame, then silence
                1 => &[0, 0, 0, 4, b'n', b'u', b'l', b'x'], // not JSON
                2 => &[0xff, 0xff, 0xff, 0xff],   // oversized prefix
                _ => &[],                         // connect and say nothing
            };
            stream.send_raw(bytes).await;
            streams.push(stream);
        }
        streams
    });
    let mut asked = 0u32;
    let started = Instant::now();
    while !attack.is_finished() || started.elapsed() < Duration::from_secs(2) {
        assert!(
            good.should_use_cloud(TaskValue::High).await.unwrap(),
            "answer {asked}"
        );
        asked += 1;
    }
    let streams = attack.await.unwrap();
    for _ in 0..1000 {
        assert!(good.should_use_cloud(TaskValue::High).await.unwrap());
    }
    assert!(asked > 100, "the good client kept asking: {asked}");
    // Each broken client got what its bytes earn, and no more: a
    // bad_request (the connection kept), frame_too_large and the end, or
    // (half a frame, or nothing) no answer at all.
    for (i, mut stream) in streams.into_iter().enumerate() {
        let code = |reply: Option<Reply>| match reply {
            Some(Reply::Error { code, .. }) => code,
            other => panic!("connection {i}: {other:?}"),
        };
        match i % 4 {
            1 => assert_eq!(code(next_reply(&mut stream).await), ErrorCode::BadRequest),
            2 => {
                let refused = code(next_reply(&mut stream).await);
                assert_eq!(refused, ErrorCode::FrameTooLarge);
                let end = next_reply(&mut stream).await;
                assert!(end.is_none(), "connection {i} closed: {end:?}");
            }
            _ => assert!(
                !matches!(stream.recv().now_or_never(), Some(Some(_))),
                "connection {i} was answered"
            ),
        }
    }
}

/// The next reply on `stream`, or `None` when the daemon closed it; panics
/// when neither comes in time.
async fn next_reply(stream: &mut RawConnection) -> Option<Reply> {
    tokio::time::timeout(WAIT, stream.recv())
        .await
        .expect("a reply or the end in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_config_under_load_without_losing_a_request() {
    let (_api, daemon) = burst_daemon("").await;
    let mut client = daemon.client().await;
    let answered = Arc::new(AtomicUsize::new(0));
    // Asks without a pause until a thousand answers came after the reload.
    let asking = tokio::spawn({
        let answered = Arc::clone(&answered);
        async move {
            let mut tiers = Vec::new();
            let deadline = Instant::now() + WAIT;
            while tiers.iter().filter(|&&tier| tier == Tier::Active).count() < 1000 {
                assert!(Instant::now() < deadline, "{} answers", tiers.len());
                let decision = client.decide(TaskValue::High).await;
                tiers.push(decision.expect("no request lost").tier);
                answered.fetch_add(1, Ordering::SeqCst);
            }
            tiers
        }
    });
    let deadline = Instant::now() + WAIT;
    while answered.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "no answer");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    std::fs::write(daemon.config_path(), "[thresholds]\nburst_below = 5.0\n").unwrap();
    daemon.signal("HUP");
    let reloaded = daemon.wait_for(WAIT, |s| s.tier == Tier::Active).await;
    let answered_before_seen = answered.load(Ordering::SeqCst);
    assert_eq!(reloaded.five_hour.unwrap().utilization, 10.0);
    // Every answer came under one config or the other, switching once, and
    // no later than the status showed the reload (the question then on
    // its way aside): no answer lags behind the config.
    let tiers = asking.await.unwrap();
    let switched = tiers.iter().position(|&tier| tier == Tier::Active);
    let switched = switched.expect("answers after the reload");
    assert!(switched > 0, "answers before the reload");
    assert!(
        switched <= answered_before_seen + 1,
        "answers switched {} questions after the status",
        switched - answered_before_seen
    );
    assert!(
        tiers[..switched].iter().all(|&tier| tier == Tier::Burst)
            && tiers[switched..].iter().all(|&tier| tier == Tier::Active),
        "one switch, at the reload: {tiers:?}"
    );

    std::fs::write(
        daemon.config_path(),
        "[thresholds]\nburst_below = \"five\"\n",
    )
    .unwrap();
    daemon.signal("HUP");
    daemon.wait_for_log("config not reloaded", WAIT).await;
    let log = daemon.log();
    let report = log
        .lines()
        .find(|l| l.contains("config not reloaded"))
        .unwrap();
    assert!(
        report.contains("config.toml") && report.contains("line 2"),
        "{report}"
    );
    let kept = daemon.client().await.status().await.unwrap();
    assert_eq!(kept.tier, Tier::Active, "the old (reloaded) config is kept");
}

#[tokio::test]
async fn after_kill_9_the_first_status_serves_the_saved_reading() {
    let api = FakeApi::start();
    api.set_usage(61.0, Some(22.0));
    let mut daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(TOKEN, None)
        .config("stale_after = 2.0\n")
        .start();
    let before = daemon.wait_for(WAIT, |s| s.tier == Tier::Active).await;
    let saved = daemon.root().join("state/claude-quota/last-reading.json");
    let deadline = Instant::now() + WAIT;
    while !saved.exists() {
        assert!(Instant::now() < deadline, "reading not saved");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!std::fs::read_to_string(&saved).unwrap().contains(TOKEN));

    // No poll will answer after the restart.
    api.fail_with(claude_quota_e2e::Fault::Delay(Duration::from_secs(60)));
    daemon.kill_and_restart();
    let first = daemon.client().await.status().await.unwrap();
    let expected_as_of = before.as_of.unwrap();
    assert!(first.as_of >= Some(expected_as_of), "{first:#?}");
    assert_eq!(first.source, Some(claude_quota::ReadingSource::Persisted));
    assert_eq!(first.five_hour.unwrap().utilization, 61.0);
    assert_eq!(first.tier, Tier::Active, "fresh enough to serve");
    assert!(!first.stale);

    // Once the restarted daemon sees the saved reading turn stale, so
    // must the next one, from the same file.
    daemon.wait_for(WAIT, |s| s.stale).await;
    daemon.kill_and_restart();
    let later = daemon.client().await.status().await.unwrap();
    assert_eq!(later.source, Some(claude_quota::ReadingSource::Persisted));
    assert!(later.stale && later.tier == Tier::Unknown, "{later:#?}");
    assert!(later.age_s >= Some(2), "its true age: {later:#?}");
    assert!(matches!(
        RawConnection::connect(daemon.socket())
            .await
            .ask(json!({"type": "status"}))
            .await,
        Reply::Status(_)
    ));
}

//! The wire protocol under good and bad input: pipelining, protocol
//! versions, malformed and oversized frames.

use std::time::Duration;

use claude_quota_e2e::burst_daemon;
use claude_quota_e2e::wire::RawConnection;
use claude_quota_proto::{ErrorCode, Reply};
use serde_json::json;

fn error_code(reply: &Reply) -> ErrorCode {
    match reply {
        Reply::Error { code, .. } => *code,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn error_message(reply: &Reply) -> &str {
    match reply {
        Reply::Error { message, .. } => message,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn hello_names_the_daemon_and_refuses_other_versions() {
    let (_api, daemon) = burst_daemon().await;
    let mut client = daemon.client().await;
    let name = client.hello("e2e/1").await.unwrap().daemon;
    assert_eq!(name, concat!("claude-quotad/", env!("CARGO_PKG_VERSION")));

    let mut raw = RawConnection::connect(daemon.socket()).await;
    let reply = raw.ask(json!({"type": "hello", "protocol": 2})).await;
    assert_eq!(error_code(&reply), ErrorCode::UnsupportedProtocol);
    assert!(matches!(
        raw.ask(json!({"type": "status"})).await,
        Reply::Status(_)
    ));
}

/// A client that sends its last request and closes its sending half at
/// once (`printf … | socat`, `nc -N`) still gets the reply before the
/// daemon closes: a reply written after the read that saw the end used to
/// be dropped unsent (most runs of this loop lost one).
#[tokio::test]
async fn the_last_request_is_answered_when_the_client_stops_sending() {
    let (_api, daemon) = burst_daemon().await;
    for _ in 0..10 {
        let mut raw = RawConnection::connect(daemon.socket()).await;
        // Answered first, so the daemon has flushed and waits for more.
        assert!(matches!(
            raw.ask(json!({"type": "status"})).await,
            Reply::Status(_)
        ));
        raw.send(json!({"type": "select_model", "task_complexity": "high"}))
            .await;
        raw.finish_sending().await;
        let reply = tokio::time::timeout(Duration::from_secs(10), raw.recv())
            .await
            .expect("the daemon answers or closes");
        assert!(matches!(reply, Some(Reply::Model(_))), "{reply:?}");
        assert!(raw.recv().await.is_none(), "then it closes");
    }
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let (_api, daemon) = burst_daemon().await;
    let mut raw = RawConnection::connect(daemon.socket()).await;
    let values = ["critical", "high", "medium", "low", "routine"];
    let mut burst = Vec::new();
    for i in 0..200 {
        let request = json!({"type": "should_use_cloud", "task_value": values[i % 5]});
        let payload = serde_json::to_vec(&request).unwrap();
        burst.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        burst.extend_from_slice(&payload);
    }
    raw.send_raw(&burst).await;
    for i in 0..200 {
        match raw.recv().await.expect("reply") {
            Reply::Decision(d) => assert_eq!(d.use_cloud, i % 5 < 2, "reply {i} out of order"),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn bad_requests_are_named_and_leave_the_connection_usable() {
    let (_api, daemon) = burst_daemon().await;
    let mut raw = RawConnection::connect(daemon.socket()).await;

    let reply = raw
        .ask(json!({"type": "should_use_cloud", "task_value": "urgent"}))
        .await;
    assert_eq!(error_code(&reply), ErrorCode::BadRequest);
    assert!(error_message(&reply).contains("urgent"), "{reply:?}");

    let reply = raw.ask(json!({"type": "select_model"})).await;
    assert_eq!(error_code(&reply), ErrorCode::BadRequest);
    assert!(
        error_message(&reply).contains("task_complexity"),
        "{reply:?}"
    );

    let reply = raw.ask(json!({"type": "launch_rockets"})).await;
    assert!(
        error_message(&reply).contains("launch_rockets"),
        "{reply:?}"
    );

    raw.send_frame(b"this is not json").await;
    assert_eq!(
        error_code(&raw.recv().await.unwrap()),
        ErrorCode::BadRequest
    );
    raw.send_frame(&[0xff, 0xfe, 0x00]).await;
    assert_eq!(
        error_code(&raw.recv().await.unwrap()),
        ErrorCode::BadRequest
    );

    let reply = raw
        .ask(json!({"type": "should_use_cloud", "task_value": "high"}))
        .await;
    assert!(matches!(reply, Reply::Decision(d) if d.use_cloud));

    // The library reports the daemon's bad_request as a typed error, and
    // the connection serves on.
    let mut client = daemon.client().await;
    let refused = client.ingest(None, None, chrono::Utc::now()).await;
    assert!(
        matches!(&refused, Err(claude_quota::Error::BadRequest(message)) if message.contains("five_hour")),
        "{refused:?}"
    );
    assert!(client.status().await.is_ok());
}

#[tokio::test]
async fn an_oversized_frame_is_refused_and_closed_while_others_are_served() {
    let (_api, daemon) = burst_daemon().await;
    let mut bystander = daemon.client().await;
    let mut raw = RawConnection::connect(daemon.socket()).await;
    raw.send_raw(&(64 * 1024 + 1u32).to_be_bytes()).await;
    let reply = raw.recv().await.expect("an error before closing");
    assert_eq!(error_code(&reply), ErrorCode::FrameTooLarge);
    assert!(raw.recv().await.is_none(), "connection closed");
    assert!(
        bystander
            .should_use_cloud(claude_quota::TaskValue::High)
            .await
            .unwrap()
    );

    // A frame of exactly the limit is read (and, not being a request, refused politely).
    let mut raw = RawConnection::connect(daemon.socket()).await;
    let payload = format!("\"{}\"", "x".repeat(64 * 1024 - 2));
    raw.send_frame(payload.as_bytes()).await;
    assert_eq!(
        error_code(&raw.recv().await.unwrap()),
        ErrorCode::BadRequest
    );
}

//! The usage API as the field serves it (docs/decisions.md, "The usage API
//! in the field"; docs/policy.md): recorded reply shapes from
//! `tests/fixtures/usage/`, the `limits` form alone and mixed with the flat
//! one, per-model weekly caps, and Claude Code's `User-Agent`, each through
//! the real daemon and the fake API.

use std::time::Duration;

use claude_quota::{
    LastErrorKind, ReadingSource, ReplyShape, Status, TaskComplexity, TaskValue, Tier,
};
use claude_quota_e2e::fake_api::{fixture, limits_body};
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};

const WAIT: Duration = Duration::from_secs(10);

fn daemon(api: &FakeApi) -> Daemon {
    Daemon::builder()
        .api(&api.url(), 0.1)
        .credentials_file(TOKEN, None)
        .start()
}

/// Waits for a good reading whose 5-hour window is at `five`.
async fn reading_at(daemon: &Daemon, five: f64) -> Status {
    daemon
        .wait_for(WAIT, |s| {
            s.five_hour.map(|w| w.utilization) == Some(five) && s.last_error.is_none()
        })
        .await
}

#[tokio::test]
async fn every_recorded_reply_shape_reads_without_error() {
    // (fixture, 5h, 7d, shape, tier, caps)
    type Case = (
        &'static str,
        f64,
        Option<f64>,
        ReplyShape,
        Tier,
        &'static [(&'static str, f64)],
    );
    let cases: [Case; 7] = [
        (
            "flat-2025-11",
            37.0,
            Some(18.0),
            ReplyShape::Flat,
            Tier::Burst,
            &[("Opus", 0.0), ("Sonnet", 4.0)],
        ),
        (
            "limits-only",
            62.0,
            Some(30.0),
            ReplyShape::Limits,
            Tier::Active,
            &[("Sonnet", 12.0)],
        ),
        (
            "mixed",
            45.5,
            Some(22.0),
            ReplyShape::Mixed,
            Tier::Burst,
            &[("Sonnet", 10.0)],
        ),
        (
            "scoped-only-in-limits",
            12.0,
            Some(40.0),
            ReplyShape::Mixed,
            Tier::Burst,
            &[("Opus", 55.0), ("Fable", 7.25)],
        ),
        (
            "extra-usage-spend",
            71.0,
            Some(48.0),
            ReplyShape::Limits,
            Tier::Active,
            &[],
        ),
        (
            "integers",
            3.0,
            Some(81.0),
            ReplyShape::Mixed,
            Tier::Resting,
            &[("Opus", 100.0), ("Sonnet", 0.0)],
        ),
        ("nulls", 8.5, None, ReplyShape::Mixed, Tier::Burst, &[]),
    ];
    let api = FakeApi::start();
    let daemon = daemon(&api);
    for (name, five, seven, shape, tier, caps) in cases {
        api.set_body(fixture(name));
        let status = reading_at(&daemon, five).await;
        assert_eq!(status.seven_day.map(|w| w.utilization), seven, "{name}");
        assert_eq!(status.last_reply_shape, Some(shape), "{name}");
        assert_eq!(status.tier, tier, "{name}");
        let mut seen: Vec<(&str, f64)> = status
            .weekly_scoped
            .iter()
            .map(|cap| (cap.model.as_str(), cap.utilization))
            .collect();
        seen.sort_by(|a, b| a.0.cmp(b.0));
        let mut expected = caps.to_vec();
        expected.sort_by(|a, b| a.0.cmp(b.0));
        assert_eq!(seen, expected, "{name}");
    }
    // The old per-family fields still come from either form.
    api.set_body(fixture("scoped-only-in-limits"));
    let status = reading_at(&daemon, 12.0).await;
    assert_eq!(status.seven_day_opus.map(|w| w.utilization), Some(55.0));
}

#[tokio::test]
async fn a_limits_only_reply_decides_the_tier() {
    let api = FakeApi::start();
    api.set_body(limits_body(62.0, 30.0, &[]));
    let daemon = daemon(&api);
    assert_eq!(reading_at(&daemon, 62.0).await.tier, Tier::Active);
    api.set_body(limits_body(20.0, 85.0, &[]));
    assert_eq!(reading_at(&daemon, 20.0).await.tier, Tier::Resting);
}

#[tokio::test]
async fn the_cloud_models_own_cap_keeps_high_tasks_local_in_burst() {
    let api = FakeApi::start();
    api.set_body(limits_body(10.0, 30.0, &[("Sonnet", 97.0)]));
    let daemon = daemon(&api);
    let status = reading_at(&daemon, 10.0).await;
    assert_eq!(status.tier, Tier::Burst, "the tier is still the windows'");
    assert_eq!(status.cloud_capped_by.as_ref().unwrap().model, "Sonnet");
    let mut client = daemon.client().await;
    let decision = client.decide(TaskValue::High).await.unwrap();
    assert!(!decision.use_cloud);
    assert_eq!(decision.tier, Tier::Burst);
    assert!(decision.reason.contains("Sonnet"), "{}", decision.reason);
    let choice = client.select_model(TaskComplexity::High).await.unwrap();
    assert_eq!(choice.model, "qwen3:14b");
    assert!(choice.reason.contains("Sonnet"), "{}", choice.reason);

    let shown = daemon.cli(&["status"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("cloud closed"), "{text}");

    // A push carries no caps: the last ones known stay in force.
    api.fail_with(Fault::Status(503));
    let pushed = [("anthropic-ratelimit-unified-5h-utilization", "0.05")];
    assert!(client.ingest_headers(pushed).await.unwrap());
    let status = daemon
        .wait_for(WAIT, |s| s.source == Some(ReadingSource::Headers))
        .await;
    assert_eq!(status.five_hour.unwrap().utilization, 5.0);
    assert_eq!(status.cloud_capped_by.unwrap().model, "Sonnet");
    assert!(!client.should_use_cloud(TaskValue::High).await.unwrap());
}

#[tokio::test]
async fn another_familys_cap_changes_nothing() {
    let api = FakeApi::start();
    api.set_body(limits_body(10.0, 30.0, &[("Opus", 99.0)]));
    let daemon = daemon(&api);
    let status = reading_at(&daemon, 10.0).await;
    assert_eq!(status.tier, Tier::Burst);
    assert!(status.cloud_capped_by.is_none());
    let mut client = daemon.client().await;
    assert!(client.should_use_cloud(TaskValue::High).await.unwrap());
    let choice = client.select_model(TaskComplexity::High).await.unwrap();
    assert_eq!(choice.model, "claude-sonnet-4-6");
}

#[tokio::test]
async fn a_configured_cloud_family_is_the_one_that_counts() {
    let api = FakeApi::start();
    api.set_body(limits_body(10.0, 30.0, &[("Opus", 99.0), ("Sonnet", 1.0)]));
    let daemon = Daemon::builder()
        .api(&api.url(), 0.1)
        .credentials_file(TOKEN, None)
        .config("[models]\ncloud = \"claude-opus-4-5\"\n")
        .start();
    let status = reading_at(&daemon, 10.0).await;
    assert_eq!(status.cloud_capped_by.unwrap().model, "Opus");
    let mut client = daemon.client().await;
    assert!(!client.should_use_cloud(TaskValue::Critical).await.unwrap());
}

#[tokio::test]
async fn a_limits_reply_without_a_session_is_a_bad_response_and_the_reading_is_kept() {
    let api = FakeApi::start();
    api.set_body(limits_body(62.0, 30.0, &[]));
    let daemon = daemon(&api);
    let good = reading_at(&daemon, 62.0).await;
    api.fail_with(Fault::Body(
        r#"{"limits": [{"kind": "weekly_all", "percent": 30}], "extra_usage": null}"#.into(),
    ));
    let status = daemon
        .wait_for_error(WAIT, LastErrorKind::BadResponse)
        .await;
    assert_eq!(status.tier, Tier::Active, "last good reading still serves");
    assert_eq!(status.as_of, good.as_of);
    let message = status.last_error.unwrap().message;
    assert!(
        message.contains("extra_usage, limits (kinds: weekly_all)"),
        "{message}"
    );
}

#[tokio::test]
async fn the_api_is_asked_as_claude_code_unless_configured_otherwise() {
    let api = FakeApi::start();
    let daemon = daemon(&api);
    reading_at(&daemon, 10.0).await;
    let agents = api.user_agents();
    assert!(
        agents.iter().all(|agent| agent.starts_with("claude-code/")),
        "{agents:?}"
    );
    drop(daemon);

    let other = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&other.url(), 0.1)
        .credentials_file(TOKEN, None)
        .config("user_agent = \"my-router/1.0\"\n")
        .start();
    reading_at(&daemon, 10.0).await;
    assert!(other.user_agents().iter().all(|a| a == "my-router/1.0"));
}

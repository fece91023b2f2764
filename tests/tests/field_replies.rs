//! The usage API as the field serves it (docs/decisions.md, "The usage API
//! in the field"; docs/policy.md): recorded reply shapes from
//! `tests/fixtures/usage/`, the `limits` form alone and mixed with the flat
//! one, per-model weekly caps, numbers and times in every form seen, parts
//! that cannot be read, no 5-hour window, extra usage and spend limits,
//! and Claude Code's `User-Agent`, each through the real daemon and the
//! fake API.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota::{
    LastErrorKind, ReadingSource, ReplyShape, Status, TaskComplexity, TaskValue, Tier,
};
use claude_quota_e2e::fake_api::{fixture, limits_body};
use claude_quota_e2e::{Daemon, FakeApi, Fault, TOKEN};
use claude_quota_proto::{ExtraUsage, ReplyPart};
use serde_json::json;

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
async fn a_reply_with_nothing_usable_is_a_bad_response_naming_what_it_had() {
    let api = FakeApi::start();
    api.set_body(limits_body(62.0, 30.0, &[]));
    let daemon = daemon(&api);
    let good = reading_at(&daemon, 62.0).await;
    api.fail_with(Fault::Body(
        r#"{"limits": [{"kind": "weekly_all", "percent": "lots"}], "extra_usage": null}"#.into(),
    ));
    let status = daemon
        .wait_for_error(WAIT, LastErrorKind::BadResponse)
        .await;
    assert_eq!(status.tier, Tier::Active, "last good reading still serves");
    assert_eq!(status.as_of, good.as_of);
    let message = status.last_error.unwrap().message;
    assert!(message.contains("nothing usable"), "{message}");
    assert!(
        message.contains("extra_usage, limits (kinds: weekly_all)"),
        "{message}"
    );
    assert!(
        message.contains(r#"limits[0] (weekly_all): percent "lots" is not a number"#),
        "{message}"
    );
}

/// An Enterprise login with a spend limit is answered with `extra_usage`
/// alone: a spend-only plan, tiered by the share of its limit spent.
#[tokio::test]
async fn extra_usage_alone_is_a_spend_only_plan() {
    for (name, percent, tier) in [
        ("extra-usage-enterprise", 38.15, Tier::Burst),
        ("extra-usage-only", 24.2, Tier::Burst),
    ] {
        let status = status_of(name).await;
        assert_good(name, &status);
        assert_eq!(status.tier, tier, "{name}: {}", status.reason);
        assert!(status.reason.contains("spend"), "{name}: {}", status.reason);
        let extra = status.extra_usage.expect("the spend limit");
        assert_eq!(extra.utilization, Some(percent), "{name}");
    }
    let api = FakeApi::start();
    api.set_body(
        json!({"extra_usage": {"is_enabled": true, "monthly_limit": 2000,
                                         "used_credits": 1900, "utilization": 95.0}}),
    );
    let daemon = daemon(&api);
    let status = daemon.wait_for(WAIT, |s| s.as_of.is_some()).await;
    assert_eq!(status.tier, Tier::Resting, "{}", status.reason);
}

/// A daemon's status once it has read fixture `name`, or failed to.
async fn status_of(name: &str) -> Status {
    let api = FakeApi::start();
    api.set_body(fixture(name));
    let daemon = daemon(&api);
    daemon
        .wait_for(WAIT, |s| s.as_of.is_some() || s.last_error.is_some())
        .await
}

/// `status` is a good reading of the API's.
fn assert_good(name: &str, status: &Status) {
    assert_eq!(status.last_error, None, "{name}");
    assert_eq!(status.source, Some(ReadingSource::Api), "{name}");
    assert!(!status.stale, "{name}");
    assert_ne!(status.tier, Tier::Unknown, "{name}");
}

/// The caps of `status` as `(family, utilization)`, sorted.
fn caps(status: &Status) -> Vec<(String, f64)> {
    let mut caps: Vec<(String, f64)> = status
        .weekly_scoped
        .iter()
        .map(|cap| (cap.model.clone(), cap.utilization))
        .collect();
    caps.sort_by(|a, b| a.0.cmp(&b.0));
    caps
}

#[tokio::test]
async fn a_reply_without_a_five_hour_window_is_a_reading_with_none_open() {
    // (fixture, 7-day, the one cap)
    let cases = [
        ("five-hour-null", 23.0, ("Sonnet", 6.0)),
        ("limits-without-session", 41.0, ("Opus", 58.0)),
    ];
    for (name, seven, (family, cap)) in cases {
        let status = status_of(name).await;
        assert_good(name, &status);
        assert_eq!(status.five_hour, None, "{name}");
        assert_eq!(
            status.seven_day.map(|w| w.utilization),
            Some(seven),
            "{name}"
        );
        assert_eq!(
            caps(&status),
            [(family.to_owned(), cap)],
            "{name}: seven_day_cowork is no family"
        );
        assert!(
            status.reason.contains("no 5-hour window open"),
            "{name}: {}",
            status.reason
        );
        assert!(status.last_reply_dropped.is_empty(), "{name}");
    }
}

#[tokio::test]
async fn numbers_as_text_and_every_time_form_are_read() {
    let status = status_of("lenient-forms").await;
    assert_good("lenient-forms", &status);
    assert!(
        status.last_reply_dropped.is_empty(),
        "{:?}",
        status.last_reply_dropped
    );
    let five = status.five_hour.unwrap();
    let seven = status.seven_day.unwrap();
    assert_eq!((five.utilization, seven.utilization), (35.4, 18.0));
    // Epoch seconds, ISO without a zone, epoch milliseconds as text and as
    // a number: all read, and as the instants the fixture wrote (to the
    // second: the replay moves each by the same amount, and an epoch in
    // whole seconds cannot carry its fraction).
    let (five_reset, seven_reset) = (five.resets_at.unwrap(), seven.resets_at.unwrap());
    let apart = |a: DateTime<Utc>, b: DateTime<Utc>, by: TimeDelta| {
        ((a - b) - by).abs() < TimeDelta::seconds(1)
    };
    let days = TimeDelta::days(3) + TimeDelta::hours(16);
    assert!(
        apart(seven_reset, five_reset, days),
        "{five_reset} {seven_reset}"
    );
    assert_eq!(
        caps(&status),
        [("Opus".into(), 61.25), ("Sonnet".into(), 4.5)]
    );
    for cap in &status.weekly_scoped {
        let at = cap.resets_at.unwrap();
        assert!(
            apart(at, seven_reset, TimeDelta::zero()),
            "{}: {at}",
            cap.model
        );
    }
}

#[tokio::test]
async fn a_part_that_cannot_be_read_is_dropped_named_and_logged_once() {
    let api = FakeApi::start();
    api.set_body(fixture("unreadable-parts"));
    let daemon = daemon(&api);
    let status = daemon
        .wait_for(WAIT, |s| s.as_of.is_some() || s.last_error.is_some())
        .await;
    assert_good("unreadable-parts", &status);
    assert_eq!(
        status.last_reply_dropped,
        [
            r#"limits[0] (session): percent "lots" is not a number"#,
            r#"five_hour: resets_at "in about two hours" is not a time"#,
            r#"seven_day: utilization "n/a" is not a number"#,
            "seven_day_opus: utilization -4 is negative",
        ]
    );
    let five = status.five_hour.unwrap();
    assert_eq!(
        (five.utilization, five.resets_at),
        (52.0, None),
        "the reset alone is lost"
    );
    let seven = status.seven_day.unwrap();
    assert_eq!(seven.utilization, 33.0);
    assert_eq!(seven.from, None, "only limits could be read");
    assert_eq!(caps(&status), [("Sonnet".into(), 12.0)]);
    assert_eq!(status.tier, Tier::Active);

    // Each dropped part is logged once, however often it comes back.
    daemon.wait_for_polls(&api, 3, WAIT).await;
    let log = daemon.log();
    assert_eq!(log.matches("is not a number").count(), 2, "{log}");
}

#[tokio::test]
async fn where_the_forms_disagree_the_higher_counts_and_from_names_it() {
    let status = status_of("disagreeing-forms").await;
    assert_good("disagreeing-forms", &status);
    let five = status.five_hour.unwrap();
    assert_eq!(
        (five.utilization, five.from),
        (47.5, Some(ReplyPart::Limits))
    );
    let seven = status.seven_day.unwrap();
    assert_eq!(
        (seven.utilization, seven.from),
        (71.0, Some(ReplyPart::Flat))
    );
    assert_eq!(caps(&status), [("Sonnet".into(), 15.0)]);
    assert_eq!(status.last_reply_shape, Some(ReplyShape::Mixed));
}

#[tokio::test]
async fn utilization_over_100_is_shown_as_sent() {
    let status = status_of("over-100").await;
    assert_good("over-100", &status);
    assert_eq!(status.five_hour.map(|w| w.utilization), Some(104.0));
    assert_eq!(status.seven_day_opus.map(|w| w.utilization), Some(100.7));
    assert_eq!(status.tier, Tier::Resting);
    let extra = status.extra_usage.unwrap();
    assert_eq!(extra.utilization, Some(104.5));
    assert_eq!((extra.used, extra.limit), (Some(104.5), Some(100.0)));
}

/// `extra_usage` as the wire carries it.
fn wire(extra: &Option<ExtraUsage>) -> serde_json::Value {
    serde_json::to_value(extra).unwrap()
}

/// Whether `a` and `b` agree to a hundredth of a cent.
fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-6)
}

#[tokio::test]
async fn extra_usage_is_shown_in_major_units() {
    let status = status_of("extra-usage-cents").await;
    assert_good("extra-usage-cents", &status);
    assert_eq!(
        wire(&status.extra_usage),
        json!({"enabled": true, "utilization": 48.8, "used": 2.44, "limit": 5.0,
               "currency": "EUR", "disabled_reason": null})
    );

    let status = status_of("extra-usage-decimal-places").await;
    assert_good("extra-usage-decimal-places", &status);
    let extra = status.extra_usage.unwrap();
    assert_eq!((extra.used, extra.limit), (Some(102.4), Some(100.0)));
    assert!(
        close(extra.utilization, 102.4),
        "computed from the amounts: {extra:?}"
    );

    // Both forms of money: `spend` is the one shown.
    let status = status_of("extra-usage-spend").await;
    assert_good("extra-usage-spend", &status);
    let extra = status.extra_usage.unwrap();
    assert_eq!((extra.used, extra.limit), (Some(12.34), Some(50.0)));
    assert_eq!(extra.currency.as_deref(), Some("USD"));
    assert!(close(extra.utilization, 24.68), "{extra:?}");
}

#[tokio::test]
async fn a_spend_only_reply_is_a_good_reading() {
    let status = status_of("spend-only").await;
    assert_good("spend-only", &status);
    assert_eq!((status.five_hour, status.seven_day), (None, None));
    assert_eq!(
        wire(&status.extra_usage),
        json!({"enabled": true, "utilization": 38.0, "used": 7.6, "limit": 20.0,
               "currency": "EUR", "disabled_reason": null})
    );

    let status = status_of("spend-out-of-credits").await;
    assert_good("spend-out-of-credits", &status);
    let extra = status.extra_usage.unwrap();
    assert!(!extra.enabled);
    assert_eq!(extra.disabled_reason.as_deref(), Some("out_of_credits"));
    assert_eq!(extra.used, Some(20.0));
    assert_eq!(extra.utilization, None, "spend, not extra_usage's 100 %");
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

//! Several accounts, one answer: the real daemon reading three Claude Code
//! logins (three directories, three tokens) from a fake usage API that
//! answers each token on its own: one in burst, one resting, one refused
//! with `429 Retry-After`. A question goes to the first account with
//! headroom, one account's fault never touches another's answer, pushes
//! land on the account they name, and SIGHUP adds and removes accounts.

use std::time::Duration;

use claude_quota::{LastErrorKind, Status, Tier};
use claude_quota_e2e::fake_api::usage_body;
use claude_quota_e2e::wire::RawConnection;
use claude_quota_e2e::{Daemon, FakeApi, Fault};
use claude_quota_proto::{ErrorCode, Reply, RouteChoice};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);
const WORK: &str = "sk-ant-oat01-work-account-token";
const HOME: &str = "sk-ant-oat01-home-account-token";
const SPARE: &str = "sk-ant-oat01-spare-account-token";

/// A fake API serving work resting, home refused for an hour, spare in
/// burst; and a daemon reading the three logins, work preferred.
fn three_accounts() -> (FakeApi, Daemon) {
    let api = FakeApi::start();
    api.serve_account(WORK, usage_body(90.0, Some(20.0)));
    api.fail_account(HOME, Fault::RateLimited(Some("3600".into())));
    api.serve_account(SPARE, usage_body(10.0, Some(20.0)));
    let builder = Daemon::builder()
        .api(&api.url(), 0.2)
        .login("work", WORK)
        .login("home", HOME)
        .login("spare", SPARE);
    let config = builder.accounts_config(&["work", "home", "spare"]);
    let daemon = builder.config(&config).start();
    (api, daemon)
}

/// The status once every account has been asked about.
async fn all_read(daemon: &Daemon) -> Status {
    daemon
        .wait_for(WAIT, |s| {
            let [work, home, spare] = s.accounts.as_slice() else {
                return false;
            };
            work.tier == Tier::Resting
                && spare.tier == Tier::Burst
                && home.last_error.as_ref().map(|e| e.kind) == Some(LastErrorKind::RateLimited)
        })
        .await
}

async fn route(conn: &mut RawConnection, account: Option<&str>) -> Result<RouteChoice, String> {
    let mut request = json!({"type": "route", "task_value": "high", "task_complexity": "high"});
    if let Some(account) = account {
        request["account"] = Value::from(account);
    }
    match conn.ask(request).await {
        Reply::Route(choice) => Ok(choice),
        Reply::Error { code, message } => {
            assert_eq!(code, ErrorCode::BadRequest, "{message}");
            Err(message)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_task_goes_to_the_first_account_with_headroom_and_moves_back_when_it_recovers() {
    let (api, daemon) = three_accounts();
    let status = all_read(&daemon).await;
    let names: Vec<&str> = status.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["work", "home", "spare"]);
    assert_eq!(
        status.tier,
        Tier::Burst,
        "the top level is spare's, where a high task goes"
    );
    // One account's 429 stays its own.
    let [work, home, spare] = status.accounts.as_slice() else {
        panic!()
    };
    assert!(
        work.last_error.is_none() && spare.last_error.is_none(),
        "{status:#?}"
    );
    assert_eq!(home.tier, Tier::Unknown);

    let mut conn = RawConnection::connect(daemon.socket()).await;
    let spare_dir = daemon.root().join("home/.claude-spare");
    let choice = route(&mut conn, None).await.unwrap();
    assert_eq!(choice.account.as_deref(), Some("spare"));
    assert_eq!(choice.claude_config_dir.as_deref(), spare_dir.to_str());
    assert!(choice.use_cloud);
    let work = route(&mut conn, Some("work")).await.unwrap();
    assert_eq!(
        (work.account.as_deref(), work.use_cloud),
        (Some("work"), false)
    );
    let unknown = route(&mut conn, Some("play")).await.unwrap_err();
    assert!(
        unknown.contains("configured: work, home, spare"),
        "{unknown}"
    );
    // The connection stays usable after the refusal.
    assert!(route(&mut conn, None).await.is_ok());

    api.serve_account(WORK, usage_body(10.0, Some(20.0)));
    daemon
        .wait_for(WAIT, |s| {
            s.accounts.first().is_some_and(|a| a.tier == Tier::Burst)
        })
        .await;
    let choice = route(&mut conn, None).await.unwrap();
    assert_eq!(
        choice.account.as_deref(),
        Some("work"),
        "the preferred account again"
    );
    // Retry-After: 3600 holds the refused account to the one request.
    assert_eq!(api.account_requests(HOME), 1);
}

#[tokio::test]
async fn a_push_lands_on_the_account_it_names_or_whose_directory_it_comes_from() {
    let (_api, daemon) = three_accounts();
    all_read(&daemon).await;
    let mut conn = RawConnection::connect(daemon.socket()).await;
    let spare_dir = daemon.root().join("home/.claude-spare");
    let push = |extra: Value| {
        let mut push = json!({"type": "ingest", "source": "statusline",
            "five_hour": {"utilization": 95.0, "resets_at": null}});
        push.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        push
    };
    let by_dir = push(json!({"claude_config_dir": format!("{}/", spare_dir.display())}));
    assert_eq!(conn.ask(by_dir).await, Reply::Ok);
    let status = daemon
        .wait_for(WAIT, |s| s.accounts[2].tier == Tier::Resting)
        .await;
    assert_eq!(status.accounts[0].tier, Tier::Resting, "work is untouched");
    for refused in [
        push(json!({"claude_config_dir": "/nowhere/.claude-x"})),
        push(json!({"account": "play"})),
        // Three accounts, none named default: a push must say whose it is.
        push(json!({})),
    ] {
        let Reply::Error { code, message } = conn.ask(refused).await else {
            panic!("taken")
        };
        assert_eq!(code, ErrorCode::BadRequest);
        assert!(
            message.contains("configured: work, home, spare"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn sighup_starts_and_stops_accounts_without_a_restart() {
    let api = FakeApi::start();
    api.serve_account(WORK, usage_body(90.0, None));
    api.serve_account(HOME, usage_body(20.0, None));
    api.serve_account(SPARE, usage_body(30.0, None));
    let builder = Daemon::builder()
        .api(&api.url(), 0.2)
        .login("work", WORK)
        .login("home", HOME)
        .login("spare", SPARE);
    let before = builder.accounts_config(&["work", "spare"]);
    let after = builder.accounts_config(&["work", "home"]);
    let daemon = builder.config(&before).start();
    let names = |s: &Status| {
        s.accounts
            .iter()
            .map(|a| a.name.clone())
            .collect::<Vec<_>>()
    };
    daemon
        .wait_for(WAIT, |s| {
            names(s) == ["work", "spare"] && s.accounts.iter().all(|a| a.tier != Tier::Unknown)
        })
        .await;
    let pid = daemon.pid();

    std::fs::write(
        daemon.config_path(),
        format!("{after}\n[policy]\nadaptive = false\n"),
    )
    .unwrap();
    daemon.signal("HUP");
    let status = daemon
        .wait_for(WAIT, |s| {
            names(s) == ["work", "home"] && s.accounts[1].tier == Tier::Burst
        })
        .await;
    assert_eq!(status.daemon.pid, pid, "no restart");
    daemon
        .wait_for_log("stopped polling the account account=spare", WAIT)
        .await;
    // Spare's poller is gone: its count stands still while home's grows.
    let spare_calls = api.account_requests(SPARE);
    let home_calls = api.account_requests(HOME);
    daemon
        .wait_for(WAIT, |_| api.account_requests(HOME) >= home_calls + 3)
        .await;
    assert_eq!(api.account_requests(SPARE), spare_calls);
}

#[tokio::test]
async fn without_accounts_there_is_one_named_default_and_replies_are_as_before() {
    let api = FakeApi::start();
    let daemon = Daemon::builder()
        .api(&api.url(), 0.2)
        .credentials_file(claude_quota_e2e::TOKEN, None)
        .start();
    let status = daemon.wait_for(WAIT, |s| s.tier == Tier::Burst).await;
    let [default] = status.accounts.as_slice() else {
        panic!("{status:#?}")
    };
    assert_eq!((default.name.as_str(), default.priority), ("default", 0));
    assert_eq!(default.claude_config_dir, None);
    let mut conn = RawConnection::connect(daemon.socket()).await;
    let choice = route(&mut conn, None).await.unwrap();
    assert_eq!((choice.account, choice.claude_config_dir), (None, None));
    assert!(choice.use_cloud);
    // A push naming no account belongs to the only one.
    let push = json!({"type": "ingest", "source": "statusline",
        "five_hour": {"utilization": 85.0, "resets_at": null}});
    assert_eq!(conn.ask(push).await, Reply::Ok);
    daemon.wait_for(WAIT, |s| s.tier == Tier::Resting).await;
}

//! Several accounts, one answer: the real daemon reading three Claude Code
//! logins (three directories, three tokens) from a fake usage API that
//! answers each token on its own: one in burst, one resting, one refused
//! with `429 Retry-After`. A question goes to the first account with
//! headroom, one account's fault never touches another's answer, pushes
//! land on the account they name, the status line and the hook of a
//! Claude Code session speak for that session's login, and SIGHUP adds
//! and removes accounts.

use std::path::Path;
use std::time::Duration;

use claude_quota::{LastErrorKind, Status, Tier};
use claude_quota_e2e::daemon::cli_in_login;
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

/// Claude Code's statusLine JSON with a 5-hour window at `five` percent.
fn statusline_input(five: f64) -> Vec<u8> {
    json!({"session_id": "s", "rate_limits": {"five_hour": {"used_percentage": five}}})
        .to_string()
        .into_bytes()
}

/// `claude-quota --no-color ARGS` in a Claude Code session of the login
/// `dir`, fed `stdin`; asserts exit 0 and returns stdout.
fn in_session(daemon: &Daemon, dir: Option<&Path>, args: &[&str], stdin: &[u8]) -> String {
    let mut args = args.to_vec();
    args.push("--no-color");
    let out = cli_in_login(daemon.socket(), &args, stdin, dir);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn each_claude_code_session_speaks_for_its_own_login() {
    let (_api, daemon) = three_accounts();
    all_read(&daemon).await;
    let home_dir = daemon.root().join("home/.claude-home");
    let fives = |s: &Status| -> Vec<Option<f64>> {
        s.accounts
            .iter()
            .map(|a| a.five_hour.map(|w| w.utilization))
            .collect()
    };

    // The hook of a session on home (refused by the API: unknown) speaks
    // of home, not of spare (burst), where a high task would go.
    let start = json!({"session_id": "s-home", "hook_event_name": "SessionStart",
        "source": "startup"})
    .to_string();
    let said = in_session(&daemon, Some(&home_dir), &["hook"], start.as_bytes());
    assert!(said.contains("in tier UNKNOWN"), "{said}");

    // The status line of that session pushes onto home and shows home.
    let line = in_session(
        &daemon,
        Some(&home_dir),
        &["statusline"],
        &statusline_input(95.0),
    );
    assert!(line.starts_with("home · RESTING · 5h 95%"), "{line}");
    let status = daemon.client().await.status().await.unwrap();
    assert_eq!(
        fives(&status),
        [Some(90.0), Some(95.0), Some(10.0)],
        "home took the push; work and spare are untouched"
    );
    let said = in_session(&daemon, Some(&home_dir), &["hook"], start.as_bytes());
    assert!(said.contains("in tier RESTING"), "{said}");

    // A login that is no configured account, and the default login when
    // no account is it, push nothing and say so; the line still shows
    // the session's own numbers.
    for dir in [Some(Path::new("/nowhere/.claude-x")), None] {
        let line = in_session(&daemon, dir, &["statusline"], &statusline_input(50.0));
        assert_eq!(line, "5h 50% · login not in claude-quotad's accounts\n");
        let said = in_session(&daemon, dir, &["hook"], start.as_bytes());
        assert_eq!(said, "", "a stranger's hook stays silent");
    }
    let status = daemon.client().await.status().await.unwrap();
    assert_eq!(fives(&status), [Some(90.0), Some(95.0), Some(10.0)]);
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

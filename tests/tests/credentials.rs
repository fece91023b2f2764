//! Where the token comes from (README, "Credentials") and that it never leaks.
//! Every daemon here logs at `RUST_LOG=trace`, all crates included, and
//! ends with the hygiene check.

use std::time::Duration;

use chrono::Utc;
use claude_quota::{CredentialSource, LastErrorKind, Status};
use claude_quota_e2e::daemon::{FAR_FUTURE_MS, write_credentials};
use claude_quota_e2e::leaks::assert_never_leaked;
use claude_quota_e2e::{Daemon, DaemonBuilder, FakeApi, Fault, TOKEN, secret_service};

const WAIT: Duration = Duration::from_secs(10);

/// The login name the daemon files the keyring item under (`$USER`).
const USER: &str = "cq-tester";

const KEYRING_TOKEN: &str = "sk-ant-oat01-KEYRING-token-do-not-leak-51d0e2";
const ENV_TOKEN: &str = "sk-ant-oat01-ENV-token-do-not-leak-a4c7b1";
const NEW_TOKEN: &str = "sk-ant-oat01-REWRITTEN-token-do-not-leak-93e6f8";
const ALL_TOKENS: [&str; 4] = [TOKEN, KEYRING_TOKEN, ENV_TOKEN, NEW_TOKEN];

/// A daemon that logs everything, every crate, at trace level.
fn traced(api: &FakeApi, poll_interval: f64) -> DaemonBuilder {
    Daemon::builder()
        .api(&api.url(), poll_interval)
        .env("RUST_LOG", "trace")
        .env("USER", USER)
}

/// Adds credential sources to a daemon.
type Sources = fn(DaemonBuilder) -> DaemonBuilder;

fn has_reading(status: &Status) -> bool {
    status.as_of.is_some() && status.last_error.is_none()
}

async fn item_is_read_from_the_secret_service(store: Sources) {
    if !secret_service::available() {
        return;
    }
    let api = FakeApi::start();
    api.accept_token(KEYRING_TOKEN);
    let daemon = store(traced(&api, 0.2)).start();
    let status = daemon
        .wait_for(WAIT, |s| {
            s.credentials == CredentialSource::SecretService && has_reading(s)
        })
        .await;
    assert_eq!(status.subscription_type.as_deref(), Some("max"));
    assert_eq!(
        status.token_expires_at.map(|at| at.timestamp_millis()),
        Some(FAR_FUTURE_MS)
    );
    assert!(!daemon.claude_dir().join(".credentials.json").exists());
    assert_never_leaked(&daemon, &ALL_TOKENS);
    // The private bus listens in the test's dir, which goes with the test.
    let bus_sockets = std::fs::read_dir(daemon.root().join("bus"))
        .expect("the bus's dir")
        .filter(|entry| {
            let name = entry.as_ref().expect("entry").file_name();
            name.to_string_lossy().starts_with("dbus-")
        })
        .count();
    assert_eq!(
        bus_sockets, 1,
        "the session bus's socket is not in the test's dir"
    );
}

#[tokio::test]
async fn an_item_stored_the_readme_way_is_read_from_the_secret_service() {
    item_is_read_from_the_secret_service(|b| {
        b.keyring_item(KEYRING_TOKEN, "username", Some(FAR_FUTURE_MS))
    })
    .await;
}

#[tokio::test]
async fn an_item_under_libsecret_account_attribute_is_read_too() {
    item_is_read_from_the_secret_service(|b| {
        b.keyring_item(KEYRING_TOKEN, "account", Some(FAR_FUTURE_MS))
    })
    .await;
}

#[tokio::test]
async fn with_claude_config_dir_set_the_hashed_item_is_read() {
    // The documented test vector: sha256 of the raw value, first 8 hex.
    item_is_read_from_the_secret_service(|b| {
        b.env("CLAUDE_CONFIG_DIR", "/Users/test/.claude-work")
            .env("CQ_KEYRING_SERVICE", "Claude Code-credentials-03abf0ee")
            .keyring_item(KEYRING_TOKEN, "username", Some(FAR_FUTURE_MS))
    })
    .await;
}

#[tokio::test]
async fn a_hashed_item_without_a_claude_login_gives_way_to_the_plain_one() {
    item_is_read_from_the_secret_service(|b| {
        b.env("CLAUDE_CONFIG_DIR", "/Users/test/.claude-work")
            .other_keyring_item(
                "Claude Code-credentials-03abf0ee",
                r#"{"mcpOAuth":{"server":{"accessToken":"mcp-only","expiresAt":1}}}"#,
            )
            .keyring_item(KEYRING_TOKEN, "username", Some(FAR_FUTURE_MS))
    })
    .await;
}

#[tokio::test]
async fn an_inference_only_env_token_gives_way_to_the_credentials_file() {
    let api = FakeApi::start();
    api.inference_only(ENV_TOKEN);
    let daemon = traced(&api, 0.2)
        .env("CLAUDE_CODE_OAUTH_TOKEN", ENV_TOKEN)
        .credentials_file(TOKEN, Some(FAR_FUTURE_MS))
        .start();
    let status = daemon
        .wait_for(WAIT, |s| {
            s.credentials == CredentialSource::File && has_reading(s)
        })
        .await;
    assert_eq!(status.tier, claude_quota::Tier::Burst, "tier from the API");
    assert_eq!(status.lacking_scope, [CredentialSource::Env]);
    let doctor = daemon.cli(&["doctor", "--no-color"]);
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.contains("WARN  scope        the token from env lacks user:profile"),
        "{report}"
    );
    assert!(report.contains("unset CLAUDE_CODE_OAUTH_TOKEN"), "{report}");
    let asked = api.requests();
    daemon
        .wait_for(WAIT, |s| s.api_calls as usize >= asked + 2)
        .await;
    assert_eq!(
        api.scope_refusals(),
        1,
        "the inference-only token is not retried at every poll"
    );
    assert!(
        api.user_agents()
            .iter()
            .all(|a| a.starts_with("claude-code/"))
    );
    assert_never_leaked(&daemon, &ALL_TOKENS);
}

#[tokio::test]
async fn when_every_source_lacks_the_scope_the_fault_names_them_and_the_fix() {
    let api = FakeApi::start();
    api.inference_only(ENV_TOKEN);
    api.inference_only(TOKEN);
    let daemon = traced(&api, 0.2)
        .env("CLAUDE_CODE_OAUTH_TOKEN", ENV_TOKEN)
        .credentials_file(TOKEN, Some(FAR_FUTURE_MS))
        .start();
    let status = daemon
        .wait_for_error(WAIT, LastErrorKind::InsufficientScope)
        .await;
    let message = status.last_error.unwrap().message;
    assert!(
        message.contains("lacking user:profile: env, file"),
        "{message}"
    );
    assert!(
        message.contains("unset CLAUDE_CODE_OAUTH_TOKEN"),
        "{message}"
    );

    // A login made meanwhile is found at the next poll.
    write_credentials(&daemon.claude_dir(), NEW_TOKEN, Some(FAR_FUTURE_MS));
    api.accept_token(NEW_TOKEN);
    daemon
        .wait_for(WAIT, |s| {
            s.credentials == CredentialSource::File && has_reading(s)
        })
        .await;
    assert_never_leaked(&daemon, &ALL_TOKENS);
}

#[tokio::test]
async fn sources_are_tried_env_then_keyring_then_file() {
    if !secret_service::available() {
        return;
    }
    let api = FakeApi::start();
    let cases: [(&str, Sources, CredentialSource); 3] = [
        (
            ENV_TOKEN,
            |b| {
                b.env("CLAUDE_CODE_OAUTH_TOKEN", ENV_TOKEN).keyring_item(
                    KEYRING_TOKEN,
                    "username",
                    None,
                )
            },
            CredentialSource::Env,
        ),
        (
            KEYRING_TOKEN,
            |b| b.keyring_item(KEYRING_TOKEN, "username", None),
            CredentialSource::SecretService,
        ),
        (TOKEN, DaemonBuilder::secret_service, CredentialSource::File),
    ];
    for (token, sources, expected) in cases {
        api.accept_token(token);
        let daemon = sources(traced(&api, 0.2).credentials_file(TOKEN, None)).start();
        daemon
            .wait_for(WAIT, |s| s.credentials == expected && has_reading(s))
            .await;
        assert_never_leaked(&daemon, &ALL_TOKENS);
    }
}

#[tokio::test]
async fn an_expired_keyring_copy_gives_way_to_the_fresh_file() {
    if !secret_service::available() {
        return;
    }
    let api = FakeApi::start();
    let expired = Utc::now().timestamp_millis() - 60_000;
    let daemon = traced(&api, 0.2)
        .keyring_item(KEYRING_TOKEN, "username", Some(expired))
        .credentials_file(TOKEN, Some(FAR_FUTURE_MS))
        .start();
    daemon
        .wait_for(WAIT, |s| {
            s.credentials == CredentialSource::File && has_reading(s)
        })
        .await;
    assert_eq!(api.rejected_tokens(), 0, "the expired token was never sent");
    assert_never_leaked(&daemon, &ALL_TOKENS);
}

#[tokio::test]
async fn no_credentials_names_every_place_tried() {
    let api = FakeApi::start();
    for with_secret_service in [false, true] {
        if with_secret_service && !secret_service::available() {
            return;
        }
        let mut builder = traced(&api, 0.2);
        if with_secret_service {
            builder = builder.secret_service();
        }
        let daemon = builder.start();
        let status = daemon.wait_for(WAIT, |s| s.last_error.is_some()).await;
        let error = status.last_error.unwrap();
        assert_eq!(error.kind, LastErrorKind::NoCredentials);
        for place in [
            "CLAUDE_CODE_OAUTH_TOKEN (none)",
            &format!("Secret Service item \"Claude Code-credentials\" of \"{USER}\""),
            ".credentials.json (none)",
        ] {
            assert!(error.message.contains(place), "{place}: {}", error.message);
        }
        // Without a bus the reason is given; with one the item is just absent.
        assert_eq!(
            error.message.contains(&format!("of \"{USER}\" (none)")),
            with_secret_service,
            "{}",
            error.message
        );
        assert_eq!(api.requests(), 0);
    }
}

#[tokio::test]
async fn an_expired_token_gives_way_to_the_one_claude_code_rewrote_within_a_poll() {
    let api = FakeApi::start();
    let poll = Duration::from_secs(1);
    let expired = Utc::now().timestamp_millis() - 60_000;
    let daemon = traced(&api, poll.as_secs_f64())
        .credentials_file(TOKEN, Some(expired))
        .start();
    daemon.wait_for(WAIT, has_reading).await;

    // Right after a poll, Claude Code refreshes: a new token in the file,
    // and the old one stops working.
    let polled = api.requests();
    api.wait_for_calls(polled + 1, WAIT).await;
    write_credentials(&daemon.claude_dir(), NEW_TOKEN, Some(FAR_FUTURE_MS));
    api.accept_token(NEW_TOKEN);
    let (asked, switched_at) = (api.requests(), Utc::now());
    daemon
        .wait_for(WAIT, |s| {
            s.token_expires_at.map(|at| at.timestamp_millis()) == Some(FAR_FUTURE_MS)
                && s.as_of.is_some_and(|at| at > switched_at)
                && s.last_error.is_none()
        })
        .await;
    assert_eq!(
        api.requests(),
        asked + 1,
        "picked up by the first poll after the rewrite"
    );
    assert_eq!(
        api.rejected_tokens(),
        0,
        "the expired token was re-read, not refused first"
    );
    assert_never_leaked(&daemon, &ALL_TOKENS);
}

#[tokio::test]
async fn a_refused_token_is_read_again_once_then_unauthorized() {
    let api = FakeApi::start();
    let daemon = traced(&api, 0.3)
        .credentials_file(TOKEN, Some(FAR_FUTURE_MS))
        .start();
    daemon.wait_for(WAIT, has_reading).await;

    // A token still unexpired but replaced: refused once, re-read, retried.
    write_credentials(&daemon.claude_dir(), NEW_TOKEN, Some(FAR_FUTURE_MS - 1));
    api.accept_token(NEW_TOKEN);
    let asked = api.requests();
    daemon
        .wait_for(WAIT, |s| {
            s.token_expires_at.map(|at| at.timestamp_millis()) == Some(FAR_FUTURE_MS - 1)
                && has_reading(s)
                && s.api_calls as usize >= asked + 2
        })
        .await;
    assert_eq!(api.rejected_tokens(), 1);

    // Refused again with nothing new to read: no retry with the same token.
    api.accept_token("sk-ant-oat01-someone-else");
    let status = daemon
        .wait_for_error(WAIT, LastErrorKind::Unauthorized)
        .await;
    assert_eq!(
        api.rejected_tokens(),
        2,
        "one request for the refusing poll"
    );
    assert_eq!(status.credentials, CredentialSource::File);
    assert_never_leaked(&daemon, &ALL_TOKENS);
}

#[tokio::test]
async fn a_forbidden_token_is_insufficient_scope_naming_user_profile() {
    let api = FakeApi::start();
    api.fail_with(Fault::Status(403));
    let daemon = traced(&api, 0.2).credentials_file(TOKEN, None).start();
    let status = daemon.wait_for(WAIT, |s| s.last_error.is_some()).await;
    let error = status.last_error.unwrap();
    assert_eq!(error.kind, LastErrorKind::InsufficientScope);
    assert!(error.message.contains("user:profile"), "{}", error.message);
    assert_never_leaked(&daemon, &ALL_TOKENS);
}

#[tokio::test]
async fn the_keychain_key_picks_the_reader_and_a_reload_switches_it() {
    let api = FakeApi::start();
    let daemon = traced(&api, 0.2)
        .config("keychain = \"security-cli\"\n")
        .start();
    let cli = format!(
        "/usr/bin/security find-generic-password -s \"Claude Code-credentials\" -a \"{USER}\": no such program"
    );
    let mentions = |text: &'static str| {
        move |s: &Status| {
            s.last_error
                .as_ref()
                .is_some_and(|e| e.kind == LastErrorKind::NoCredentials && e.message.contains(text))
        }
    };
    let status = daemon.wait_for(WAIT, mentions("/usr/bin/security")).await;
    let message = status.last_error.unwrap().message;
    assert!(message.contains(&cli), "{message}");
    assert!(!message.contains("Secret Service"), "{message}");

    std::fs::write(daemon.config_path(), "keychain = \"auto\"\n").unwrap();
    daemon.signal("HUP");
    daemon.wait_for(WAIT, mentions("Secret Service item")).await;
    assert_never_leaked(&daemon, &ALL_TOKENS);
}

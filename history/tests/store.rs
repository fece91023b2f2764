//! The history store on a real file: what goes in comes out, old rows go,
//! an unusable file is moved aside, an older schema is migrated forward.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use claude_quota_history::{Error, Row, Stats, Store, moved_aside};
use claude_quota_proto::{ExtraUsage, ReadingSource, ScopedCap, Tier};
use rusqlite::Connection;

fn at(minute: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-04-28T08:00:00.250Z")
        .unwrap()
        .to_utc()
        + TimeDelta::minutes(minute)
}

fn row(account: &str, minute: i64, five_hour: f64) -> Row {
    Row {
        account: account.to_owned(),
        at: at(minute),
        source: ReadingSource::Api,
        tier: Tier::Burst,
        five_hour: Some(five_hour),
        five_hour_resets_at: Some(at(300)),
        seven_day: Some(12.5),
        seven_day_resets_at: Some(at(6000)),
        weekly_scoped: vec![ScopedCap {
            model: "Sonnet".into(),
            utilization: 40.0,
            resets_at: Some(at(6000)),
            severity: Some("normal".into()),
            status: None,
        }],
        extra_usage: Some(ExtraUsage {
            enabled: true,
            utilization: Some(3.0),
            used: Some(2.44),
            limit: Some(50.0),
            currency: Some("EUR".into()),
            disabled_reason: None,
        }),
    }
}

fn file_mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn rows_come_back_as_inserted_by_account_and_span() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/history.sqlite3");
    let mut store = Store::open(&path).unwrap();
    assert_eq!(file_mode(&path), 0o600);
    assert_eq!(file_mode(path.parent().unwrap()), 0o700);

    let mut bare = row("work", 1, 30.0);
    bare.weekly_scoped.clear();
    bare.extra_usage = None;
    bare.five_hour_resets_at = None;
    bare.source = ReadingSource::Statusline;
    bare.tier = Tier::Resting;
    let rows = vec![row("default", 0, 10.0), bare, row("default", 2, 11.5)];
    store.insert(&rows).unwrap();

    assert_eq!(store.rows(None, at(0), at(3)).unwrap(), rows);
    assert_eq!(
        store.rows(Some("default"), at(0), at(3)).unwrap(),
        vec![rows[0].clone(), rows[2].clone()]
    );
    assert_eq!(
        store.rows(None, at(1), at(2)).unwrap(),
        vec![rows[1].clone()]
    );
    assert_eq!(
        store.stats().unwrap(),
        Stats {
            rows: 3,
            oldest: Some(at(0))
        }
    );

    // The same account and moment again replaces the row.
    store.insert(&[row("default", 0, 99.0)]).unwrap();
    let again = store.rows(Some("default"), at(0), at(1)).unwrap();
    assert_eq!(again[0].five_hour, Some(99.0));
    assert_eq!(store.stats().unwrap().rows, 3);
}

#[test]
fn the_cli_reads_while_the_daemon_writes_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    assert!(matches!(
        Store::open_read_only(&path),
        Err(Error::Missing(_))
    ));
    assert!(!path.exists(), "a read-only open creates nothing");

    let mut daemon = Store::open(&path).unwrap();
    daemon.insert(&[row("default", 0, 10.0)]).unwrap();
    let cli = Store::open_read_only(&path).unwrap();
    assert_eq!(cli.rows(None, at(0), at(1)).unwrap().len(), 1);
    daemon.insert(&[row("default", 1, 11.0)]).unwrap();
    assert_eq!(cli.rows(None, at(0), at(2)).unwrap().len(), 2);
    drop(daemon);
    // With the daemon gone (its log checkpointed and removed) it still reads.
    let cli = Store::open_read_only(&path).unwrap();
    assert_eq!(cli.stats().unwrap().rows, 2);
}

#[test]
fn pruning_drops_old_rows_and_the_details_only_they_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let mut old = row("default", 0, 5.0);
    old.weekly_scoped[0].utilization = 1.0;
    store
        .insert(&[old, row("default", 10, 6.0), row("work", 20, 7.0)])
        .unwrap();
    assert_eq!(store.prune(at(5)).unwrap(), 1);
    assert_eq!(
        store.stats().unwrap(),
        Stats {
            rows: 2,
            oldest: Some(at(10))
        }
    );
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let details: i64 = conn
        .query_row("SELECT COUNT(*) FROM details", [], |r| r.get(0))
        .unwrap();
    assert_eq!(details, 1, "the old row's caps went with it");
}

#[test]
fn a_file_that_is_not_sqlite_is_moved_aside_and_a_fresh_one_started() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    fs::write(
        &path,
        "this is not a database, just some text that is long enough",
    )
    .unwrap();
    let mut store = Store::open(&path).unwrap();
    let moved = store.moved_aside().expect("said it moved the file").clone();
    assert!(moved.reason.contains("not a database"), "{}", moved.reason);
    assert_eq!(
        fs::read_to_string(&moved.to).unwrap(),
        "this is not a database, just some text that is long enough"
    );
    assert_eq!(moved_aside(&path), vec![moved.to]);
    store.insert(&[row("default", 0, 1.0)]).unwrap();
    assert_eq!(store.stats().unwrap().rows, 1);
    assert_eq!(file_mode(&path), 0o600);
}

#[test]
fn a_corrupt_database_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let mut store = Store::open(&path).unwrap();
    let rows: Vec<Row> = (0..2000).map(|m| row("default", m, 1.0)).collect();
    store.insert(&rows).unwrap();
    drop(store);
    // Keep SQLite's header (a real database) and scribble over the pages.
    let mut bytes = fs::read(&path).unwrap();
    assert!(bytes.len() > 16 * 1024, "{}", bytes.len());
    for byte in &mut bytes[4096..] {
        *byte = 0x5a;
    }
    fs::write(&path, &bytes).unwrap();

    let store = Store::open(&path).unwrap();
    assert!(store.moved_aside().is_some());
    assert_eq!(store.stats().unwrap().rows, 0);
    assert_eq!(moved_aside(&path).len(), 1);
}

#[test]
fn a_version_1_database_written_by_hand_is_migrated_forward() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            r#"CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
            CREATE TABLE readings (
                account INTEGER NOT NULL REFERENCES accounts (id),
                at INTEGER NOT NULL, source TEXT NOT NULL, tier TEXT NOT NULL,
                five_hour REAL, five_hour_resets_at INTEGER,
                seven_day REAL, seven_day_resets_at INTEGER, details TEXT,
                PRIMARY KEY (account, at)) WITHOUT ROWID;
            INSERT INTO accounts VALUES (1, 'default');
            INSERT INTO readings VALUES
                (1, 1777363200000, 'api', 'burst', 10.0, 1777381200000, 20.0, NULL,
                 '{"weekly_scoped":[{"model":"Opus","utilization":70.0,"resets_at":null,"severity":null}]}'),
                (1, 1777363260000, 'statusline', 'active', 55.0, NULL, NULL, NULL, NULL),
                (1, 1777363320000, 'headers', 'resting', 85.0, NULL, NULL, NULL,
                 '{"weekly_scoped":[{"model":"Opus","utilization":70.0,"resets_at":null,"severity":null}]}');
            PRAGMA user_version = 1;"#,
        )
        .unwrap();
    }
    assert!(matches!(
        Store::open_read_only(&path),
        Err(Error::NotMigrated { found: 1, .. })
    ));
    let store = Store::open(&path).unwrap();
    assert!(store.moved_aside().is_none());
    let since = DateTime::from_timestamp_millis(1777363200000).unwrap();
    let rows = store
        .rows(Some("default"), since, since + TimeDelta::hours(1))
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].weekly_scoped[0].model, "Opus");
    assert_eq!(
        rows[0].five_hour_resets_at,
        Some(since + TimeDelta::hours(5))
    );
    assert_eq!(rows[1].source, ReadingSource::Statusline);
    assert!(rows[1].weekly_scoped.is_empty());
    assert_eq!(rows[2].tier, Tier::Resting);
    assert_eq!(rows[2].weekly_scoped, rows[0].weekly_scoped);
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let (version, details): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT COUNT(*) FROM details)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((version, details), (2, 1));
}

#[test]
fn a_newer_schema_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
        .unwrap();
    assert!(matches!(
        Store::open(&path),
        Err(Error::TooNew { found: 99, .. })
    ));
    assert!(matches!(
        Store::open_read_only(&path),
        Err(Error::TooNew { found: 99, .. })
    ));
    assert!(moved_aside(&path).is_empty());
}

#[test]
fn a_link_in_place_of_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere.sqlite3");
    let path = dir.path().join("history.sqlite3");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    assert!(Store::open(&path).is_err());
    assert!(Store::open_read_only(&path).is_err());
    assert!(!target.exists());
}

//! The schema, built by its migrations from nothing: a fresh database runs
//! every step, so each step is exercised on every new file, not only on
//! the rare old one. `PRAGMA user_version` holds the number of steps done.
//!
//! - Version 1: accounts by name, and one row per account and moment, the
//!   caps and extra usage as JSON in every row.
//! - Version 2: the caps and extra usage kept once per distinct value (they
//!   change a few times a day, the windows every minute): their JSON is
//!   about 300 bytes, some 150 MB a year of a row a minute on its own.

use std::path::Path;

use rusqlite::Connection;

use crate::Error;

/// The steps, in order; step `n` takes version `n` to `n + 1`. Each runs in
/// one transaction with its version bump, so a crash leaves the old
/// version whole.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    "CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE readings (
        account INTEGER NOT NULL REFERENCES accounts (id),
        at INTEGER NOT NULL,
        source TEXT NOT NULL,
        tier TEXT NOT NULL,
        five_hour REAL,
        five_hour_resets_at INTEGER,
        seven_day REAL,
        seven_day_resets_at INTEGER,
        details TEXT,
        PRIMARY KEY (account, at)
    ) WITHOUT ROWID;",
    // 1 -> 2
    "CREATE TABLE details (
        id INTEGER PRIMARY KEY,
        json TEXT NOT NULL UNIQUE
    );
    INSERT OR IGNORE INTO details (json)
        SELECT details FROM readings WHERE details IS NOT NULL;
    CREATE TABLE readings_v2 (
        account INTEGER NOT NULL REFERENCES accounts (id),
        at INTEGER NOT NULL,
        source TEXT NOT NULL,
        tier TEXT NOT NULL,
        five_hour REAL,
        five_hour_resets_at INTEGER,
        seven_day REAL,
        seven_day_resets_at INTEGER,
        details INTEGER REFERENCES details (id),
        PRIMARY KEY (account, at)
    ) WITHOUT ROWID;
    INSERT INTO readings_v2
        SELECT account, at, source, tier, five_hour, five_hour_resets_at,
               seven_day, seven_day_resets_at,
               (SELECT id FROM details WHERE json = readings.details)
        FROM readings;
    DROP TABLE readings;
    ALTER TABLE readings_v2 RENAME TO readings;",
];

/// The version this build writes and reads.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// The database's schema version.
pub fn version(conn: &Connection, path: &Path) -> Result<i64, Error> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|source| sqlite(path, source))
}

/// Brings the database at `path` to [`VERSION`], one step at a time;
/// refuses one a newer build wrote.
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), Error> {
    let found = version(conn, path)?;
    if found > VERSION {
        return Err(Error::TooNew {
            path: path.to_owned(),
            found,
            known: VERSION,
        });
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let to = step as i64 + 1;
        let done = conn.transaction().and_then(|tx| {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", to)?;
            tx.commit()
        });
        done.map_err(|source| sqlite(path, source))?;
        if found > 0 {
            tracing::info!(path = %path.display(), from = step, to, "migrated the history");
        }
    }
    Ok(())
}

/// A SQLite error about `path`.
pub fn sqlite(path: &Path, source: rusqlite::Error) -> Error {
    Error::Sqlite {
        path: path.to_owned(),
        source,
    }
}

//! The database itself: opened read-write by the daemon (created,
//! migrated, moved aside when unusable) or read-only by the CLI, and the
//! four things done with it: insert, read a span, prune, count.

use std::collections::HashMap;
use std::fs::{self, DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, params};

use crate::aside::{self, MovedAside};
use crate::codec::{Details, millis, moment};
use crate::schema::{self, sqlite};
use crate::{Error, Row, Stats};

/// How long a statement waits for a lock another connection holds (a
/// `sqlite3` shell in a transaction, a backup) before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// An open history database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    moved_aside: Option<MovedAside>,
    ids: Ids,
}

/// The ids of the accounts and the details last written, so a row costs
/// one statement rather than five; forgotten whenever a transaction fails
/// (its new ids were rolled back) or a prune may have deleted them.
#[derive(Default)]
struct Ids {
    accounts: HashMap<String, i64>,
    details: Option<(String, i64)>,
}

impl Store {
    /// Opens the database at `path` to read and write, creating it (0600,
    /// in a 0700 directory) and migrating an older schema forward. A file
    /// that is not SQLite or is corrupt is moved aside and a fresh one
    /// started ([`Store::moved_aside`] says so). One that belongs to
    /// another user, or a newer schema, is refused.
    pub fn open(path: &Path) -> Result<Store, Error> {
        if let Some(dir) = path.parent() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| io(dir, source))?;
        }
        make_private(path)?;
        match Store::open_writable(path) {
            Err(err) if err.is_corrupt() => {
                let moved = aside::move_aside(path, err.to_string(), Utc::now())?;
                tracing::warn!(
                    path = %path.display(),
                    moved_to = %moved.to.display(),
                    reason = %moved.reason,
                    "the history database was unusable; moved it aside and started a fresh one"
                );
                make_private(path)?;
                let mut store = Store::open_writable(path)?;
                store.moved_aside = Some(moved);
                Ok(store)
            }
            opened => opened,
        }
    }

    /// Opens the database at `path` to read only, changing nothing on disk
    /// (for the CLI, also while the daemon writes).
    pub fn open_read_only(path: &Path) -> Result<Store, Error> {
        let meta = match fs::metadata(path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Missing(path.to_owned()));
            }
            other => other.map_err(|source| io(path, source))?,
        };
        check_owner(path, &meta)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| sqlite(path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| sqlite(path, e))?;
        let found = schema::version(&conn, path)?;
        let known = schema::VERSION;
        if found > known {
            return Err(Error::TooNew {
                path: path.to_owned(),
                found,
                known,
            });
        }
        if found < known {
            return Err(Error::NotMigrated {
                path: path.to_owned(),
                found,
                known,
            });
        }
        Ok(Store {
            conn,
            path: path.to_owned(),
            moved_aside: None,
            ids: Ids::default(),
        })
    }

    fn open_writable(path: &Path) -> Result<Store, Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let mut conn = Connection::open_with_flags(path, flags).map_err(|e| sqlite(path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| sqlite(path, e))?;
        // WAL lets the CLI read while the daemon writes; NORMAL syncs at
        // checkpoints only, which may lose the last rows to a power cut
        // but never damages the file.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
            .map_err(|e| sqlite(path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "the history is not in WAL mode");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| sqlite(path, e))?;
        let check: String = conn
            .pragma_query_value(None, "quick_check", |row| row.get(0))
            .map_err(|e| sqlite(path, e))?;
        if check != "ok" {
            return Err(Error::Corrupt {
                path: path.to_owned(),
                detail: check,
            });
        }
        schema::migrate(&mut conn, path)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
            moved_aside: None,
            ids: Ids::default(),
        })
    }

    /// Where the database is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The unusable file this open moved aside, if it did.
    pub fn moved_aside(&self) -> Option<&MovedAside> {
        self.moved_aside.as_ref()
    }

    /// Appends `rows` in one transaction: all or none. A row for an
    /// account and moment already kept replaces it.
    pub fn insert(&mut self, rows: &[Row]) -> Result<(), Error> {
        let inserted = self.conn.transaction().and_then(|tx| {
            for row in rows {
                insert_one(&tx, &mut self.ids, row)?;
            }
            tx.commit()
        });
        inserted.map_err(|e| {
            self.ids = Ids::default();
            sqlite(&self.path, e)
        })
    }

    /// The rows taken from `since` (inclusive) to `until` (exclusive), of
    /// `account` or of every account, oldest first.
    pub fn rows(
        &self,
        account: Option<&str>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Row>, Error> {
        let mut select = self
            .conn
            .prepare_cached(
                "SELECT a.name, r.at, r.source, r.tier, r.five_hour, r.five_hour_resets_at,
                        r.seven_day, r.seven_day_resets_at, d.json
                 FROM readings r
                 JOIN accounts a ON a.id = r.account
                 LEFT JOIN details d ON d.id = r.details
                 WHERE (?1 IS NULL OR a.name = ?1) AND r.at >= ?2 AND r.at < ?3
                 ORDER BY r.at, a.name",
            )
            .map_err(|e| sqlite(&self.path, e))?;
        let raw = select
            .query_map(params![account, millis(since), millis(until)], RawRow::of)
            .map_err(|e| sqlite(&self.path, e))?;
        raw.map(|raw| {
            raw.map_err(|e| sqlite(&self.path, e))?
                .decode()
                .map_err(|detail| Error::BadRow {
                    path: self.path.clone(),
                    detail,
                })
        })
        .collect()
    }

    /// Deletes the rows taken before `older_than`, and the details no row
    /// refers to any more; returns how many rows went.
    pub fn prune(&mut self, older_than: DateTime<Utc>) -> Result<u64, Error> {
        let path = &self.path;
        let tx = self.conn.transaction().map_err(|e| sqlite(path, e))?;
        let deleted = tx
            .execute(
                "DELETE FROM readings
                 WHERE account IN (SELECT id FROM accounts) AND at < ?1",
                [millis(older_than)],
            )
            .map_err(|e| sqlite(path, e))?;
        tx.execute(
            "DELETE FROM details WHERE id NOT IN
                 (SELECT details FROM readings WHERE details IS NOT NULL)",
            [],
        )
        .map_err(|e| sqlite(path, e))?;
        tx.commit().map_err(|e| sqlite(path, e))?;
        self.ids.details = None;
        Ok(deleted as u64)
    }

    /// How many rows are kept and when the oldest was taken.
    pub fn stats(&self) -> Result<Stats, Error> {
        let (rows, oldest): (i64, Option<i64>) = self
            .conn
            .query_row(
                "SELECT (SELECT COUNT(*) FROM readings),
                        (SELECT MIN(at) FROM readings
                         WHERE account IN (SELECT id FROM accounts))",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(|e| sqlite(&self.path, e))?;
        Ok(Stats {
            rows: rows.max(0) as u64,
            oldest: oldest.and_then(moment),
        })
    }
}

fn insert_one(tx: &rusqlite::Transaction<'_>, ids: &mut Ids, row: &Row) -> rusqlite::Result<()> {
    let account = match ids.accounts.get(&row.account) {
        Some(&id) => id,
        None => {
            tx.prepare_cached(
                "INSERT INTO accounts (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
            )?
            .execute([&row.account])?;
            let id = tx
                .prepare_cached("SELECT id FROM accounts WHERE name = ?1")?
                .query_row([&row.account], |r| r.get(0))?;
            ids.accounts.insert(row.account.clone(), id);
            id
        }
    };
    let details = match Details::encode(row) {
        None => None,
        Some(json) => match &ids.details {
            Some((known, id)) if *known == json => Some(*id),
            _ => {
                tx.prepare_cached(
                    "INSERT INTO details (json) VALUES (?1) ON CONFLICT (json) DO NOTHING",
                )?
                .execute([&json])?;
                let id: i64 = tx
                    .prepare_cached("SELECT id FROM details WHERE json = ?1")?
                    .query_row([&json], |r| r.get(0))?;
                ids.details = Some((json, id));
                Some(id)
            }
        },
    };
    tx.prepare_cached(
        "INSERT OR REPLACE INTO readings (account, at, source, tier, five_hour,
             five_hour_resets_at, seven_day, seven_day_resets_at, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        account,
        millis(row.at),
        row.source.as_str(),
        row.tier.as_str(),
        row.five_hour,
        row.five_hour_resets_at.map(millis),
        row.seven_day,
        row.seven_day_resets_at.map(millis),
        details,
    ])?;
    Ok(())
}

/// One row as SQLite returns it, before its values are checked.
struct RawRow {
    account: String,
    at: i64,
    source: String,
    tier: String,
    five_hour: Option<f64>,
    five_hour_resets_at: Option<i64>,
    seven_day: Option<f64>,
    seven_day_resets_at: Option<i64>,
    details: Option<String>,
}

impl RawRow {
    fn of(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
        Ok(RawRow {
            account: row.get(0)?,
            at: row.get(1)?,
            source: row.get(2)?,
            tier: row.get(3)?,
            five_hour: row.get(4)?,
            five_hour_resets_at: row.get(5)?,
            seven_day: row.get(6)?,
            seven_day_resets_at: row.get(7)?,
            details: row.get(8)?,
        })
    }

    fn decode(self) -> Result<Row, String> {
        let time = |ms: i64| moment(ms).ok_or_else(|| format!("time {ms} is out of range"));
        let details = Details::decode(self.details.as_deref())
            .map_err(|err| format!("details of {}: {err}", self.at))?;
        Ok(Row {
            at: time(self.at)?,
            source: self.source.parse().map_err(|err| format!("{err}"))?,
            tier: self.tier.parse().map_err(|err| format!("{err}"))?,
            five_hour: self.five_hour,
            five_hour_resets_at: self.five_hour_resets_at.map(time).transpose()?,
            seven_day: self.seven_day,
            seven_day_resets_at: self.seven_day_resets_at.map(time).transpose()?,
            weekly_scoped: details.weekly_scoped,
            extra_usage: details.extra_usage,
            account: self.account,
        })
    }
}

/// Creates `path` 0600 when missing; an existing one must be this user's
/// regular file (not a link), and is made 0600 if it was looser.
fn make_private(path: &Path) -> Result<(), Error> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|source| io(path, source))?;
    let meta = file.metadata().map_err(|source| io(path, source))?;
    check_owner(path, &meta)?;
    if meta.permissions().mode() & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|source| io(path, source))?;
    }
    Ok(())
}

/// Refuses a file another user owns: its rows could steer the forecast.
fn check_owner(path: &Path, meta: &fs::Metadata) -> Result<(), Error> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me || !meta.is_file() {
        return Err(Error::NotOwn(path.to_owned()));
    }
    Ok(())
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

//! What can go wrong with the history database, each with the path it is
//! about, so a log line or `status.history.last_error` says where to look.

use std::path::PathBuf;

use rusqlite::ErrorCode;

/// A failure to open, read or write the history.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No database at the path yet (the daemon has not written one).
    #[error("there is no history at {0} yet")]
    Missing(PathBuf),
    /// The file belongs to another user: its rows could be planted.
    #[error("{0} is not this user's own file; refusing to use it")]
    NotOwn(PathBuf),
    /// A newer claude-quota wrote it; this one does not know its schema and
    /// leaves it alone rather than guess.
    #[error(
        "{path} has schema version {found}, newer than this claude-quota's {known}; upgrade claude-quota"
    )]
    TooNew {
        /// The database.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// An older schema that only the daemon, which may write, migrates.
    #[error(
        "{path} has schema version {found}, older than {known}; start claude-quotad to migrate it"
    )]
    NotMigrated {
        /// The database.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// The version this build reads.
        known: i64,
    },
    /// SQLite's integrity check found damage.
    #[error("{path} is corrupt: {detail}")]
    Corrupt {
        /// The database.
        path: PathBuf,
        /// What `PRAGMA quick_check` reported first.
        detail: String,
    },
    /// A row whose values this version cannot read.
    #[error("{path}: a row cannot be read: {detail}")]
    BadRow {
        /// The database.
        path: PathBuf,
        /// Which value, and why.
        detail: String,
    },
    /// The file or its directory could not be made or moved.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// SQLite refused (a full disk, a read-only file, a lock held too long).
    #[error("{path}: {source}")]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

impl Error {
    /// Whether the file is not SQLite or is damaged, so that only moving it
    /// aside lets history be kept again.
    pub fn is_corrupt(&self) -> bool {
        match self {
            Error::Corrupt { .. } => true,
            Error::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
            ),
            _ => false,
        }
    }
}

//! The socket file: claiming it safely at start and removing it at exit.
//!
//! The daemon serves only from a directory private to its user (see
//! [`super::directory`]), refuses to steal a socket another live daemon is
//! serving, but replaces one left behind by a crash, and makes the socket
//! private to the user.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rustix::fs::{FlockOperation, flock};
use tokio::net::{UnixListener, UnixStream};

use super::directory;

/// The bound socket file, removed on drop if it is still ours.
pub struct SocketFile {
    path: PathBuf,
    /// (device, inode) of the socket we bound, so we never remove a socket
    /// that a newer daemon has since put in its place.
    identity: (u64, u64),
    /// The start-up lock, held as long as the socket is ours. The lock
    /// file stays behind at exit: removing it would let a daemon lock a
    /// new file while another still holds the old one.
    _lock: File,
}

/// Binds the listening socket at `path`: makes sure its directory is
/// private, takes the start-up lock beside it, refuses to start when a
/// live daemon answers there, replaces a stale socket file, and makes the
/// socket 0600.
pub async fn bind(path: &Path) -> anyhow::Result<(UnixListener, SocketFile)> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    directory::prepare(dir)?;
    let lock = lock(path)?;
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if UnixStream::connect(path).await.is_ok() {
                bail!(
                    "another claude-quotad is already serving {}; {STOP_IT}",
                    path.display()
                );
            }
            tracing::info!(path = %path.display(), "replacing stale socket file");
            fs::remove_file(path)
                .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
        }
        Ok(_) => bail!(
            "{} exists and is not a socket; refusing to replace it",
            path.display()
        ),
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("cannot inspect {}", path.display())),
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot bind {}", path.display()))?;
    fs::set_permissions(path, Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    let meta = fs::metadata(path)?;
    Ok((
        listener,
        SocketFile {
            path: path.to_owned(),
            identity: (meta.dev(), meta.ino()),
            _lock: lock,
        },
    ))
}

/// Takes the advisory lock on the file beside the socket (the socket's
/// name with `.lock` for its extension). Only its holder may probe,
/// replace and bind the socket, so that of two daemons starting together,
/// which could otherwise both find a stale socket, remove it and bind,
/// exactly one serves.
fn lock(socket: &Path) -> anyhow::Result<File> {
    let mut path = socket.with_extension("lock");
    if path == socket {
        path.as_mut_os_string().push(".lock");
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(err) if err == rustix::io::Errno::WOULDBLOCK => bail!(
            "another claude-quotad holds {}: it is already serving {} or about to; {STOP_IT}",
            path.display(),
            socket.display()
        ),
        Err(err) => Err(std::io::Error::from(err))
            .with_context(|| format!("cannot lock {}", path.display())),
    }
}

/// What to do about another daemon on the same socket.
const STOP_IT: &str = "stop it first (or pass --socket to run a second one elsewhere)";

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = fs::symlink_metadata(&self.path)
            .is_ok_and(|meta| (meta.dev(), meta.ino()) == self.identity);
        if ours && let Err(err) = fs::remove_file(&self.path) {
            tracing::warn!(%err, path = %self.path.display(), "cannot remove socket");
        }
    }
}

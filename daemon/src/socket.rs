//! The socket file: claiming it safely at start and removing it at exit.
//!
//! The daemon refuses to steal a socket another live daemon is serving, but
//! replaces one left behind by a crash, and makes both the directory and the
//! socket private to the user.

use std::fs::{self, DirBuilder, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tokio::net::{UnixListener, UnixStream};

/// The bound socket file, removed on drop if it is still ours.
pub struct SocketFile {
    path: PathBuf,
    /// (device, inode) of the socket we bound, so we never remove a socket
    /// that a newer daemon has since put in its place.
    identity: (u64, u64),
}

/// Binds the listening socket at `path`: creates the directory 0700 when
/// missing, refuses to start when a live daemon answers there, replaces a
/// stale socket file, and makes the socket 0600.
pub async fn bind(path: &Path) -> anyhow::Result<(UnixListener, SocketFile)> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create socket directory {}", dir.display()))?;
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if UnixStream::connect(path).await.is_ok() {
                bail!(
                    "another claude-quotad is already serving {}; stop it first (or pass --socket to run a second one elsewhere)",
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
        },
    ))
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = fs::symlink_metadata(&self.path)
            .is_ok_and(|meta| (meta.dev(), meta.ino()) == self.identity);
        if ours && let Err(err) = fs::remove_file(&self.path) {
            tracing::warn!(%err, path = %self.path.display(), "cannot remove socket");
        }
    }
}

//! The socket check: the path clients use, and whether only this user can
//! reach it (the daemon makes its directory 0700 and the socket 0600).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use super::check::Check;

/// Permission bits that let other users in.
const OTHERS: u32 = 0o077;

/// Whether `path` is a socket owned by this user that nobody else can
/// reach. A missing socket fails: no daemon listens there.
pub fn check(path: &Path) -> Check {
    let shown = path.display();
    let dir = path.parent().unwrap_or(Path::new("/"));
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => {
            return Check::fail(
                "socket",
                format!("{} is unreadable: {err}", dir.display()),
                format!(
                    "the socket's directory must be yours and 0700 (`ls -ld '{}'`); or point --socket / CLAUDE_QUOTA_SOCKET at your daemon's socket",
                    dir.display()
                ),
            );
        }
        Err(err) => {
            return Check::fail(
                "socket",
                format!("{shown}: {err}"),
                "start the daemon (see below), or point --socket / CLAUDE_QUOTA_SOCKET at its socket",
            );
        }
    };
    if !meta.file_type().is_socket() {
        return Check::fail(
            "socket",
            format!("{shown} is not a socket"),
            "remove it; the daemon creates its socket there at start",
        );
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if meta.uid() != uid {
        return Check::fail(
            "socket",
            format!(
                "{shown} belongs to uid {}, not to you (uid {uid})",
                meta.uid()
            ),
            "run claude-quotad as yourself; it refuses peers of another user",
        );
    }
    let socket_mode = meta.mode() & 0o777;
    if socket_mode & OTHERS != 0 {
        return Check::warn(
            "socket",
            format!("{shown} has mode {socket_mode:04o}; expected 0600"),
            "restart the daemon; it creates its socket 0600",
        );
    }
    let dir_mode = std::fs::metadata(dir).map_or(0, |m| m.mode() & 0o777);
    if dir_mode & OTHERS != 0 {
        return Check::warn(
            "socket",
            format!("{} has mode {dir_mode:04o}; expected 0700", dir.display()),
            format!("chmod 700 '{}'", dir.display()),
        );
    }
    Check::ok(
        "socket",
        format!("{shown} (socket {socket_mode:04o}, directory {dir_mode:04o}, yours)"),
    )
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixListener;

    use super::*;
    use crate::doctor::check::Verdict;

    #[test]
    fn a_private_socket_passes_and_an_open_directory_warns() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = dir.path().join("s.sock");
        let _listener = UnixListener::bind(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(check(&path).verdict, Verdict::Ok, "{:?}", check(&path));

        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = check(&path);
        assert_eq!(found.verdict, Verdict::Warn);
        assert!(found.message.contains("0755"), "{found:?}");
    }

    #[test]
    fn a_missing_socket_or_a_plain_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check(&dir.path().join("none")).verdict, Verdict::Fail);
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(check(&file).message.contains("not a socket"));
    }
}

//! Who besides this user could change a file the daemon trusts. The
//! config names the URL the OAuth token is sent to and a command the
//! daemon runs; the socket's directory decides who answers its clients.
//! Whatever another user could write is refused, as ssh refuses such a
//! `~/.ssh/config` and tmux such a socket directory.

use std::fs::{File, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// This process's effective uid.
pub fn own_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Who besides the owner may write to something of `mode`, in words:
/// `None` when nobody may.
pub fn other_writers(mode: u32) -> Option<&'static str> {
    match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (false, false) => None,
        (true, false) => Some("its group"),
        (false, true) => Some("others"),
        (true, true) => Some("its group and others"),
    }
}

/// Why a file of `meta` is not this user's alone (`None` when it is): it
/// must belong to `own_uid` or root and be writable by nobody else.
pub fn untrusted_file(meta: &Metadata, own_uid: u32) -> Option<String> {
    if meta.uid() != own_uid && meta.uid() != 0 {
        return Some(format!(
            "belongs to uid {}, not to you (uid {own_uid}) or root",
            meta.uid()
        ));
    }
    other_writers(meta.mode()).map(|who| {
        format!(
            "is writable by {who} (mode {:o}); make it yours alone with `chmod go-w`",
            meta.mode() & 0o7777
        )
    })
}

/// [`untrusted_file`] for the file at `path` (following symlinks to the
/// file itself); a file that cannot be inspected is no reason here, the
/// read or run that follows reports it.
pub fn untrusted_path(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    untrusted_file(&meta, own_uid())
}

/// Why [`read_own`] gave nothing.
#[derive(Debug)]
pub enum NotOwn {
    /// The file could not be opened, inspected or read.
    Io(std::io::Error),
    /// It could be changed by another user; the reason, in words.
    Untrusted(String),
}

/// Opens the file at `path`, refuses it unless it is this user's alone
/// ([`untrusted_file`], on the open descriptor, so the file checked is the
/// file read), then reads it with `read`.
pub fn read_own<T>(
    path: &Path,
    read: impl FnOnce(File) -> std::io::Result<T>,
) -> Result<T, NotOwn> {
    let file = File::open(path).map_err(NotOwn::Io)?;
    let meta = file.metadata().map_err(NotOwn::Io)?;
    if let Some(reason) = untrusted_file(&meta, own_uid()) {
        return Err(NotOwn::Untrusted(reason));
    }
    read(file).map_err(NotOwn::Io)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn only_the_owner_or_root_writing_alone_is_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "").unwrap();
        let me = own_uid();
        for (mode, refused) in [
            (0o600, None),
            (0o644, None),
            (0o755, None),
            (0o664, Some("its group")),
            (0o646, Some("others")),
            (0o666, Some("its group and others")),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let meta = std::fs::metadata(&path).unwrap();
            let reason = untrusted_file(&meta, me);
            match refused {
                None => assert_eq!(reason, None, "{mode:o}"),
                Some(who) => {
                    let reason = reason.unwrap();
                    assert!(
                        reason.contains(&format!("writable by {who} (mode {mode:o})")),
                        "{reason}"
                    );
                }
            }
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let stranger = me.wrapping_add(1).max(1);
        if me != 0 {
            let reason = untrusted_file(&meta, stranger).unwrap();
            assert!(reason.contains(&format!("belongs to uid {me}")), "{reason}");
        }
    }
}

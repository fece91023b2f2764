//! The socket's directory. Whoever can write there can put a socket of
//! their own in place of the daemon's and answer its clients, so the
//! daemon serves only from a directory that is its user's alone, and says
//! how to fix one that is not (as tmux and ssh-agent do).

use std::fs::{self, DirBuilder, Metadata};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::Path;

use anyhow::{Context, bail};

use crate::ownership::{other_writers, own_uid};

/// Creates `dir` 0700 when it is missing, then refuses it unless it is a
/// real directory (not a symlink), owned by this user and writable by
/// nobody else.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    let meta = match fs::symlink_metadata(dir) {
        Err(err) if err.kind() == ErrorKind::NotFound => {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("cannot create socket directory {}", dir.display()))?;
            fs::symlink_metadata(dir)
        }
        other => other,
    }
    .with_context(|| format!("cannot inspect socket directory {}", dir.display()))?;
    check(dir, &meta, own_uid())
}

/// The refusal, if any, of a directory with metadata `meta` (from lstat)
/// for the user `own_uid`.
fn check(dir: &Path, meta: &Metadata, own_uid: u32) -> anyhow::Result<()> {
    let dir = dir.display();
    let elsewhere = "or pass --socket with a path in a directory of your own";
    if meta.file_type().is_symlink() {
        bail!(
            "socket directory {dir} is a symlink, and whoever controls it controls where clients connect; remove it (`rm {dir}`) and start again, {elsewhere}"
        );
    }
    if !meta.is_dir() {
        bail!("socket directory {dir} is not a directory; remove it, {elsewhere}");
    }
    if meta.uid() != own_uid {
        bail!(
            "socket directory {dir} belongs to uid {}, not to you (uid {own_uid}): another user may have made it to answer for claude-quotad; have it removed (as its owner or root) and start again, {elsewhere}",
            meta.uid()
        );
    }
    let Some(open_to) = other_writers(meta.mode()) else {
        return Ok(());
    };
    bail!(
        "socket directory {dir} is writable by {open_to} (mode {:o}), who could put their own socket in place of the daemon's; make it private with `chmod 700 {dir}`, {elsewhere}",
        meta.mode() & 0o7777
    )
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn refusal(dir: &Path, own_uid: u32) -> String {
        let meta = fs::symlink_metadata(dir).unwrap();
        check(dir, &meta, own_uid).unwrap_err().to_string()
    }

    fn me() -> u32 {
        own_uid()
    }

    #[test]
    fn a_missing_directory_is_created_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        prepare(&dir).unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn a_directory_open_to_others_is_refused_with_the_fix() {
        let root = tempfile::tempdir().unwrap();
        for (mode, who) in [
            (0o770, "its group"),
            (0o703, "others"),
            (0o1777, "its group and others"),
        ] {
            fs::set_permissions(root.path(), fs::Permissions::from_mode(mode)).unwrap();
            let message = refusal(root.path(), me());
            assert!(
                message.contains(&format!("writable by {who} ")),
                "{message}"
            );
            assert!(message.contains("chmod 700"), "{message}");
        }
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        assert!(prepare(root.path()).is_ok(), "readable by others is fine");
    }

    #[test]
    fn a_directory_of_another_user_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let message = refusal(root.path(), me().wrapping_add(1));
        assert!(
            message.contains(&format!("belongs to uid {}", me())),
            "{message}"
        );
    }

    #[test]
    fn a_symlink_is_refused_even_to_a_private_directory() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        fs::create_dir(&real).unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o700)).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let message = prepare(&link).unwrap_err().to_string();
        assert!(message.contains("is a symlink"), "{message}");
    }
}

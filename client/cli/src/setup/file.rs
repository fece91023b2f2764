//! Claude Code's settings file on disk: read with a size limit and refused
//! unless it is a JSON object, backed up beside itself before a change,
//! and replaced atomically with its mode kept.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::Utc;

use crate::raw_json::Members;

/// The mode of a settings file we create: it may come to hold API keys
/// (`env`), so only its owner reads it.
const NEW_FILE_MODE: u32 = 0o600;

/// How many backups may be made in the same second before giving up.
const BACKUP_TRIES: u32 = 100;

/// A settings file as read.
#[derive(Debug)]
pub struct SettingsFile {
    /// The file written: the path given, or where its symlink points (a
    /// dotfile manager's link stays a link).
    real: PathBuf,
    /// Its text, or `None` when it does not exist yet.
    pub text: Option<String>,
}

impl SettingsFile {
    /// Reads the file at `path` (at most 1 MiB of text).
    pub fn read(path: &Path) -> anyhow::Result<SettingsFile> {
        let real = match fs::canonicalize(path) {
            Ok(real) => real,
            Err(err) if err.kind() == io::ErrorKind::NotFound => path.to_owned(),
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
        };
        let text = match claude_quota_credentials::small_file::read_to_string(&real) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(SettingsFile { real, text })
    }

    /// The settings, empty when there is no file yet; an error naming the
    /// fault when the file is not a JSON object (nothing is then changed).
    pub fn members(&self) -> anyhow::Result<Members> {
        let Some(text) = &self.text else {
            return Ok(Members::default());
        };
        Members::parse(text).with_context(|| {
            format!(
                "{} is not a JSON object, as Claude Code's settings must be; fix or move it, then run this again (nothing was changed)",
                self.real.display()
            )
        })
    }

    /// Copies the file beside itself under a name of its own (never over an
    /// earlier backup), with its mode; `None` when there is no file.
    pub fn backup(&self) -> anyhow::Result<Option<PathBuf>> {
        let Some(text) = &self.text else {
            return Ok(None);
        };
        let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
        let name = self
            .real
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for n in 0..BACKUP_TRIES {
            let suffix = if n == 0 {
                String::new()
            } else {
                format!("-{n}")
            };
            let path = self
                .real
                .with_file_name(format!("{name}.claude-quota-{stamp}{suffix}.bak"));
            let created = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(self.mode())
                .open(&path);
            match created {
                Ok(mut file) => {
                    file.write_all(text.as_bytes())
                        .and_then(|()| file.sync_all())
                        .with_context(|| format!("cannot write the backup {}", path.display()))?;
                    return Ok(Some(path));
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => {
                    return Err(err)
                        .with_context(|| format!("cannot write the backup {}", path.display()));
                }
            }
        }
        anyhow::bail!(
            "cannot find a free backup name beside {}",
            self.real.display()
        )
    }

    /// Replaces the file with `text`: a temp file beside it, synced, given
    /// the old file's mode, renamed over it. The directory is created (0700)
    /// when missing.
    pub fn write(&self, text: &str) -> anyhow::Result<()> {
        let dir = self.real.parent().unwrap_or(Path::new("."));
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let context = || format!("cannot write {}", self.real.display());
        let mut file = tempfile::Builder::new()
            .prefix(".settings.json.")
            .tempfile_in(dir)
            .with_context(context)?;
        file.write_all(text.as_bytes()).with_context(context)?;
        file.as_file().sync_all().with_context(context)?;
        fs::set_permissions(file.path(), fs::Permissions::from_mode(self.mode()))
            .with_context(context)?;
        file.persist(&self.real)
            .map_err(|err| err.error)
            .with_context(context)?;
        Ok(())
    }

    /// The file's permission bits, or those of a new settings file.
    fn mode(&self) -> u32 {
        fs::metadata(&self.real)
            .map(|meta| meta.permissions().mode() & 0o7777)
            .unwrap_or(NEW_FILE_MODE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writing_keeps_the_mode_and_a_symlink_and_backups_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles/settings.json");
        fs::create_dir_all(real.parent().unwrap()).unwrap();
        fs::write(&real, "{}").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("settings.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        let file = SettingsFile::read(&link).unwrap();
        let first = file.backup().unwrap().unwrap();
        let second = file.backup().unwrap().unwrap();
        assert_ne!(first, second);
        assert_eq!(fs::read_to_string(&first).unwrap(), "{}");
        file.write("{\"a\":1}\n").unwrap();

        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "{\"a\":1}\n");
        let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_new_file_is_private_and_needs_no_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/settings.json");
        let file = SettingsFile::read(&path).unwrap();
        assert!(file.members().unwrap().is_empty());
        assert_eq!(file.backup().unwrap(), None);
        file.write("{}\n").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, NEW_FILE_MODE);
    }
}

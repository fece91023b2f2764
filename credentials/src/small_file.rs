//! Reading the local files the daemon is handed (its config, Claude Code's
//! credentials, the saved reading) with a size limit: each is a few KiB, so
//! a bigger one is a mistake (a log file named by accident, a device) and
//! is refused rather than read into memory. It lives here, beside the
//! credentials file it guards, and the daemon uses it for the rest.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The most any of these files may hold.
pub const MAX_LEN: u64 = 1024 * 1024;

/// The bytes of a file already open (e.g. one whose owner was checked
/// first, so that the file checked is the file read), or `InvalidData`
/// when it holds more than [`MAX_LEN`].
pub fn read_open(file: File) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.take(MAX_LEN + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {} MiB", MAX_LEN / (1024 * 1024)),
        ));
    }
    Ok(bytes)
}

/// The file's text, as [`read_open`]; `InvalidData` also when it is not UTF-8.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    open_to_string(File::open(path)?)
}

/// [`read_to_string`] for a file already open.
pub fn open_to_string(file: File) -> io::Result<String> {
    String::from_utf8(read_open(file)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'a'; MAX_LEN as usize]).unwrap();
        assert_eq!(
            read_open(File::open(&path).unwrap()).unwrap().len() as u64,
            MAX_LEN
        );
        std::fs::write(&path, vec![b'a'; MAX_LEN as usize + 1]).unwrap();
        let err = read_to_string(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("larger than 1 MiB"), "{err}");
    }
}

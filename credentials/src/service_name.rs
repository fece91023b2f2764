//! The names Claude Code files its login under in the Keychain and the
//! Secret Service: plain, or, when `CLAUDE_CONFIG_DIR` is set, suffixed
//! with a hash of that directory so that several logins can coexist
//! (README, "Credentials").

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use sha2::{Digest, Sha256};

/// The plain service name, used when `CLAUDE_CONFIG_DIR` is unset.
pub const SERVICE: &str = "Claude Code-credentials";

/// The variable that moves Claude Code's files and renames its item.
pub const CONFIG_DIR_VAR: &str = "CLAUDE_CONFIG_DIR";

/// How many hex digits of the hash Claude Code appends.
const HASH_DIGITS: usize = 8;

/// The names to look up, in order: the hashed one for `config_dir` (the
/// raw value of `CLAUDE_CONFIG_DIR`, unnormalized, as Claude Code hashes
/// it) first, then the plain one, which older releases and a login made
/// without the variable use. An empty value counts as unset, as it does
/// for the credentials file.
pub fn service_names(config_dir: Option<&OsStr>) -> Vec<String> {
    let hashed = config_dir.filter(|dir| !dir.is_empty()).map(hashed_name);
    hashed.into_iter().chain([SERVICE.to_owned()]).collect()
}

/// The name Claude Code files the login of `CLAUDE_CONFIG_DIR=dir` under:
/// `Claude Code-credentials-` and the first hex digits of sha256 of the
/// raw bytes of `dir`, unnormalized (a trailing slash changes it).
pub fn hashed_name(dir: &OsStr) -> String {
    let digest = hex::encode(Sha256::digest(dir.as_bytes()));
    format!("{SERVICE}-{}", &digest[..HASH_DIGITS])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_test_vectors_hold() {
        let names = |dir: Option<&str>| service_names(dir.map(OsStr::new));
        assert_eq!(
            names(Some("/Users/test/.claude-work")),
            ["Claude Code-credentials-03abf0ee", SERVICE]
        );
        assert_eq!(
            names(Some("/Users/test/.claude-work/")),
            ["Claude Code-credentials-8bd6f0f5", SERVICE]
        );
        assert_eq!(names(None), [SERVICE]);
        assert_eq!(names(Some("")), [SERVICE]);
    }
}

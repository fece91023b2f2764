//! `/usr/bin/security find-generic-password`: the reader that Claude Code's
//! Keychain item trusts, so reading through it raises no permission prompt.
//! Run without a shell; its output is parsed, never logged, and its errors
//! are summarized so that nothing secret-looking reaches a message.

use std::path::PathBuf;
use std::process::{Command, ExitStatus};

use claude_quota_proto::CredentialSource;

use super::child::{self, Finished};
use super::stored::{self, NotCredentials};
use super::{Credentials, READ_TIMEOUT, Source, SourceError};

/// The most output of `security` read: the item's JSON is a few hundred
/// bytes, and a stand-in that prints without end must not fill memory.
const MAX_OUTPUT: usize = 1024 * 1024;

/// Where macOS keeps the tool.
const SECURITY: &str = "/usr/bin/security";

/// `security`'s exit status is the low byte of the Security framework's
/// `OSStatus`: `errSecItemNotFound` (-25300).
const EXIT_NOT_FOUND: i32 = 44;

/// `errSecInteractionNotAllowed` (-25308): it would have to prompt.
const EXIT_INTERACTION_NOT_ALLOWED: i32 = 36;

/// `errSecAuthFailed` (-25293): access was denied.
const EXIT_AUTH_FAILED: i32 = 51;

/// `userCanceledErr` (-128): the user dismissed the prompt.
const EXIT_USER_CANCELED: i32 = 128;

/// Words at least this long are dropped from quoted error output: a token
/// is far longer, the tool's own words are not.
const LONG_WORD: usize = 24;

/// At most this many words of the error output are quoted.
const QUOTED_WORDS: usize = 24;

/// Reads the Keychain item through the `security` tool.
pub struct SecurityCli {
    program: PathBuf,
    service: String,
    account: String,
}

impl SecurityCli {
    /// The system's `/usr/bin/security`, for Claude Code's item `service`
    /// of `account`.
    pub fn standard(service: String, account: String) -> Self {
        SecurityCli::new(PathBuf::from(SECURITY), service, account)
    }

    /// Another executable in place of `security`: the tests run a stand-in.
    pub fn new(program: PathBuf, service: String, account: String) -> Self {
        SecurityCli {
            program,
            service,
            account,
        }
    }

    /// The exact invocation: `-w` prints the secret alone on stdout.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(["find-generic-password", "-s"])
            .arg(&self.service)
            .arg("-a")
            .arg(&self.account)
            .arg("-w");
        command
    }

    /// Runs the command; kills it (and its group) when it has not finished
    /// within [`READ_TIMEOUT`], as when it waits on a prompt nobody sees.
    fn run(&self) -> std::io::Result<Finished> {
        child::run(self.command(), READ_TIMEOUT, MAX_OUTPUT)
    }

    fn answer(
        &self,
        output: &Finished,
        status: ExitStatus,
    ) -> Result<Option<Credentials>, SourceError> {
        match status.code() {
            Some(0) => parse_output(&output.stdout)
                .map_err(|reason| SourceError::unusable(self.describe(), reason.to_string())),
            Some(EXIT_NOT_FOUND) => Ok(None),
            code => Err(SourceError::unavailable(
                self.describe(),
                failure(code, &output.stderr),
            )),
        }
    }
}

impl Source for SecurityCli {
    fn describe(&self) -> String {
        format!(
            "{} find-generic-password -s {:?} -a {:?}",
            self.program.display(),
            self.service,
            self.account
        )
    }

    fn read(&self) -> Result<Option<Credentials>, SourceError> {
        match self.run() {
            Ok(output) => match output.status {
                Some(status) => self.answer(&output, status),
                None => Err(SourceError::timed_out(self.describe())),
            },
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                Err(SourceError::unavailable(self.describe(), "no such program"))
            }
            Err(err) => Err(SourceError::unavailable(self.describe(), err.to_string())),
        }
    }
}

/// The service names of the generic passwords in the login keychain, from
/// `security dump-keychain` without `-d`: attributes only, never a
/// secret, so nothing to prompt for.
#[cfg(target_os = "macos")]
pub fn keychain_services() -> Result<Vec<String>, String> {
    let mut command = Command::new(SECURITY);
    command.arg("dump-keychain");
    let output =
        child::run(command, READ_TIMEOUT, MAX_OUTPUT * 16).map_err(|err| err.to_string())?;
    match output.status.and_then(|status| status.code()) {
        Some(0) => Ok(parse_dump(&String::from_utf8_lossy(&output.stdout))),
        code => Err(failure(code, &output.stderr)),
    }
}

/// The `svce` (service) attribute of each generic password that
/// `security dump-keychain` lists: `    "svce"<blob>="NAME"`.
#[cfg(any(target_os = "macos", test))]
fn parse_dump(dump: &str) -> Vec<String> {
    dump.lines()
        .filter_map(|line| line.trim().strip_prefix("\"svce\"<blob>=\""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .map(str::to_owned)
        .collect()
}

/// The secret as printed: the stored JSON, or (macOS 26 on) its bytes in
/// hex when `security` deems them not printable.
fn parse_output(stdout: &[u8]) -> Result<Option<Credentials>, NotCredentials> {
    let printed = stdout.trim_ascii();
    if printed.first() == Some(&b'{') {
        return stored::parse_bytes(printed, CredentialSource::SecurityCli);
    }
    let bytes = hex::decode(printed).map_err(|_| NotCredentials::NeitherJsonNorHex)?;
    stored::parse_bytes(bytes.trim_ascii(), CredentialSource::SecurityCli)
}

/// Why `security` failed, in words, with the first line it wrote to
/// stderr minus anything long enough to be a secret.
fn failure(code: Option<i32>, stderr: &[u8]) -> String {
    let meaning = match code {
        Some(EXIT_INTERACTION_NOT_ALLOWED) => {
            "it would need to prompt (is the login keychain locked?)".to_owned()
        }
        Some(EXIT_AUTH_FAILED) => "access was denied".to_owned(),
        Some(EXIT_USER_CANCELED) => "the access prompt was dismissed".to_owned(),
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_owned(),
    };
    let said = String::from_utf8_lossy(stderr);
    let Some(line) = said.lines().map(str::trim).find(|line| !line.is_empty()) else {
        return meaning;
    };
    let summary: Vec<&str> = line
        .split_whitespace()
        .take(QUOTED_WORDS)
        .map(|word| if word.len() >= LONG_WORD { "…" } else { word })
        .collect();
    format!("{meaning}: {}", summary.join(" "))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use super::*;
    use crate::service_name::SERVICE;

    const TOKEN: &str = "sk-ant-oat01-STAND-IN-token-must-not-appear-anywhere";

    /// A stand-in `security`: records its arguments one a line, prints
    /// `stdout`, writes `stderr` and exits with `code`.
    fn stand_in(dir: &Path, stdout: &str, stderr: &str, code: i32) -> SecurityCli {
        let program = dir.join("security");
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nprintf '%s' '{stdout}'\nprintf '%s' '{stderr}' >&2\nexit {code}\n",
            dir.join("args").display()
        );
        std::fs::write(&program, script).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        SecurityCli::new(program, SERVICE.into(), "ada".into())
    }

    fn stored_json() -> String {
        format!(
            r#"{{"claudeAiOauth":{{"accessToken":"{TOKEN}","refreshToken":"sk-ant-ort01-x","expiresAt":1748276587173,"scopes":["user:profile"],"subscriptionType":"pro"}}}}"#
        )
    }

    #[test]
    fn a_keychain_dump_yields_the_service_names() {
        let dump = r#"keychain: "/Users/ada/Library/Keychains/login.keychain-db"
version: 512
class: "genp"
attributes:
    0x00000007 <blob>="Claude Code-credentials-03abf0ee"
    "acct"<blob>="ada"
    "svce"<blob>="Claude Code-credentials-03abf0ee"
class: "genp"
attributes:
    "svce"<blob>="Claude Code-credentials"
    "svce"<blob>=<NULL>
"#;
        assert_eq!(
            parse_dump(dump),
            [
                "Claude Code-credentials-03abf0ee",
                "Claude Code-credentials"
            ]
        );
    }

    // One test, run in sequence: a script written while another test
    // thread forks can fail to execute with "text file busy".
    #[test]
    fn the_security_tool_is_asked_exactly_and_its_answers_are_read() {
        let dir = tempfile::tempdir().unwrap();

        let found = stand_in(dir.path(), &format!("{}\n", stored_json()), "", 0)
            .read()
            .unwrap()
            .unwrap();
        let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
        assert_eq!(
            args.lines().collect::<Vec<_>>(),
            [
                "find-generic-password",
                "-s",
                "Claude Code-credentials",
                "-a",
                "ada",
                "-w"
            ]
        );
        assert_eq!(found.token.expose(), TOKEN);
        assert_eq!(found.source, CredentialSource::SecurityCli);
        assert_eq!(found.subscription_type.as_deref(), Some("pro"));
        assert_eq!(found.expires_at.unwrap().timestamp_millis(), 1748276587173);

        // macOS 26 prints secrets it deems unprintable in hex.
        let hex = hex::encode(format!("{}\n", stored_json()));
        let found = stand_in(dir.path(), &hex, "", 0).read().unwrap().unwrap();
        assert_eq!(found.token.expose(), TOKEN);

        let missing = stand_in(
            dir.path(),
            "",
            "security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain.",
            EXIT_NOT_FOUND,
        );
        assert!(missing.read().unwrap().is_none());

        let refused = stand_in(
            dir.path(),
            TOKEN,
            &format!("security: User interaction is not allowed. {TOKEN}"),
            EXIT_INTERACTION_NOT_ALLOWED,
        )
        .read()
        .unwrap_err();
        let message = refused.to_string();
        assert!(refused.unavailable);
        assert!(message.contains("would need to prompt"), "{message}");
        assert!(
            message.contains("User interaction is not allowed"),
            "{message}"
        );
        assert!(!message.contains("STAND-IN"), "{message}");

        let garbled = stand_in(
            dir.path(),
            &format!("{{\"claudeAiOauth\": \"{TOKEN}"),
            "",
            0,
        )
        .read()
        .unwrap_err();
        assert!(!garbled.unavailable);
        assert!(!garbled.to_string().contains("STAND-IN"), "{garbled}");

        let absent = SecurityCli::new(
            dir.path().join("no-such-tool"),
            SERVICE.into(),
            "ada".into(),
        )
        .read()
        .unwrap_err();
        assert!(absent.to_string().contains("no such program"), "{absent}");

        // One that waits on a prompt nobody sees is killed after 5 s, with
        // what it started.
        let hung = stand_in(dir.path(), "", "", 0);
        let script = std::fs::read_to_string(&hung.program).unwrap();
        let pid_file = dir.path().join("sleeper");
        std::fs::write(
            &hung.program,
            script.replace(
                "exit 0",
                &format!("sleep 60 &\necho $! > '{}'\nwait\n", pid_file.display()),
            ),
        )
        .unwrap();
        let started = std::time::Instant::now();
        let timed_out = hung.read().unwrap_err();
        let took = started.elapsed();
        assert!(
            (READ_TIMEOUT..READ_TIMEOUT + std::time::Duration::from_secs(2)).contains(&took),
            "{took:?}"
        );
        assert!(
            timed_out.to_string().contains("no answer within 5s"),
            "{timed_out}"
        );
        let sleeper = std::fs::read_to_string(&pid_file).unwrap();
        let sleeper: u32 = sleeper.trim().parse().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let state = Command::new("ps")
            .args(["-o", "stat=", "-p", &sleeper.to_string()])
            .output()
            .unwrap();
        let state = String::from_utf8_lossy(&state.stdout);
        assert!(
            state.trim().is_empty() || state.starts_with('Z'),
            "the stand-in's child was killed too: {state}"
        );
    }
}

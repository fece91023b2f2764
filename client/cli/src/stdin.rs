//! Stdin as Claude Code hands it to the commands it runs (`statusline`,
//! `hook`): one JSON object written at once. Those commands must answer
//! quickly whatever they are fed, so stdin is read with a size and a time
//! limit, never trusted to close.

use std::io::{IsTerminal, Read};
use std::time::Duration;

/// The most the command waits for stdin to close: Claude Code writes its
/// JSON at once, so this only bounds a writer that never closes the pipe.
const STDIN_WAIT: Duration = Duration::from_millis(500);

/// At most `max` bytes of stdin, read within [`STDIN_WAIT`]; nothing when
/// it is a terminal, bigger, or late (a bigger input is not Claude Code's,
/// and is ignored rather than buffered). The read runs on a thread of its
/// own, which a stdin that never closes leaves blocked until the process
/// exits.
pub fn read_bounded(max: u64) -> Vec<u8> {
    if std::io::stdin().is_terminal() {
        return Vec::new();
    }
    let (done, input) = std::sync::mpsc::sync_channel(1);
    let reader = std::thread::Builder::new().spawn(move || {
        let mut input = Vec::new();
        // A read error leaves what was read; the callers degrade, never fail.
        let _ = std::io::stdin()
            .lock()
            .take(max + 1)
            .read_to_end(&mut input);
        let _ = done.send(input);
    });
    if reader.is_err() {
        return Vec::new();
    }
    match input.recv_timeout(STDIN_WAIT) {
        Ok(input) if input.len() as u64 <= max => input,
        _ => Vec::new(),
    }
}

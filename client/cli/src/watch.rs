//! `status --watch`: redraws in place at every pushed change (subscribe)
//! and at least every SECS, reconnects when the daemon restarts, and
//! leaves the terminal as it found it on Ctrl-C. With `--json` it prints
//! one Status a line instead, for scripts.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::pin::pin;
use std::time::{Duration, Instant};

use chrono::Utc;
use claude_quota::{Client, Error, Status, Subscription};

use crate::guidance::Guidance;
use crate::render::{self, View};

/// How long to wait between attempts to reach a daemon that went away.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// The terminal's alternate screen with the cursor hidden, restored on
/// drop (including when Ctrl-C ends the watch).
struct Screen {
    terminal: bool,
}

impl Screen {
    fn enter() -> Self {
        let terminal = std::io::stdout().is_terminal();
        if terminal {
            print!("\x1b[?1049h\x1b[?25l");
        }
        Screen { terminal }
    }

    /// Replaces what is shown; off a terminal, appends a frame instead.
    fn show(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = if self.terminal {
            write!(out, "\x1b[H\x1b[2J{text}")
        } else {
            writeln!(out, "{text}")
        };
        let _ = out.flush();
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.terminal {
            print!("\x1b[?25h\x1b[?1049l");
            let _ = std::io::stdout().flush();
        }
    }
}

/// Watches until Ctrl-C.
pub async fn run(socket: &Path, every: Duration, view: View) {
    let screen = &Screen::enter();
    let watched = reconnecting(|| async move {
        match subscribe(socket).await {
            Ok((subscription, client)) => follow(screen, subscription, client, every, view).await,
            // Says why: nothing answers, or a daemon of another user does.
            Err(err) => screen.show(&format!("{err}; reconnecting…\n")),
        }
        Ok(())
    });
    // Only Ctrl-C ends it: no session of the view fails.
    let _ = watched.await;
}

/// `status --watch --json`: one Status object a line, at once and at every
/// change the daemon pushes (`… | jq -r .tier`). A lost daemon is said on
/// stderr and connected to again; a closed stdout (`| head -1`) or Ctrl-C
/// ends the watch quietly.
pub async fn run_json(socket: &Path) -> std::io::Result<()> {
    let watched = reconnecting(|| async move {
        let subscribed = async { Client::connect_to(socket).await?.subscribe().await }.await;
        match subscribed {
            Ok(mut subscription) => {
                while let Ok(Some(status)) = subscription.next().await {
                    print_line(&status)?;
                }
                eprintln!("claude-quota: claude-quotad went away; reconnecting…");
            }
            Err(err) => eprintln!("claude-quota: {err}; reconnecting…"),
        }
        Ok(())
    });
    match watched.await {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        ended => ended,
    }
}

/// Runs `session` (one connection to the daemon, which may go away) again
/// and again, [`RECONNECT_EVERY`] apart, until Ctrl-C or until a session
/// fails.
async fn reconnecting<F>(mut session: impl FnMut() -> F) -> std::io::Result<()>
where
    F: Future<Output = std::io::Result<()>>,
{
    let mut interrupted = pin!(tokio::signal::ctrl_c());
    loop {
        let round = async {
            session().await?;
            tokio::time::sleep(RECONNECT_EVERY).await;
            Ok::<(), std::io::Error>(())
        };
        tokio::select! {
            _ = &mut interrupted => return Ok(()),
            ended = round => ended?,
        }
    }
}

/// Writes `status` as one JSON line and flushes it, so a reader of a pipe
/// sees each change as it happens.
fn print_line(status: &Status) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, status)?;
    writeln!(out)?;
    out.flush()
}

async fn subscribe(socket: &Path) -> Result<(Subscription, Client), Error> {
    let subscription = Client::connect_to(socket).await?.subscribe().await?;
    let asker = Client::connect_to(socket).await?;
    Ok((subscription, asker))
}

/// Draws every update until the subscription ends.
async fn follow(
    screen: &Screen,
    mut subscription: Subscription,
    mut asker: Client,
    every: Duration,
    view: View,
) {
    let mut latest: Option<(Status, Option<Guidance>, Instant)> = None;
    loop {
        tokio::select! {
            next = subscription.next() => match next {
                Ok(Some(status)) => {
                    let guidance = Guidance::fetch(&mut asker).await.ok();
                    latest = Some((status, guidance, Instant::now()));
                }
                _ => {
                    screen.show("claude-quotad went away; reconnecting…\n");
                    return;
                }
            },
            () = tokio::time::sleep(every) => {}
        }
        if let Some((status, guidance, received)) = &latest {
            let mut aged = status.clone();
            let elapsed = received.elapsed().as_secs();
            aged.age_s = aged.age_s.map(|age| age + elapsed);
            let view = View {
                now: Utc::now(),
                ..view
            };
            screen.show(&render::status(&aged, guidance.as_ref(), &view));
        }
    }
}

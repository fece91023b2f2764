//! Status as text for people.

use std::fmt::Write;

use claude_quota::{Status, Window};

/// The status as a few plain lines.
pub fn status(status: &Status) -> String {
    let mut out = String::new();
    let stale = if status.stale { " (stale)" } else { "" };
    let _ = writeln!(out, "tier: {}{stale} ({})", status.tier, status.reason);
    for (name, window) in [("5h", status.five_hour), ("7d", status.seven_day)] {
        let _ = writeln!(out, "{name}: {}", window_text(window));
    }
    if let Some(age) = status.age_s {
        let _ = writeln!(out, "reading: {age}s old");
    }
    let _ = writeln!(out, "credentials: {}", status.credentials);
    if let Some(error) = &status.last_error {
        let _ = writeln!(out, "last error: {} ({})", error.message, error.kind);
    }
    out
}

fn window_text(window: Option<Window>) -> String {
    match window {
        Some(w) => format!("{:.1}%", w.utilization),
        None => "no reading".into(),
    }
}

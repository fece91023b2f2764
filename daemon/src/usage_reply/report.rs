//! What a reply's reading leaves out, bounded for the log and for status
//! frames (64 KiB at most): the parts dropped because they could not be
//! read, the parts ignored because this daemon does not use them, and the
//! keys named when a reply is refused.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// At most this many dropped parts are listed, each cut to
/// [`MAX_DROPPED_LEN`] characters; the rest are counted.
const MAX_DROPPED: usize = 16;
const MAX_DROPPED_LEN: usize = 160;

/// At most this many ignored names are kept: a reply that invents keys
/// must not grow the daemon's memory.
const MAX_IGNORED: usize = 64;

/// How many names a refusal lists, and how long each may be.
const NAMES_SHOWN: usize = 20;
const NAME_SHOWN_LEN: usize = 80;

/// The parts of a reply that could not be read, each with why.
#[derive(Debug, Default)]
pub struct Dropped {
    lines: Vec<String>,
    more: usize,
}

impl Dropped {
    /// Notes one dropped part.
    pub fn note(&mut self, line: String) {
        if self.lines.len() < MAX_DROPPED {
            self.lines.push(cut(&line, MAX_DROPPED_LEN));
        } else {
            self.more += 1;
        }
    }

    /// The lines, and one counting those left out.
    pub fn into_lines(self) -> Vec<String> {
        let mut lines = self.lines;
        if self.more > 0 {
            lines.push(format!("and {} more", self.more));
        }
        lines
    }
}

/// Top-level keys and `limits` kinds this daemon does not use.
#[derive(Debug, Default)]
pub struct Ignored(BTreeSet<String>);

impl Ignored {
    /// Notes one ignored name, cut short, while fewer than the bound are kept.
    pub fn note(&mut self, name: &str) {
        if self.0.len() < MAX_IGNORED {
            self.0.insert(cut(name, NAME_SHOWN_LEN));
        }
    }

    /// The names noted.
    pub fn into_names(self) -> BTreeSet<String> {
        self.0
    }
}

/// `text` cut to `chars` characters, marked when cut.
pub fn cut(text: &str, chars: usize) -> String {
    let mut shown: String = text.chars().take(chars).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

/// The reply's top-level keys, and the kinds in `limits`, for a refusal:
/// at most [`NAMES_SHOWN`] of each, each cut to [`NAME_SHOWN_LEN`]
/// characters, since the message travels in every status frame.
pub fn described_keys(reply: &Map<String, Value>) -> String {
    if reply.is_empty() {
        return "no keys at all".into();
    }
    let keys = reply.iter().map(|(key, value)| match value.as_array() {
        Some(items) if key == "limits" => {
            let kinds = items
                .iter()
                .filter_map(|item| item.get("kind").and_then(Value::as_str));
            format!("limits (kinds: {})", listed(kinds))
        }
        _ => key.clone(),
    });
    listed(keys)
}

/// Names joined by commas, bounded as [`described_keys`] says.
fn listed<S: AsRef<str>>(names: impl Iterator<Item = S>) -> String {
    let mut shown = Vec::with_capacity(NAMES_SHOWN + 1);
    let mut more = 0usize;
    for name in names {
        if shown.len() < NAMES_SHOWN {
            shown.push(cut(name.as_ref(), NAME_SHOWN_LEN));
        } else {
            more += 1;
        }
    }
    if more > 0 {
        shown.push(format!("and {more} more"));
    }
    shown.join(", ")
}

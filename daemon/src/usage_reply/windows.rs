//! The windows and per-model caps of a reply, gathered from both forms.
//! Each entry is read on its own; where the flat keys and `limits` both
//! carry a quantity (the 5-hour window, the 7-day window, a family's cap)
//! and disagree, the higher utilization counts, and the window's `from`
//! says which part it came from.

use std::collections::BTreeMap;

use claude_quota_proto::{ReplyPart, ScopedCap, Window};
use serde::Deserialize;
use serde_json::Value;

use super::lenient::{Amount, Label, MAX_LABEL, ResetTime, quoted};
use super::report::{Dropped, Ignored};
use super::shapes::{Field, FlatWindow, Kind, LimitEntry, Scope, read};

/// The prefix of a flat per-model weekly cap (`seven_day_sonnet`…).
const FLAT_CAP_PREFIX: &str = "seven_day_";

/// Flat `seven_day_*` keys that are no model family: the week's usage
/// through third-party OAuth apps, or in Cowork, is no cap a router could
/// run into by choosing a model.
const NOT_A_FAMILY: [&str; 2] = ["oauth_apps", "cowork"];

/// At most this many per-model caps are kept: every cap travels in each
/// status frame (64 KiB at most).
const MAX_CAPS: usize = 32;

/// The windows and caps of one reply.
#[derive(Debug, Default)]
pub struct Windows {
    /// The 5-hour window; `None` when none is open (or none could be read).
    pub five_hour: Option<Window>,
    /// The 7-day window of all models.
    pub seven_day: Option<Window>,
    /// The per-model weekly caps.
    pub weekly_scoped: Vec<ScopedCap>,
}

/// The parts of the reply that carry windows.
pub struct Sources {
    /// `five_hour`.
    pub five_hour: Option<Field<FlatWindow>>,
    /// `seven_day`.
    pub seven_day: Option<Field<FlatWindow>>,
    /// `limits`, when it is a list.
    pub limits: Vec<Field<LimitEntry>>,
    /// The other top-level keys, among them `seven_day_<family>`.
    pub other: BTreeMap<String, Value>,
}

/// Reads every window and cap of `sources`, noting what is dropped and
/// what is ignored. `limits` is offered first, so on a tie it stays.
pub fn gather(sources: Sources, dropped: &mut Dropped, ignored: &mut Ignored) -> Windows {
    let mut found = Found::default();
    for (at, entry) in sources.limits.into_iter().enumerate() {
        if let Some(entry) = entry.or_drop(|| format!("limits[{at}]:"), dropped) {
            found.limit(at, entry, dropped, ignored);
        }
    }
    if let Some(window) = flat_window("five_hour", sources.five_hour, dropped) {
        found.five_hour.offer(window, ReplyPart::Flat);
    }
    if let Some(window) = flat_window("seven_day", sources.seven_day, dropped) {
        found.seven_day.offer(window, ReplyPart::Flat);
    }
    for (key, value) in sources.other {
        found.flat_cap(key, &value, dropped, ignored);
    }
    Windows {
        five_hour: found.five_hour.chosen(),
        seven_day: found.seven_day.chosen(),
        weekly_scoped: found.caps.into_caps(),
    }
}

/// What the parts read so far offer.
#[derive(Debug, Default)]
struct Found {
    five_hour: Best,
    seven_day: Best,
    caps: Caps,
}

impl Found {
    /// Takes `limits[at]`; a kind this daemon does not know is ignored
    /// before any of its fields is read.
    fn limit(
        &mut self,
        at: usize,
        entry: LimitEntry,
        dropped: &mut Dropped,
        ignored: &mut Ignored,
    ) {
        let name = match &entry.kind {
            Kind::Session => "session",
            Kind::WeeklyAll => "weekly_all",
            Kind::WeeklyScoped => "weekly_scoped",
            Kind::Other(kind) => {
                ignored.note(&format!("limits kind {}", quoted(kind)));
                return;
            }
        };
        let place = format!("limits[{at}] ({name})");
        let Some(window) = window(&place, "percent", entry.percent, entry.resets_at, dropped)
        else {
            return;
        };
        match entry.kind {
            Kind::Session => self.five_hour.offer(window, ReplyPart::Limits),
            Kind::WeeklyAll => self.seven_day.offer(window, ReplyPart::Limits),
            // (`Other` returned above, unread.)
            Kind::WeeklyScoped | Kind::Other(_) => {
                let severity = read(entry.severity, || format!("{place}: severity"), dropped);
                let scope = read(entry.scope, || format!("{place}: scope"), dropped);
                match model_name(&place, scope, dropped) {
                    Some(model) => {
                        self.caps
                            .offer(model, window, severity, ReplyPart::Limits, dropped);
                    }
                    None => dropped.note(format!("{place}: no model named")),
                }
            }
        }
    }

    /// Takes top-level key `key` when it is a family's flat cap
    /// (`seven_day_<family>`). The prefix only suggests a family: a key of
    /// it that holds no window object is ignored; a window whose numbers
    /// are broken is dropped.
    fn flat_cap(
        &mut self,
        key: String,
        value: &Value,
        dropped: &mut Dropped,
        ignored: &mut Ignored,
    ) {
        let family = match key.strip_prefix(FLAT_CAP_PREFIX) {
            Some(family) if !family.is_empty() && !NOT_A_FAMILY.contains(&family) => family,
            _ => return ignored.note(&key),
        };
        let flat = match Option::<Field<FlatWindow>>::deserialize(value) {
            Ok(None) => return,
            Ok(Some(Field::Read(flat))) => flat,
            Ok(Some(Field::Unreadable(_))) | Err(_) => return ignored.note(&key),
        };
        if let Some(window) = window(
            &key,
            "utilization",
            flat.utilization,
            flat.resets_at,
            dropped,
        ) {
            let family = title_case(family);
            self.caps
                .offer(family, window, None, ReplyPart::Flat, dropped);
        }
    }
}

/// The window of flat key `key`, when it holds a readable one.
fn flat_window(
    key: &str,
    field: Option<Field<FlatWindow>>,
    dropped: &mut Dropped,
) -> Option<Window> {
    let flat = read(field, || format!("{key}:"), dropped)?;
    window(
        key,
        "utilization",
        flat.utilization,
        flat.resets_at,
        dropped,
    )
}

/// A window from its percentage and reset, as either form writes them: an
/// unreadable percentage drops the window, an unreadable reset leaves it
/// unknown and keeps the percentage.
fn window(
    place: &str,
    percent_key: &str,
    percent: Option<Field<Amount>>,
    resets_at: Option<Field<ResetTime>>,
    dropped: &mut Dropped,
) -> Option<Window> {
    let Amount(utilization) = read(percent, || format!("{place}: {percent_key}"), dropped)?;
    let resets_at = read(resets_at, || format!("{place}: resets_at"), dropped);
    Some(Window::new(utilization, resets_at.map(|ResetTime(at)| at)))
}

/// The family a `weekly_scoped` entry caps: its model's display name, else
/// its id.
fn model_name(place: &str, scope: Option<Scope>, dropped: &mut Dropped) -> Option<String> {
    let model = scope?.model?;
    let display = read(
        model.display_name,
        || format!("{place}: display_name"),
        dropped,
    );
    display
        .or_else(|| read(model.id, || format!("{place}: model id"), dropped))
        .map(|Label(name)| name)
}

/// `sonnet` → `Sonnet`, the way the `limits` form names families.
fn title_case(family: &str) -> String {
    let mut chars = family.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The window that counts for one quantity, over the parts that carried it.
#[derive(Debug, Default)]
struct Best {
    held: Option<(Window, ReplyPart)>,
    both: bool,
}

impl Best {
    /// Takes `window` from `part` if it is the first or the higher; on a
    /// tie the first offered (`limits`) stays. A reset known only to the
    /// other part is kept.
    fn offer(&mut self, window: Window, part: ReplyPart) {
        match &mut self.held {
            None => self.held = Some((window, part)),
            Some((held, held_part)) => {
                self.both |= *held_part != part;
                let (mut higher, other, higher_part) = if window.utilization > held.utilization {
                    (window, *held, part)
                } else {
                    (*held, window, *held_part)
                };
                higher.resets_at = higher.resets_at.or(other.resets_at);
                *held = higher;
                *held_part = higher_part;
            }
        }
    }

    /// The window, marked with its part when both parts carried it.
    fn chosen(self) -> Option<Window> {
        let (mut window, part) = self.held?;
        window.from = self.both.then_some(part);
        Some(window)
    }
}

/// The per-model caps, merged by family case-insensitively (the two forms
/// spell families differently), at most [`MAX_CAPS`].
#[derive(Debug, Default)]
struct Caps(Vec<(String, Best, Option<Label>)>);

impl Caps {
    /// Offers `family`'s cap from `part`.
    fn offer(
        &mut self,
        family: String,
        window: Window,
        severity: Option<Label>,
        part: ReplyPart,
        dropped: &mut Dropped,
    ) {
        let held = self
            .0
            .iter_mut()
            .find(|(model, ..)| model.eq_ignore_ascii_case(&family));
        if let Some((_, best, held_severity)) = held {
            best.offer(window, part);
            if held_severity.is_none() {
                *held_severity = severity;
            }
        } else if family.len() > MAX_LABEL {
            dropped.note(format!(
                "the cap of {}: the name is too long",
                quoted(&family)
            ));
        } else if self.0.len() == MAX_CAPS {
            dropped.note(format!(
                "the cap of {}: more than {MAX_CAPS} caps",
                quoted(&family)
            ));
        } else {
            let mut best = Best::default();
            best.offer(window, part);
            self.0.push((family, best, severity));
        }
    }

    /// The caps, in the order first seen.
    fn into_caps(self) -> Vec<ScopedCap> {
        self.0
            .into_iter()
            .filter_map(|(model, best, severity)| {
                let window = best.chosen()?;
                Some(ScopedCap {
                    model,
                    utilization: window.utilization,
                    resets_at: window.resets_at,
                    severity: severity.map(|Label(word)| word),
                    status: None,
                })
            })
            .collect()
    }
}

//! The usage reply as serde types: the flat keys (`five_hour`,
//! `seven_day`, `seven_day_<family>`), the 2026 `limits` array, and the
//! money parts (`extra_usage`, `spend`). Every part the daemon uses is a
//! [`Field`], read on its own, so one odd value drops that value and never
//! the reply.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::lenient::{Amount, Decimals, Label, ResetTime};
use super::report::Dropped;

/// One part of the reply, read on its own: what it held, or why it could
/// not be read (naming the value), for `Parsed::dropped`.
#[derive(Debug)]
pub enum Field<T> {
    /// It read as `T`.
    Read(T),
    /// It did not, for this reason.
    Unreadable(String),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(match T::deserialize(&value) {
            Ok(read) => Field::Read(read),
            Err(err) => Field::Unreadable(err.to_string()),
        })
    }
}

impl<T> Field<T> {
    /// The value; or `None`, with `"{place} {why}"` noted as dropped
    /// (`place` is a field's path, or an entry's ending in a colon).
    pub fn or_drop(self, place: impl FnOnce() -> String, dropped: &mut Dropped) -> Option<T> {
        match self {
            Field::Read(read) => Some(read),
            Field::Unreadable(why) => {
                dropped.note(format!("{} {why}", place()));
                None
            }
        }
    }
}

/// An optional field, read as [`Field::or_drop`] says; absent or null is
/// `None` with nothing noted.
pub fn read<T>(
    field: Option<Field<T>>,
    place: impl FnOnce() -> String,
    dropped: &mut Dropped,
) -> Option<T> {
    field.and_then(|field| field.or_drop(place, dropped))
}

/// The whole reply. Keys it does not name (the `seven_day_<family>` caps
/// and anything new) are kept in `other`.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a usage reply object")]
pub struct Reply {
    /// The flat 5-hour window.
    #[serde(default)]
    pub five_hour: Option<Field<FlatWindow>>,
    /// The flat 7-day window of all models.
    #[serde(default)]
    pub seven_day: Option<Field<FlatWindow>>,
    /// The 2026 form: one entry per limit.
    #[serde(default)]
    pub limits: Option<Field<Vec<Field<LimitEntry>>>>,
    /// Extra usage credits, in minor units.
    #[serde(default)]
    pub extra_usage: Option<Field<ExtraUsageReply>>,
    /// A plan's spend limit, in `{amount_minor, currency, exponent}`.
    #[serde(default)]
    pub spend: Option<Field<SpendReply>>,
    /// Every other top-level key.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A window of the flat form; either field may be null or absent.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a window object")]
pub struct FlatWindow {
    /// Percent used.
    pub utilization: Option<Field<Amount>>,
    /// When it rolls over.
    pub resets_at: Option<Field<ResetTime>>,
}

/// One entry of `limits`; fields this daemon does not use are ignored.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a limit object")]
pub struct LimitEntry {
    /// What the entry limits.
    pub kind: Kind,
    /// Percent used.
    pub percent: Option<Field<Amount>>,
    /// When it rolls over.
    pub resets_at: Option<Field<ResetTime>>,
    /// The API's own judgement (`normal`, `warning`, `critical`…).
    pub severity: Option<Field<Label>>,
    /// Which model a `weekly_scoped` entry limits.
    pub scope: Option<Field<Scope>>,
}

/// The kinds of `limits` entry this daemon reads; any other is kept by
/// name, for the log, and skipped whatever its shape.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", expecting = "a limit kind")]
pub enum Kind {
    /// The 5-hour window.
    Session,
    /// The 7-day window of all models.
    WeeklyAll,
    /// A model family's weekly cap.
    WeeklyScoped,
    /// A kind this daemon does not know.
    #[serde(untagged)]
    Other(String),
}

/// What a `limits` entry applies to.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a scope object")]
pub struct Scope {
    /// The model, for a per-model cap.
    pub model: Option<ScopeModel>,
}

/// The model of a scoped limit, named either way.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a model object")]
pub struct ScopeModel {
    /// `Sonnet`, `Opus`…
    pub display_name: Option<Field<Label>>,
    /// A model id, when no display name is given.
    pub id: Option<Field<Label>>,
}

/// `extra_usage`: credits beyond the windows, amounts in minor units of
/// `currency`.
#[derive(Debug, Deserialize)]
#[serde(expecting = "an extra_usage object")]
pub struct ExtraUsageReply {
    /// Whether extra usage may be spent.
    pub is_enabled: Option<Field<bool>>,
    /// The monthly limit, in minor units.
    pub monthly_limit: Option<Field<Amount>>,
    /// Spent this month, in minor units.
    pub used_credits: Option<Field<Amount>>,
    /// Percent of the limit spent.
    pub utilization: Option<Field<Amount>>,
    /// ISO 4217 code.
    pub currency: Option<Field<Label>>,
    /// Decimal places of the minor unit (2 when absent).
    pub decimal_places: Option<Field<Decimals>>,
    /// The same, as some replies name it.
    pub exponent: Option<Field<Decimals>>,
    /// Why it cannot be spent.
    pub disabled_reason: Option<Field<Label>>,
}

/// `spend`: a plan's spend limit (Team/Enterprise seats, newer accounts).
#[derive(Debug, Deserialize)]
#[serde(expecting = "a spend object")]
pub struct SpendReply {
    /// Whether spending is allowed now.
    pub enabled: Option<Field<bool>>,
    /// Percent of the limit spent.
    pub percent: Option<Field<Amount>>,
    /// Spent this period.
    pub used: Option<Field<MinorAmount>>,
    /// The period's limit.
    pub limit: Option<Field<MinorAmount>>,
    /// Why it cannot be spent (`out_of_credits`…).
    pub disabled_reason: Option<Field<Label>>,
}

/// Money as `spend` writes it: `amount_minor / 10^exponent` of `currency`.
#[derive(Debug, Deserialize)]
#[serde(expecting = "an amount object")]
pub struct MinorAmount {
    /// The amount in minor units.
    pub amount_minor: Amount,
    /// ISO 4217 code.
    pub currency: Option<Label>,
    /// Decimal places of the minor unit (2 when absent).
    pub exponent: Option<Decimals>,
}

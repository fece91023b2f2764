//! The leaves of a usage reply, read as leniently as the field writes them:
//! numbers that may come as numeric strings, reset times in any of the
//! forms seen (RFC 3339, ISO without a zone, epoch seconds or
//! milliseconds), and short names. Each refuses what it cannot read with a
//! message naming the value, which becomes a line of `Parsed::dropped`.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::report::cut;

/// Epoch numbers above this are milliseconds, not seconds: 10^12 seconds
/// is the year 33658, 10^12 milliseconds is 2001.
const MILLIS_ABOVE: f64 = 1e12;

/// The longest name kept (a model family, a severity, a currency, a
/// reason): every name travels in each status frame, which a hostile
/// reply must not fill.
pub const MAX_LABEL: usize = 64;

/// How much of an unreadable value a message quotes.
const QUOTED: usize = 40;

/// A non-negative finite number, sent as a JSON number or a numeric
/// string (`35.4`, `"35.4"`); a percentage over 100 is kept as sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Amount(pub f64);

/// When a window resets: RFC 3339, ISO 8601 without a zone (read as UTC),
/// or epoch seconds (milliseconds when over 10^12) as a number or a
/// numeric string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResetTime(pub DateTime<Utc>);

/// A short printable name: at most [`MAX_LABEL`] bytes, no control
/// characters.
#[derive(Debug, Clone, PartialEq)]
pub struct Label(pub String);

/// `value` in quotes, cut to [`QUOTED`] characters.
pub fn quoted(value: &str) -> String {
    format!("{:?}", cut(value, QUOTED))
}

impl Amount {
    /// `number` when it is one a reading may hold, else why not.
    fn checked<E: de::Error>(number: f64, shown: impl fmt::Display) -> Result<Self, E> {
        if !number.is_finite() {
            Err(E::custom(format_args!("{shown} is not a finite number")))
        } else if number < 0.0 {
            Err(E::custom(format_args!("{shown} is negative")))
        } else {
            // `-0.0 + 0.0` is `0.0`: a sent `-0` shows as 0.
            Ok(Amount(number + 0.0))
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AmountVisitor;
        impl Visitor<'_> for AmountVisitor {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Amount, E> {
                Amount::checked(v as f64, v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Amount, E> {
                Amount::checked(v, v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Amount, E> {
                match v.trim().parse::<f64>() {
                    Ok(number) => Amount::checked(number, quoted(v)),
                    Err(_) => Err(E::custom(format_args!("{} is not a number", quoted(v)))),
                }
            }
        }
        deserializer.deserialize_any(AmountVisitor)
    }
}

impl ResetTime {
    /// An epoch in whole seconds, or milliseconds when over 10^12.
    fn from_integer<E: de::Error>(epoch: i64, shown: impl fmt::Display) -> Result<Self, E> {
        let at = if epoch as f64 > MILLIS_ABOVE {
            DateTime::from_timestamp_millis(epoch)
        } else {
            DateTime::from_timestamp(epoch, 0)
        };
        Self::in_range(epoch, at, shown)
    }

    /// An epoch with a fraction, in seconds or milliseconds as above.
    fn from_float<E: de::Error>(epoch: f64, shown: impl fmt::Display) -> Result<Self, E> {
        if !epoch.is_finite() {
            return Err(E::custom(format_args!("{shown} is not a time")));
        }
        let seconds = if epoch > MILLIS_ABOVE {
            epoch / 1000.0
        } else {
            epoch
        };
        let whole = seconds.floor();
        // Both casts saturate, and an out-of-range result is refused below.
        let nanos = ((seconds - whole) * 1e9).round().min(999_999_999.0) as u32;
        Self::in_range(
            whole as i64,
            DateTime::from_timestamp(whole as i64, nanos),
            shown,
        )
    }

    /// The time, unless the epoch was negative or beyond chrono's range.
    fn in_range<E: de::Error>(
        epoch: i64,
        at: Option<DateTime<Utc>>,
        shown: impl fmt::Display,
    ) -> Result<Self, E> {
        match at {
            Some(at) if epoch >= 0 => Ok(ResetTime(at)),
            _ => Err(E::custom(format_args!("{shown} is not a time after 1970"))),
        }
    }

    /// A time written as text in any of the accepted forms.
    fn from_text<E: de::Error>(text: &str) -> Result<Self, E> {
        let trimmed = text.trim();
        if let Ok(epoch) = trimmed.parse::<i64>() {
            return Self::from_integer(epoch, quoted(text));
        }
        if let Ok(epoch) = trimmed.parse::<f64>() {
            return Self::from_float(epoch, quoted(text));
        }
        let zoned = DateTime::parse_from_rfc3339(trimmed)
            .or_else(|_| DateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S%.f%z"));
        if let Ok(at) = zoned {
            return Ok(ResetTime(at.with_timezone(&Utc)));
        }
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
            .iter()
            .find_map(|form| NaiveDateTime::parse_from_str(trimmed, form).ok())
            .map(|naive| ResetTime(naive.and_utc()))
            .ok_or_else(|| E::custom(format_args!("{} is not a time", quoted(text))))
    }
}

impl<'de> Deserialize<'de> for ResetTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl Visitor<'_> for TimeVisitor {
            type Value = ResetTime;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a time")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ResetTime, E> {
                let epoch = i64::try_from(v)
                    .map_err(|_| E::custom(format_args!("{v} is not a time after 1970")))?;
                ResetTime::from_integer(epoch, v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ResetTime, E> {
                ResetTime::from_integer(v, v)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ResetTime, E> {
                ResetTime::from_float(v, v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ResetTime, E> {
                ResetTime::from_text(v)
            }
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.len() > MAX_LABEL {
            return Err(de::Error::custom(format_args!(
                "{} is longer than {MAX_LABEL} bytes",
                quoted(&text)
            )));
        }
        if text.is_empty() || text.chars().any(char::is_control) {
            return Err(de::Error::custom(format_args!(
                "{} is not a printable name",
                quoted(&text)
            )));
        }
        Ok(Label(text))
    }
}

/// The most decimal places a currency is given: ISO 4217 has none above 4.
/// A larger exponent is a broken reply, not a currency.
const MAX_DECIMALS: u32 = 6;

/// How many decimal places an amount in minor units has (`2` for cents),
/// at most [`MAX_DECIMALS`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decimals(pub u32);

impl<'de> Deserialize<'de> for Decimals {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Amount(places) = Amount::deserialize(deserializer)?;
        if places.fract() != 0.0 || places > f64::from(MAX_DECIMALS) {
            return Err(de::Error::custom(format_args!(
                "{places} is not a number of decimal places (0 to {MAX_DECIMALS})"
            )));
        }
        Ok(Decimals(places as u32))
    }
}

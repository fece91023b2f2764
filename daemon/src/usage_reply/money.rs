//! Money beyond the windows: `extra_usage` (amounts in minor units of
//! `currency`, `decimal_places` of them, 2 when not said) or `spend` (a
//! plan's spend limit, amounts as `{amount_minor, currency, exponent}`),
//! read into one [`ExtraUsage`] in major units. `spend` is preferred when
//! it says anything a tier could rest on, since on a plan that has it it
//! is the limit that binds.

use claude_quota_proto::ExtraUsage;

use super::lenient::{Amount, Decimals, Label, quoted};
use super::report::Dropped;
use super::shapes::{ExtraUsageReply, Field, MinorAmount, SpendReply, read};

/// Decimal places when a reply does not say: cents.
const DEFAULT_DECIMALS: Decimals = Decimals(2);

/// What a reply says of money beyond the windows.
#[derive(Debug, Default)]
pub struct Spending {
    /// The money, in major units.
    pub extra_usage: Option<ExtraUsage>,
    /// Whether it came from `spend`, a plan's spend limit.
    pub spend_limit: bool,
}

impl Spending {
    /// Whether this is a spend limit a tier can be decided on when no
    /// window is given: its percentage is known, or spending is off.
    pub fn is_usable_limit(&self) -> bool {
        self.spend_limit && self.extra_usage.as_ref().is_some_and(decides)
    }

    /// Takes `extra_usage` as the plan's spend limit when the reply has no
    /// 5-hour or 7-day window (`windows` false): an Enterprise login with
    /// a spend limit is answered with nothing else. Only money being spent
    /// with a known percentage counts: a disabled `extra_usage` beside two
    /// null windows is what a subscription that has not used its windows
    /// yet may be sent, and must not rest it.
    pub fn alone_is_the_limit(mut self, windows: bool) -> Spending {
        let spent = self
            .extra_usage
            .as_ref()
            .is_some_and(|money| money.enabled && money.utilization.is_some());
        if !windows && spent {
            self.spend_limit = true;
        }
        self
    }
}

/// Reads `extra_usage` and `spend`, noting what is dropped.
pub fn read_spending(
    extra_usage: Option<Field<ExtraUsageReply>>,
    spend: Option<Field<SpendReply>>,
    dropped: &mut Dropped,
) -> Spending {
    let spend = read(spend, || "spend:".into(), dropped).and_then(|s| from_spend(s, dropped));
    let extra = read(extra_usage, || "extra_usage:".into(), dropped)
        .and_then(|e| from_extra_usage(e, dropped));
    match (spend, extra) {
        (Some(spend), _) if decides(&spend) => Spending {
            extra_usage: Some(spend),
            spend_limit: true,
        },
        (_, Some(extra)) => Spending {
            extra_usage: Some(extra),
            spend_limit: false,
        },
        (spend, None) => Spending {
            spend_limit: spend.is_some(),
            extra_usage: spend,
        },
    }
}

/// Whether `money` says something a tier can rest on.
fn decides(money: &ExtraUsage) -> bool {
    money.utilization.is_some() || !money.enabled || money.disabled_reason.is_some()
}

/// The parts of either form, already in major units.
struct Parts {
    enabled: Option<bool>,
    utilization: Option<f64>,
    used: Option<f64>,
    limit: Option<f64>,
    currency: Option<Label>,
    disabled_reason: Option<Label>,
}

impl Parts {
    /// The money, or `None` when the reply said nothing of it. Enabled
    /// unless the reply says otherwise or names why not; the percentage
    /// is computed from the amounts when not given.
    fn assembled(self) -> Option<ExtraUsage> {
        let said = self.enabled.is_some()
            || self.utilization.is_some()
            || self.used.is_some()
            || self.limit.is_some()
            || self.disabled_reason.is_some();
        if !said {
            return None;
        }
        let computed = match (self.used, self.limit) {
            (Some(used), Some(limit)) if limit > 0.0 => Some(used / limit * 100.0),
            _ => None,
        };
        Some(ExtraUsage {
            enabled: self.enabled.unwrap_or(self.disabled_reason.is_none()),
            utilization: self.utilization.or(computed.filter(|u| u.is_finite())),
            used: self.used,
            limit: self.limit,
            currency: self.currency.map(|Label(code)| code),
            disabled_reason: self.disabled_reason.map(|Label(reason)| reason),
        })
    }
}

/// `amount` minor units with `decimals` places, in major units.
fn major(Amount(amount): Amount, Decimals(decimals): Decimals) -> f64 {
    // `decimals` is at most 6 (lenient::Decimals), so the power is exact.
    amount / 10f64.powi(decimals as i32)
}

/// `extra_usage` in major units. Amounts whose decimal places cannot be
/// read are in no known unit: they are dropped too.
fn from_extra_usage(extra: ExtraUsageReply, dropped: &mut Dropped) -> Option<ExtraUsage> {
    let place = |field: &str| format!("extra_usage: {field}");
    let decimals = match (extra.decimal_places, extra.exponent) {
        (Some(field), _) => field.or_drop(|| place("decimal_places"), dropped),
        (None, Some(field)) => field.or_drop(|| place("exponent"), dropped),
        (None, None) => Some(DEFAULT_DECIMALS),
    };
    let used = read(extra.used_credits, || place("used_credits"), dropped);
    let limit = read(extra.monthly_limit, || place("monthly_limit"), dropped);
    let (used, limit) = match decimals {
        Some(decimals) => (
            used.map(|u| major(u, decimals)),
            limit.map(|l| major(l, decimals)),
        ),
        None => {
            if used.is_some() || limit.is_some() {
                dropped.note(place(
                    "used_credits and monthly_limit dropped, in no known unit",
                ));
            }
            (None, None)
        }
    };
    Parts {
        enabled: read(extra.is_enabled, || place("is_enabled"), dropped),
        utilization: read(extra.utilization, || place("utilization"), dropped).map(|Amount(u)| u),
        used,
        limit,
        currency: read(extra.currency, || place("currency"), dropped),
        disabled_reason: read(extra.disabled_reason, || place("disabled_reason"), dropped),
    }
    .assembled()
}

/// `spend` in major units. Amounts in two currencies cannot be compared:
/// the limit is dropped then.
fn from_spend(spend: SpendReply, dropped: &mut Dropped) -> Option<ExtraUsage> {
    let place = |field: &str| format!("spend: {field}");
    let used = read(spend.used, || place("used"), dropped);
    let mut limit = read(spend.limit, || place("limit"), dropped);
    let spent_in = used.as_ref().and_then(|money| money.currency.clone());
    let limit_in = limit.as_ref().and_then(|money| money.currency.clone());
    if let (Some(Label(spent_in)), Some(Label(limit_in))) = (&spent_in, &limit_in)
        && spent_in != limit_in
    {
        dropped.note(format!(
            "spend: limit is in {}, used in {}",
            quoted(limit_in),
            quoted(spent_in)
        ));
        limit = None;
    }
    let in_major = |money: &MinorAmount| {
        major(
            money.amount_minor,
            money.exponent.unwrap_or(DEFAULT_DECIMALS),
        )
    };
    Parts {
        enabled: read(spend.enabled, || place("enabled"), dropped),
        utilization: read(spend.percent, || place("percent"), dropped).map(|Amount(p)| p),
        used: used.as_ref().map(in_major),
        limit: limit.as_ref().map(in_major),
        currency: spent_in.or(limit_in),
        disabled_reason: read(spend.disabled_reason, || place("disabled_reason"), dropped),
    }
    .assembled()
}

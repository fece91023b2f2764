//! The rows for scripts: `--json` prints them whole (per-model caps and
//! extra usage included), `--csv` one line per row with the windows.

use std::io::Write;

use claude_quota_history::Row;

/// The CSV columns, in order.
const COLUMNS: [&str; 8] = [
    "account",
    "at",
    "source",
    "tier",
    "five_hour",
    "five_hour_resets_at",
    "seven_day",
    "seven_day_resets_at",
];

/// `rows` as one JSON array.
pub fn json(rows: &[Row], out: impl Write) -> anyhow::Result<()> {
    let mut out = out;
    serde_json::to_writer_pretty(&mut out, rows)?;
    writeln!(out)?;
    Ok(())
}

/// `rows` as CSV with a header line; times in RFC 3339, an unknown value
/// empty.
pub fn csv(rows: &[Row], out: impl Write) -> anyhow::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS)?;
    let text = |value: Option<String>| value.unwrap_or_default();
    for row in rows {
        writer.write_record([
            row.account.clone(),
            row.at.to_rfc3339(),
            row.source.as_str().to_owned(),
            row.tier.as_str().to_owned(),
            text(row.five_hour.map(|v| v.to_string())),
            text(row.five_hour_resets_at.map(|at| at.to_rfc3339())),
            text(row.seven_day.map(|v| v.to_string())),
            text(row.seven_day_resets_at.map(|at| at.to_rfc3339())),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use claude_quota::{ReadingSource, Tier};

    #[test]
    fn csv_quotes_what_needs_it_and_leaves_unknowns_empty() {
        let row = Row {
            account: "work, \"main\"".into(),
            at: Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).unwrap(),
            source: ReadingSource::Statusline,
            tier: Tier::Active,
            five_hour: Some(62.5),
            five_hour_resets_at: None,
            seven_day: None,
            seven_day_resets_at: None,
            weekly_scoped: Vec::new(),
            extra_usage: None,
        };
        let mut out = Vec::new();
        csv(&[row], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "account,at,source,tier,five_hour,five_hour_resets_at,seven_day,seven_day_resets_at\n\
             \"work, \"\"main\"\"\",2026-03-02T14:00:00+00:00,statusline,active,62.5,,,\n"
        );
    }
}

//! One finding of `doctor` and how findings are shown to a person.

use std::fmt::Write;

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing to do.
    Ok,
    /// Worth fixing, but answers are still correct.
    Warn,
    /// Answers cannot be correct until this is fixed.
    Fail,
}

/// One line of the report; `--json` prints these as an array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Which check, a stable short name for scripts.
    pub check: &'static str,
    /// How bad it is.
    pub verdict: Verdict,
    /// What was found.
    pub message: String,
    /// What to do about it, when something should be done.
    pub fix: Option<String>,
}

impl Check {
    /// A finding that needs nothing.
    pub fn ok(check: &'static str, message: impl Into<String>) -> Check {
        Check {
            check,
            verdict: Verdict::Ok,
            message: message.into(),
            fix: None,
        }
    }

    /// A finding worth fixing that does not spoil answers.
    pub fn warn(check: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            verdict: Verdict::Warn,
            fix: Some(fix.into()),
            ..Check::ok(check, message)
        }
    }

    /// A finding that spoils answers.
    pub fn fail(check: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            verdict: Verdict::Fail,
            ..Check::warn(check, message, fix)
        }
    }
}

/// The checks as aligned lines, each fix under its finding, and a closing
/// summary.
pub fn report(checks: &[Check]) -> String {
    let mut out = String::new();
    for check in checks {
        let verdict = match check.verdict {
            Verdict::Ok => "ok",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        let _ = writeln!(out, "{verdict:<5} {:<12} {}", check.check, check.message);
        if let Some(fix) = &check.fix {
            let _ = writeln!(out, "{:18}fix: {fix}", "");
        }
    }
    let count = |v| checks.iter().filter(|c| c.verdict == v).count();
    let (failed, warned) = (count(Verdict::Fail), count(Verdict::Warn));
    let _ = match (failed, warned) {
        (0, 0) => writeln!(out, "all checks passed"),
        (0, w) => writeln!(out, "answers are correct; {w} warning(s)"),
        (f, _) => writeln!(out, "{f} problem(s) keep answers from being correct"),
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_puts_each_fix_under_its_finding() {
        let checks = [
            Check::ok("socket", "fine"),
            Check::fail("daemon", "gone", "start it"),
        ];
        assert_eq!(
            report(&checks),
            "ok    socket       fine\n\
             FAIL  daemon       gone\n                  fix: start it\n\
             1 problem(s) keep answers from being correct\n"
        );
    }
}

//! How the report words an outcome, a stance and a record's figures: the
//! plain text every section and renderer shares (no markup).

use crate::catalog::Stance;
use crate::observe::Outcome;
use crate::results::ResultRecord;

/// An outcome as a cell shows it: ✓, ✗, absent, skipped...
pub fn symbol(o: Outcome) -> &'static str {
    match o {
        Outcome::Yes => "✓",
        Outcome::No => "✗",
        Outcome::Unsupported => "absent",
        Outcome::Skipped => "skipped",
        Outcome::Error => "error",
        Outcome::Timeout => "timeout",
        Outcome::Measured => "measured",
        Outcome::Inconclusive => "inconclusive",
    }
}

/// The guide's stance as its tables show it: ✓, ✗, N/A, –.
pub fn stance_symbol(s: Stance) -> &'static str {
    match s {
        Stance::Yes => "✓",
        Stance::No => "✗",
        Stance::NotApplicable => "N/A",
        Stance::Unstated => "–",
    }
}

/// `wrap(text)`, or nothing when `text` is empty.
pub fn unless_empty(text: &str, wrap: impl FnOnce(&str) -> String) -> String {
    if text.is_empty() {
        String::new()
    } else {
        wrap(text)
    }
}

/// `name = value unit` for each measured quantity of `r`.
pub fn quantities(r: &ResultRecord) -> String {
    r.measured
        .iter()
        .map(|q| {
            let v = if q.value.fract() == 0.0 && q.value.abs() < 1e15 {
                format!("{}", q.value as i64)
            } else {
                format!("{:.3}", q.value)
            };
            format!("{} = {v} {}", q.name, q.unit)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// At most `max` characters of `s`, with `…` where it was cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let kept: String = s.chars().take(max).collect();
    format!("{kept}…")
}

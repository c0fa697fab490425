//! The result record's types: a result, its status, and how each of its
//! fields is read.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::ids::ClaimId;
use crate::catalog::Stance;
use crate::expect::Expected;
use crate::observe::{Outcome, Quantity};

/// How a result stands against the expectation its check was held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The observation met the expectation.
    Pass,
    /// It did not: the test failed (an unexpected result).
    Fail,
    /// A precondition the machine lacks: reported, never a failure.
    Skipped,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Pass, Status::Fail, Status::Skipped];
}

/// A status in its serde form: `pass`, `fail`, `skipped`.
impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.serialize(f)
    }
}

/// The result of one check, as stored and as published in report.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultRecord {
    pub claim: ClaimId,
    #[serde(deserialize_with = "field::observed")]
    pub observed: Outcome,
    #[serde(deserialize_with = "field::expected")]
    pub expected: Expected,
    /// The guide's stance on the run's OS.
    #[serde(deserialize_with = "field::doc")]
    pub doc: Stance,
    /// The evidence.
    #[serde(deserialize_with = "field::detail")]
    pub detail: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "field::measured"
    )]
    pub measured: Vec<Quantity>,
    pub duration_ms: f64,
    #[serde(deserialize_with = "field::status")]
    pub status: Status,
    #[serde(deserialize_with = "field::time")]
    pub time: String,
}

impl ResultRecord {
    /// The value of the measured quantity `name`, when recorded and finite.
    pub fn quantity(&self, name: &str) -> Option<f64> {
        self.measured
            .iter()
            .find(|q| q.name == name)
            .map(|q| q.value)
            .filter(|v| v.is_finite())
    }
}

/// How each field of a result is read (the fields of [`Expected`] and
/// [`Quantity`] through their file form, so that theirs are checked too).
mod field {
    use super::*;
    use crate::results::ids::{self, read_origin, read_quantity, read_unit, word_fields};

    pub use ids::read_time as time;

    word_fields! {
        observed: Outcome = "observed";
        doc: Stance = "doc";
        status: Status = "status";
    }

    ids::text_fields! {
        detail: "detail";
        reason: "expected.reason";
        source: "expected.source";
    }

    fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Outcome>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| ids::word_of(&s, "expected.value").map_err(serde::de::Error::custom))
            .transpose()
    }

    /// [`Expected`] as a result file holds it.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ExpectedFile {
        #[serde(default, deserialize_with = "value")]
        value: Option<Outcome>,
        #[serde(deserialize_with = "read_origin")]
        origin: String,
        #[serde(default, deserialize_with = "reason")]
        reason: String,
        #[serde(default, deserialize_with = "source")]
        source: String,
    }

    pub fn expected<'de, D: Deserializer<'de>>(d: D) -> Result<Expected, D::Error> {
        let e = ExpectedFile::deserialize(d)?;
        Ok(Expected {
            value: e.value,
            origin: e.origin,
            reason: e.reason,
            source: e.source,
        })
    }

    /// A [`Quantity`] as a result file holds it.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct QuantityFile {
        #[serde(deserialize_with = "read_quantity")]
        name: String,
        value: f64,
        #[serde(deserialize_with = "read_unit")]
        unit: String,
    }

    pub fn measured<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Quantity>, D::Error> {
        Ok(Vec::<QuantityFile>::deserialize(d)?
            .into_iter()
            .map(|q| Quantity {
                name: q.name,
                value: q.value,
                unit: q.unit,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ResultRecord {
        ResultRecord {
            claim: ClaimId::new("pipe.unidirectional").unwrap(),
            observed: Outcome::Yes,
            expected: Expected {
                value: Some(Outcome::Yes),
                origin: "platforms/linux-musl.toml".into(),
                reason: "r".into(),
                source: "s".into(),
            },
            doc: Stance::NotApplicable,
            detail: "EBADF".into(),
            measured: vec![Quantity {
                name: "pipe_buf".into(),
                value: 4096.0,
                unit: "bytes".into(),
            }],
            duration_ms: 0.5,
            status: Status::Skipped,
            time: "2026-01-01T00:00:00Z".into(),
        }
    }

    /// What the writer writes, the reader reads back as it was.
    #[test]
    fn the_reader_reads_what_the_writer_writes() {
        let r = record();
        let json = serde_json::to_string_pretty(&r).unwrap();
        assert!(json.contains("\"doc\": \"n/a\"") && json.contains("\"status\": \"skipped\""));
        assert_eq!(serde_json::from_str::<ResultRecord>(&json).unwrap(), r);
    }

    /// A word field holding none of its words is refused with the field named
    /// and the words listed; a value of the wrong type is malformed.
    #[test]
    fn word_fields_name_themselves() {
        let json = serde_json::to_value(record()).unwrap();
        for (field, bad, words) in [
            ("status", "passed", "pass, fail, skipped"),
            ("doc", "maybe", "yes, no, n/a, unstated"),
            ("observed", "sure", "yes, no, unsupported"),
        ] {
            let mut j = json.clone();
            j[field] = bad.into();
            let e = serde_json::from_value::<ResultRecord>(j)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("field {field}: {bad:?} is not one of {words}")),
                "{e}"
            );
        }
        let mut j = json.clone();
        j["expected"]["value"] = "<b>".into();
        let e = serde_json::from_value::<ResultRecord>(j)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("field expected.value: \"<b>\" is not one of"),
            "{e}"
        );
        let mut j = json;
        j["status"] = 7.into();
        let e = serde_json::from_value::<ResultRecord>(j)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("invalid type"), "{e}");
    }
}

//! The identifiers a result set carries, each with the pattern it must match
//! (README.md, "Result sets: what is accepted", documents the same table), and
//! how each field of a result file is read: a field that does not match its
//! pattern or vocabulary is refused by the typed parse itself, with the field
//! named (`field platform: "x|y" is not a platform id (...)`), so nothing
//! outside its pattern can reach a table, a heading or a file name.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::de::{Deserializer, Error as _, IntoDeserializer};
use serde::{Deserialize, Serialize};

fn all(s: &str, ok: impl Fn(char) -> bool) -> bool {
    s.chars().all(ok)
}
fn lower(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
}
fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}
/// `s` is one or more runs of `part`-characters joined by single `sep`.
fn joined(s: &str, sep: char, part: impl Fn(char) -> bool) -> bool {
    s.split(sep).all(|p| !p.is_empty() && all(p, &part))
}

/// Platform id: `[a-z][a-z0-9_]*(-[a-z0-9_]+)*`, at most 64 characters
/// (`linux-x86_64-gnu`, `macos-aarch64`).
pub fn platform(s: &str) -> bool {
    s.len() <= 64 && s.starts_with(|c: char| c.is_ascii_lowercase()) && joined(s, '-', lower)
}
/// Run id: `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 128 characters.
pub fn run_id(s: &str) -> bool {
    s.len() <= 128
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && all(s, |c| word_char(c) || c == '.' || c == '-')
}
/// CPU architecture: `[a-z0-9_]+`, at most 32 characters.
pub fn arch(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && all(s, lower)
}
/// Target triple: `[A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*`, at most 80 characters.
pub fn target(s: &str) -> bool {
    s.len() <= 80 && joined(s, '-', |c| word_char(c) || c == '.')
}
/// Suite revision: `[A-Za-z0-9][A-Za-z0-9._+-]*`, at most 80 characters
/// (`git describe` output, `unknown`).
pub fn revision(s: &str) -> bool {
    s.len() <= 80
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && all(s, |c| word_char(c) || matches!(c, '.' | '+' | '-'))
}
/// Time: `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC, seconds).
pub fn time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}
/// Claim id: `[a-z][a-z0-9_]*(\.[a-z0-9_]+)+`, at most 96 characters (and a
/// result's must be in the catalog).
pub fn claim(s: &str) -> bool {
    s.len() <= 96
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.contains('.')
        && joined(s, '.', lower)
}
/// Name of a measured quantity: `[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*`, at most 64.
pub fn quantity(s: &str) -> bool {
    s.len() <= 64 && joined(s, '.', word_char)
}
/// Unit of a measured quantity: empty, or words of `[A-Za-z0-9_/%.]` separated
/// by single spaces (`bytes/s`, `signal number`), at most 32 characters.
pub fn unit(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 32 && joined(s, ' ', |c| word_char(c) || matches!(c, '/' | '%' | '.')))
}
/// Where an expectation came from: `guide`, or `platforms/[a-z0-9_-]+.toml`.
pub fn origin(s: &str) -> bool {
    s == "guide"
        || s.strip_prefix("platforms/")
            .and_then(|r| r.strip_suffix(".toml"))
            .is_some_and(|stem| {
                !stem.is_empty() && stem.len() <= 64 && all(stem, |c| lower(c) || c == '-')
            })
}

/// One identifier field: its name in the file, the pattern it must match, and
/// the pattern in words for the error.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub matches: fn(&str) -> bool,
    pub what: &'static str,
}

impl Field {
    /// `value`, or why it is refused: `field NAME: "value" is not WHAT`.
    pub fn check(self, value: String) -> Result<String, String> {
        if (self.matches)(&value) {
            Ok(value)
        } else {
            Err(format!(
                "field {}: {value:?} is not {}",
                self.name, self.what
            ))
        }
    }
}

const UTC_TIME: &str = "a UTC time (YYYY-MM-DDTHH:MM:SSZ)";

/// Declares identifier fields: `CONST, read_fn: "name", pattern, "what"` is the
/// field `CONST` and the serde reader `read_fn` that checks it.
macro_rules! id_fields {
    ($($konst:ident, $read:ident: $name:literal, $matches:path, $what:expr;)*) => {$(
        pub const $konst: Field = Field { name: $name, matches: $matches, what: $what };
        #[doc = concat!("Reads `", $name, "`, checked against its pattern.")]
        pub fn $read<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
            checked(d, $konst)
        }
    )*};
}

// Every identifier field of a result set, as the table in README.md lists them.
id_fields! {
    PLATFORM, read_platform: "platform", platform, "a platform id ([a-z][a-z0-9_]*(-[a-z0-9_]+)*, at most 64 characters)";
    RUN_ID, read_run_id: "run_id", run_id, "a run id ([A-Za-z0-9][A-Za-z0-9._-]*, at most 128 characters)";
    ARCH, read_arch: "arch", arch, "an architecture ([a-z0-9_]+, at most 32 characters)";
    TARGET, read_target: "target", target, "a target triple ([A-Za-z0-9_.]+(-[A-Za-z0-9_.]+)*, at most 80 characters)";
    SUITE_REVISION, read_revision: "suite_revision", revision, "a suite revision ([A-Za-z0-9][A-Za-z0-9._+-]*, at most 80 characters)";
    STARTED, read_started: "started", time, UTC_TIME;
    TIME, read_time: "time", time, UTC_TIME;
    CLAIM, read_claim: "claim", claim, "a claim id ([a-z][a-z0-9_]*(.[a-z0-9_]+)+)";
    ORIGIN, read_origin: "expected.origin", origin, "guide or platforms/<file>.toml";
    QUANTITY, read_quantity: "measured.name", quantity, "a quantity name ([A-Za-z0-9_]+(.[A-Za-z0-9_]+)*, at most 64 characters)";
    UNIT, read_unit: "measured.unit", unit, "a unit (empty, or words of [A-Za-z0-9_/%.] separated by single spaces, at most 32 characters)";
}

/// Declares serde readers of word fields: `read_fn: Type = "name"` reads the
/// field `name` as one of `Type`'s words ([`word`]).
macro_rules! word_fields {
    ($($read:ident: $ty:ty = $name:literal;)*) => {$(
        #[doc = concat!("Reads `", $name, "`, one of its type's words.")]
        pub fn $read<'de, D: serde::Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            $crate::results::ids::word(d, $name)
        }
    )*};
}
pub(crate) use word_fields;

/// Most bytes of a free-text field (`detail`, `expected.reason`,
/// `expected.source`, run.json's `os_version`, `kernel`, `libc`,
/// `runtime_detail`); real ones are under 1 KiB. The writer cuts longer text
/// ([`cut_text`]).
pub const MAX_TEXT: usize = 64 << 10;

/// Declares serde readers of free-text fields: `read_fn: "name"` reads the
/// field `name`, any text of at most [`MAX_TEXT`] bytes.
macro_rules! text_fields {
    ($($read:ident: $name:literal;)*) => {$(
        #[doc = concat!("Reads `", $name, "`: free text, at most `MAX_TEXT` bytes.")]
        pub fn $read<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
            $crate::results::ids::text(d, $name)
        }
    )*};
}
pub(crate) use text_fields;

/// Reads a free-text field of at most [`MAX_TEXT`] bytes.
pub fn text<'de, D: Deserializer<'de>>(d: D, name: &str) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.len() > MAX_TEXT {
        return Err(D::Error::custom(format!(
            "field {name}: {} bytes of text, more than a free-text field may hold ({MAX_TEXT})",
            s.len()
        )));
    }
    Ok(s)
}

/// `s` cut to at most [`MAX_TEXT`] bytes (on a character boundary, saying how
/// much was cut), so that what the writer writes the reader reads.
pub fn cut_text(s: &mut String) {
    if s.len() <= MAX_TEXT {
        return;
    }
    let note = format!(" … (cut: {} bytes)", s.len());
    let mut end = MAX_TEXT - note.len();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.push_str(&note);
}

/// Reads a string field checked against its pattern.
pub fn checked<'de, D: Deserializer<'de>>(d: D, f: Field) -> Result<String, D::Error> {
    f.check(String::deserialize(d)?).map_err(D::Error::custom)
}

/// Reads a word field (an outcome, an OS, a stance...) through the type's own
/// serde form; a string that is none of its words is refused with the field
/// named, anything else (a number, `null` where none is allowed) is malformed.
pub fn word<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
    name: &str,
) -> Result<T, D::Error> {
    word_of(&String::deserialize(d)?, name).map_err(D::Error::custom)
}

/// The word `s` of field `name` as a `T`, or why it is none of `T`'s words
/// (`field os: "plan9" is not one of linux, macos, freebsd, windows`).
pub fn word_of<T: DeserializeOwned>(s: &str, name: &str) -> Result<T, String> {
    T::deserialize(s.into_deserializer()).map_err(|e: WordError| format!("field {name}: {}", e.0))
}

/// Why a string is none of a type's words, in the words serde lists for it.
#[derive(Debug)]
struct WordError(String);

impl serde::de::Error for WordError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        WordError(msg.to_string())
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        WordError(format!("{variant:?} is not one of {}", expected.join(", ")))
    }
}

impl fmt::Display for WordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WordError {}

/// A claim id (`pipe.unidirectional`): the id of a catalogued claim in a
/// result, as checked against its pattern when read or made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ClaimId(String);

impl ClaimId {
    /// The id, or why it is no claim id.
    pub fn new(id: impl Into<String>) -> Result<ClaimId, String> {
        CLAIM.check(id.into()).map(ClaimId)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ClaimId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_claim(d).map(ClaimId)
    }
}

impl std::ops::Deref for ClaimId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ClaimId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClaimId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for ClaimId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ClaimId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for ClaimId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogued_claim_id_matches_its_pattern() {
        for c in crate::catalog::Catalog::get().claims() {
            assert!(ClaimId::new(c.id.as_str()).is_ok(), "{}", c.id);
        }
        let e = ClaimId::new("pipe|x").unwrap_err();
        assert!(
            e.starts_with("field claim: \"pipe|x\" is not a claim id"),
            "{e}"
        );
    }

    /// What the writer cuts, the reader takes; what it leaves, it leaves whole.
    #[test]
    fn cut_text_fits_the_reader() {
        let read = |s: &str| text(serde_json::Value::from(s), "detail");
        let mut long = "é".repeat(MAX_TEXT);
        assert!(read(&long).unwrap_err().to_string().starts_with(
            "field detail: 131072 bytes of text, more than a free-text field may hold (65536)"
        ));
        cut_text(&mut long);
        assert!(long.len() <= MAX_TEXT && long.ends_with(" … (cut: 131072 bytes)"));
        assert!(read(&long).is_ok());
        let mut short = "x".repeat(MAX_TEXT);
        cut_text(&mut short);
        assert_eq!(short.len(), MAX_TEXT);
    }

    #[test]
    fn patterns_hold_their_examples() {
        assert!(platform("linux-x86_64-gnu") && !platform("linux--gnu") && !platform("Linux"));
        assert!(run_id("20261207T215647Z-818495ee") && !run_id("-x"));
        assert!(time("2026-01-01T00:00:00Z") && !time("2026-01-01 00:00:00"));
        assert!(origin("platforms/windows-wine.toml") && !origin("platforms/../x.toml"));
        assert!(unit("signal number") && unit("") && !unit("a  b"));
    }
}

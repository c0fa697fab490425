//! What every typed peer protocol shares: a line that is not a command or an
//! answer of the protocol is a [`ProtocolError`] naming the line, and each
//! message type turns into its one line with `Display` and back with
//! [`WireLine::from_line`].

use std::fmt::Display;
use std::str::FromStr;

/// A line that is not a message of the protocol: the line itself and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    /// Which protocol and which side: "an endpoint command", "a signal-peer answer", ...
    pub what: &'static str,
    pub line: String,
    pub reason: String,
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not {}: {:?} ({})", self.what, self.line, self.reason)
    }
}

impl std::error::Error for ProtocolError {}

/// A message of a line protocol: `Display` writes its line (without the
/// newline), `from_line` reads it back; `from_line(&m.to_string()) == Ok(m)`.
pub trait WireLine: Display + Sized {
    fn from_line(line: &str) -> Result<Self, ProtocolError>;
}

/// Parses one word of a line as a number, naming the field when it is not one.
pub fn num<T: FromStr>(word: &str, field: &str) -> Result<T, String> {
    word.parse()
        .map_err(|_| format!("{field} {word:?} is not a number"))
}

/// `-` or a number.
pub fn opt_num<T: FromStr>(word: &str, field: &str) -> Result<Option<T>, String> {
    if word == "-" {
        Ok(None)
    } else {
        num(word, field).map(Some)
    }
}

/// A number, or `-` for none.
pub fn show_opt<T: Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".to_owned(), T::to_string)
}

/// The value of `key=value`, where the word must be that key.
pub fn keyed<'a>(word: &'a str, key: &str) -> Result<&'a str, String> {
    word.strip_prefix(key)
        .and_then(|w| w.strip_prefix('='))
        .ok_or_else(|| format!("expected {key}=..., found {word:?}"))
}

/// Bytes as a word of a line: lower-case hex, `-` for none.
pub fn hex_word(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "-".to_owned()
    } else {
        super::hex(bytes)
    }
}

/// Reads a [`hex_word`].
pub fn unhex_word(word: &str, field: &str) -> Result<Vec<u8>, String> {
    if word == "-" {
        return Ok(Vec::new());
    }
    super::unhex(word).ok_or_else(|| format!("{field} {word:?} is not hex"))
}

/// `what <line>: reason` as a [`ProtocolError`].
pub fn bad(what: &'static str, line: &str, reason: impl Into<String>) -> ProtocolError {
    ProtocolError {
        what,
        line: line.to_owned(),
        reason: reason.into(),
    }
}

/// Test helpers every typed protocol's round-trip tests use.
#[cfg(test)]
pub(crate) mod testing {
    use super::WireLine;

    /// `m` survives its line, also with trailing blanks trimmed (as the
    /// controller reads lines).
    pub fn round_trip<T: WireLine + PartialEq + std::fmt::Debug>(m: T) {
        let line = m.to_string();
        assert_eq!(T::from_line(&line), Ok(m), "line {line:?}");
        assert!(T::from_line(line.trim_end()).is_ok(), "trimmed {line:?}");
    }

    /// Each of `lines` is refused with an error that names it.
    pub fn refused<T: WireLine + std::fmt::Debug>(lines: &[&str]) {
        for &line in lines {
            let e = T::from_line(line).expect_err(line);
            assert_eq!(e.line, line);
            assert!(e.to_string().contains(&format!("{line:?}")), "{e}");
        }
    }
}

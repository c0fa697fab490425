//! How the fields of a protocol's messages are written as words of a line
//! and read back: the [`Field`] trait and its codecs, the words of a line
//! being read ([`Words`]) and written ([`Out`]), and the encodings the
//! protocols share (hex, numbers, `key=value`). `peer::wire` declares
//! messages from these.

use std::fmt::{self, Display, Write};
use std::str::FromStr;

/// How many words a field (or a message after its first word) takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arity {
    pub min: usize,
    /// `None`: no limit.
    pub max: Option<usize>,
}

impl Arity {
    pub const ONE: Arity = Arity {
        min: 1,
        max: Some(1),
    };
    /// Any number of words, none included.
    pub const ANY: Arity = Arity { min: 0, max: None };

    /// The words of fields that stand one after another.
    pub const fn sum(parts: &[Arity]) -> Arity {
        let (mut min, mut max, mut i) = (0, Some(0), 0);
        while i < parts.len() {
            min += parts[i].min;
            max = match (max, parts[i].max) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
            i += 1;
        }
        Arity { min, max }
    }

    pub fn admits(self, n: usize) -> bool {
        n >= self.min && self.max.is_none_or(|max| n <= max)
    }
}

impl Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max {
            Some(max) if max == self.min => write!(f, "{max}"),
            Some(max) => write!(f, "{} to {max}", self.min),
            None => write!(f, "{} or more", self.min),
        }
    }
}

/// The words of a line being read, front to back. A word ends at a blank;
/// the one blank after it is taken with it, so that the rest of a line
/// ([`Rest`]) keeps its own spacing.
#[derive(Debug, Clone)]
pub struct Words<'a> {
    rest: &'a str,
}

impl<'a> Words<'a> {
    pub fn new(text: &'a str) -> Words<'a> {
        Words { rest: text }
    }

    /// Everything not read yet, as it stands.
    pub fn rest(&mut self) -> &'a str {
        std::mem::take(&mut self.rest)
    }

    /// How many words are left.
    pub fn left(&self) -> usize {
        self.rest.split_whitespace().count()
    }

    /// `Ok` when every word was read.
    pub fn end(&mut self) -> Result<(), String> {
        match self.next() {
            None => Ok(()),
            Some(w) => Err(format!("unexpected word {w:?}")),
        }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start();
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        let (word, after) = s.split_at(end);
        let mut after = after.chars();
        after.next();
        self.rest = after.as_str();
        Some(word)
    }
}

/// Where a field writes its words: each after one blank, except the first
/// word of a `key=<value>` field, which follows its `=`.
pub struct Out<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    glued: bool,
}

impl<'b> Out<'_, 'b> {
    /// The formatter, placed to write the next word.
    pub fn formatter(&mut self) -> &mut fmt::Formatter<'b> {
        self.f
    }

    /// Starts the next word: the blank before it (none right after `key=`).
    pub fn word(&mut self) -> Result<&mut fmt::Formatter<'b>, fmt::Error> {
        if !std::mem::take(&mut self.glued) {
            self.f.write_str(" ")?;
        }
        Ok(self.f)
    }
}

/// How a field of type `T` is written as words of a line and read back.
pub trait Field<T> {
    /// How many words it takes.
    const WORDS: Arity = Arity::ONE;
    fn write(v: &T, out: &mut Out<'_, '_>) -> fmt::Result;
    /// Reads the field (`field`: its name, for errors).
    fn read(words: &mut Words<'_>, field: &str) -> Result<T, String>;
}

/// Writes a field (with `key=` before its value when it has a key).
pub fn put<T, C: Field<T>>(v: &T, key: Option<&str>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let glued = match key {
        Some(key) => {
            write!(f, " {key}=")?;
            true
        }
        None => false,
    };
    C::write(v, &mut Out { f, glued })
}

/// Reads a field: a keyed field is the value of its one `key=<value>` word.
pub fn take<T, C: Field<T>>(
    words: &mut Words<'_>,
    field: &str,
    key: Option<&str>,
) -> Result<T, String> {
    match key {
        None => C::read(words, field),
        Some(key) => {
            let value = keyed(words.next().unwrap_or(""), key)?;
            let mut value_words = Words::new(value);
            let v = C::read(&mut value_words, key)?;
            value_words.end().map(|()| v)
        }
    }
}

/// How many words a field takes (a keyed field: its one word).
pub const fn arity<T, C: Field<T>>(key: Option<&str>) -> Arity {
    if key.is_some() { Arity::ONE } else { C::WORDS }
}

/// A value that is one word of a line.
pub trait Token: Sized {
    fn write_token(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    /// Reads the word (`field`: its name, for errors).
    fn read_token(word: &str, field: &str) -> Result<Self, String>;
}

macro_rules! number_tokens {
    ($($t:ty),*) => {$(
        impl Token for $t {
            fn write_token(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{self}")
            }
            fn read_token(word: &str, field: &str) -> Result<Self, String> {
                num(word, field)
            }
        }
    )*};
}

number_tokens!(u8, u16, u32, u64, usize, i16, i32, i64);

impl Token for bool {
    fn write_token(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
    fn read_token(word: &str, field: &str) -> Result<Self, String> {
        word.parse()
            .map_err(|_| format!("{field} {word:?} is not true or false"))
    }
}

/// A word as it stands.
impl Token for String {
    fn write_token(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
    fn read_token(word: &str, _: &str) -> Result<Self, String> {
        Ok(word.to_owned())
    }
}

/// The codec of a field that is one word of its type ([`Token`]).
pub struct Plain;

impl<T: Token> Field<T> for Plain {
    fn write(v: &T, out: &mut Out<'_, '_>) -> fmt::Result {
        v.write_token(out.word()?)
    }
    fn read(words: &mut Words<'_>, field: &str) -> Result<T, String> {
        T::read_token(words.next().unwrap_or(""), field)
    }
}

/// The last word of a line, which may be empty (so absent once the line's
/// trailing blanks are trimmed): read from an empty word then.
pub struct Trailing;

impl<T: Token> Field<T> for Trailing {
    const WORDS: Arity = Arity {
        min: 0,
        max: Some(1),
    };
    fn write(v: &T, out: &mut Out<'_, '_>) -> fmt::Result {
        Plain::write(v, out)
    }
    fn read(words: &mut Words<'_>, field: &str) -> Result<T, String> {
        Plain::read(words, field)
    }
}

/// A value, or the word `MARK` for none: [`Dash`], [`Unknown`].
pub struct Absent<const MARK: char>;

/// A value or `-` for none.
pub type Dash = Absent<'-'>;

/// A value or `?` where the system does not say.
pub type Unknown = Absent<'?'>;

impl<T: Token, const MARK: char> Field<Option<T>> for Absent<MARK> {
    fn write(v: &Option<T>, out: &mut Out<'_, '_>) -> fmt::Result {
        match v {
            Some(v) => v.write_token(out.word()?),
            None => out.word()?.write_char(MARK),
        }
    }
    fn read(words: &mut Words<'_>, field: &str) -> Result<Option<T>, String> {
        let word = words.next().unwrap_or("");
        if word.len() == MARK.len_utf8() && word.starts_with(MARK) {
            return Ok(None);
        }
        T::read_token(word, field).map(Some)
    }
}

/// A value as one more word, or no word for none.
pub struct Maybe;

impl<T: Token> Field<Option<T>> for Maybe {
    const WORDS: Arity = Arity {
        min: 0,
        max: Some(1),
    };
    fn write(v: &Option<T>, out: &mut Out<'_, '_>) -> fmt::Result {
        match v {
            Some(v) => v.write_token(out.word()?),
            None => Ok(()),
        }
    }
    fn read(words: &mut Words<'_>, field: &str) -> Result<Option<T>, String> {
        words.next().map(|w| T::read_token(w, field)).transpose()
    }
}

/// Bytes as one word: lower-case hex, `-` for none.
pub struct Hex;

impl Field<Vec<u8>> for Hex {
    fn write(v: &Vec<u8>, out: &mut Out<'_, '_>) -> fmt::Result {
        out.word()?.write_str(&hex_word(v))
    }
    fn read(words: &mut Words<'_>, field: &str) -> Result<Vec<u8>, String> {
        unhex_word(words.next().unwrap_or(""), field)
    }
}

/// Values as one word, separated by commas; `-` for none.
pub struct Commas;

impl<T: Token> Field<Vec<T>> for Commas {
    fn write(v: &Vec<T>, out: &mut Out<'_, '_>) -> fmt::Result {
        let f = out.word()?;
        if v.is_empty() {
            return f.write_str("-");
        }
        for (i, item) in v.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            item.write_token(f)?;
        }
        Ok(())
    }
    fn read(words: &mut Words<'_>, field: &str) -> Result<Vec<T>, String> {
        match words.next().unwrap_or("") {
            "-" => Ok(Vec::new()),
            w => w
                .split(',')
                .map(|item| T::read_token(item, field))
                .collect(),
        }
    }
}

/// Values as the remaining words of the line, one word each (none at all for
/// none).
pub struct Spaced;

impl<T: Token> Field<Vec<T>> for Spaced {
    const WORDS: Arity = Arity::ANY;
    fn write(v: &Vec<T>, out: &mut Out<'_, '_>) -> fmt::Result {
        v.iter().try_for_each(|item| item.write_token(out.word()?))
    }
    fn read(words: &mut Words<'_>, field: &str) -> Result<Vec<T>, String> {
        words.map(|w| T::read_token(w, field)).collect()
    }
}

/// The rest of the line as it stands (text, possibly empty), after one blank,
/// without trailing blanks: the reader of a line trims them
/// ([`crate::peer::Peer`]), so a text ending in one could not arrive as
/// written. A line break in the text is written as a blank: the message stays
/// one line.
pub struct Rest;

impl Field<String> for Rest {
    const WORDS: Arity = Arity::ANY;
    fn write(v: &String, out: &mut Out<'_, '_>) -> fmt::Result {
        let f = out.word()?;
        let text = v.trim_end();
        text.split('\n').enumerate().try_for_each(|(i, part)| {
            if i > 0 {
                f.write_char(' ')?;
            }
            f.write_str(part)
        })
    }
    fn read(words: &mut Words<'_>, _: &str) -> Result<String, String> {
        Ok(words.rest().trim_end().to_owned())
    }
}

/// Parses one word of a line as a number, naming the field when it is not one.
pub fn num<T: FromStr>(word: &str, field: &str) -> Result<T, String> {
    word.parse()
        .map_err(|_| format!("{field} {word:?} is not a number"))
}

/// The value of `key=value`, where the word must be that key.
pub fn keyed<'a>(word: &'a str, key: &str) -> Result<&'a str, String> {
    word.strip_prefix(key)
        .and_then(|w| w.strip_prefix('='))
        .ok_or_else(|| format!("expected {key}=..., found {word:?}"))
}

/// Lower-case hex of bytes (the protocols' data encoding).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses hex; `None` on odd length or a non-hex digit.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Bytes as a word of a line: lower-case hex, `-` for none.
pub fn hex_word(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "-".to_owned()
    } else {
        hex(bytes)
    }
}

/// Reads a [`hex_word`].
pub fn unhex_word(word: &str, field: &str) -> Result<Vec<u8>, String> {
    if word == "-" {
        return Ok(Vec::new());
    }
    unhex(word).ok_or_else(|| format!("{field} {word:?} is not hex"))
}

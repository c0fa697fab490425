//! What every typed peer protocol shares: the declaration that makes a line
//! protocol's message types ([`messages!`]), with each field of a message
//! written as words of its line and read back by a codec (`peer::codec`,
//! re-exported here), and the error for a line that is not a message of the
//! protocol ([`ProtocolError`], naming the line and why).
//!
//! A message turns into its one line with `Display` and back with
//! [`WireLine::from_line`]; `from_line(&m.to_string()) == Ok(m)`. A line
//! holding a line break is no message ([`open`]), and none is written: a
//! text that holds one is written with a blank in its place (`Rest`).

use std::fmt::{self, Display};

pub use super::codec::*;

/// A line that is not a message of the protocol: the line itself and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    /// Which protocol and which side: "an endpoint command", "a signal-peer answer", ...
    pub what: &'static str,
    pub line: String,
    pub reason: String,
}

impl Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not {}: {:?} ({})", self.what, self.line, self.reason)
    }
}

impl std::error::Error for ProtocolError {}

/// A message of a line protocol: `Display` writes its line (without the
/// newline), `from_line` reads it back; `from_line(&m.to_string()) == Ok(m)`.
pub trait WireLine: Display + Sized {
    /// The first word of each of its lines.
    const HEADS: &'static [&'static str];
    fn from_line(line: &str) -> Result<Self, ProtocolError>;
}

/// The first word of a line, if it has one.
pub fn head_of(line: &str) -> Option<&str> {
    line.split_whitespace().next()
}

/// Declares the messages of a line protocol: for each message its first word
/// and its fields, in the order they stand on the line. It makes the type (an
/// enum of messages, or a struct for a protocol of one message), its `Display`
/// and its [`WireLine`], whose `from_line` checks the number of words first
/// and refuses any other line with a [`ProtocolError`] naming it and why.
///
/// ```text
/// messages! {
///     /// A command to an endpoint peer.
///     #[derive(Debug, Clone, PartialEq, Eq)]
///     pub enum Command: "an endpoint command" {
///         /// `send <hex>`
///         "send" Send(data: Vec<u8> as Hex),
///         /// `recv <max> <ms>`
///         "recv" Recv { max: usize, ms: u64 },
///         /// `quit`
///         "quit" Quit,
///     }
/// }
/// ```
///
/// A field is one word of its type ([`Token`]) unless `as <codec>` names
/// another [`Field`] (hex, lists, the rest of the line, ...); `= "key"`
/// writes it as the word `key=<value>`. A one-field variant may be a tuple
/// variant (its field named for the declaration only). Several messages may
/// share a first word when their numbers of words differ. `{ ... } as
/// <codec>` hands a variant's fields, as a tuple, to one codec (a line whose
/// words do not follow the fields one by one).
///
/// `struct Name: "what" = "head" { fields }` declares a protocol of one
/// message; `struct Name { fields }` a group of fields that stands in a line
/// of another message (`as Fields`).
macro_rules! messages {
    (
        $(#[$m:meta])*
        $vis:vis enum $name:ident : $what:literal {
            $(
                $(#[$vm:meta])*
                $word:literal $var:ident
                $( ( $tb:ident : $tt:ty $(as $tc:ty)? $(= $tk:literal)? ) )?
                $( {
                    $( $f:ident : $ft:ty $(as $fc:ty)? $(= $fk:literal)? ),* $(,)?
                } $(as $vc:ty)? )?
            ),* $(,)?
        }
    ) => {
        $(#[$m])*
        $vis enum $name {
            $(
                $(#[$vm])*
                $var $( ($tt) )? $( { $( $f: $ft ),* } )?,
            )*
        }

        impl ::std::fmt::Display for $name {
            #[allow(unused_variables)]
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match *self {
                    $(
                        Self::$var $( (ref $tb) )? $( { $(ref $f),* } )? => {
                            f.write_str($word)?;
                            $( $crate::peer::wire::put::<$tt, $crate::peer::wire::codec!($($tc)?)>(
                                $tb, $crate::peer::wire::key!($($tk)?), f)?; )?
                            $( $crate::peer::wire::put_fields!(
                                f, [$($vc)?] $( $f : $ft [$($fc)?] [$($fk)?] ),*); )?
                            Ok(())
                        }
                    )*
                }
            }
        }

        impl $crate::peer::wire::WireLine for $name {
            const HEADS: &'static [&'static str] = &[$($word),*];

            fn from_line(line: &str) -> Result<Self, $crate::peer::wire::ProtocolError> {
                fn parse(line: &str) -> Result<$name, String> {
                    // (An enum without messages reads no words.)
                    #[allow(unused_variables, unused_mut)]
                    let (mut words, head, count) = $crate::peer::wire::open(line)?;
                    #[allow(unused_mut)]
                    let mut arities: Vec<$crate::peer::wire::Arity> = Vec::new();
                    $(
                        if head == $word {
                            let arity = $crate::peer::wire::Arity::sum(&[
                                $( $crate::peer::wire::arity::<$tt, $crate::peer::wire::codec!($($tc)?)>(
                                    $crate::peer::wire::key!($($tk)?)), )?
                                $( $crate::peer::wire::fields_arity!(
                                    [$($vc)?] $( $ft [$($fc)?] [$($fk)?] ),*), )?
                            ]);
                            if arity.admits(count) {
                                let words = &mut words;
                                $( let $tb = $crate::peer::wire::take::<$tt, $crate::peer::wire::codec!($($tc)?)>(
                                    words, stringify!($tb), $crate::peer::wire::key!($($tk)?))?; )?
                                $( $crate::peer::wire::take_fields!(
                                    words, [$($vc)?] $( $f : $ft [$($fc)?] [$($fk)?] ),*); )?
                                return words.end().map(|()| $name::$var $( ($tb) )? $( { $($f),* } )?);
                            }
                            arities.push(arity);
                        }
                    )*
                    Err($crate::peer::wire::unknown(head, count, &arities))
                }
                parse(line).map_err(|reason| $crate::peer::wire::bad($what, line, reason))
            }
        }
    };

    (
        $(#[$m:meta])*
        $vis:vis struct $name:ident : $what:literal = $word:literal {
            $( $(#[$fm:meta])* $fv:vis $f:ident : $ft:ty $(as $fc:ty)? $(= $fk:literal)? ),* $(,)?
        }
    ) => {
        $crate::peer::wire::messages! {
            @struct $(#[$m])* $vis $name { $( $(#[$fm])* $fv $f : $ft [$($fc)?] [$($fk)?] ),* }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let Self { $($f),* } = self;
                f.write_str($word)?;
                $crate::peer::wire::put_fields!(f, [] $( $f : $ft [$($fc)?] [$($fk)?] ),*);
                Ok(())
            }
        }

        impl $crate::peer::wire::WireLine for $name {
            const HEADS: &'static [&'static str] = &[$word];

            fn from_line(line: &str) -> Result<Self, $crate::peer::wire::ProtocolError> {
                fn parse(line: &str) -> Result<$name, String> {
                    let (mut words, head, count) = $crate::peer::wire::open(line)?;
                    let words = &mut words;
                    let arity = $crate::peer::wire::fields_arity!([] $( $ft [$($fc)?] [$($fk)?] ),*);
                    if head != $word {
                        return Err($crate::peer::wire::unknown(head, count, &[]));
                    }
                    if !arity.admits(count) {
                        return Err($crate::peer::wire::unknown(head, count, &[arity]));
                    }
                    $crate::peer::wire::take_fields!(words, [] $( $f : $ft [$($fc)?] [$($fk)?] ),*);
                    words.end().map(|()| $name { $($f),* })
                }
                parse(line).map_err(|reason| $crate::peer::wire::bad($what, line, reason))
            }
        }
    };

    (
        $(#[$m:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fm:meta])* $fv:vis $f:ident : $ft:ty $(as $fc:ty)? $(= $fk:literal)? ),* $(,)?
        }
    ) => {
        $crate::peer::wire::messages! {
            @struct $(#[$m])* $vis $name { $( $(#[$fm])* $fv $f : $ft [$($fc)?] [$($fk)?] ),* }
        }

        impl $crate::peer::wire::Field<$name> for $crate::peer::wire::Fields {
            const WORDS: $crate::peer::wire::Arity =
                $crate::peer::wire::fields_arity!([] $( $ft [$($fc)?] [$($fk)?] ),*);

            fn write(v: &$name, out: &mut $crate::peer::wire::Out<'_, '_>) -> ::std::fmt::Result {
                let $name { $($f),* } = v;
                let f = out.formatter();
                $crate::peer::wire::put_fields!(f, [] $( $f : $ft [$($fc)?] [$($fk)?] ),*);
                Ok(())
            }

            fn read(words: &mut $crate::peer::wire::Words<'_>, _: &str) -> Result<$name, String> {
                $crate::peer::wire::take_fields!(words, [] $( $f : $ft [$($fc)?] [$($fk)?] ),*);
                Ok($name { $($f),* })
            }
        }
    };

    (@struct $(#[$m:meta])* $vis:vis $name:ident {
        $( $(#[$fm:meta])* $fv:vis $f:ident : $ft:ty [$($fc:ty)?] [$($fk:literal)?] ),*
    }) => {
        $(#[$m])*
        $vis struct $name {
            $( $(#[$fm])* $fv $f: $ft, )*
        }
    };
}

/// A field's codec: the one named, else [`Plain`].
macro_rules! codec {
    () => {
        $crate::peer::wire::Plain
    };
    ($c:ty) => {
        $c
    };
}

/// A field's key: `Some("key")` for a `key=<value>` word, else `None`.
macro_rules! key {
    () => {
        None
    };
    ($k:literal) => {
        Some($k)
    };
}

/// Writes the fields of a variant (one by one, or all through its codec).
macro_rules! put_fields {
    ($f:ident, [] $( $name:ident : $t:ty [$($c:ty)?] [$($k:literal)?] ),*) => {
        $( $crate::peer::wire::put::<$t, $crate::peer::wire::codec!($($c)?)>(
            $name, $crate::peer::wire::key!($($k)?), $f)?; )*
    };
    ($f:ident, [$vc:ty] $( $name:ident : $t:ty [] [] ),*) => {
        $crate::peer::wire::put::<($($t,)*), $vc>(&($($name.clone(),)*), None, $f)?;
    };
}

/// Reads the fields of a variant into variables of their names.
macro_rules! take_fields {
    ($words:ident, [] $( $name:ident : $t:ty [$($c:ty)?] [$($k:literal)?] ),*) => {
        $( let $name = $crate::peer::wire::take::<$t, $crate::peer::wire::codec!($($c)?)>(
            $words, stringify!($name), $crate::peer::wire::key!($($k)?))?; )*
    };
    ($words:ident, [$vc:ty] $( $name:ident : $t:ty [] [] ),*) => {
        let ($($name,)*) = $crate::peer::wire::take::<($($t,)*), $vc>($words, "", None)?;
    };
}

/// How many words the fields of a variant take.
macro_rules! fields_arity {
    ([] $( $t:ty [$($c:ty)?] [$($k:literal)?] ),*) => {
        $crate::peer::wire::Arity::sum(&[
            $( $crate::peer::wire::arity::<$t, $crate::peer::wire::codec!($($c)?)>(
                $crate::peer::wire::key!($($k)?)), )*
        ])
    };
    ([$vc:ty] $( $t:ty [] [] ),*) => {
        <$vc as $crate::peer::wire::Field<($($t,)*)>>::WORDS
    };
}

pub(crate) use {codec, fields_arity, key, messages, put_fields, take_fields};

/// Why a line with this first word and this many more words is no message:
/// no message starts with the word, or none with that many words.
pub fn unknown(head: &str, count: usize, arities: &[Arity]) -> String {
    if arities.is_empty() {
        return format!("no message starts with {head:?}");
    }
    let takes: Vec<String> = arities.iter().map(Arity::to_string).collect();
    format!(
        "{head} takes {} word(s) after it, not {count}",
        takes.join(" or ")
    )
}

/// A line opened for reading: the words after its first, the first (the
/// message's head) and how many words follow it. A line with a line break
/// inside is refused: every message is one line, so a text holding one can be
/// no message (the reader on the other side would take the rest for the next
/// message).
pub fn open(line: &str) -> Result<(Words<'_>, &str, usize), String> {
    if line.contains('\n') {
        return Err("a line break inside the line".into());
    }
    let mut words = Words::new(line);
    let head = words.next().ok_or("empty line")?;
    let count = words.left();
    Ok((words, head, count))
}

/// A word that is a whole message of a one-word protocol (a mode, a kind):
/// one of the messages of `T`, declared with [`messages!`].
pub struct OneOf;

impl<T: WireLine> Field<T> for OneOf {
    fn write(v: &T, out: &mut Out<'_, '_>) -> fmt::Result {
        write!(out.word()?, "{v}")
    }
    fn read(words: &mut Words<'_>, field: &str) -> Result<T, String> {
        let word = words.next().unwrap_or("");
        T::from_line(word)
            .map_err(|_| format!("{field} {word:?} is not one of {}", T::HEADS.join(", ")))
    }
}

/// The codec of a group of fields declared with `messages! { struct Name
/// { ... } }`: its words, one field after another.
pub struct Fields;

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
    /// controller reads lines) to the same message.
    pub fn round_trip<T: WireLine + PartialEq + std::fmt::Debug>(m: T) {
        let line = m.to_string();
        seed(std::any::type_name::<T>(), &line);
        assert_eq!(
            T::from_line(line.trim_end()).as_ref(),
            Ok(&m),
            "trimmed {line:?}"
        );
        assert_eq!(T::from_line(&line), Ok(m), "line {line:?}");
    }

    /// With `IPCCONF_PROTOCOL_LINES=FILE`, appends `<type>\t<line>` to FILE:
    /// the examples' lines, the fuzzer's seeds (fuzz/make-seeds.py).
    fn seed(protocol: &str, line: &str) {
        use std::io::Write;
        let Some(path) = std::env::var_os("IPCCONF_PROTOCOL_LINES") else {
            return;
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("IPCCONF_PROTOCOL_LINES opens");
        writeln!(f, "{protocol}\t{line}").expect("IPCCONF_PROTOCOL_LINES written");
    }

    /// Each of `lines` is refused with an error that names it.
    pub fn refused<T: WireLine + std::fmt::Debug>(lines: &[&str]) {
        for &line in lines {
            seed(std::any::type_name::<T>(), line);
            let e = T::from_line(line).expect_err(line);
            assert_eq!(e.line, line);
            assert!(e.to_string().contains(&format!("{line:?}")), "{e}");
        }
    }

    /// Every message of `all` survives its line ([`round_trip`]), and every
    /// first word of `T` begins one of their lines.
    pub fn round_trip_all<T: WireLine + PartialEq + std::fmt::Debug>(
        all: impl IntoIterator<Item = T>,
    ) {
        let all: Vec<T> = all.into_iter().collect();
        for head in T::HEADS {
            assert!(
                all.iter()
                    .any(|m| super::head_of(&m.to_string()) == Some(head)),
                "no {head} line among the examples"
            );
        }
        all.into_iter().for_each(round_trip);
    }
}

#[cfg(test)]
mod tests;

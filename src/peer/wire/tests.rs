//! The declaration on an example protocol with every kind of field.

use super::testing::{refused, round_trip, round_trip_all};
use super::*;

messages! {
    /// A mode of the example protocol.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Mode: "a mode" {
        "fast" Fast,
        "slow" Slow,
    }
}

messages! {
    /// Words that stand together in a line of `Example`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Pair {
        a: u8,
        b: Option<u32> as Dash,
    }
}

/// `n <items...>` written by hand: the count first.
struct Counted;

impl Field<(u16, Vec<u8>)> for Counted {
    const WORDS: Arity = Arity { min: 1, max: None };
    fn write(v: &(u16, Vec<u8>), out: &mut Out<'_, '_>) -> fmt::Result {
        write!(out.word()?, "{}", v.1.len())?;
        write!(out.word()?, "tag={}", v.0)?;
        Spaced::write(&v.1, out)
    }
    fn read(words: &mut Words<'_>, _: &str) -> Result<(u16, Vec<u8>), String> {
        let n: usize = num(words.next().unwrap_or(""), "count")?;
        let tag = num(keyed(words.next().unwrap_or(""), "tag")?, "tag")?;
        let items: Vec<u8> = Spaced::read(words, "item")?;
        if items.len() != n {
            return Err(format!("counts {n} but lists {}", items.len()));
        }
        Ok((tag, items))
    }
}

messages! {
    /// Every kind of field.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Example: "an example line" {
        "unit" Unit,
        "one" One(n: u64),
        "keyed" Keyed(n: i16 = "bits"),
        "many" Many { a: u8, b: Vec<u8> as Hex, c: Vec<usize> as Commas, d: bool = "d" },
        "opt" Opt { a: Option<u32> as Dash, b: Option<usize> as Unknown, c: Option<u64> as Maybe },
        "rest" Rest { errno: i32, text: String as Rest },
        "spaced" Spaced(v: Vec<u64> as Spaced),
        "trailing" Trailing(w: String as Trailing),
        "mode" Mode(m: Mode as OneOf),
        "pair" Pair(p: Pair as Fields),
        "pair" TwoPairs { p: Pair as Fields, q: Pair as Fields },
        "counted" Counted { tag: u16, items: Vec<u8> } as Counted,
    }
}

messages! {
    /// A protocol with no message (a role with no commands of its own).
    #[derive(Debug)]
    enum Nothing: "nothing" {}
}

messages! {
    /// A protocol of one message.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Hello: "a hello line" = "hello" {
        pub pid: u32,
        pub name: String = "name",
    }
}

fn examples() -> Vec<Example> {
    vec![
        Example::Unit,
        Example::One(7),
        Example::Keyed(-1),
        Example::Many {
            a: 1,
            b: b"ab".to_vec(),
            c: vec![3, 5],
            d: true,
        },
        Example::Many {
            a: 1,
            b: Vec::new(),
            c: Vec::new(),
            d: false,
        },
        Example::Opt {
            a: Some(1),
            b: None,
            c: Some(3),
        },
        Example::Opt {
            a: None,
            b: Some(2),
            c: None,
        },
        Example::Rest {
            errno: 11,
            text: "EAGAIN (two  blanks)".into(),
        },
        Example::Rest {
            errno: 0,
            text: String::new(),
        },
        Example::Spaced(vec![1, 2, 3]),
        Example::Spaced(Vec::new()),
        Example::Trailing("w".into()),
        Example::Trailing(String::new()),
        Example::Mode(Mode::Slow),
        Example::Pair(Pair { a: 1, b: None }),
        Example::TwoPairs {
            p: Pair { a: 1, b: Some(2) },
            q: Pair { a: 3, b: None },
        },
        Example::Counted {
            tag: 9,
            items: vec![4, 5],
        },
    ]
}

#[test]
fn every_example_round_trips() {
    round_trip_all(examples());
    round_trip(Hello {
        pid: 42,
        name: "x".into(),
    });
    round_trip(Mode::Fast);
}

#[test]
fn lines_are_written_word_by_word() {
    let lines: Vec<String> = examples().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "unit",
            "one 7",
            "keyed bits=-1",
            "many 1 6162 3,5 d=true",
            "many 1 - - d=false",
            "opt 1 ? 3",
            "opt - 2",
            "rest 11 EAGAIN (two  blanks)",
            "rest 0 ",
            "spaced 1 2 3",
            "spaced",
            "trailing w",
            "trailing ",
            "mode slow",
            "pair 1 -",
            "pair 1 2 3 -",
            "counted 2 tag=9 4 5",
        ]
    );
    assert_eq!(
        Hello {
            pid: 1,
            name: "n".into()
        }
        .to_string(),
        "hello 1 name=n"
    );
}

#[test]
fn bad_lines_are_named() {
    refused::<Example>(&[
        "",
        "  ",
        "what",
        "unit 1",
        "one",
        "one x",
        "one 1 2",
        "keyed 1",
        "keyed bits=x",
        "keyed bots=1",
        "many 1 zz 3 d=true",
        "many 1 - 3,,5 d=true",
        "many 1 - 3 d=maybe",
        "opt x ? 3",
        "rest",
        "rest x text",
        "spaced 1 x",
        "mode medium",
        "pair 1",
        "pair 1 - 2",
        "counted 3 tag=9 4 5",
        "counted",
    ]);
    refused::<Nothing>(&["", "unit", "anything at all"]);
    refused::<Hello>(&[
        "",
        "hello",
        "hello 1 nam=x",
        "hi 1 name=x",
        "hello 1 name=x y",
    ]);
    let e = Example::from_line("one").unwrap_err();
    assert_eq!(e.reason, "one takes 1 word(s) after it, not 0");
    let e = Example::from_line("pair 1").unwrap_err();
    assert_eq!(e.reason, "pair takes 2 or 4 word(s) after it, not 1");
    let e = Example::from_line("what 1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "not an example line: \"what 1\" (no message starts with \"what\")"
    );
}

/// A message is one line: a line with a line break inside is refused (found
/// by the protocol_line fuzz target: `err 0 a\nb` was read, and written back
/// as two lines), and a text holding one is written with a blank instead.
#[test]
fn a_message_is_one_line() {
    refused::<Example>(&["rest 0 a\nb", "rest 0 a\n", "one\n", "hello 1 x\n"]);
    let split = Example::Rest {
        errno: 5,
        text: "first\nsecond".into(),
    };
    assert_eq!(split.to_string(), "rest 5 first second");
    assert_eq!(
        Example::from_line(&split.to_string()),
        Ok(Example::Rest {
            errno: 5,
            text: "first second".into()
        })
    );
    assert!(Hello::from_line("hello 1 x\n").is_err());
}

/// A text ends without blanks: the reader of a line trims them, so a text
/// read or written with one would not arrive as it was (found by the
/// protocol_line fuzz target: `err x ` read as "x ", arrived as "x").
#[test]
fn a_text_has_no_trailing_blanks() {
    let read = Example::from_line("rest 0 a b \t").unwrap();
    let text = |e: &Example| match e {
        Example::Rest { text, .. } => text.clone(),
        _ => unreachable!(),
    };
    assert_eq!(text(&read), "a b");
    let written = Example::Rest {
        errno: 0,
        text: "x \n".into(),
    };
    assert_eq!(written.to_string(), "rest 0 x");
    round_trip(read);
}

/// Every protocol declared with `messages!` in src/ (a type with a `: "what"`,
/// outside this test module) is one of the protocol_line fuzz target's.
#[test]
fn the_fuzzer_reads_every_protocol() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    let mut declared = Vec::new();
    for f in files
        .iter()
        .filter(|f| !f.ends_with("peer/wire.rs") && !f.ends_with("wire/tests.rs"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        for block in text.split("messages! {").skip(1) {
            let line = block
                .lines()
                .find(|l| l.contains(" enum ") || l.contains(" struct "))
                .unwrap();
            let name = line
                .split_whitespace()
                .skip_while(|w| *w != "enum" && *w != "struct")
                .nth(1)
                .unwrap();
            if let Some(name) = name.strip_suffix(':') {
                declared.push(name.to_owned());
            }
        }
    }
    let fuzzer = std::fs::read_to_string(root.join("fuzz/fuzz_targets/protocol_line.rs")).unwrap();
    let listed = fuzzer.matches("check::<").count();
    for name in &declared {
        assert!(
            fuzzer.contains(&format!("{name}>")),
            "{name} is not in fuzz/fuzz_targets/protocol_line.rs's PROTOCOLS"
        );
    }
    assert!(declared.len() >= 24, "{declared:?}");
    assert_eq!(listed, declared.len(), "PROTOCOLS: {declared:?}");
}

//! The endpoint protocol of `ipcconf-peer endpoint ...`: the commands a test
//! process sends to a peer holding one end of a channel, and the peer's
//! answers, one line each (see the list in [`crate::peer`]). Both sides use
//! these types: the peer (`channel::serve_endpoint`) reads a [`Command`] and
//! writes an [`Answer`]; the controller ([`crate::peer::Peer::call`]) the
//! other way round.

use super::wire::{WireLine, bad, hex_word, num, unhex_word};

/// A command to an endpoint peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `send <hex>`: one send of the bytes.
    Send(Vec<u8>),
    /// `recv <max> <ms>`: one receive of at most `max` bytes, waiting at most
    /// `ms` milliseconds (0: without waiting).
    Recv { max: usize, ms: u64 },
    /// `queued <len,len,...> <ms>`: waits (at most `ms`) until messages of those
    /// lengths are all queued at this end (`channel::wait_all_queued`);
    /// receives nothing.
    Queued { lens: Vec<usize>, ms: u64 },
    /// `records <writer> <count> <size>`: sends `count` tagged records
    /// (`channel::record`).
    Records { writer: u8, count: u16, size: usize },
    /// `recvfd <max>`: receives a message of at most `max` bytes and the
    /// descriptor it carries, and reads what that descriptor holds.
    RecvFd { max: usize },
    /// `quit`: the peer exits 0 (no answer).
    Quit,
}

/// An endpoint peer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `ok <n>`: bytes sent (`send`) or records sent (`records`).
    Ok(u64),
    /// `data <hex>`: what one receive returned.
    Data(Vec<u8>),
    /// `eof`: the receive found the end of the stream.
    Eof,
    /// `empty`: nothing arrived in time.
    Empty,
    /// `err <errno> <text>`: the step failed (errno 0: not a system error).
    Err { errno: i32, text: String },
    /// `queued <seen>`: everything is queued; what the count showed.
    Queued(String),
    /// `short <seen>`: the bound passed with less queued.
    Short(String),
    /// `fd <payload hex> <content hex>`: a message with a descriptor, and the
    /// first bytes read from that descriptor.
    Fd { payload: Vec<u8>, content: Vec<u8> },
    /// `nofd <payload hex>`: a message without a descriptor.
    NoFd(Vec<u8>),
}

impl Answer {
    /// An `err` answer for a failed system call.
    pub fn io_error(e: &std::io::Error) -> Answer {
        Answer::Err {
            errno: crate::precondition::raw_os_error(e).unwrap_or(0),
            text: crate::sys::describe_io_error(e),
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Send(data) => write!(f, "send {}", hex_word(data)),
            Command::Recv { max, ms } => write!(f, "recv {max} {ms}"),
            Command::Queued { lens, ms } => {
                let lens: Vec<String> = lens.iter().map(usize::to_string).collect();
                write!(f, "queued {} {ms}", lens.join(","))
            }
            Command::Records {
                writer,
                count,
                size,
            } => write!(f, "records {writer} {count} {size}"),
            Command::RecvFd { max } => write!(f, "recvfd {max}"),
            Command::Quit => f.write_str("quit"),
        }
    }
}

impl WireLine for Command {
    fn from_line(line: &str) -> Result<Command, crate::peer::wire::ProtocolError> {
        const WHAT: &str = "an endpoint command";
        let words: Vec<&str> = line.split_whitespace().collect();
        let parsed = match words.as_slice() {
            ["send", h] => unhex_word(h, "data").map(Command::Send),
            ["recv", max, ms] => (|| {
                Ok(Command::Recv {
                    max: num(max, "max")?,
                    ms: num(ms, "ms")?,
                })
            })(),
            ["queued", lens, ms] => (|| {
                Ok(Command::Queued {
                    lens: lens
                        .split(',')
                        .map(|l| num(l, "length"))
                        .collect::<Result<_, _>>()?,
                    ms: num(ms, "ms")?,
                })
            })(),
            ["records", writer, count, size] => (|| {
                Ok(Command::Records {
                    writer: num(writer, "writer")?,
                    count: num(count, "count")?,
                    size: num(size, "size")?,
                })
            })(),
            ["recvfd", max] => num(max, "max").map(|max| Command::RecvFd { max }),
            ["quit"] => Ok(Command::Quit),
            [cmd, ..] if ["send", "recv", "queued", "records", "recvfd", "quit"].contains(cmd) => {
                Err(format!("wrong number of words for {cmd}"))
            }
            _ => Err("unknown command".to_owned()),
        };
        parsed.map_err(|reason| bad(WHAT, line, reason))
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Ok(n) => write!(f, "ok {n}"),
            Answer::Data(d) => write!(f, "data {}", hex_word(d)),
            Answer::Eof => f.write_str("eof"),
            Answer::Empty => f.write_str("empty"),
            Answer::Err { errno, text } => write!(f, "err {errno} {text}"),
            Answer::Queued(seen) => write!(f, "queued {seen}"),
            Answer::Short(seen) => write!(f, "short {seen}"),
            Answer::Fd { payload, content } => {
                write!(f, "fd {} {}", hex_word(payload), hex_word(content))
            }
            Answer::NoFd(payload) => write!(f, "nofd {}", hex_word(payload)),
        }
    }
}

impl WireLine for Answer {
    fn from_line(line: &str) -> Result<Answer, crate::peer::wire::ProtocolError> {
        const WHAT: &str = "an endpoint answer";
        let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
        let words: Vec<&str> = rest.split_whitespace().collect();
        let parsed = match (head, words.as_slice()) {
            ("ok", [n]) => num(n, "count").map(Answer::Ok),
            ("data", [h]) => unhex_word(h, "data").map(Answer::Data),
            ("eof", []) => Ok(Answer::Eof),
            ("empty", []) => Ok(Answer::Empty),
            ("err", [errno, ..]) => num(errno, "errno").map(|errno| Answer::Err {
                errno,
                text: rest.split_once(' ').map_or("", |(_, t)| t).to_owned(),
            }),
            ("queued", _) => Ok(Answer::Queued(rest.to_owned())),
            ("short", _) => Ok(Answer::Short(rest.to_owned())),
            ("fd", [p, c]) => (|| {
                Ok(Answer::Fd {
                    payload: unhex_word(p, "payload")?,
                    content: unhex_word(c, "content")?,
                })
            })(),
            ("nofd", [p]) => unhex_word(p, "payload").map(Answer::NoFd),
            ("ok" | "data" | "eof" | "empty" | "err" | "fd" | "nofd", _) => {
                Err(format!("wrong number of words for {head}"))
            }
            _ => Err("unknown answer".to_owned()),
        };
        parsed.map_err(|reason| bad(WHAT, line, reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::testing::{refused, round_trip};

    #[test]
    fn every_command_round_trips() {
        for c in [
            Command::Send(b"poll-me".to_vec()),
            Command::Send(Vec::new()),
            Command::Recv { max: 65536, ms: 0 },
            Command::Recv { max: 64, ms: 2000 },
            Command::Queued {
                lens: vec![3, 5, 8],
                ms: 2000,
            },
            Command::Records {
                writer: 3,
                count: 100,
                size: 64,
            },
            Command::RecvFd { max: 64 },
            Command::Quit,
        ] {
            round_trip(c);
        }
        assert_eq!(
            Command::Send(b"ab".to_vec()).to_string(),
            "send 6162",
            "the wire form of send"
        );
    }

    #[test]
    fn every_answer_round_trips() {
        for a in [
            Answer::Ok(7),
            Answer::Data(b"from-peer".to_vec()),
            Answer::Data(Vec::new()),
            Answer::Eof,
            Answer::Empty,
            Answer::Err {
                errno: 11,
                text: "EAGAIN (Resource temporarily unavailable)".into(),
            },
            Answer::Err {
                errno: 0,
                text: String::new(),
            },
            Answer::Queued("before receiving: 8 of 8 bytes queued".into()),
            Answer::Short("after 2s: 3 of 8 bytes queued".into()),
            Answer::Fd {
                payload: b"fd".to_vec(),
                content: b"passed-1234".to_vec(),
            },
            Answer::Fd {
                payload: b"fd".to_vec(),
                content: Vec::new(),
            },
            Answer::NoFd(b"fd".to_vec()),
        ] {
            round_trip(a);
        }
    }

    #[test]
    fn bad_lines_are_named() {
        refused::<Command>(&[
            "",
            "sned 00",
            "send zz",
            "send",
            "recv 10",
            "recv x 10",
            "queued 1,,2 10",
            "records 300 1 64",
            "recvfd",
            "quit now",
        ]);
        refused::<Answer>(&["", "ok", "ok x", "data 0", "eof 1", "err", "fd 00", "what"]);
    }
}

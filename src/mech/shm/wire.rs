//! The memory peer protocol's messages (the folder's module doc lists them):
//! a [`MemCommand`] the controller sends to a peer that mapped a region, and
//! the peer's [`MemAnswer`], one line each. The peer
//! ([`super::serve_memory`]) reads commands and writes answers; the
//! controller's helpers ([`super::data_of`], [`super::ok_of`]) read answers.

use crate::peer::wire::{ProtocolError, WireLine, bad, hex_word, num, unhex_word};

/// A command to a memory peer. Offsets and lengths are in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemCommand {
    /// `read <off> <len>` → `data <hex>` (volatile byte loads).
    Read { off: usize, len: usize },
    /// `write <off> <hex>` → `ok <n>` (volatile byte stores).
    Write { off: usize, data: Vec<u8> },
    /// `store <off> <u32>` → `ok` (atomic store, release).
    Store { off: usize, value: u32 },
    /// `load <off>` → `value <u32>` (atomic load, acquire).
    Load { off: usize },
    /// `publish <data_off> <hex> <flag_off> <u32>` → `ok`: the bytes, then the
    /// flag (release), with no system call in between.
    Publish {
        data_off: usize,
        data: Vec<u8>,
        flag_off: usize,
        value: u32,
    },
    /// `append <index_off> <slots_off> <slots> <writer> <count> <size>
    /// <arrive_off> <start_off> <ms>` → `ok <count>`.
    Append(Append),
    /// `follow <seq_off> <slots_off> <count> <size> <arrive_off> <ack_off>
    /// <ms>` → `ok <whole> <torn> <observations>`.
    Follow(Follow),
    /// `fdprobe <off>` → `same <fd>` | `different <fd> <dev> <ino>` | `err ...`.
    FdProbe { off: usize },
    /// `sync` → `ok` (msync MS_SYNC).
    Sync,
    /// `quit`: the peer exits 0 (no answer).
    Quit,
}

/// The words of `append`, in their order (the folder's module doc says what
/// the peer does with them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Append {
    pub index_off: usize,
    pub slots_off: usize,
    pub slots: usize,
    pub writer: u8,
    pub count: u16,
    pub size: usize,
    pub arrive_off: usize,
    pub start_off: usize,
    pub ms: u64,
}

/// The words of `follow`, in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follow {
    pub seq_off: usize,
    pub slots_off: usize,
    pub count: u32,
    pub size: usize,
    pub arrive_off: usize,
    pub ack_off: usize,
    pub ms: u64,
}

/// A memory peer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemAnswer {
    /// `ok [<n>...]`: the step was done; the numbers it counted (`write`:
    /// bytes; `append`: records; `follow`: whole, torn, observations).
    Ok(Vec<u64>),
    /// `data <hex>`: the bytes `read` loaded (`-` for none).
    Data(Vec<u8>),
    /// `value <u32>`: what `load` loaded.
    Value(u32),
    /// `same <fd>`: `fdprobe` found the writer's file under that number here.
    Same(u32),
    /// `different <fd> <dev> <ino>`: that number names another file here.
    Different { fd: u32, dev: u64, ino: u64 },
    /// `timeout <text>`: a bound passed; what was seen by then.
    Timeout(String),
    /// `err <errno> <text>`: the step failed (errno 0: not a system error).
    Err { errno: i32, text: String },
}

impl MemAnswer {
    /// An `err` answer for a failed system call.
    pub fn io_error(e: &std::io::Error) -> MemAnswer {
        MemAnswer::Err {
            errno: crate::precondition::raw_os_error(e).unwrap_or(0),
            text: crate::sys::describe_io_error(e),
        }
    }

    /// An `err 0 <text>` answer: the step failed, not in a system call.
    pub fn refused(text: impl Into<String>) -> MemAnswer {
        MemAnswer::Err {
            errno: 0,
            text: text.into(),
        }
    }
}

impl std::fmt::Display for MemCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemCommand::Read { off, len } => write!(f, "read {off} {len}"),
            MemCommand::Write { off, data } => write!(f, "write {off} {}", hex_word(data)),
            MemCommand::Store { off, value } => write!(f, "store {off} {value}"),
            MemCommand::Load { off } => write!(f, "load {off}"),
            MemCommand::Publish {
                data_off,
                data,
                flag_off,
                value,
            } => write!(
                f,
                "publish {data_off} {} {flag_off} {value}",
                hex_word(data)
            ),
            MemCommand::Append(a) => write!(
                f,
                "append {} {} {} {} {} {} {} {} {}",
                a.index_off,
                a.slots_off,
                a.slots,
                a.writer,
                a.count,
                a.size,
                a.arrive_off,
                a.start_off,
                a.ms
            ),
            MemCommand::Follow(w) => write!(
                f,
                "follow {} {} {} {} {} {} {}",
                w.seq_off, w.slots_off, w.count, w.size, w.arrive_off, w.ack_off, w.ms
            ),
            MemCommand::FdProbe { off } => write!(f, "fdprobe {off}"),
            MemCommand::Sync => f.write_str("sync"),
            MemCommand::Quit => f.write_str("quit"),
        }
    }
}

const COMMANDS: [&str; 10] = [
    "read", "write", "store", "load", "publish", "append", "follow", "fdprobe", "sync", "quit",
];

impl WireLine for MemCommand {
    fn from_line(line: &str) -> Result<MemCommand, ProtocolError> {
        const WHAT: &str = "a memory command";
        let words: Vec<&str> = line.split_whitespace().collect();
        let off = |w: &str| num::<usize>(w, "offset");
        let parsed = match words.as_slice() {
            ["read", o, len] => (|| {
                Ok(MemCommand::Read {
                    off: off(o)?,
                    len: num(len, "length")?,
                })
            })(),
            ["write", o, h] => (|| {
                Ok(MemCommand::Write {
                    off: off(o)?,
                    data: unhex_word(h, "data")?,
                })
            })(),
            ["store", o, v] => (|| {
                Ok(MemCommand::Store {
                    off: off(o)?,
                    value: num(v, "value")?,
                })
            })(),
            ["load", o] => off(o).map(|off| MemCommand::Load { off }),
            ["publish", d, h, fl, v] => (|| {
                Ok(MemCommand::Publish {
                    data_off: off(d)?,
                    data: unhex_word(h, "data")?,
                    flag_off: off(fl)?,
                    value: num(v, "value")?,
                })
            })(),
            ["append", i, so, slots, writer, count, size, a, st, ms] => (|| {
                Ok(MemCommand::Append(Append {
                    index_off: off(i)?,
                    slots_off: off(so)?,
                    slots: num(slots, "slots")?,
                    writer: num(writer, "writer")?,
                    count: num(count, "count")?,
                    size: num(size, "size")?,
                    arrive_off: off(a)?,
                    start_off: off(st)?,
                    ms: num(ms, "ms")?,
                }))
            })(),
            ["follow", sq, so, count, size, a, ack, ms] => (|| {
                Ok(MemCommand::Follow(Follow {
                    seq_off: off(sq)?,
                    slots_off: off(so)?,
                    count: num(count, "count")?,
                    size: num(size, "size")?,
                    arrive_off: off(a)?,
                    ack_off: off(ack)?,
                    ms: num(ms, "ms")?,
                }))
            })(),
            ["fdprobe", o] => off(o).map(|off| MemCommand::FdProbe { off }),
            ["sync"] => Ok(MemCommand::Sync),
            ["quit"] => Ok(MemCommand::Quit),
            [cmd, ..] if COMMANDS.contains(cmd) => Err(format!("wrong number of words for {cmd}")),
            _ => Err("unknown command".to_owned()),
        };
        parsed.map_err(|reason| bad(WHAT, line, reason))
    }
}

impl std::fmt::Display for MemAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemAnswer::Ok(counts) => {
                f.write_str("ok")?;
                counts.iter().try_for_each(|n| write!(f, " {n}"))
            }
            MemAnswer::Data(d) => write!(f, "data {}", hex_word(d)),
            MemAnswer::Value(v) => write!(f, "value {v}"),
            MemAnswer::Same(fd) => write!(f, "same {fd}"),
            MemAnswer::Different { fd, dev, ino } => write!(f, "different {fd} {dev} {ino}"),
            MemAnswer::Timeout(what) => write!(f, "timeout {what}"),
            MemAnswer::Err { errno, text } => write!(f, "err {errno} {text}"),
        }
    }
}

impl WireLine for MemAnswer {
    fn from_line(line: &str) -> Result<MemAnswer, ProtocolError> {
        const WHAT: &str = "a memory answer";
        let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
        let words: Vec<&str> = rest.split_whitespace().collect();
        let parsed = match (head, words.as_slice()) {
            ("ok", counts) => counts
                .iter()
                .map(|n| num(n, "count"))
                .collect::<Result<_, _>>()
                .map(MemAnswer::Ok),
            ("data", [h]) => unhex_word(h, "data").map(MemAnswer::Data),
            ("value", [v]) => num(v, "value").map(MemAnswer::Value),
            ("same", [fd]) => num(fd, "fd").map(MemAnswer::Same),
            ("different", [fd, dev, ino]) => (|| {
                Ok(MemAnswer::Different {
                    fd: num(fd, "fd")?,
                    dev: num(dev, "dev")?,
                    ino: num(ino, "ino")?,
                })
            })(),
            ("timeout", _) => Ok(MemAnswer::Timeout(rest.to_owned())),
            ("err", _) => err_answer(rest),
            ("data" | "value" | "same" | "different", _) => {
                Err(format!("wrong number of words for {head}"))
            }
            _ => Err("unknown answer".to_owned()),
        };
        parsed.map_err(|reason| bad(WHAT, line, reason))
    }
}

/// The words after `err`: the errno, then the text (possibly empty).
fn err_answer(rest: &str) -> Result<MemAnswer, String> {
    let (errno, text) = rest.split_once(' ').unwrap_or((rest, ""));
    Ok(MemAnswer::Err {
        errno: num(errno, "errno")?,
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::testing::{refused, round_trip};

    #[test]
    fn every_command_round_trips() {
        for c in [
            MemCommand::Read { off: 0, len: 24 },
            MemCommand::Write {
                off: 64,
                data: b"reply".to_vec(),
            },
            MemCommand::Write {
                off: 0,
                data: Vec::new(),
            },
            MemCommand::Store {
                off: 0,
                value: 4096,
            },
            MemCommand::Load { off: 8 },
            MemCommand::Publish {
                data_off: 64,
                data: b"payload".to_vec(),
                flag_off: 0,
                value: 1,
            },
            MemCommand::Append(Append {
                index_off: 0,
                slots_off: 64,
                slots: 400,
                writer: 3,
                count: 100,
                size: 32,
                arrive_off: 4,
                start_off: 8,
                ms: 2000,
            }),
            MemCommand::Follow(Follow {
                seq_off: 0,
                slots_off: 64,
                count: 100,
                size: 32,
                arrive_off: 4,
                ack_off: 12,
                ms: 2000,
            }),
            MemCommand::FdProbe { off: 0 },
            MemCommand::Sync,
            MemCommand::Quit,
        ] {
            round_trip(c);
        }
        assert_eq!(
            MemCommand::Publish {
                data_off: 64,
                data: b"ab".to_vec(),
                flag_off: 0,
                value: 1
            }
            .to_string(),
            "publish 64 6162 0 1",
            "the wire form of publish"
        );
    }

    #[test]
    fn every_answer_round_trips() {
        for a in [
            MemAnswer::Ok(Vec::new()),
            MemAnswer::Ok(vec![16]),
            MemAnswer::Ok(vec![97, 3, 12]),
            MemAnswer::Data(b"from-peer".to_vec()),
            MemAnswer::Data(Vec::new()),
            MemAnswer::Value(u32::MAX),
            MemAnswer::Same(7),
            MemAnswer::Different {
                fd: 7,
                dev: 2049,
                ino: u64::MAX,
            },
            MemAnswer::Timeout("start flag still 0".into()),
            MemAnswer::Err {
                errno: 9,
                text: "EBADF (Bad file descriptor)".into(),
            },
            MemAnswer::refused(""),
        ] {
            round_trip(a);
        }
        assert_eq!(MemAnswer::Ok(vec![1, 2]).to_string(), "ok 1 2");
    }

    #[test]
    fn bad_lines_are_named() {
        refused::<MemCommand>(&[
            "",
            "raed 0 4",
            "read 0",
            "read -1 4",
            "read 0 x",
            "write 0 zz",
            "write 0 abc",
            "write 0",
            "store 0 4294967296",
            "store 0",
            "load",
            "load 0 1",
            "publish 0 00 0",
            "publish 0 00 x 1",
            "append 0 64 400 256 1 32 4 8 2000",
            "append 0 64 400 1 1 32 4 8",
            "follow 0 64 100 32 4 12",
            "follow 0 64 -1 32 4 12 2000",
            "fdprobe",
            "fdprobe x",
            "sync now",
            "quit now",
        ]);
        refused::<MemAnswer>(&[
            "",
            "ok x",
            "ok 1 -2",
            "data",
            "data 0",
            "data 00 11",
            "value",
            "value -1",
            "same",
            "different 7 1",
            "err",
            "err x text",
            "what",
        ]);
    }
}

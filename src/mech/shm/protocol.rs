//! The memory peer protocol's messages (the folder's module doc lists them):
//! a [`MemCommand`] the controller sends to a peer that mapped a region, and
//! the peer's [`MemAnswer`], one line each, and the own commands of the roles
//! that serve it ([`WaiterCommand`]). The peer ([`super::serve_memory`])
//! reads commands and writes answers; the controller's helpers
//! ([`super::data_of`], [`super::ok_of`]) read answers.

use crate::peer::wire::{Fields, Hex, OneOf, Rest, Spaced, messages};

messages! {
    /// A command to a memory peer. Offsets and lengths are in bytes.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum MemCommand: "a memory command" {
        /// `read <off> <len>` → `data <hex>` (volatile byte loads).
        "read" Read { off: usize, len: usize },
        /// `write <off> <hex>` → `ok <n>` (volatile byte stores).
        "write" Write { off: usize, data: Vec<u8> as Hex },
        /// `store <off> <u32>` → `ok` (atomic store, release).
        "store" Store { off: usize, value: u32 },
        /// `load <off>` → `value <u32>` (atomic load, acquire).
        "load" Load { off: usize },
        /// `publish <data_off> <hex> <flag_off> <u32>` → `ok`: the bytes, then the
        /// flag (release), with no system call in between.
        "publish" Publish {
            data_off: usize,
            data: Vec<u8> as Hex,
            flag_off: usize,
            value: u32,
        },
        /// `append <index_off> <slots_off> <slots> <writer> <count> <size>
        /// <arrive_off> <start_off> <ms>` → `ok <count>`.
        "append" Append(words: Append as Fields),
        /// `follow <seq_off> <slots_off> <count> <size> <arrive_off> <ack_off>
        /// <ms>` → `ok <whole> <torn> <observations>`.
        "follow" Follow(words: Follow as Fields),
        /// `fdprobe <off>` → `same <fd>` | `different <fd> <dev> <ino>` | `err ...`.
        "fdprobe" FdProbe { off: usize },
        /// `sync` → `ok` (msync MS_SYNC).
        "sync" Sync,
        /// `quit`: the peer exits 0 (no answer).
        "quit" Quit,
    }
}

messages! {
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
}

messages! {
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
}

messages! {
    /// A memory peer's answer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum MemAnswer: "a memory answer" {
        /// `ok [<n>...]`: the step was done; the numbers it counted (`write`:
        /// bytes; `append`: records; `follow`: whole, torn, observations).
        "ok" Ok(counts: Vec<u64> as Spaced),
        /// `data <hex>`: the bytes `read` loaded (`-` for none).
        "data" Data(data: Vec<u8> as Hex),
        /// `value <u32>`: what `load` loaded.
        "value" Value(value: u32),
        /// `same <fd>`: `fdprobe` found the writer's file under that number here.
        "same" Same(fd: u32),
        /// `different <fd> <dev> <ino>`: that number names another file here.
        "different" Different { fd: u32, dev: u64, ino: u64 },
        /// `timeout <text>`: a bound passed; what was seen by then.
        "timeout" Timeout(seen: String as Rest),
        /// `err <errno> <text>`: the step failed (errno 0: not a system error).
        "err" Err { errno: i32, text: String as Rest },
    }
}

messages! {
    /// How the `shm-waiter` peer waits for the flag.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum WaitHow: "spin or cond" {
        /// The guide's mistake: spinning on the flag.
        "spin" Spin,
        /// The guide's correction: pthread_cond_wait() in a loop.
        "cond" Cond,
    }
}

messages! {
    /// What the `shm-waiter` peer does once the flag is READY.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum WaitThen: "leave or process" {
        /// Nothing.
        "leave" Leave,
        /// Processes the data (`super::process`) and sets PROCESSED.
        "process" Process,
    }
}

messages! {
    /// The `shm-waiter` peer's own command, besides the memory protocol.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum WaiterCommand: "a shm-waiter command" {
        /// `wait <spin|cond> <leave|process> <ms>` → `waiting` once it waits,
        /// then `ok <cpu_us> <wall_us> <loads|wakeups> <voluntary>
        /// <involuntary>` | `timeout flag <v>` | `err <errno> <text>`.
        "wait" Wait {
            how: WaitHow as OneOf,
            then: WaitThen as OneOf,
            ms: u64,
        },
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::testing::{refused, round_trip, round_trip_all};

    #[test]
    fn every_command_round_trips() {
        let all = [
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
        ];
        round_trip_all(all);
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
        let all = [
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
        ];
        round_trip_all(all);
        assert_eq!(MemAnswer::Ok(vec![1, 2]).to_string(), "ok 1 2");
    }

    #[test]
    fn waiter_commands_round_trip() {
        for how in [WaitHow::Spin, WaitHow::Cond] {
            for then in [WaitThen::Leave, WaitThen::Process] {
                round_trip(WaiterCommand::Wait {
                    how,
                    then,
                    ms: 2000,
                });
            }
        }
        assert_eq!(
            WaiterCommand::Wait {
                how: WaitHow::Cond,
                then: WaitThen::Process,
                ms: 2000
            }
            .to_string(),
            "wait cond process 2000"
        );
        refused::<WaiterCommand>(&[
            "",
            "wait spin leave",
            "wait sleep leave 10",
            "wait spin stay 10",
            "wait spin leave x",
        ]);
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

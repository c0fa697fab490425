//! The endpoint protocol of `ipcconf-peer endpoint ...`: the commands a test
//! process sends to a peer holding one end of a channel, and the peer's
//! answers, one line each (see the list in [`crate::peer`]). Both sides use
//! these types: the peer (`channel::serve_endpoint`) reads a [`Command`] and
//! writes an [`Answer`]; the controller ([`crate::peer::Peer::call`]) the
//! other way round.

use super::wire::{Commas, Hex, Rest, messages};

messages! {
    /// A command to an endpoint peer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Command: "an endpoint command" {
        /// `send <hex>`: one send of the bytes.
        "send" Send(data: Vec<u8> as Hex),
        /// `recv <max> <ms>`: one receive of at most `max` bytes, waiting at most
        /// `ms` milliseconds (0: without waiting).
        "recv" Recv { max: usize, ms: u64 },
        /// `queued <len,len,...> <ms>`: waits (at most `ms`) until messages of those
        /// lengths are all queued at this end (`channel::wait_all_queued`);
        /// receives nothing.
        "queued" Queued { lens: Vec<usize> as Commas, ms: u64 },
        /// `records <writer> <count> <size>`: sends `count` tagged records
        /// (`channel::record`).
        "records" Records { writer: u8, count: u16, size: usize },
        /// `recvfd <max>`: receives a message of at most `max` bytes and the
        /// descriptor it carries, and reads what that descriptor holds.
        "recvfd" RecvFd { max: usize },
        /// `quit`: the peer exits 0 (no answer).
        "quit" Quit,
    }
}

messages! {
    /// An endpoint peer's answer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Answer: "an endpoint answer" {
        /// `ok <n>`: bytes sent (`send`) or records sent (`records`).
        "ok" Ok(count: u64),
        /// `data <hex>`: what one receive returned.
        "data" Data(data: Vec<u8> as Hex),
        /// `eof`: the receive found the end of the stream.
        "eof" Eof,
        /// `empty`: nothing arrived in time.
        "empty" Empty,
        /// `err <errno> <text>`: the step failed (errno 0: not a system error).
        "err" Err { errno: i32, text: String as Rest },
        /// `queued <seen>`: everything is queued; what the count showed.
        "queued" Queued(seen: String as Rest),
        /// `short <seen>`: the bound passed with less queued.
        "short" Short(seen: String as Rest),
        /// `fd <payload hex> <content hex>`: a message with a descriptor, and the
        /// first bytes read from that descriptor.
        "fd" Fd { payload: Vec<u8> as Hex, content: Vec<u8> as Hex },
        /// `nofd <payload hex>`: a message without a descriptor.
        "nofd" NoFd(payload: Vec<u8> as Hex),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::testing::{refused, round_trip_all};

    #[test]
    fn every_command_round_trips() {
        let all = [
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
        ];
        round_trip_all(all);
        assert_eq!(
            Command::Send(b"ab".to_vec()).to_string(),
            "send 6162",
            "the wire form of send"
        );
    }

    #[test]
    fn every_answer_round_trips() {
        let all = [
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
        ];
        round_trip_all(all);
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

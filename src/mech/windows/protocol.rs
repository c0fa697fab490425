//! The line protocols of the Windows peer roles, typed: the line that hands a
//! peer a handle or a socket ([`Handover`]), the `win-afunix-server` role's
//! commands and answers, and the `win-crt-receiver` role's. Both sides write
//! them with `Display` and read them with `WireLine::from_line`.

use crate::peer::wire::{Hex, Rest, messages};

messages! {
    /// The first line a peer reads when its parent hands it a kernel handle or
    /// a Winsock socket (`super::Handover`, `super::take_handover`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum HandoverLine: "a handover line" {
        /// `handle <value>`: a handle duplicated into the peer (DuplicateHandle).
        "handle" Handle(value: usize),
        /// `socket <hex WSAPROTOCOL_INFOW>`: a socket duplicated for the peer
        /// (WSADuplicateSocketW).
        "socket" Socket(info: Vec<u8> as Hex),
    }
}

messages! {
    /// A command to the `win-afunix-server` peer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ServerCommand: "a win-afunix-server command" {
        /// `accept`: one connection (bounded), served with `served-by <pid>`.
        "accept" Accept,
        /// `give <pid>`: duplicates the listening socket for that process, then
        /// exits.
        "give" Give { pid: u32 },
        /// `quit`: the peer exits 0 (no answer).
        "quit" Quit,
    }
}

messages! {
    /// The `win-afunix-server` peer's answer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum ServerAnswer: "a win-afunix-server answer" {
        /// `ok <what>`: done (`accept`: `ok accepted`).
        "ok" Ok(what: String as Rest),
        /// `info <hex WSAPROTOCOL_INFOW>`: the listening socket, duplicated for
        /// the process `give` named.
        "info" Info(info: Vec<u8> as Hex),
        /// `err <text>`: the step failed.
        "err" Err(text: String as Rest),
    }
}

messages! {
    /// A command to the `win-crt-receiver` peer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ReceiverCommand: "a win-crt-receiver command" {
        /// `status`: the handler calls seen so far.
        "status" Status,
        /// `wait <ms>`: waits until a handler ran, at most `ms`, then as `status`.
        "wait" Wait { ms: u64 },
        /// `quit`: the peer exits 0 (no answer).
        "quit" Quit,
    }
}

messages! {
    /// The `win-crt-receiver` peer's answer.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum ReceiverAnswer: "a win-crt-receiver answer" {
        /// `got int=<n> break=<n> term=<n>`: the handler calls seen per signal.
        "got" Got { int: u32 = "int", brk: u32 = "break", term: u32 = "term" },
        /// `err <errno> <text>`: a line that is not a command (errno 0).
        "err" Err { errno: i32, text: String as Rest },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::testing::{refused, round_trip_all};

    #[test]
    fn handover_line_round_trips() {
        round_trip_all([
            HandoverLine::Handle(0x1234),
            HandoverLine::Socket(vec![0, 0xfe]),
        ]);
        let socket = HandoverLine::Socket(b"ab".to_vec());
        assert_eq!(socket.to_string(), "socket 6162");
        let bad = [
            "",
            "handle",
            "handle x",
            "handle 1 2",
            "socket zz",
            "sock 00",
        ];
        refused::<HandoverLine>(&bad);
    }

    #[test]
    fn server_protocol_round_trips() {
        let give = ServerCommand::Give { pid: 4242 };
        round_trip_all([ServerCommand::Accept, give, ServerCommand::Quit]);
        refused::<ServerCommand>(&["", "accept now", "give", "give x", "take"]);
        let err = ServerAnswer::Err("no connection to accept within 2s".into());
        round_trip_all([
            ServerAnswer::Ok("accepted".into()),
            ServerAnswer::Info(vec![7; 8]),
            err,
        ]);
        refused::<ServerAnswer>(&["", "info", "info 0", "done"]);
    }

    #[test]
    fn receiver_protocol_round_trips() {
        let wait = ReceiverCommand::Wait { ms: 2000 };
        round_trip_all([ReceiverCommand::Status, wait, ReceiverCommand::Quit]);
        refused::<ReceiverCommand>(&["", "wait", "wait x", "stat"]);
        let got = ReceiverAnswer::Got {
            int: 0,
            brk: 1,
            term: 0,
        };
        let text = "not a command".to_owned();
        round_trip_all([got, ReceiverAnswer::Err { errno: 0, text }]);
        refused::<ReceiverAnswer>(&["", "got int=1", "got int=x break=0 term=0", "err"]);
    }
}

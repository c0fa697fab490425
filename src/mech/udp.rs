//! UDP over loopback, for comparison with Unix datagram sockets: the adapter for
//! the matrix checks is the datagram channel of [`super::socket`] on
//! 127.0.0.1 (port 0, chosen by the kernel). Portable: std::net only.

use crate::channel::{Endpoint, Role};
use crate::mech::socket::{Family, Kind, SocketMechanism};

/// UDP on 127.0.0.1 as a `Mechanism`.
pub const MECHANISM: SocketMechanism = SocketMechanism {
    id: "udp",
    family: Family::Inet,
    kind: Kind::Dgram,
};

/// `endpoint udp <role> fd <reply-to>|127.0.0.1:<port>`.
pub fn open_remote(_role: Role, args: &[String]) -> Option<std::io::Result<Box<dyn Endpoint>>> {
    MECHANISM.open_remote(args)
}

pub fn peer_role(_role: &str, _args: &[String]) -> Option<Result<(), String>> {
    None
}

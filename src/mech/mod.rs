//! One module per mechanism: its `Mechanism` adapter for the matrix checks, its
//! peer roles, and the helpers its suite needs. Suites live in `suites/`.

pub mod pipe;
pub mod socket;
pub mod tcp;
pub mod udp;
pub mod unix_dgram;
pub mod unix_seqpacket;
pub mod unix_stream;

use crate::channel::{Endpoint, Role};

/// Opens an endpoint in a peer process (`ipcconf-peer endpoint <mech> <role> ...`).
/// `None` when this target has no adapter for the mechanism.
pub fn open_remote(
    mech: &str,
    role: Role,
    args: &[String],
) -> Option<std::io::Result<Box<dyn Endpoint>>> {
    match mech {
        "pipe" => pipe::open_remote(role, args),
        "unix_stream" => unix_stream::open_remote(role, args),
        "unix_dgram" => unix_dgram::open_remote(role, args),
        "unix_seqpacket" => unix_seqpacket::open_remote(role, args),
        "tcp" => tcp::open_remote(role, args),
        "udp" => udp::open_remote(role, args),
        _ => None,
    }
}

/// Mechanism-specific peer roles, named `<mechanism>-<role>`.
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    let (mech, _) = role.split_once('-')?;
    match mech {
        "pipe" => pipe::peer_role(role, args),
        "unix_stream" => unix_stream::peer_role(role, args),
        "unix_dgram" => unix_dgram::peer_role(role, args),
        "tcp" => tcp::peer_role(role, args),
        "udp" => udp::peer_role(role, args),
        _ => None,
    }
}

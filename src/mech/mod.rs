//! One module per mechanism: its `Mechanism` adapter for the matrix checks, its
//! peer roles, and the helpers its suite needs. Suites live in `suites/`.

pub mod fifo;
pub mod mmap_file;
pub mod newcomers;
pub mod pipe;
pub mod posix_mq;
pub mod posix_sem;
pub mod posix_shm;
pub mod process;
pub mod shm;
pub mod signal;
pub mod socket;
pub mod sysv_mq;
pub mod sysv_sem;
pub mod sysv_shm;
pub mod tcp;
pub mod udp;
pub mod unix_dgram;
pub mod unix_seqpacket;
pub mod unix_stream;
#[cfg(windows)]
pub mod windows;

use crate::channel::{Endpoint, Role};

/// Opens an endpoint in a peer process (`ipcconf-peer endpoint <mech> <role> ...`).
/// `None` when this target has no adapter for the mechanism.
pub fn open_remote(
    mech: &str,
    role: Role,
    args: &[String],
) -> Option<std::io::Result<Box<dyn Endpoint>>> {
    #[cfg(windows)]
    if let Some(r) = windows::open_remote(mech, role, args) {
        return Some(r);
    }
    match mech {
        "pipe" => pipe::open_remote(role, args),
        "posix_mq" => posix_mq::open_remote(role, args),
        "fifo" => fifo::open_remote(role, args),
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
    #[cfg(windows)]
    if let Some(r) = windows::peer_role(role, args) {
        return Some(r);
    }
    let (mech, _) = role.split_once('-')?;
    match mech {
        "pipe" => pipe::peer_role(role, args),
        "posix_mq" => posix_mq::peer_role(role, args),
        "sysv_mq" => sysv_mq::peer_role(role, args),
        "fifo" => fifo::peer_role(role, args),
        "process" => process::peer_role(role, args),
        "signal" => signal::peer_role(role, args),
        "pidfd" => newcomers::peer_role(role, args),
        "posix_shm" => posix_shm::peer_role(role, args),
        "sysv_shm" => sysv_shm::peer_role(role, args),
        "mmap_file" => mmap_file::peer_role(role, args),
        "posix_sem" => posix_sem::peer_role(role, args),
        "sysv_sem" => sysv_sem::peer_role(role, args),
        "shm" => shm::peer_role(role, args),
        "unix_stream" => unix_stream::peer_role(role, args),
        "unix_dgram" => unix_dgram::peer_role(role, args),
        "tcp" => tcp::peer_role(role, args),
        "udp" => udp::peer_role(role, args),
        "perf" => crate::perf::peer_role(role, args),
        _ => None,
    }
}

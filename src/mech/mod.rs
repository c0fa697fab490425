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
pub mod sysv_mq;
pub mod sysv_sem;
pub mod sysv_shm;
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
        _ => None,
    }
}

//! Shared memory in general, one job per file:
//! - `mapping`: the mapping every shared-memory mechanism of the suite works
//!   through (POSIX shm, System V shm, memory-mapped files);
//! - `protocol`: the memory peer protocol's commands and answers (below), and
//!   the own commands of the roles that serve it, typed;
//! - `memory_peer`: the memory peer, its serving side and the controller's
//!   calls to it;
//! - `spin`: bounded spinning and yielding on a shared word;
//! - `ipc_names`: POSIX IPC names: the guard that unlinks one, name-limit
//!   bisection;
//! - `usage` (Unix): CPU accounting through getrusage;
//! - `ffi` (Unix): process-shared pthread mutex and condition variable;
//! - `sync` (Unix): the shared sync block of the guide's example built on them;
//! - `roles` (Unix): the peer roles of the `shm.*` claims (the guide's "common
//!   mistakes" around shared memory);
//! - here: the flag values of the guide's example and SysV keys.
//!
//! Memory peer protocol (a peer that mapped a region, one line each way; offsets
//! and lengths in bytes, data hex (`-` for none), u32 values decimal):
//! - the peer first prints `ready <pid>`;
//! - `read <off> <len>` → `data <hex>` (volatile byte loads);
//! - `write <off> <hex>` → `ok <n>` (volatile byte stores);
//! - `store <off> <u32>` → `ok` (atomic store, release);
//! - `load <off>` → `value <u32>` (atomic load, acquire);
//! - `publish <data_off> <hex> <flag_off> <u32>` → `ok`: stores the bytes, then the
//!   flag (release), with no system call in between;
//! - `append <index_off> <slots_off> <slots> <writer> <count> <size> <arrive_off>
//!   <start_off> <ms>` → `ok <count>`: announces itself on `arrive_off` (fetch-add),
//!   spins until `start_off` is non-zero, then writes `count` records
//!   (`crate::channel::record`), each into a slot reserved with a fetch-add on
//!   `index_off`;
//! - `follow <seq_off> <slots_off> <count> <size> <arrive_off> <ack_off> <ms>` →
//!   `ok <whole> <torn> <observations>`: announces itself on `arrive_off`, then
//!   watches the sequence number at `seq_off` (acquire loads, yielding between
//!   them), checking each record
//!   (`crate::channel::record` of writer 0) as it appears and storing how many it
//!   has seen at `ack_off`, until `count` records were published;
//! - `fdprobe <off>` → `same <fd>` | `different <fd> <dev> <ino>` | `err <errno> <text>`
//!   (Unix):
//!   reads a descriptor number (u32 at `off`) and the device and inode (u64 at
//!   `off+8`, `off+16`) of the file it names in the writer, and fstat()s that
//!   number here;
//! - `sync` → `ok` (msync MS_SYNC);
//! - `quit` → the peer exits 0.
//!
//! A bound that passes is answered `timeout <what was seen>`; a line that is
//! not a command is answered `err 0 <why>`; an offset outside the mapping ends
//! the peer with an error. Roles add their own commands (see each role).

#[cfg(unix)]
mod ffi;
#[cfg(any(unix, windows))]
mod ipc_names;
#[cfg(any(unix, windows))]
mod mapping;
#[cfg(any(unix, windows))]
mod memory_peer;
#[cfg(any(unix, windows))]
mod protocol;
#[cfg(unix)]
mod roles;
#[cfg(any(unix, windows))]
mod spin;
#[cfg(unix)]
mod sync;
#[cfg(unix)]
mod usage;

#[cfg(unix)]
pub use ffi::PTHREAD_PROCESS_SHARED;
#[cfg(any(unix, windows))]
pub use ipc_names::*;
#[cfg(any(unix, windows))]
pub use mapping::*;
#[cfg(any(unix, windows))]
pub use memory_peer::*;
#[cfg(any(unix, windows))]
pub use protocol::*;
#[cfg(unix)]
pub use roles::*;
#[cfg(any(unix, windows))]
pub use spin::*;
#[cfg(unix)]
pub use sync::*;
#[cfg(unix)]
pub use usage::*;

#[cfg(not(unix))]
pub use crate::mech::no_peer_roles as peer_role;
#[cfg(any(unix, windows))]
pub use crate::peer::answer::{err_line, say};

/// The flag values of the guide's example.
pub const EMPTY: u32 = 0;
pub const READY: u32 = 1;
pub const PROCESSED: u32 = 2;

/// A fresh System V key with the suite's mark (see [`crate::names::sysv_key`]).
/// Callers create with IPC_EXCL and draw again on EEXIST, so a key already in
/// use is never taken over.
#[cfg(unix)]
pub fn ipc_key() -> libc::key_t {
    crate::names::sysv_key() as libc::key_t
}

//! One module per mechanism: its `Mechanism` adapter for the matrix checks, its
//! peer roles, and the helpers its suite needs. Suites live in `suites/`, each
//! with its claims beside it.
//!
//! [`REGISTRY`] lists every mechanism once: the peer program, the performance
//! harness and the report iterate over it.

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
/// On other targets, of the Windows module only its roles' line protocols
/// (`windows::protocol`: plain data, no Win32), so that their tests run and
/// their parsers are fuzzed on every host.
#[cfg(not(windows))]
pub mod windows {
    pub mod protocol;
}

use crate::channel::{Endpoint, Role};

/// Opens an endpoint of a mechanism in a peer process
/// (`ipcconf-peer endpoint <mechanism> <role> [args...]`).
pub type OpenRemote = fn(Role, &[String]) -> Option<std::io::Result<Box<dyn Endpoint>>>;

/// Serves a mechanism-specific peer role (`ipcconf-peer <prefix>-<role> ...`):
/// `None` when the role is not this mechanism's.
pub type PeerRole = fn(&str, &[String]) -> Option<Result<(), String>>;

/// The peer roles of a mechanism whose API this target lacks: none (the
/// registry's [`PeerRole`] for such a target).
pub fn no_peer_roles(_role: &str, _args: &[String]) -> Option<Result<(), String>> {
    None
}

/// The public face of a mechanism module whose API exists only where `$cfg`
/// holds: the items of its inner module `$imp` there, and elsewhere a
/// `peer_role` that serves none ([`no_peer_roles`]).
macro_rules! api_where {
    ($cfg:meta, $imp:ident) => {
        /// No peer roles where the API is missing.
        #[cfg(not($cfg))]
        pub use $crate::mech::no_peer_roles as peer_role;
        #[cfg($cfg)]
        pub use $imp::*;
    };
}
pub(crate) use api_where;

/// One pair of measuring processes of the performance harness: its id (claim
/// `perf.latency_<id>`, peer argument) and its label in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerfPair {
    pub id: &'static str,
    pub label: &'static str,
}

/// One mechanism: everything the rest of the crate needs to know of it.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The catalog's mechanism id: claim ids start with `<id>.`.
    pub id: &'static str,
    /// Its name in the report.
    pub label: &'static str,
    /// The test target (`suites/<suite>.rs`, claims in `suites/<suite>.toml`).
    pub suite: &'static str,
    /// The peer roles it serves, `<prefix>-<role>`, one prefix each.
    pub role_prefixes: &'static [&'static str],
    pub peer_role: Option<PeerRole>,
    /// The endpoint adapter a peer opens for the characteristics matrix.
    pub open_remote: Option<OpenRemote>,
    /// What the performance harness measures of it, in report order.
    pub perf: &'static [PerfPair],
}

impl Entry {
    const fn new(id: &'static str, label: &'static str, suite: &'static str) -> Entry {
        Entry {
            id,
            label,
            suite,
            role_prefixes: &[],
            peer_role: None,
            open_remote: None,
            perf: &[],
        }
    }

    const fn roles(mut self, prefixes: &'static [&'static str], f: PeerRole) -> Entry {
        self.role_prefixes = prefixes;
        self.peer_role = Some(f);
        self
    }

    const fn endpoint(mut self, f: OpenRemote) -> Entry {
        self.open_remote = Some(f);
        self
    }

    const fn perf(mut self, pairs: &'static [PerfPair]) -> Entry {
        self.perf = pairs;
        self
    }

    /// Whether `role` (`<prefix>-...`) is one of this mechanism's peer roles.
    pub fn serves(&self, role: &str) -> bool {
        self.role_prefixes.iter().any(|p| {
            role.strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('-'))
        })
    }
}

const fn pair(id: &'static str, label: &'static str) -> PerfPair {
    PerfPair { id, label }
}

cfg_if::cfg_if! {
    if #[cfg(windows)] {
        // The Windows adapters: anonymous pipes, named pipes, AF_UNIX through
        // Winsock, the C runtime's signals.
        const PIPE_ENDPOINT: Option<OpenRemote> = Some(windows::open_remote_pipe);
        const PIPE_ROLES: &[&str] = &["pipe", "win-pipe"];
        const PIPE_ROLE_FN: PeerRole = |r, a| windows::peer_role(r, a).or_else(|| pipe::peer_role(r, a));
        const UNIX_STREAM_ENDPOINT: Option<OpenRemote> = Some(windows::open_remote_unix_stream);
        const UNIX_STREAM_ROLES: &[&str] = &["unix_stream", "win-afunix"];
        const UNIX_STREAM_ROLE_FN: PeerRole =
            |r, a| windows::peer_role(r, a).or_else(|| unix_stream::peer_role(r, a));
        const SIGNAL_ROLES: &[&str] = &["signal", "win-crt"];
        const SIGNAL_ROLE_FN: PeerRole = |r, a| windows::peer_role(r, a).or_else(|| signal::peer_role(r, a));
        const NAMED_PIPE_ENDPOINT: Option<OpenRemote> = Some(windows::open_remote_named_pipe);
    } else {
        const PIPE_ENDPOINT: Option<OpenRemote> = Some(pipe::open_remote);
        const PIPE_ROLES: &[&str] = &["pipe"];
        const PIPE_ROLE_FN: PeerRole = pipe::peer_role;
        const UNIX_STREAM_ENDPOINT: Option<OpenRemote> = Some(unix_stream::open_remote);
        const UNIX_STREAM_ROLES: &[&str] = &["unix_stream"];
        const UNIX_STREAM_ROLE_FN: PeerRole = unix_stream::peer_role;
        const SIGNAL_ROLES: &[&str] = &["signal"];
        const SIGNAL_ROLE_FN: PeerRole = signal::peer_role;
        const NAMED_PIPE_ENDPOINT: Option<OpenRemote> = None;
    }
}

const fn with_endpoint(e: Entry, f: Option<OpenRemote>) -> Entry {
    match f {
        Some(f) => e.endpoint(f),
        None => e,
    }
}

/// Every mechanism of the catalog. The order is the report's: the performance
/// pairs are listed in it (the kernel-mediated ones first, then eventfd, then
/// the shared-memory experiments).
pub static REGISTRY: &[Entry] = &[
    with_endpoint(Entry::new("pipe", "Anonymous pipe", "pipe"), PIPE_ENDPOINT)
        .roles(PIPE_ROLES, PIPE_ROLE_FN)
        .perf(&[pair("pipe", "pipe")]),
    Entry::new("fifo", "Named pipe (FIFO)", "fifo")
        .endpoint(fifo::open_remote)
        .roles(&["fifo"], fifo::peer_role)
        .perf(&[pair("fifo", "FIFO")]),
    with_endpoint(
        Entry::new("unix_stream", "Unix domain socket (stream)", "unix_stream"),
        UNIX_STREAM_ENDPOINT,
    )
    .roles(UNIX_STREAM_ROLES, UNIX_STREAM_ROLE_FN)
    .perf(&[pair("unix_stream", "Unix stream")]),
    Entry::new("unix_dgram", "Unix domain socket (datagram)", "unix_dgram")
        .endpoint(unix_dgram::open_remote)
        .roles(&["unix_dgram"], unix_dgram::peer_role)
        .perf(&[pair("unix_dgram", "Unix datagram")]),
    Entry::new(
        "unix_seqpacket",
        "Unix domain socket (seqpacket)",
        "unix_seqpacket",
    )
    .endpoint(unix_seqpacket::open_remote)
    .perf(&[pair("unix_seqpacket", "Unix seqpacket")]),
    Entry::new("tcp", "TCP loopback", "tcp")
        .endpoint(tcp::open_remote)
        .perf(&[pair("tcp", "TCP loopback")]),
    Entry::new("udp", "UDP loopback", "udp")
        .endpoint(udp::open_remote)
        .perf(&[pair("udp", "UDP loopback")]),
    Entry::new("posix_mq", "POSIX message queue", "posix_mq")
        .endpoint(posix_mq::open_remote)
        .roles(&["posix_mq"], posix_mq::peer_role)
        .perf(&[pair("posix_mq", "POSIX MQ")]),
    Entry::new("sysv_mq", "System V message queue", "sysv_mq")
        .roles(&["sysv_mq"], sysv_mq::peer_role)
        .perf(&[pair("sysv_mq", "System V MQ")]),
    Entry::new("eventfd", "eventfd", "eventfd").perf(&[pair("eventfd", "eventfd")]),
    Entry::new("posix_shm", "POSIX shared memory", "posix_shm")
        .roles(&["posix_shm"], posix_shm::peer_role),
    Entry::new("sysv_shm", "System V shared memory", "sysv_shm")
        .roles(&["sysv_shm"], sysv_shm::peer_role),
    Entry::new("mmap_file", "Memory-mapped file", "mmap_file")
        .roles(&["mmap_file"], mmap_file::peer_role),
    Entry::new("shm", "Shared memory (synchronisation)", "shm")
        .roles(&["shm"], shm::peer_role)
        .perf(&[
            pair("shm_spin", "shm + spin"),
            pair("shm_futex", "shm + futex"),
            pair("shm_condvar", "shm + condvar"),
            pair("shm_ring", "shm ring buffer"),
        ]),
    Entry::new("posix_sem", "POSIX semaphore", "posix_sem")
        .roles(&["posix_sem"], posix_sem::peer_role),
    Entry::new("sysv_sem", "System V semaphore", "sysv_sem")
        .roles(&["sysv_sem"], sysv_sem::peer_role),
    Entry::new("signal", "Signals", "signal").roles(SIGNAL_ROLES, SIGNAL_ROLE_FN),
    Entry::new("process", "Processes", "process").roles(&["process"], process::peer_role),
    Entry::new("pidfd", "pidfd", "linux_newcomers").roles(&["pidfd"], newcomers::peer_role),
    Entry::new("memfd", "memfd", "linux_newcomers"),
    Entry::new("io_uring", "io_uring", "linux_newcomers"),
    Entry::new("futex", "futex", "linux_newcomers"),
    Entry::new("landlock", "Landlock", "linux_newcomers")
        .roles(&["landlock"], newcomers::peer_role),
    with_endpoint(
        Entry::new("win_named_pipe", "Windows named pipe", "win_named_pipe"),
        NAMED_PIPE_ENDPOINT,
    ),
];

/// The registry entry of mechanism `id`.
pub fn entry(id: &str) -> Option<&'static Entry> {
    REGISTRY.iter().find(|e| e.id == id)
}

/// The entry whose peer roles include `role`.
pub fn serving(role: &str) -> Option<&'static Entry> {
    REGISTRY.iter().find(|e| e.serves(role))
}

/// Every performance pair, in report order.
pub fn perf_pairs() -> impl Iterator<Item = &'static PerfPair> {
    REGISTRY.iter().flat_map(|e| e.perf.iter())
}

#[cfg(test)]
mod tests;

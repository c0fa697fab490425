//! Sockets, shared by the five socket mechanisms (`unix_stream`, `unix_dgram`,
//! `unix_seqpacket`, `tcp`, `udp`): addresses, connected and datagram endpoints
//! over std's socket types, the channels behind the matrix checks, and the
//! Unix-only helpers (descriptor passing, socketpair, urgent data).
//!
//! Channel layout, as the matrix checks see it:
//! - stream (`unix_stream`, `tcp`): a listener bound to a fresh name and one
//!   connection made at creation (client end, accepted end). `open(Sender)` is
//!   the client end. `open(Receiver)` is the server: the accepted end plus every
//!   connection the listener accepts later, all watched together (one poll set),
//!   so several writer processes each connect by name ("sockets support multiple
//!   connections"). A receiving peer gets the accepted end handed over, so
//!   several receiving peers share one connection; a sending peer connects by
//!   name and has its own connection.
//! - datagram (`unix_dgram`, `udp`): a receiving socket bound to a fresh name R
//!   and a sending socket bound to T and connected to R. The receiving end's
//!   own sends go to T; a receiving peer gets R handed over; a sending peer makes
//!   its own socket and connects it to R by name.
//!
//! "Handed over" means descriptor inheritance on Unix (`PeerCommand::handover`)
//! and WSADuplicateSocket on Windows (`win::offer`, `win::adopt`).
//!
//! The files: this one holds addresses and what every socket type shares;
//! `conn` the connected and listening stream sockets, `stream` the stream
//! endpoints and channel, `watch` (Unix) the server's poll set, `dgram` the
//! datagram socket, endpoint and channel, `mechanism` the `Mechanism` and both
//! sides of a handover to a peer, `unix` the Unix-only helpers, `win` the
//! Winsock calls std lacks.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::watchdog::BOUND;

/// One `match` arm per variant of a socket enum (`$ty { $inet, $unix }`, the
/// second on Unix only), binding the socket to `$s` and the variant's
/// constructor to `$wrap`.
macro_rules! each {
    ($self:expr, $ty:ident { $inet:ident, $unix:ident }, ($wrap:ident, $s:ident) => $body:expr) => {
        match $self {
            $ty::$inet($s) => {
                #[allow(unused_variables)]
                let $wrap = $ty::$inet;
                $body
            }
            #[cfg(unix)]
            $ty::$unix($s) => {
                #[allow(unused_variables)]
                let $wrap = $ty::$unix;
                $body
            }
        }
    };
    ($self:expr, $ty:ident { $inet:ident, $unix:ident }, $s:ident => $body:expr) => {
        each!($self, $ty { $inet, $unix }, (_wrap, $s) => $body)
    };
}

/// `AsFd` (Unix) or `AsSocket` (Windows) for a socket enum: the socket of
/// whichever variant it is.
macro_rules! as_sock {
    ($ty:ident { $inet:ident, $unix:ident }) => {
        #[cfg(unix)]
        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                each!(self, $ty { $inet, $unix }, s => s.as_fd())
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsSocket for $ty {
            fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
                each!(self, $ty { $inet, $unix }, s => s.as_socket())
            }
        }
    };
}

mod conn;
mod dgram;
mod mechanism;
mod stream;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
mod watch;
#[cfg(windows)]
mod win;

pub use conn::{Conn, Listener};
pub use dgram::{Dgram, DgramChannel, DgramEndpoint, UDP_RCVBUF};
pub use mechanism::{Kind, SocketMechanism, open_remote_dgram, open_remote_stream};
pub use stream::{ServerEndpoint, StreamChannel, StreamEndpoint, recv_exact};
#[cfg(unix)]
pub use unix::{buffer_sizes, recv_with_fd, send_with_fd, set_cloexec, socket, socketpair};
/// setsockopt with an int value on a Winsock socket.
#[cfg(windows)]
pub use win::set_int_option;

// A socket as the platform names it: a descriptor on Unix, a SOCKET on Windows.
#[cfg(unix)]
use std::os::fd::{AsFd as AsSock, BorrowedFd as BorrowedSock, OwnedFd as OwnedSock};
#[cfg(windows)]
use std::os::windows::io::{
    AsSocket as AsSock, BorrowedSocket as BorrowedSock, OwnedSocket as OwnedSock,
};

/// The descriptor (Unix) or SOCKET (Windows) of `s`.
fn sock<T: AsSock>(s: &T) -> BorrowedSock<'_> {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            s.as_fd()
        } else {
            s.as_socket()
        }
    }
}

/// The address family of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// AF_UNIX, named by a path (or a Linux abstract name).
    Unix,
    /// AF_INET on the loopback address, port chosen by the kernel.
    Inet,
}

/// A socket name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// A filesystem path (AF_UNIX).
    Path(PathBuf),
    /// A Linux abstract name (AF_UNIX, first `sun_path` byte NUL), written `@name`.
    Abstract(Vec<u8>),
    /// An IPv4 address and port.
    Inet(std::net::SocketAddr),
}

impl Addr {
    /// 127.0.0.1 with port 0: the kernel picks a free port at bind time.
    pub fn loopback() -> Addr {
        Addr::Inet(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The name a peer is given: the path, `@name`, or `127.0.0.1:port`.
    pub fn name(&self) -> String {
        match self {
            Addr::Path(p) => p.display().to_string(),
            Addr::Abstract(n) => format!("@{}", String::from_utf8_lossy(n)),
            Addr::Inet(a) => a.to_string(),
        }
    }

    /// Parses a name given to a peer.
    pub fn parse(family: Family, s: &str) -> io::Result<Addr> {
        match family {
            Family::Unix => Ok(match s.strip_prefix('@') {
                Some(n) => Addr::Abstract(n.as_bytes().to_vec()),
                None => Addr::Path(PathBuf::from(s)),
            }),
            Family::Inet => s
                .parse()
                .map(Addr::Inet)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{s:?}: {e}"))),
        }
    }
}

/// The error for an AF_UNIX operation on a target whose std has no AF_UNIX.
#[cfg(not(unix))]
fn no_unix() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("no AF_UNIX API on {}", crate::platform::TARGET),
    )
}

#[cfg(unix)]
fn unix_sockaddr(addr: &Addr) -> io::Result<std::os::unix::net::SocketAddr> {
    match addr {
        Addr::Path(p) => std::os::unix::net::SocketAddr::from_pathname(p),
        Addr::Abstract(name) => {
            cfg_if::cfg_if! {
                if #[cfg(any(target_os = "linux", target_os = "android"))] {
                    #[cfg(target_os = "android")]
                    use std::os::android::net::SocketAddrExt;
                    #[cfg(target_os = "linux")]
                    use std::os::linux::net::SocketAddrExt;
                    std::os::unix::net::SocketAddr::from_abstract_name(name)
                } else {
                    let _ = name;
                    Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        format!("no abstract-namespace address API on {}", crate::platform::TARGET),
                    ))
                }
            }
        }
        Addr::Inet(a) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{a} is not an AF_UNIX address"),
        )),
    }
}

/// Mode 0600 on a socket file this process bound (CONTRIBUTING.md rule 5).
#[cfg(unix)]
pub fn restrict(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// Binds a socket to `addr`: `inet` binds an IP address and says which port
/// the kernel chose; `unix` (Unix only) binds an AF_UNIX address, and a path
/// then gets mode 0600 (CONTRIBUTING.md rule 5). Returns the socket and the bound address.
fn bind<T>(
    addr: &Addr,
    inet: impl FnOnce(&std::net::SocketAddr) -> io::Result<(std::net::SocketAddr, T)>,
    #[cfg(unix)] unix: impl FnOnce(&std::os::unix::net::SocketAddr) -> io::Result<T>,
) -> io::Result<(T, Addr)> {
    match addr {
        Addr::Inet(a) => {
            let (bound, sock) = inet(a)?;
            Ok((sock, Addr::Inet(bound)))
        }
        #[cfg(unix)]
        other => {
            let sock = unix(&unix_sockaddr(other)?)?;
            if let Addr::Path(p) = other {
                restrict(p)?;
            }
            Ok((sock, other.clone()))
        }
        #[cfg(not(unix))]
        _ => Err(no_unix()),
    }
}

/// What a wait is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    Read,
    Write,
}

/// Waits at most `bound` for `interest` on one socket; true when ready.
fn wait(sock: BorrowedSock<'_>, interest: Interest, bound: Duration) -> io::Result<bool> {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            use nix::poll::PollFlags;
            let flags = match interest {
                Interest::Read => PollFlags::POLLIN,
                Interest::Write => PollFlags::POLLOUT,
            };
            crate::channel::fd::wait(sock, flags, bound)
        } else {
            use std::os::windows::io::AsRawSocket;
            win::wait_one(sock.as_raw_socket(), interest, bound)
        }
    }
}

fn is_retry(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("{what} within {BOUND:?}"))
}

/// One call on a non-blocking socket: `None` when it would block, retried
/// when interrupted.
fn try_io<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<Option<T>> {
    loop {
        match call() {
            Ok(n) => return Ok(Some(n)),
            Err(e) if would_block(&e) => return Ok(None),
            Err(e) if is_retry(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Writes all of `msg` with `write` on a non-blocking socket, waiting with
/// `writable` (given the time left) for room; bounded by `BOUND` in all.
pub fn write_all_bounded(
    msg: &[u8],
    mut write: impl FnMut(&[u8]) -> io::Result<usize>,
    mut writable: impl FnMut(Duration) -> io::Result<bool>,
) -> io::Result<usize> {
    let deadline = Instant::now() + BOUND;
    let mut done = 0;
    while done < msg.len() {
        match write(&msg[done..]) {
            Ok(n) => done += n,
            Err(e) if would_block(&e) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if !writable(left)? {
                    return Err(timed_out("no room to write"));
                }
            }
            Err(e) if is_retry(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

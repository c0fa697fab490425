//! Unix domain datagram sockets: the adapter for the matrix checks (shared with
//! UDP in [`super::socket`]), the connectionless sender peer role, and the
//! datagram-size measurement.

use crate::channel::{Endpoint, Role};
use crate::mech::socket::{Family, Kind, SocketMechanism};

/// AF_UNIX SOCK_DGRAM as a `Mechanism`.
pub const MECHANISM: SocketMechanism = SocketMechanism {
    id: "unix_dgram",
    family: Family::Unix,
    kind: Kind::Dgram,
};

/// `endpoint unix_dgram <role> fd <reply-to>|<path>` (Unix only).
pub fn open_remote(_role: Role, args: &[String]) -> Option<std::io::Result<Box<dyn Endpoint>>> {
    MECHANISM.open_remote(args)
}

/// Peer roles:
/// - `unix_dgram-sendto <path> <tag> <count>`: an unbound, unconnected socket
///   sends `count` datagrams `<tag>:<i>` to `path` with sendto() (blocking,
///   bounded by SO_SNDTIMEO; ENOBUFS retried within the bound) and prints
///   `sent <count> (<k> retries after ENOBUFS)` or `err <errno> ...`.
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    match (role, args) {
        #[cfg(unix)]
        ("unix_dgram-sendto", [path, tag, count]) => Some(sendto_role(path, tag, count)),
        _ => None,
    }
}

#[cfg(unix)]
fn sendto_role(path: &str, tag: &str, count: &str) -> Result<(), String> {
    use std::io::Write;
    let count: usize = count.parse().map_err(|e| format!("count: {e}"))?;
    let sock = std::os::unix::net::UnixDatagram::unbound().map_err(|e| e.to_string())?;
    sock.set_write_timeout(Some(crate::watchdog::BOUND))
        .map_err(|e| e.to_string())?;
    // A full receiver blocks the sender on Linux (bounded by SO_SNDTIMEO); on
    // the BSDs and macOS the send fails with ENOBUFS instead: try again, bounded.
    let deadline = std::time::Instant::now() + crate::watchdog::BOUND;
    let mut retries = 0;
    let mut answer = String::new();
    let mut i = 0;
    while i < count {
        match sock.send_to(datagram(tag, i).as_bytes(), path) {
            Ok(_) => i += 1,
            Err(e)
                if e.raw_os_error() == Some(libc::ENOBUFS)
                    && std::time::Instant::now() < deadline =>
            {
                retries += 1;
                std::thread::yield_now();
            }
            Err(e) => {
                answer = format!(
                    "err {} after {i} datagrams",
                    crate::observe::describe_io_error(&e)
                );
                break;
            }
        }
    }
    if answer.is_empty() {
        answer = format!("sent {count} ({retries} retries after ENOBUFS)");
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{answer}")
        .and_then(|_| out.flush())
        .map_err(|e| e.to_string())
}

/// The `i`th datagram of sender `tag`: `<tag>:<i>:` padded to 48 bytes with dots.
pub fn datagram(tag: &str, i: usize) -> String {
    let mut d = format!("{tag}:{i}:");
    while d.len() < 48 {
        d.push('.');
    }
    d
}

#[cfg(unix)]
pub use unix::*;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::fd::{AsRawFd, OwnedFd};

    use nix::errno::Errno;
    use nix::sys::socket::{MsgFlags, SockType, recv, send};

    /// How the largest accepted datagram was found.
    #[derive(Debug, Clone)]
    pub struct MaxDatagram {
        /// The largest size one send() accepted.
        pub max: usize,
        /// The smallest size refused, and with what.
        pub refused_at: usize,
        pub refused_with: String,
        pub sndbuf: usize,
        pub rcvbuf: usize,
    }

    /// Does one send() of `size` bytes on `tx` go through? Drains `rx` after.
    fn accepted(
        tx: &OwnedFd,
        rx: &OwnedFd,
        size: usize,
        buf: &mut [u8],
    ) -> io::Result<Result<(), Errno>> {
        match send(tx.as_raw_fd(), &buf[..size], MsgFlags::MSG_DONTWAIT) {
            Ok(n) if n == size => {
                let got = recv(rx.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT)?;
                if got != size {
                    return Err(io::Error::other(format!(
                        "sent {size} bytes, received a datagram of {got}"
                    )));
                }
                Ok(Ok(()))
            }
            Ok(n) => Err(io::Error::other(format!(
                "send of {size} bytes returned {n}"
            ))),
            Err(e @ (Errno::EMSGSIZE | Errno::ENOBUFS | Errno::EAGAIN)) => Ok(Err(e)),
            Err(e) => Err(e.into()),
        }
    }

    /// Bisects the largest datagram one send() on a fresh SOCK_DGRAM socketpair
    /// accepts, with the buffer sizes it has (optionally SO_SNDBUF/SO_RCVBUF
    /// raised to `raise_to` first, as far as the system allows).
    pub fn max_datagram(raise_to: Option<usize>) -> io::Result<MaxDatagram> {
        use nix::sys::socket::{setsockopt, sockopt};
        let (tx, rx) = crate::mech::socket::socketpair(SockType::Datagram)?;
        if let Some(size) = raise_to {
            // Refusals are fine: the sizes read back below are what counts.
            let _ = setsockopt(&tx, sockopt::SndBuf, &size);
            let _ = setsockopt(&rx, sockopt::RcvBuf, &size);
        }
        let (sndbuf, _) = crate::mech::socket::buffer_sizes(std::os::fd::AsFd::as_fd(&tx))?;
        let (_, rcvbuf) = crate::mech::socket::buffer_sizes(std::os::fd::AsFd::as_fd(&rx))?;
        // Doubling finds a refused size, bisection the boundary below it.
        const CEILING: usize = 64 << 20;
        let mut buf = vec![0x5au8; 1024];
        let mut lo = 0; // largest size known accepted
        let mut hi = 1024; // next size to try, then smallest size known refused
        let mut refused_with;
        loop {
            if hi > CEILING {
                return Err(io::Error::other(format!(
                    "a {lo}-byte datagram was accepted"
                )));
            }
            buf.resize(hi, 0x5a);
            match accepted(&tx, &rx, hi, &mut buf)? {
                Ok(()) => {
                    lo = hi;
                    hi *= 2;
                }
                Err(e) => {
                    refused_with = format!("{e:?}");
                    break;
                }
            }
        }
        if lo == 0 {
            return Err(io::Error::other(format!(
                "a 1 KiB datagram was refused: {refused_with}"
            )));
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            match accepted(&tx, &rx, mid, &mut buf)? {
                Ok(()) => lo = mid,
                Err(e) => {
                    hi = mid;
                    refused_with = format!("{e:?}");
                }
            }
        }
        Ok(MaxDatagram {
            max: lo,
            refused_at: hi,
            refused_with,
            sndbuf,
            rcvbuf,
        })
    }
}

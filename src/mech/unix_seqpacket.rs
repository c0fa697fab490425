//! Unix domain sequenced-packet sockets: connection semantics with message
//! boundaries. std has no SOCK_SEQPACKET type, so these go through nix; a
//! connected socket is an ordinary descriptor endpoint (`FdEndpoint`).

use crate::channel::{Endpoint, Role};

/// `endpoint unix_seqpacket <role> fd|<path>`: the handed-over descriptor 3, or
/// a new socket connected to the path.
pub fn open_remote(_role: Role, args: &[String]) -> Option<std::io::Result<Box<dyn Endpoint>>> {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            use crate::channel::fd::FdEndpoint;
            Some((|| {
                let fd = match args {
                    [fd] if fd == "fd" => crate::sys::take_handed_over_fd(3)?,
                    [path] => connect(std::path::Path::new(path))?,
                    _ => return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "expected `fd` or a path")),
                };
                Ok(Box::new(FdEndpoint::new(fd)?) as Box<dyn Endpoint>)
            })())
        } else {
            let _ = args;
            None
        }
    }
}

#[cfg(unix)]
pub use unix::*;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::path::Path;
    use std::time::Duration;

    use nix::sys::socket::{AddressFamily, Backlog, SockType, UnixAddr, bind, listen};

    use crate::mech::socket::{restrict, socket};

    /// A SOCK_SEQPACKET listener bound to `path` (mode 0600).
    pub fn listen_at(path: &Path) -> io::Result<OwnedFd> {
        let fd = socket(AddressFamily::Unix, SockType::SeqPacket)?;
        bind(fd.as_raw_fd(), &UnixAddr::new(path)?)?;
        restrict(path)?;
        listen(&fd, Backlog::new(8)?)?;
        Ok(fd)
    }

    /// A SOCK_SEQPACKET socket connected to `path`.
    pub fn connect(path: &Path) -> io::Result<OwnedFd> {
        let fd = socket(AddressFamily::Unix, SockType::SeqPacket)?;
        nix::sys::socket::connect(fd.as_raw_fd(), &UnixAddr::new(path)?)?;
        Ok(fd)
    }

    /// Accepts one connection within `bound`; `None` when none came.
    pub fn accept_within(listener: &OwnedFd, bound: Duration) -> io::Result<Option<OwnedFd>> {
        use std::os::fd::AsFd;
        if !crate::channel::fd::wait(listener.as_fd(), nix::poll::PollFlags::POLLIN, bound)? {
            return Ok(None);
        }
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
                let raw = nix::sys::socket::accept4(listener.as_raw_fd(), nix::sys::socket::SockFlag::SOCK_CLOEXEC)?;
                // SAFETY: accept4() has just returned this new descriptor; nothing else owns it.
                Ok(Some(unsafe { OwnedFd::from_raw_fd(raw) }))
            } else {
                // No accept4 here: set the flag right after (as crate::sys::pipe does).
                let raw = nix::sys::socket::accept(listener.as_raw_fd())?;
                // SAFETY: accept() has just returned this new descriptor; nothing else owns it.
                let fd = unsafe { OwnedFd::from_raw_fd(raw) };
                crate::mech::socket::set_cloexec(fd.as_fd())?;
                Ok(Some(fd))
            }
        }
    }
}

//! Connected and listening stream sockets (TCP, AF_UNIX SOCK_STREAM) over std's
//! types: connect, bind, accept, bounded waits and writes, urgent data, and the
//! bytes queued.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

#[cfg(unix)]
use std::os::fd::AsFd;
#[cfg(unix)]
use std::os::unix::net::{UnixListener, UnixStream};
#[cfg(windows)]
use std::os::windows::io::AsRawSocket;

#[cfg(windows)]
use super::win;
use super::{Addr, Family, Interest, OwnedSock};
use crate::watchdog::BOUND;

/// A connected stream socket (TCP or AF_UNIX SOCK_STREAM).
#[derive(Debug)]
pub enum Conn {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

as_sock!(Conn { Tcp, Unix });

impl Conn {
    /// Connects to `addr` (TCP connects are bounded).
    pub fn connect(addr: &Addr) -> io::Result<Conn> {
        match addr {
            Addr::Inet(a) => Ok(Conn::Tcp(TcpStream::connect_timeout(a, BOUND)?)),
            #[cfg(unix)]
            other => Ok(Conn::Unix(UnixStream::connect_addr(
                &super::unix_sockaddr(other)?,
            )?)),
            #[cfg(not(unix))]
            _ => Err(super::no_unix()),
        }
    }

    /// A connected socket handed over to this process (a descriptor on Unix,
    /// a socket from WSADuplicateSocket on Windows).
    pub fn from_handed(family: Family, sock: OwnedSock) -> Conn {
        match family {
            Family::Inet => Conn::Tcp(TcpStream::from(sock)),
            #[cfg(unix)]
            Family::Unix => Conn::Unix(UnixStream::from(sock)),
            #[cfg(not(unix))]
            Family::Unix => Conn::Tcp(TcpStream::from(sock)),
        }
    }

    /// The TCP stream inside, if this is one.
    pub fn into_tcp(self) -> Result<TcpStream, Conn> {
        match self {
            Conn::Tcp(s) => Ok(s),
            #[cfg(unix)]
            other => Err(other),
        }
    }

    /// Whether `client` is the other end of this accepted connection. Loopback
    /// TCP has no access control, so another local user could connect to a
    /// listener first; the accepted end of a TCP connection must come from the
    /// client's own address and port. (An AF_UNIX path lives in the check's
    /// private 0700 directory: nobody else can reach it.)
    pub fn is_peer_of(&self, client: &Conn) -> bool {
        match (self, client) {
            (Conn::Tcp(a), Conn::Tcp(c)) => {
                matches!((a.peer_addr(), c.local_addr()), (Ok(p), Ok(l)) if p == l)
            }
            #[cfg(unix)]
            _ => true,
        }
    }

    pub fn try_clone(&self) -> io::Result<Conn> {
        Ok(each!(self, Conn { Tcp, Unix }, (wrap, s) => wrap(s.try_clone()?)))
    }

    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        each!(self, Conn { Tcp, Unix }, s => s.set_nonblocking(on))
    }

    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        each!(self, Conn { Tcp, Unix }, s => { let mut r: &_ = s; r.read(buf) })
    }

    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        each!(self, Conn { Tcp, Unix }, s => { let mut w: &_ = s; w.write(buf) })
    }

    /// Waits at most `bound` for `interest`; true when ready.
    pub fn wait(&self, interest: Interest, bound: Duration) -> io::Result<bool> {
        super::wait(super::sock(self), interest, bound)
    }

    #[cfg(windows)]
    pub(super) fn raw(&self) -> std::os::windows::io::RawSocket {
        super::sock(self).as_raw_socket()
    }

    /// Writes all of `msg`, waiting (bounded) for room: the socket is non-blocking.
    pub fn write_all_bounded(&self, msg: &[u8]) -> io::Result<usize> {
        super::write_all_bounded(
            msg,
            |rest| self.write(rest),
            |left| self.wait(Interest::Write, left),
        )
    }

    /// Receives without waiting; urgent (out-of-band) data first, where the
    /// socket has some pending: that is the stream's only way to send ahead.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        if let Some(n) = self.try_recv_urgent(buf)? {
            return Ok(Some(n));
        }
        super::try_io(|| self.read(buf))
    }

    /// Pending urgent data (POLLPRI), received with MSG_OOB.
    pub fn try_recv_urgent(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
                use nix::sys::socket::{MsgFlags, recv};
                use std::os::fd::AsRawFd;
                let mut fds = [PollFd::new(self.as_fd(), PollFlags::POLLPRI)];
                poll(&mut fds, PollTimeout::ZERO)?;
                if !fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLPRI)) {
                    return Ok(None);
                }
                match recv(self.as_fd().as_raw_fd(), buf, MsgFlags::MSG_OOB | MsgFlags::MSG_DONTWAIT) {
                    Ok(n) => Ok(Some(n)),
                    Err(nix::errno::Errno::EINVAL | nix::errno::Errno::EAGAIN) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            } else {
                win::try_recv_urgent(self.raw(), buf)
            }
        }
    }

    /// Bytes queued for reading (FIONREAD).
    pub fn queued(&self) -> io::Result<usize> {
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                crate::channel::fd::fionread(self.as_fd())
            } else {
                win::fionread(self.raw())
            }
        }
    }

    /// Sends `msg` as urgent (out-of-band) data: MSG_OOB.
    pub fn send_urgent(&self, msg: &[u8]) -> io::Result<usize> {
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                use nix::sys::socket::{MsgFlags, send};
                use std::os::fd::AsRawFd;
                Ok(send(self.as_fd().as_raw_fd(), msg, MsgFlags::MSG_OOB)?)
            } else {
                win::send_urgent(self.raw(), msg)
            }
        }
    }
}

/// A listening stream socket.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

as_sock!(Listener { Tcp, Unix });

impl Listener {
    /// Binds and listens; a path gets mode 0600. Returns the bound address (the
    /// kernel's port for TCP).
    pub fn bind(addr: &Addr) -> io::Result<(Listener, Addr)> {
        super::bind(
            addr,
            |a| TcpListener::bind(a).and_then(|l| Ok((l.local_addr()?, Listener::Tcp(l)))),
            #[cfg(unix)]
            |a| Ok(Listener::Unix(UnixListener::bind_addr(a)?)),
        )
    }

    pub fn try_clone(&self) -> io::Result<Listener> {
        Ok(each!(self, Listener { Tcp, Unix }, (wrap, l) => wrap(l.try_clone()?)))
    }

    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        each!(self, Listener { Tcp, Unix }, l => l.set_nonblocking(on))
    }

    /// One accept; on a non-blocking listener `WouldBlock` when none is pending.
    /// The new connection is non-blocking.
    pub fn accept(&self) -> io::Result<Conn> {
        let c = match self {
            Listener::Tcp(l) => Conn::Tcp(l.accept()?.0),
            #[cfg(unix)]
            Listener::Unix(l) => Conn::Unix(l.accept()?.0),
        };
        c.set_nonblocking(true)?;
        Ok(c)
    }

    /// Accepts one connection, waiting at most `bound`; `None` when none came.
    /// The listener must be non-blocking.
    pub fn accept_within(&self, bound: Duration) -> io::Result<Option<Conn>> {
        let deadline = Instant::now() + bound;
        loop {
            match self.accept() {
                Ok(c) => return Ok(Some(c)),
                Err(e) if super::would_block(&e) || super::is_retry(&e) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || !self.wait(Interest::Read, left)? {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub fn wait(&self, interest: Interest, bound: Duration) -> io::Result<bool> {
        super::wait(super::sock(self), interest, bound)
    }

    #[cfg(windows)]
    pub(super) fn raw(&self) -> std::os::windows::io::RawSocket {
        super::sock(self).as_raw_socket()
    }
}

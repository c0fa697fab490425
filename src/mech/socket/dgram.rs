//! Datagram channels (`unix_dgram`, `udp`): the datagram socket over std's
//! types, what the kernel counts as queued at it, the endpoint that sends
//! whole datagrams, and the channel of a receiving and a sending socket.

use std::io;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
#[cfg(unix)]
use std::os::unix::net::UnixDatagram;

#[cfg(windows)]
use super::win;
use super::{Addr, Family, Interest, OwnedSock};
use crate::channel::{Channel, Endpoint, Queued, Role};
use crate::check::Ctx;
use crate::observe::{Checked, Step};
use crate::peer::PeerCommand;
use crate::watchdog::BOUND;

/// A datagram socket (UDP or AF_UNIX SOCK_DGRAM).
#[derive(Debug)]
pub enum Dgram {
    Udp(UdpSocket),
    #[cfg(unix)]
    Unix(UnixDatagram),
}

as_sock!(Dgram { Udp, Unix });

impl Dgram {
    /// Binds to `addr` (a path gets mode 0600); returns the bound address.
    pub fn bind(addr: &Addr) -> io::Result<(Dgram, Addr)> {
        super::bind(
            addr,
            |a| UdpSocket::bind(a).and_then(|s| Ok((s.local_addr()?, Dgram::Udp(s)))),
            #[cfg(unix)]
            |a| Ok(Dgram::Unix(UnixDatagram::bind_addr(a)?)),
        )
    }

    /// A socket with no name of its own (UDP: 127.0.0.1, kernel-chosen port).
    pub fn unbound(family: Family) -> io::Result<Dgram> {
        match family {
            Family::Inet => Ok(Dgram::Udp(UdpSocket::bind(("127.0.0.1", 0))?)),
            #[cfg(unix)]
            Family::Unix => Ok(Dgram::Unix(UnixDatagram::unbound()?)),
            #[cfg(not(unix))]
            Family::Unix => Err(super::no_unix()),
        }
    }

    /// A socket handed over to this process (a descriptor on Unix, a socket
    /// from WSADuplicateSocket on Windows).
    pub fn from_handed(family: Family, sock: OwnedSock) -> Dgram {
        match family {
            Family::Inet => Dgram::Udp(UdpSocket::from(sock)),
            #[cfg(unix)]
            Family::Unix => Dgram::Unix(UnixDatagram::from(sock)),
            #[cfg(not(unix))]
            Family::Unix => Dgram::Udp(UdpSocket::from(sock)),
        }
    }

    /// Sets the default destination (and, on a connected socket, the only source).
    pub fn connect(&self, addr: &Addr) -> io::Result<()> {
        match (self, addr) {
            (Dgram::Udp(s), Addr::Inet(a)) => s.connect(a),
            #[cfg(unix)]
            (Dgram::Unix(s), other) => s.connect_addr(&super::unix_sockaddr(other)?),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "address of another family",
            )),
        }
    }

    pub fn try_clone(&self) -> io::Result<Dgram> {
        Ok(each!(self, Dgram { Udp, Unix }, (wrap, s) => wrap(s.try_clone()?)))
    }

    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        each!(self, Dgram { Udp, Unix }, s => s.set_nonblocking(on))
    }

    /// One datagram, to the connected destination or to `to`.
    pub fn send(&self, msg: &[u8], to: Option<&Addr>) -> io::Result<usize> {
        match (self, to) {
            (Dgram::Udp(s), None) => s.send(msg),
            (Dgram::Udp(s), Some(Addr::Inet(a))) => s.send_to(msg, a),
            #[cfg(unix)]
            (Dgram::Unix(s), None) => s.send(msg),
            #[cfg(unix)]
            (Dgram::Unix(s), Some(a)) => s.send_to_addr(msg, &super::unix_sockaddr(a)?),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "address of another family",
            )),
        }
    }

    /// Asks for a receive buffer of `bytes` (SO_RCVBUF; the system may cap it).
    pub fn set_recv_buffer(&self, bytes: usize) -> io::Result<()> {
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                use nix::sys::socket::{setsockopt, sockopt};
                setsockopt(&self.as_fd(), sockopt::RcvBuf, &bytes)?;
                Ok(())
            } else {
                win::set_recv_buffer(self.raw(), bytes)
            }
        }
    }

    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        each!(self, Dgram { Udp, Unix }, s => s.recv(buf))
    }

    pub fn wait(&self, interest: Interest, bound: Duration) -> io::Result<bool> {
        super::wait(super::sock(self), interest, bound)
    }

    #[cfg(windows)]
    fn raw(&self) -> std::os::windows::io::RawSocket {
        use std::os::windows::io::AsRawSocket;
        super::sock(self).as_raw_socket()
    }

    /// What the kernel counts as queued at this datagram socket:
    /// - Linux and Android: FIONREAD is the first datagram's length only
    ///   (net/ipv4/udp.c udp_ioctl: first_packet_length; net/unix/af_unix.c
    ///   unix_inq_len: skb_peek for SOCK_DGRAM);
    /// - macOS: SO_NUMRCVPKT, the number of datagrams queued (xnu
    ///   bsd/kern/uipc_socket.c sogetoptlock); its FIONREAD is so_rcv.sb_cc, which
    ///   also counts each datagram's sender address (bsd/kern/sys_socket.c,
    ///   bsd/kern/uipc_socket2.c sballoc), so it cannot be compared with bytes sent;
    /// - other Unix (FreeBSD): FIONREAD, the data bytes of every datagram queued
    ///   (sbavail less the address and control mbufs, sb_ctl);
    /// - Windows: ioctlsocket FIONREAD, the pending data of every datagram
    ///   (learn.microsoft.com/windows/win32/winsock/winsock-ioctls: on a message
    ///   oriented socket "FIONREAD still returns the amount of pending data in the
    ///   network buffer"); under Wine the host's FIONREAD, so on Linux the first
    ///   datagram only (wine dlls/ntdll/unix/socket.c, IOCTL_AFD_WINE_FIONREAD:
    ///   `ioctl( fd, FIONREAD, &value )`).
    pub fn queued(&self) -> io::Result<Queued> {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android"))] {
                Ok(Queued::NextMessage(crate::channel::fd::fionread(self.as_fd())?))
            } else if #[cfg(any(target_os = "macos", target_os = "ios"))] {
                use std::os::fd::AsRawFd;
                /// xnu bsd/sys/socket.h: `#define SO_NUMRCVPKT 0x1112 /* number of
                /// datagrams in receive socket buffer */` (the libc crate lacks it).
                const SO_NUMRCVPKT: libc::c_int = 0x1112;
                let mut n: libc::c_int = 0;
                let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
                // SAFETY: getsockopt writes at most `len` bytes into `n`, a live c_int
                // whose size `len` holds.
                let rc = unsafe {
                    libc::getsockopt(
                        self.as_fd().as_raw_fd(),
                        libc::SOL_SOCKET,
                        SO_NUMRCVPKT,
                        (&mut n as *mut libc::c_int).cast(),
                        &mut len,
                    )
                };
                if rc < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(Queued::Messages(usize::try_from(n).unwrap_or(0)))
            } else if #[cfg(unix)] {
                Ok(Queued::Bytes(crate::channel::fd::fionread(self.as_fd())?))
            } else {
                let n = win::fionread(self.raw())?;
                if crate::sys::wine_version().is_some() {
                    Ok(Queued::NextMessage(n))
                } else {
                    Ok(Queued::Bytes(n))
                }
            }
        }
    }
}

/// A datagram endpoint: sends whole datagrams to its destination.
pub struct DgramEndpoint {
    pub sock: Dgram,
    /// `None`: the socket is connected.
    pub dest: Option<Addr>,
}

impl DgramEndpoint {
    pub fn new(sock: Dgram, dest: Option<Addr>) -> io::Result<Self> {
        sock.set_nonblocking(true)?;
        Ok(DgramEndpoint { sock, dest })
    }
}

impl Endpoint for DgramEndpoint {
    fn send(&mut self, msg: &[u8]) -> io::Result<usize> {
        let deadline = Instant::now() + BOUND;
        loop {
            match self.sock.send(msg, self.dest.as_ref()) {
                Ok(n) if n == msg.len() => return Ok(n),
                Ok(n) => {
                    return Err(io::Error::other(format!(
                        "a {}-byte datagram went out as {n} bytes",
                        msg.len()
                    )));
                }
                // The receiver's queue is full: AF_UNIX flow control (EAGAIN), or
                // on the BSDs and macOS ENOBUFS, where poll() may not wait.
                Err(e) if super::would_block(&e) || e.raw_os_error() == Some(nobufs()) => {
                    std::thread::yield_now();
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || !self.sock.wait(Interest::Write, left)? {
                        return Err(super::timed_out("no room for the datagram"));
                    }
                }
                Err(e) if super::is_retry(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        super::try_io(|| self.sock.recv(buf))
    }

    fn wait_readable(&mut self, bound: Duration) -> io::Result<bool> {
        self.sock.wait(Interest::Read, bound)
    }

    #[cfg(unix)]
    fn poll_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.sock.as_fd())
    }

    #[cfg(windows)]
    fn poll_sockets(&self) -> Vec<u64> {
        vec![self.sock.raw()]
    }

    #[cfg(unix)]
    fn send_fd(&mut self, payload: &[u8], fd: BorrowedFd<'_>) -> io::Result<()> {
        if self.dest.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "descriptors go out on the connected (sending) end only",
            ));
        }
        super::send_with_fd(self.sock.as_fd(), payload, fd)
    }

    #[cfg(unix)]
    fn recv_fd(&mut self, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
        super::recv_with_fd(self.sock.as_fd(), buf)
    }

    fn queued(&mut self) -> io::Result<Option<Queued>> {
        self.sock.queued().map(Some)
    }
}

fn nobufs() -> i32 {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            libc::ENOBUFS
        } else {
            10055 // WSAENOBUFS
        }
    }
}

/// SO_RCVBUF asked for on a UDP channel's receiving socket.
pub const UDP_RCVBUF: usize = 1 << 20;

/// A datagram channel: a receiving socket bound to R, a sending socket bound to
/// T and connected to R.
pub struct DgramChannel {
    id: &'static str,
    r: Addr,
    t: Addr,
    rx: Dgram,
    tx: Dgram,
}

impl DgramChannel {
    pub fn create(cx: &mut Ctx, id: &'static str, family: Family) -> Checked<DgramChannel> {
        let (want_r, want_t) = match family {
            Family::Unix => (Addr::Path(cx.path("")?), Addr::Path(cx.path("")?)),
            Family::Inet => (Addr::loopback(), Addr::loopback()),
        };
        let (rx, r) = Dgram::bind(&want_r).step("bind() the receiving socket")?;
        if family == Family::Inet {
            // UDP drops what does not fit the receive buffer: give a burst of
            // several writers room (best effort), so the checks see records,
            // not overflow. AF_UNIX datagrams have flow control instead.
            let _ = rx.set_recv_buffer(UDP_RCVBUF);
        }
        let (tx, t) = Dgram::bind(&want_t).step("bind() the sending socket")?;
        tx.connect(&r).step("connect() the sending socket")?;
        Ok(DgramChannel { id, r, t, rx, tx })
    }
}

impl Channel for DgramChannel {
    fn open(&mut self, role: Role) -> io::Result<Box<dyn Endpoint>> {
        Ok(Box::new(match role {
            Role::Sender => DgramEndpoint::new(self.tx.try_clone()?, None)?,
            Role::Receiver => DgramEndpoint::new(self.rx.try_clone()?, Some(self.t.clone()))?,
        }))
    }

    fn peer(&mut self, cx: &Ctx, role: Role) -> io::Result<PeerCommand> {
        let (name, reply_to) = (self.r.name(), self.t.name());
        super::mechanism::peer_command(cx, self.id, role, &name, &self.rx, Some(&reply_to))
    }

    fn name(&self) -> Option<String> {
        Some(self.r.name())
    }
}

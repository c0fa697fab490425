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

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::channel::{Channel, Endpoint, Mechanism, Queued, Role};
use crate::check::Ctx;
use crate::observe::{Checked, Step};
use crate::peer::PeerCommand;
use crate::watchdog::BOUND;

#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
#[cfg(unix)]
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};

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

/// Mode 0600 on a socket file this process bound (DESIGN rule 5).
#[cfg(unix)]
pub fn restrict(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// What a wait is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    Read,
    Write,
}

#[cfg(unix)]
fn wait_fd(fd: BorrowedFd<'_>, interest: Interest, bound: Duration) -> io::Result<bool> {
    use nix::poll::PollFlags;
    let flags = match interest {
        Interest::Read => PollFlags::POLLIN,
        Interest::Write => PollFlags::POLLOUT,
    };
    crate::channel::fd::wait(fd, flags, bound)
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

// ------------------------------------------------------------------ streams

/// A connected stream socket (TCP or AF_UNIX SOCK_STREAM).
#[derive(Debug)]
pub enum Conn {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

macro_rules! each_conn {
    ($self:expr, $s:ident => $body:expr) => {
        match $self {
            Conn::Tcp($s) => $body,
            #[cfg(unix)]
            Conn::Unix($s) => $body,
        }
    };
}

impl Conn {
    /// Connects to `addr` (TCP connects are bounded).
    pub fn connect(addr: &Addr) -> io::Result<Conn> {
        match addr {
            Addr::Inet(a) => Ok(Conn::Tcp(TcpStream::connect_timeout(a, BOUND)?)),
            #[cfg(unix)]
            other => Ok(Conn::Unix(UnixStream::connect_addr(&unix_sockaddr(
                other,
            )?)?)),
            #[cfg(not(unix))]
            _ => Err(no_unix()),
        }
    }

    /// A connected socket handed over as a descriptor.
    #[cfg(unix)]
    pub fn from_fd(family: Family, fd: OwnedFd) -> Conn {
        match family {
            Family::Inet => Conn::Tcp(TcpStream::from(fd)),
            Family::Unix => Conn::Unix(UnixStream::from(fd)),
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
        Ok(match self {
            Conn::Tcp(s) => Conn::Tcp(s.try_clone()?),
            #[cfg(unix)]
            Conn::Unix(s) => Conn::Unix(s.try_clone()?),
        })
    }

    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        each_conn!(self, s => s.set_nonblocking(on))
    }

    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        each_conn!(self, s => { let mut r: &_ = s; r.read(buf) })
    }

    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        each_conn!(self, s => { let mut w: &_ = s; w.write(buf) })
    }

    /// Waits at most `bound` for `interest`; true when ready.
    pub fn wait(&self, interest: Interest, bound: Duration) -> io::Result<bool> {
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                wait_fd(self.as_fd(), interest, bound)
            } else {
                win::wait_one(self.raw(), interest, bound)
            }
        }
    }

    #[cfg(windows)]
    fn raw(&self) -> std::os::windows::io::RawSocket {
        use std::os::windows::io::AsRawSocket;
        match self {
            Conn::Tcp(s) => s.as_raw_socket(),
        }
    }

    /// Writes all of `msg`, waiting (bounded) for room: the socket is non-blocking.
    pub fn write_all_bounded(&self, msg: &[u8]) -> io::Result<usize> {
        let deadline = Instant::now() + BOUND;
        let mut done = 0;
        while done < msg.len() {
            match self.write(&msg[done..]) {
                Ok(n) => done += n,
                Err(e) if would_block(&e) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if !self.wait(Interest::Write, left)? {
                        return Err(timed_out("no room to write"));
                    }
                }
                Err(e) if is_retry(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// Receives without waiting; urgent (out-of-band) data first, where the
    /// socket has some pending: that is the stream's only way to send ahead.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        if let Some(n) = self.try_recv_urgent(buf)? {
            return Ok(Some(n));
        }
        loop {
            match self.read(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if would_block(&e) => return Ok(None),
                Err(e) if is_retry(&e) => {}
                Err(e) => return Err(e),
            }
        }
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

#[cfg(unix)]
impl AsFd for Conn {
    fn as_fd(&self) -> BorrowedFd<'_> {
        each_conn!(self, s => s.as_fd())
    }
}

/// A listening stream socket.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

impl Listener {
    /// Binds and listens; a path gets mode 0600. Returns the bound address (the
    /// kernel's port for TCP).
    pub fn bind(addr: &Addr) -> io::Result<(Listener, Addr)> {
        match addr {
            Addr::Inet(a) => {
                let l = TcpListener::bind(a)?;
                let bound = Addr::Inet(l.local_addr()?);
                Ok((Listener::Tcp(l), bound))
            }
            #[cfg(unix)]
            other => {
                let l = UnixListener::bind_addr(&unix_sockaddr(other)?)?;
                if let Addr::Path(p) = other {
                    restrict(p)?;
                }
                Ok((Listener::Unix(l), other.clone()))
            }
            #[cfg(not(unix))]
            _ => Err(no_unix()),
        }
    }

    pub fn try_clone(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(l) => Listener::Tcp(l.try_clone()?),
            #[cfg(unix)]
            Listener::Unix(l) => Listener::Unix(l.try_clone()?),
        })
    }

    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.set_nonblocking(on),
            #[cfg(unix)]
            Listener::Unix(l) => l.set_nonblocking(on),
        }
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
                Err(e) if would_block(&e) || is_retry(&e) => {
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
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                wait_fd(self.as_fd(), interest, bound)
            } else {
                win::wait_one(self.raw(), interest, bound)
            }
        }
    }

    #[cfg(windows)]
    fn raw(&self) -> std::os::windows::io::RawSocket {
        use std::os::windows::io::AsRawSocket;
        match self {
            Listener::Tcp(l) => l.as_raw_socket(),
        }
    }
}

#[cfg(unix)]
impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix(l) => l.as_fd(),
        }
    }
}

/// One end of a connection: the sending end in this process, or either end in a peer.
pub struct StreamEndpoint {
    pub conn: Conn,
}

impl StreamEndpoint {
    pub fn new(conn: Conn) -> io::Result<Self> {
        conn.set_nonblocking(true)?;
        Ok(StreamEndpoint { conn })
    }
}

impl Endpoint for StreamEndpoint {
    fn send(&mut self, msg: &[u8]) -> io::Result<usize> {
        self.conn.write_all_bounded(msg)
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.conn.try_recv(buf)
    }

    fn wait_readable(&mut self, bound: Duration) -> io::Result<bool> {
        self.conn.wait(Interest::Read, bound)
    }

    #[cfg(unix)]
    fn poll_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.conn.as_fd())
    }

    #[cfg(windows)]
    fn poll_sockets(&self) -> Vec<u64> {
        vec![self.conn.raw()]
    }

    #[cfg(unix)]
    fn send_fd(&mut self, payload: &[u8], fd: BorrowedFd<'_>) -> io::Result<()> {
        send_with_fd(self.conn.as_fd(), payload, fd)
    }

    #[cfg(unix)]
    fn recv_fd(&mut self, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
        recv_with_fd(self.conn.as_fd(), buf)
    }

    fn send_urgent(&mut self, msg: &[u8]) -> io::Result<usize> {
        self.conn.send_urgent(msg)
    }

    fn queued(&mut self) -> io::Result<Option<Queued>> {
        Ok(Some(Queued::Bytes(self.conn.queued()?)))
    }
}

/// The receiving side of a stream channel in this process: a server holding the
/// first accepted connection and accepting every later one, receiving from
/// whichever has data.
pub struct ServerEndpoint {
    conns: Arc<Mutex<Vec<Conn>>>,
    next: usize,
    last: usize,
    #[cfg(unix)]
    watch: watch::Watch,
    #[cfg(not(unix))]
    listener: Listener,
}

impl ServerEndpoint {
    pub fn new(listener: Listener, first: Conn) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        first.set_nonblocking(true)?;
        let conns = Arc::new(Mutex::new(Vec::new()));
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                let watch = watch::Watch::start(listener, conns.clone())?;
                watch.adopt(first)?;
                Ok(ServerEndpoint { conns, next: 0, last: 0, watch })
            } else {
                conns.lock().unwrap_or_else(|e| e.into_inner()).push(first);
                Ok(ServerEndpoint { conns, next: 0, last: 0, listener })
            }
        }
    }

    #[cfg(not(unix))]
    fn accept_pending(&mut self) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok(c) => self.conns.lock().unwrap_or_else(|e| e.into_inner()).push(c),
                Err(e) if would_block(&e) => return Ok(()),
                Err(e) if is_retry(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Endpoint for ServerEndpoint {
    fn send(&mut self, msg: &[u8]) -> io::Result<usize> {
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let conn = conns
            .get(self.last)
            .or(conns.first())
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "no connection"))?;
        conn.write_all_bounded(msg)
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        #[cfg(not(unix))]
        self.accept_pending()?;
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let len = conns.len();
            let mut closed = None;
            for k in 0..len {
                let i = (self.next + k) % len;
                match conns[i].try_recv(buf) {
                    Ok(Some(0)) => {
                        closed = Some(i);
                        break;
                    }
                    Ok(Some(n)) => {
                        self.next = (i + 1) % len;
                        self.last = i;
                        return Ok(Some(n));
                    }
                    Ok(None) => {}
                    Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                        closed = Some(i);
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            // A client that closed is forgotten; the server goes on with the others.
            let Some(i) = closed else { return Ok(None) };
            let conn = conns.remove(i);
            #[cfg(unix)]
            self.watch.forget(&conn);
            drop(conn);
        }
    }

    fn wait_readable(&mut self, bound: Duration) -> io::Result<bool> {
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                wait_fd(self.watch.poll_fd(), Interest::Read, bound)
            } else {
                use std::os::windows::io::AsRawSocket;
                let mut socks = vec![self.listener.raw()];
                for c in self.conns.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                    match c {
                        Conn::Tcp(s) => socks.push(s.as_raw_socket()),
                    }
                }
                win::wait_any(&socks, bound)
            }
        }
    }

    /// The bytes queued on every accepted connection together.
    fn queued(&mut self) -> io::Result<Option<Queued>> {
        #[cfg(not(unix))]
        self.accept_pending()?;
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let mut total = 0;
        for c in conns.iter() {
            total += c.queued()?;
        }
        Ok(Some(Queued::Bytes(total)))
    }

    /// The poll set (epoll or kqueue) holding every accepted connection: it is
    /// readable exactly when one of them is.
    #[cfg(unix)]
    fn poll_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.watch.poll_fd())
    }

    /// WSAPoll has no poll set: every connection, after taking in those waiting
    /// to be accepted (as the Unix watch thread does for its epoll/kqueue set).
    #[cfg(windows)]
    fn poll_sockets(&self) -> Vec<u64> {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        while let Ok(c) = self.listener.accept() {
            conns.push(c);
        }
        conns.iter().map(Conn::raw).collect()
    }
}

/// The server's poll set and the thread that accepts connections into it.
#[cfg(unix)]
mod watch {
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;

    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

    use super::{Conn, Listener};

    /// epoll on Linux, kqueue on the BSDs and macOS: a descriptor that poll()
    /// reports readable when a registered connection is.
    pub struct Poller {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        ep: nix::sys::epoll::Epoll,
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        kq: nix::sys::event::Kqueue,
    }

    impl Poller {
        fn new() -> io::Result<Poller> {
            cfg_if::cfg_if! {
                if #[cfg(any(target_os = "linux", target_os = "android"))] {
                    use nix::sys::epoll::{Epoll, EpollCreateFlags};
                    Ok(Poller { ep: Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)? })
                } else {
                    let kq = nix::sys::event::Kqueue::new()?;
                    nix::fcntl::fcntl(
                        kq.as_fd(),
                        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
                    )?;
                    Ok(Poller { kq })
                }
            }
        }

        fn fd(&self) -> BorrowedFd<'_> {
            cfg_if::cfg_if! {
                if #[cfg(any(target_os = "linux", target_os = "android"))] {
                    self.ep.0.as_fd()
                } else {
                    self.kq.as_fd()
                }
            }
        }

        fn change(&self, conn: &Conn, add: bool) -> io::Result<()> {
            cfg_if::cfg_if! {
                if #[cfg(any(target_os = "linux", target_os = "android"))] {
                    use nix::sys::epoll::{EpollEvent, EpollFlags};
                    use std::os::fd::AsRawFd;
                    if add {
                        let ev = EpollEvent::new(
                            EpollFlags::EPOLLIN | EpollFlags::EPOLLPRI,
                            conn.as_fd().as_raw_fd() as u64,
                        );
                        self.ep.add(conn.as_fd(), ev)?;
                    } else {
                        self.ep.delete(conn.as_fd())?;
                    }
                    Ok(())
                } else {
                    use nix::sys::event::{EvFlags, EventFilter, FilterFlag, KEvent};
                    use std::os::fd::AsRawFd;
                    let flags = if add { EvFlags::EV_ADD } else { EvFlags::EV_DELETE };
                    let ev = KEvent::new(
                        conn.as_fd().as_raw_fd() as usize,
                        EventFilter::EVFILT_READ,
                        flags,
                        FilterFlag::empty(),
                        0,
                        0,
                    );
                    let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
                    self.kq.kevent(&[ev], &mut [], Some(zero))?;
                    Ok(())
                }
            }
        }
    }

    /// Accepts connections on a thread of its own and registers each in the poll
    /// set, so that poll() on the set answers for data, not for pending connects.
    pub struct Watch {
        poller: Arc<Poller>,
        conns: Arc<Mutex<Vec<Conn>>>,
        stop: Option<OwnedFd>,
        thread: Option<JoinHandle<()>>,
    }

    impl Watch {
        pub fn start(listener: Listener, conns: Arc<Mutex<Vec<Conn>>>) -> io::Result<Watch> {
            let poller = Arc::new(Poller::new()?);
            let (stop_r, stop_w) = crate::sys::pipe()?;
            let (p, c) = (poller.clone(), conns.clone());
            let thread = std::thread::Builder::new()
                .name("ipcconf-accept".into())
                .spawn(move || accept_loop(&listener, &stop_r, &p, &c))?;
            Ok(Watch {
                poller,
                conns,
                stop: Some(stop_w),
                thread: Some(thread),
            })
        }

        /// Adds a connection this process already holds.
        pub fn adopt(&self, conn: Conn) -> io::Result<()> {
            add(&self.poller, &self.conns, conn)
        }

        /// Removes a connection from the poll set before it is dropped (a copy of
        /// it elsewhere would keep it registered).
        pub fn forget(&self, conn: &Conn) {
            let _ = self.poller.change(conn, false);
        }

        pub fn poll_fd(&self) -> BorrowedFd<'_> {
            self.poller.fd()
        }
    }

    fn add(poller: &Poller, conns: &Mutex<Vec<Conn>>, conn: Conn) -> io::Result<()> {
        let mut list = conns.lock().unwrap_or_else(|e| e.into_inner());
        poller.change(&conn, true)?;
        list.push(conn);
        Ok(())
    }

    fn accept_loop(listener: &Listener, stop: &OwnedFd, poller: &Poller, conns: &Mutex<Vec<Conn>>) {
        loop {
            let mut fds = [
                PollFd::new(listener.as_fd(), PollFlags::POLLIN),
                PollFd::new(stop.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return,
            }
            // The other end of `stop` closes when the server endpoint drops.
            if fds[1].revents().is_some_and(|r| !r.is_empty()) {
                return;
            }
            loop {
                match listener.accept() {
                    Ok(conn) => {
                        if add(poller, conns, conn).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
    }

    impl Drop for Watch {
        fn drop(&mut self) {
            self.stop.take();
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// A stream channel: a listener, and one connection made at creation.
pub struct StreamChannel {
    id: &'static str,
    family: Family,
    addr: Addr,
    listener: Listener,
    client: Conn,
    accepted: Conn,
}

impl StreamChannel {
    /// Binds a listener under a fresh name (a path in the check's private
    /// directory, or 127.0.0.1 with a kernel-chosen port) and connects once.
    pub fn create(cx: &mut Ctx, id: &'static str, family: Family) -> Checked<StreamChannel> {
        let want = match family {
            Family::Unix => Addr::Path(cx.path("")?),
            Family::Inet => Addr::loopback(),
        };
        let (listener, addr) = Listener::bind(&want).step("bind() and listen()")?;
        listener.set_nonblocking(true).step("O_NONBLOCK")?;
        let client = Conn::connect(&addr).step("connect()")?;
        // Accept the client's connection, dropping any stranger's that came
        // first (loopback TCP: any local user can connect).
        let deadline = Instant::now() + BOUND;
        let mut strangers = 0;
        let accepted = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match listener.accept_within(left).step("accept()")? {
                Some(c) if c.is_peer_of(&client) => break c,
                Some(_) => strangers += 1,
                None => {
                    return Err(crate::Observation::timeout(format!(
                        "accept() found no connection from this check's client within {BOUND:?} ({strangers} from other sockets dropped)"
                    )));
                }
            }
        };
        Ok(StreamChannel {
            id,
            family,
            addr,
            listener,
            client,
            accepted,
        })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// Both ends of the connection made at creation: (client, accepted).
    pub fn ends(&self) -> io::Result<(StreamEndpoint, StreamEndpoint)> {
        Ok((
            StreamEndpoint::new(self.client.try_clone()?)?,
            StreamEndpoint::new(self.accepted.try_clone()?)?,
        ))
    }
}

/// Receives until `want` bytes came, end of file, or `bound` passed; returns
/// what came (a stream may deliver a message in pieces).
pub fn recv_exact(ep: &mut dyn Endpoint, want: usize, bound: Duration) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + bound;
    let mut got = Vec::with_capacity(want);
    let mut buf = vec![0u8; want.max(1)];
    while got.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        match ep.recv(&mut buf[..want - got.len()], left)? {
            Some(0) | None => break,
            Some(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    Ok(got)
}

impl Channel for StreamChannel {
    fn open(&mut self, role: Role) -> io::Result<Box<dyn Endpoint>> {
        Ok(match role {
            Role::Sender => Box::new(StreamEndpoint::new(self.client.try_clone()?)?),
            Role::Receiver => Box::new(ServerEndpoint::new(
                self.listener.try_clone()?,
                self.accepted.try_clone()?,
            )?),
        })
    }

    fn peer(&mut self, cx: &Ctx, role: Role) -> io::Result<PeerCommand> {
        match role {
            Role::Sender => Ok(cx.peer(&["endpoint", self.id, "sender", &self.addr.name()])),
            Role::Receiver => {
                cfg_if::cfg_if! {
                    if #[cfg(unix)] {
                        Ok(cx.peer(&["endpoint", self.id, "receiver", "fd"]).handover(self.accepted.as_fd(), 3))
                    } else {
                        let Conn::Tcp(s) = self.accepted.try_clone()?;
                        let (at, token) = win::offer(s.into())?;
                        Ok(cx.peer(&["endpoint", self.id, "receiver", "wsa", &at, &token]))
                    }
                }
            }
        }
    }

    fn name(&self) -> Option<String> {
        Some(self.addr.name())
    }
}

/// Stream sockets as a `Mechanism` for the matrix checks.
pub struct StreamMechanism {
    pub id: &'static str,
    pub family: Family,
}

impl Mechanism for StreamMechanism {
    fn id(&self) -> &'static str {
        self.id
    }

    fn create(&self, cx: &mut Ctx) -> Checked<Box<dyn Channel>> {
        Ok(Box::new(StreamChannel::create(cx, self.id, self.family)?))
    }
}

/// `endpoint <mech> <role> fd` (descriptor 3 handed over; on Windows `wsa <at>
/// <token>`, see `win::offer`) or `endpoint <mech> <role> <name>` (connect by name).
pub fn open_remote_stream(family: Family, args: &[String]) -> io::Result<Box<dyn Endpoint>> {
    let conn = match args {
        #[cfg(unix)]
        [fd] if fd == "fd" => Conn::from_fd(family, crate::sys::take_handed_over_fd(3)?),
        #[cfg(windows)]
        [wsa, at, token] if wsa == "wsa" => Conn::Tcp(TcpStream::from(win::adopt(at, token)?)),
        [name] => Conn::connect(&Addr::parse(family, name)?)?,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "expected a handed-over socket (`fd`, `wsa <at> <token>`) or a name",
            ));
        }
    };
    Ok(Box::new(StreamEndpoint::new(conn)?))
}

// ---------------------------------------------------------------- datagrams

/// A datagram socket (UDP or AF_UNIX SOCK_DGRAM).
#[derive(Debug)]
pub enum Dgram {
    Udp(UdpSocket),
    #[cfg(unix)]
    Unix(UnixDatagram),
}

impl Dgram {
    /// Binds to `addr` (a path gets mode 0600); returns the bound address.
    pub fn bind(addr: &Addr) -> io::Result<(Dgram, Addr)> {
        match addr {
            Addr::Inet(a) => {
                let s = UdpSocket::bind(a)?;
                let bound = Addr::Inet(s.local_addr()?);
                Ok((Dgram::Udp(s), bound))
            }
            #[cfg(unix)]
            other => {
                let s = UnixDatagram::bind_addr(&unix_sockaddr(other)?)?;
                if let Addr::Path(p) = other {
                    restrict(p)?;
                }
                Ok((Dgram::Unix(s), other.clone()))
            }
            #[cfg(not(unix))]
            _ => Err(no_unix()),
        }
    }

    /// A socket with no name of its own (UDP: 127.0.0.1, kernel-chosen port).
    pub fn unbound(family: Family) -> io::Result<Dgram> {
        match family {
            Family::Inet => Ok(Dgram::Udp(UdpSocket::bind(("127.0.0.1", 0))?)),
            #[cfg(unix)]
            Family::Unix => Ok(Dgram::Unix(UnixDatagram::unbound()?)),
            #[cfg(not(unix))]
            Family::Unix => Err(no_unix()),
        }
    }

    #[cfg(unix)]
    pub fn from_fd(family: Family, fd: OwnedFd) -> Dgram {
        match family {
            Family::Inet => Dgram::Udp(UdpSocket::from(fd)),
            Family::Unix => Dgram::Unix(UnixDatagram::from(fd)),
        }
    }

    /// Sets the default destination (and, on a connected socket, the only source).
    pub fn connect(&self, addr: &Addr) -> io::Result<()> {
        match (self, addr) {
            (Dgram::Udp(s), Addr::Inet(a)) => s.connect(a),
            #[cfg(unix)]
            (Dgram::Unix(s), other) => s.connect_addr(&unix_sockaddr(other)?),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "address of another family",
            )),
        }
    }

    pub fn try_clone(&self) -> io::Result<Dgram> {
        Ok(match self {
            Dgram::Udp(s) => Dgram::Udp(s.try_clone()?),
            #[cfg(unix)]
            Dgram::Unix(s) => Dgram::Unix(s.try_clone()?),
        })
    }

    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Dgram::Udp(s) => s.set_nonblocking(on),
            #[cfg(unix)]
            Dgram::Unix(s) => s.set_nonblocking(on),
        }
    }

    /// One datagram, to the connected destination or to `to`.
    pub fn send(&self, msg: &[u8], to: Option<&Addr>) -> io::Result<usize> {
        match (self, to) {
            (Dgram::Udp(s), None) => s.send(msg),
            (Dgram::Udp(s), Some(Addr::Inet(a))) => s.send_to(msg, a),
            #[cfg(unix)]
            (Dgram::Unix(s), None) => s.send(msg),
            #[cfg(unix)]
            (Dgram::Unix(s), Some(a)) => s.send_to_addr(msg, &unix_sockaddr(a)?),
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
                use std::os::windows::io::AsRawSocket;
                let Dgram::Udp(s) = self;
                win::set_recv_buffer(s.as_raw_socket(), bytes)
            }
        }
    }

    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Dgram::Udp(s) => s.recv(buf),
            #[cfg(unix)]
            Dgram::Unix(s) => s.recv(buf),
        }
    }

    pub fn wait(&self, interest: Interest, bound: Duration) -> io::Result<bool> {
        cfg_if::cfg_if! {
            if #[cfg(unix)] {
                wait_fd(self.as_fd(), interest, bound)
            } else {
                use std::os::windows::io::AsRawSocket;
                match self {
                    Dgram::Udp(s) => win::wait_one(s.as_raw_socket(), interest, bound),
                }
            }
        }
    }
}

impl Dgram {
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
                use std::os::windows::io::AsRawSocket;
                let Dgram::Udp(s) = self;
                let n = win::fionread(s.as_raw_socket())?;
                if crate::sys::wine_version().is_some() {
                    Ok(Queued::NextMessage(n))
                } else {
                    Ok(Queued::Bytes(n))
                }
            }
        }
    }
}

#[cfg(unix)]
impl AsFd for Dgram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Dgram::Udp(s) => s.as_fd(),
            Dgram::Unix(s) => s.as_fd(),
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
                Err(e) if would_block(&e) || e.raw_os_error() == Some(nobufs()) => {
                    std::thread::yield_now();
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() || !self.sock.wait(Interest::Write, left)? {
                        return Err(timed_out("no room for the datagram"));
                    }
                }
                Err(e) if is_retry(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match self.sock.recv(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if would_block(&e) => return Ok(None),
                Err(e) if is_retry(&e) => {}
                Err(e) => return Err(e),
            }
        }
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
        use std::os::windows::io::AsRawSocket;
        let Dgram::Udp(s) = &self.sock;
        vec![s.as_raw_socket()]
    }

    #[cfg(unix)]
    fn send_fd(&mut self, payload: &[u8], fd: BorrowedFd<'_>) -> io::Result<()> {
        if self.dest.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "descriptors go out on the connected (sending) end only",
            ));
        }
        send_with_fd(self.sock.as_fd(), payload, fd)
    }

    #[cfg(unix)]
    fn recv_fd(&mut self, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
        recv_with_fd(self.sock.as_fd(), buf)
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
        match role {
            Role::Sender => Ok(cx.peer(&["endpoint", self.id, "sender", &self.r.name()])),
            Role::Receiver => {
                cfg_if::cfg_if! {
                    if #[cfg(unix)] {
                        Ok(cx
                            .peer(&["endpoint", self.id, "receiver", "fd", &self.t.name()])
                            .handover(self.rx.as_fd(), 3))
                    } else {
                        let Dgram::Udp(s) = self.rx.try_clone()?;
                        let (at, token) = win::offer(s.into())?;
                        Ok(cx.peer(&["endpoint", self.id, "receiver", "wsa", &at, &token, &self.t.name()]))
                    }
                }
            }
        }
    }

    fn name(&self) -> Option<String> {
        Some(self.r.name())
    }
}

/// Datagram sockets as a `Mechanism` for the matrix checks.
pub struct DgramMechanism {
    pub id: &'static str,
    pub family: Family,
}

impl Mechanism for DgramMechanism {
    fn id(&self) -> &'static str {
        self.id
    }

    fn create(&self, cx: &mut Ctx) -> Checked<Box<dyn Channel>> {
        Ok(Box::new(DgramChannel::create(cx, self.id, self.family)?))
    }
}

/// `endpoint <mech> <role> fd <reply-to>` (descriptor 3 handed over; on Windows
/// `wsa <at> <token> <reply-to>`) or `endpoint <mech> <role> <name>` (a new
/// socket connected to the name).
pub fn open_remote_dgram(family: Family, args: &[String]) -> io::Result<Box<dyn Endpoint>> {
    match args {
        #[cfg(unix)]
        [fd, dest] if fd == "fd" => {
            let sock = Dgram::from_fd(family, crate::sys::take_handed_over_fd(3)?);
            Ok(Box::new(DgramEndpoint::new(
                sock,
                Some(Addr::parse(family, dest)?),
            )?))
        }
        #[cfg(windows)]
        [wsa, at, token, dest] if wsa == "wsa" => {
            let sock = Dgram::Udp(UdpSocket::from(win::adopt(at, token)?));
            Ok(Box::new(DgramEndpoint::new(
                sock,
                Some(Addr::parse(family, dest)?),
            )?))
        }
        [name] => {
            let sock = Dgram::unbound(family)?;
            sock.connect(&Addr::parse(family, name)?)?;
            Ok(Box::new(DgramEndpoint::new(sock, None)?))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "expected a handed-over socket (`fd <reply-to>`, `wsa <at> <token> <reply-to>`) or a name",
        )),
    }
}

/// setsockopt with an int value on a Winsock socket.
#[cfg(windows)]
pub fn set_int_option(
    s: std::os::windows::io::RawSocket,
    level: i32,
    name: i32,
    value: i32,
) -> io::Result<()> {
    win::set_int_option(s, level, name, value)
}

// ------------------------------------------------------- Unix-only helpers

#[cfg(unix)]
pub use unix::*;

#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

    use nix::sys::socket::{
        AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
        sendmsg,
    };

    /// Sends `payload` with one descriptor attached (SCM_RIGHTS).
    pub fn send_with_fd(
        sock: BorrowedFd<'_>,
        payload: &[u8],
        fd: BorrowedFd<'_>,
    ) -> io::Result<()> {
        let fds = [fd.as_raw_fd()];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let iov = [io::IoSlice::new(payload)];
        sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)?;
        Ok(())
    }

    /// Receives a message and the first descriptor it carries, close-on-exec.
    pub fn recv_with_fd(
        sock: BorrowedFd<'_>,
        buf: &mut [u8],
    ) -> io::Result<(usize, Option<OwnedFd>)> {
        let mut space = nix::cmsg_space!([RawFd; 4]);
        let mut iov = [io::IoSliceMut::new(buf)];
        let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut space), cmsg_cloexec())?;
        let n = msg.bytes;
        let mut received = Vec::new();
        for c in msg.cmsgs()? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                for raw in fds {
                    // SAFETY: the kernel has just installed `raw` in this process's
                    // descriptor table for this message; nothing else owns it.
                    received.push(unsafe { OwnedFd::from_raw_fd(raw) });
                }
            }
        }
        for fd in &received {
            set_cloexec(fd.as_fd())?;
        }
        Ok((n, received.into_iter().next()))
    }

    fn cmsg_cloexec() -> MsgFlags {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
                MsgFlags::MSG_CMSG_CLOEXEC
            } else {
                MsgFlags::empty()
            }
        }
    }

    pub fn set_cloexec(fd: BorrowedFd<'_>) -> io::Result<()> {
        use nix::fcntl::{FcntlArg, FdFlag, fcntl};
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
        Ok(())
    }

    /// socket(2), close-on-exec.
    pub fn socket(family: AddressFamily, ty: SockType) -> io::Result<OwnedFd> {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
                Ok(nix::sys::socket::socket(family, ty, SockFlag::SOCK_CLOEXEC, None)?)
            } else {
                let fd = nix::sys::socket::socket(family, ty, SockFlag::empty(), None)?;
                set_cloexec(fd.as_fd())?;
                Ok(fd)
            }
        }
    }

    /// socketpair(AF_UNIX, ty), both ends close-on-exec.
    pub fn socketpair(ty: SockType) -> io::Result<(OwnedFd, OwnedFd)> {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
                Ok(nix::sys::socket::socketpair(AddressFamily::Unix, ty, None, SockFlag::SOCK_CLOEXEC)?)
            } else {
                let (a, b) = nix::sys::socket::socketpair(AddressFamily::Unix, ty, None, SockFlag::empty())?;
                set_cloexec(a.as_fd())?;
                set_cloexec(b.as_fd())?;
                Ok((a, b))
            }
        }
    }

    /// SO_SNDBUF and SO_RCVBUF of a socket.
    pub fn buffer_sizes(fd: BorrowedFd<'_>) -> io::Result<(usize, usize)> {
        use nix::sys::socket::{getsockopt, sockopt};
        Ok((
            getsockopt(&fd, sockopt::SndBuf)?,
            getsockopt(&fd, sockopt::RcvBuf)?,
        ))
    }
}

// ------------------------------------------------------- Windows helpers

#[cfg(windows)]
mod win {
    use std::io::{self, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::windows::io::{AsRawSocket, FromRawSocket, OwnedSocket, RawSocket};
    use std::time::Duration;

    use windows_sys::Win32::Networking::WinSock::{
        FROM_PROTOCOL_INFO, INVALID_SOCKET, MSG_OOB, POLLRDBAND, POLLRDNORM, POLLWRNORM, SO_RCVBUF,
        SOCKET_ERROR, SOL_SOCKET, WSA_FLAG_NO_HANDLE_INHERIT, WSA_FLAG_OVERLAPPED,
        WSADuplicateSocketW, WSAPOLLFD, WSAPROTOCOL_INFOW, WSAPoll, WSASocketW, recv, send,
        setsockopt,
    };

    use super::Interest;
    use crate::watchdog::BOUND;

    const INFO_LEN: usize = std::mem::size_of::<WSAPROTOCOL_INFOW>();

    /// Offers `sock` to one other process, the Windows way of handing a socket
    /// over (the peer harness has no descriptor inheritance there): a thread
    /// listens on 127.0.0.1, and the first process that connects and sends the
    /// returned token and its pid gets the WSAPROTOCOL_INFOW that
    /// WSADuplicateSocketW made for that pid. One-shot, bounded by BOUND.
    pub fn offer(sock: OwnedSocket) -> io::Result<(String, String)> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let at = listener.local_addr()?.to_string();
        let token = crate::names::random_hex(16);
        let expect = token.clone();
        std::thread::Builder::new()
            .name("ipcconf-wsa-offer".into())
            .spawn(move || {
                let _ = serve_offer(&listener, &sock, &expect);
            })?;
        Ok((at, token))
    }

    fn serve_offer(listener: &TcpListener, sock: &OwnedSocket, token: &str) -> io::Result<()> {
        if !wait_one(listener.as_raw_socket(), Interest::Read, BOUND)? {
            return Ok(());
        }
        let (mut c, _) = listener.accept()?;
        c.set_nonblocking(false)?;
        c.set_read_timeout(Some(BOUND))?;
        let mut hello = vec![0u8; 4 + token.len()];
        c.read_exact(&mut hello)?;
        if &hello[4..] != token.as_bytes() {
            return Err(io::Error::other("wrong token"));
        }
        let pid = u32::from_le_bytes([hello[0], hello[1], hello[2], hello[3]]);
        let mut info = WSAPROTOCOL_INFOW::default();
        // SAFETY: `sock` is a socket this thread owns for the whole call; `info` is a
        // writable WSAPROTOCOL_INFOW.
        if unsafe { WSADuplicateSocketW(sock.as_raw_socket() as usize, pid, &mut info) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: WSAPROTOCOL_INFOW is plain data (4-byte fields and a u16 array, no
        // padding); viewing it as INFO_LEN bytes reads only initialised memory.
        let bytes = unsafe {
            std::slice::from_raw_parts((&info as *const WSAPROTOCOL_INFOW).cast::<u8>(), INFO_LEN)
        };
        c.write_all(bytes)
    }

    /// The peer side of `offer`: connects to `at`, sends `token` and this
    /// process's pid, and makes a socket from the WSAPROTOCOL_INFOW it gets back.
    pub fn adopt(at: &str, token: &str) -> io::Result<OwnedSocket> {
        let addr: std::net::SocketAddr = at
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{at:?}: {e}")))?;
        let mut c = TcpStream::connect_timeout(&addr, BOUND)?;
        c.set_read_timeout(Some(BOUND))?;
        let mut hello = std::process::id().to_le_bytes().to_vec();
        hello.extend_from_slice(token.as_bytes());
        c.write_all(&hello)?;
        let mut bytes = [0u8; INFO_LEN];
        c.read_exact(&mut bytes)?;
        let mut info = WSAPROTOCOL_INFOW::default();
        // SAFETY: `bytes` holds INFO_LEN bytes that WSADuplicateSocketW wrote for this
        // process; any bit pattern is a valid WSAPROTOCOL_INFOW (plain data).
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                (&mut info as *mut WSAPROTOCOL_INFOW).cast::<u8>(),
                INFO_LEN,
            );
        }
        // SAFETY: `info` is a valid WSAPROTOCOL_INFOW for the duration of the call.
        let s = unsafe {
            WSASocketW(
                FROM_PROTOCOL_INFO,
                FROM_PROTOCOL_INFO,
                FROM_PROTOCOL_INFO,
                &info,
                0,
                WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT,
            )
        };
        if s == INVALID_SOCKET {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: WSASocketW has just created this socket for this process; nothing
        // else owns it.
        Ok(unsafe { OwnedSocket::from_raw_socket(s as RawSocket) })
    }

    fn poll(fds: &mut [WSAPOLLFD], bound: Duration) -> io::Result<usize> {
        let ms = bound.as_millis().min(60_000) as i32;
        // SAFETY: `fds` is a valid, exclusively borrowed array of WSAPOLLFD whose
        // length is passed with it; WSAPoll writes only their revents fields.
        let rc = unsafe { WSAPoll(fds.as_mut_ptr(), fds.len() as u32, ms) };
        if rc == SOCKET_ERROR {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc as usize)
        }
    }

    fn pollfd(s: RawSocket, events: i16) -> WSAPOLLFD {
        WSAPOLLFD {
            fd: s as usize,
            events,
            revents: 0,
        }
    }

    pub fn wait_one(s: RawSocket, interest: Interest, bound: Duration) -> io::Result<bool> {
        let events = match interest {
            Interest::Read => POLLRDNORM,
            Interest::Write => POLLWRNORM,
        };
        Ok(poll(&mut [pollfd(s, events)], bound)? > 0)
    }

    pub fn wait_any(socks: &[RawSocket], bound: Duration) -> io::Result<bool> {
        let mut fds: Vec<WSAPOLLFD> = socks.iter().map(|&s| pollfd(s, POLLRDNORM)).collect();
        Ok(poll(&mut fds, bound)? > 0)
    }

    pub fn set_recv_buffer(s: RawSocket, bytes: usize) -> io::Result<()> {
        set_int_option(
            s,
            SOL_SOCKET,
            SO_RCVBUF,
            i32::try_from(bytes).unwrap_or(i32::MAX),
        )
    }

    /// setsockopt(s, level, name) with an int value.
    pub fn set_int_option(s: RawSocket, level: i32, name: i32, value: i32) -> io::Result<()> {
        // SAFETY: `value` is a live i32 whose size is passed with its address;
        // setsockopt only reads it.
        let rc = unsafe {
            setsockopt(
                s as usize,
                level,
                name,
                (&value as *const i32).cast::<u8>(),
                std::mem::size_of::<i32>() as i32,
            )
        };
        if rc == SOCKET_ERROR {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// ioctlsocket(FIONREAD): "the amount of data that can be read atomically
    /// from socket s"; on a datagram socket "the amount of pending data in the
    /// network buffer" (learn.microsoft.com/windows/win32/winsock/winsock-ioctls,
    /// FIONREAD).
    pub fn fionread(s: RawSocket) -> io::Result<usize> {
        use windows_sys::Win32::Networking::WinSock::{FIONREAD, ioctlsocket};
        let mut n: u32 = 0;
        // SAFETY: FIONREAD writes one u32 through the pointer, which points at `n`.
        let rc = unsafe { ioctlsocket(s as usize, FIONREAD, &mut n) };
        if rc == SOCKET_ERROR {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    pub fn send_urgent(s: RawSocket, msg: &[u8]) -> io::Result<usize> {
        // SAFETY: `msg` is valid for reads of its length for the whole call.
        let rc = unsafe { send(s as usize, msg.as_ptr(), msg.len() as i32, MSG_OOB) };
        if rc == SOCKET_ERROR {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc as usize)
        }
    }

    pub fn try_recv_urgent(s: RawSocket, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let mut fds = [pollfd(s, POLLRDBAND)];
        if poll(&mut fds, Duration::ZERO)? == 0 || fds[0].revents & POLLRDBAND == 0 {
            return Ok(None);
        }
        // SAFETY: `buf` is valid for writes of its length for the whole call.
        let rc = unsafe { recv(s as usize, buf.as_mut_ptr(), buf.len() as i32, MSG_OOB) };
        if rc == SOCKET_ERROR {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(None);
            }
            return Err(e);
        }
        Ok(Some(rc as usize))
    }
}

//! Stream channels (`unix_stream`, `tcp`): the endpoint over one connection, the
//! server that receives from every connection a listener accepts, and the
//! channel made of a listener and one connection.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

#[cfg(windows)]
use super::win;
use super::{Addr, Conn, Family, Interest, Listener};
use crate::channel::{Channel, Endpoint, Queued, Role};
use crate::check::Ctx;
use crate::observe::{Checked, Step};
use crate::peer::PeerCommand;
use crate::watchdog::BOUND;

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
        super::send_with_fd(self.conn.as_fd(), payload, fd)
    }

    #[cfg(unix)]
    fn recv_fd(&mut self, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
        super::recv_with_fd(self.conn.as_fd(), buf)
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
    watch: super::watch::Watch,
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
                let watch = super::watch::Watch::start(listener, conns.clone())?;
                watch.adopt(first)?;
                Ok(ServerEndpoint { conns, next: 0, last: 0, watch })
            } else {
                conns.lock().unwrap_or_else(|e| e.into_inner()).push(first);
                Ok(ServerEndpoint { conns, next: 0, last: 0, listener })
            }
        }
    }

    fn conns(&self) -> std::sync::MutexGuard<'_, Vec<Conn>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes in the connections waiting to be accepted (on Unix the watch
    /// thread does that for its epoll/kqueue set).
    #[cfg(not(unix))]
    fn accept_pending(&mut self) -> io::Result<()> {
        while let Some(c) = super::try_io(|| self.listener.accept())? {
            self.conns().push(c);
        }
        Ok(())
    }
}

impl Endpoint for ServerEndpoint {
    fn send(&mut self, msg: &[u8]) -> io::Result<usize> {
        let conns = self.conns();
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
                super::wait(self.watch.poll_fd(), Interest::Read, bound)
            } else {
                let mut socks = vec![self.listener.raw()];
                socks.extend(self.conns().iter().map(Conn::raw));
                win::wait_any(&socks, bound)
            }
        }
    }

    /// The bytes queued on every accepted connection together.
    fn queued(&mut self) -> io::Result<Option<Queued>> {
        #[cfg(not(unix))]
        self.accept_pending()?;
        let mut total = 0;
        for c in self.conns().iter() {
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
        let mut conns = self.conns();
        while let Ok(c) = self.listener.accept() {
            conns.push(c);
        }
        conns.iter().map(Conn::raw).collect()
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
        let name = self.addr.name();
        super::mechanism::peer_command(cx, self.id, role, &name, &self.accepted, None)
    }

    fn name(&self) -> Option<String> {
        Some(self.addr.name())
    }
}

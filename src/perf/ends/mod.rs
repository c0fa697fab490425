//! The two ends of each measured mechanism, behind one small trait so that the
//! timed loops (`super::bench`) are written once and compiled per mechanism
//! (no dynamic dispatch, no allocation, no locking in the loops: each end owns
//! its send and receive buffers, allocated before the measurement starts).
//!
//! Every pair is built completely in the measuring process before it forks: the
//! parent keeps the first end, the forked child the second. Names (FIFO and
//! socket paths, `/ipcconf-...` queue and shm names) are removed as soon as both
//! ends are open, so nothing is left behind whatever happens next.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;

use nix::errno::Errno;

use super::sys;

/// One end of a measured channel. A "message" is `len` bytes of `tx()`; a
/// receive fills `rx()`.
pub trait End {
    /// A byte stream: sends may be partial and receives may merge sends.
    const STREAM: bool = false;
    /// A counter (eventfd): a send adds the 8-byte value, a receive takes the sum.
    const COUNTER: bool = false;
    /// The smallest message the mechanism carries (eventfd: its 8-byte counter).
    const SMALL: usize = 1;

    /// The send buffer (capacity: the largest message).
    fn tx(&mut self) -> &mut [u8];
    /// The receive buffer; the last receive's bytes are at its start.
    fn rx(&self) -> &[u8];
    /// Sends `tx()[off..off + len]`; returns the bytes accepted.
    fn send(&mut self, off: usize, len: usize) -> Result<usize, Errno>;
    /// Receives into `rx()`; returns the length (0: end of stream).
    fn recv(&mut self) -> Result<usize, Errno>;
}

fn buffers(cap: usize) -> (Vec<u8>, Vec<u8>) {
    (vec![0; cap.max(64)], vec![0; cap.max(64)])
}

/// The `tx` and `rx` of an end that keeps its buffers in `txb` and `rxb`.
macro_rules! buffers {
    () => {
        #[inline(always)]
        fn tx(&mut self) -> &mut [u8] {
            &mut self.txb
        }

        #[inline(always)]
        fn rx(&self) -> &[u8] {
            &self.rxb
        }
    };
}

/// Retries a call interrupted by a signal (EINTR): the measuring process's
/// alarm handler returns when the measurement makes progress
/// (`sys::STEP_BOUND_SECS`), and a few calls are not restarted after a handler
/// whatever SA_RESTART says (System V messages, for one).
#[inline(always)]
pub(crate) fn restart<T>(mut call: impl FnMut() -> nix::Result<T>) -> nix::Result<T> {
    loop {
        match call() {
            Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

// ------------------------------------------------------- descriptor-based ends

/// A descriptor-based end: `tx` for sending, `rx` for receiving (None: `tx` is
/// bidirectional, a socket). `S`: byte stream.
pub struct FdEnd<const S: bool> {
    tx: OwnedFd,
    rx: Option<OwnedFd>,
    txb: Vec<u8>,
    rxb: Vec<u8>,
}

impl<const S: bool> FdEnd<S> {
    pub fn new(tx: OwnedFd, rx: Option<OwnedFd>, cap: usize) -> Self {
        let (txb, rxb) = buffers(cap);
        FdEnd { tx, rx, txb, rxb }
    }
}

impl<const S: bool> End for FdEnd<S> {
    const STREAM: bool = S;

    buffers!();

    #[inline(always)]
    fn send(&mut self, off: usize, len: usize) -> Result<usize, Errno> {
        loop {
            match restart(|| nix::unistd::write(&self.tx, &self.txb[off..off + len])) {
                // BSD datagram sockets report a full receiver with ENOBUFS instead
                // of blocking: give the receiver the CPU and try again.
                Err(Errno::ENOBUFS) => sys::yield_cpu(),
                r => return r,
            }
        }
    }

    #[inline(always)]
    fn recv(&mut self) -> Result<usize, Errno> {
        let fd = self.rx.as_ref().unwrap_or(&self.tx);
        restart(|| nix::unistd::read(fd, &mut self.rxb))
    }
}

pub type StreamEnd = FdEnd<true>;
pub type MsgEnd = FdEnd<false>;

/// A stream socket end whose calls never sleep: the descriptor is
/// non-blocking and a send or receive that would block (`EAGAIN`) is retried
/// at once, spinning (each spell bounded by the measuring process's 2-second
/// watchdog). Both sides of a round trip thus stay on their CPUs, and the time
/// measured is the mechanism's own work per message, without the scheduler's
/// wake-up of a blocked reader.
pub struct PolledEnd(StreamEnd);

impl PolledEnd {
    pub fn new(e: StreamEnd) -> io::Result<PolledEnd> {
        use nix::fcntl::{FcntlArg, OFlag, fcntl};
        let flags = OFlag::from_bits_truncate(fcntl(&e.tx, FcntlArg::F_GETFL)?);
        fcntl(&e.tx, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        Ok(PolledEnd(e))
    }
}

impl End for PolledEnd {
    const STREAM: bool = true;

    #[inline(always)]
    fn tx(&mut self) -> &mut [u8] {
        self.0.tx()
    }

    #[inline(always)]
    fn rx(&self) -> &[u8] {
        self.0.rx()
    }

    #[inline(always)]
    fn send(&mut self, off: usize, len: usize) -> Result<usize, Errno> {
        loop {
            match self.0.send(off, len) {
                Err(Errno::EAGAIN) => std::hint::spin_loop(),
                r => return r,
            }
        }
    }

    #[inline(always)]
    fn recv(&mut self) -> Result<usize, Errno> {
        loop {
            match self.0.recv() {
                Err(Errno::EAGAIN) => std::hint::spin_loop(),
                r => return r,
            }
        }
    }
}

/// Both ends of a stream socket pair made [`PolledEnd`]s.
pub fn polled((a, b): (StreamEnd, StreamEnd)) -> io::Result<(PolledEnd, PolledEnd)> {
    Ok((PolledEnd::new(a)?, PolledEnd::new(b)?))
}

/// Two anonymous pipes, one each way.
pub fn pipe_pair(cap: usize) -> io::Result<(StreamEnd, StreamEnd)> {
    let (r1, w1) = crate::sys::pipe()?;
    let (r2, w2) = crate::sys::pipe()?;
    Ok((
        StreamEnd::new(w1, Some(r2), cap),
        StreamEnd::new(w2, Some(r1), cap),
    ))
}

/// Two FIFOs in a private directory, one each way; the FIFOs are removed once open.
pub fn fifo_pair(cap: usize) -> io::Result<(StreamEnd, StreamEnd)> {
    use nix::fcntl::{FcntlArg, OFlag, open};
    use nix::sys::stat::Mode;
    let dir = crate::names::private_dir()?;
    let mut ends = Vec::new();
    for name in ["a", "b"] {
        let path = dir
            .path()
            .join(format!("{}-{name}", crate::names::unique()));
        nix::unistd::mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR)?;
        // The reader first, non-blocking, so that opening the writer does not wait.
        let r = open(
            &path,
            OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let w = open(&path, OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())?;
        nix::fcntl::fcntl(&r, FcntlArg::F_SETFL(OFlag::empty()))?;
        std::fs::remove_file(&path)?;
        ends.push((r, w));
    }
    drop(dir);
    let (rb, wb) = ends.pop().expect("two FIFOs");
    let (ra, wa) = ends.pop().expect("two FIFOs");
    Ok((
        StreamEnd::new(wa, Some(rb), cap),
        StreamEnd::new(wb, Some(ra), cap),
    ))
}

/// A connected Unix stream socket (bound path, removed once connected).
pub fn unix_stream_pair(cap: usize) -> io::Result<(StreamEnd, StreamEnd)> {
    use std::os::unix::net::{UnixListener, UnixStream};
    let dir = crate::names::private_dir()?;
    let path = dir.path().join(format!("{}.sock", crate::names::unique()));
    let listener = UnixListener::bind(&path)?;
    let client = UnixStream::connect(&path)?;
    let (server, _) = listener.accept()?;
    drop(listener);
    drop(dir);
    Ok((
        StreamEnd::new(server.into(), None, cap),
        StreamEnd::new(client.into(), None, cap),
    ))
}

/// The receive buffer of a socket end (for flow control of datagrams).
pub fn rcvbuf(e: &MsgEnd) -> io::Result<usize> {
    Ok(nix::sys::socket::getsockopt(
        &e.tx,
        nix::sys::socket::sockopt::RcvBuf,
    )?)
}

/// Two Unix datagram sockets bound to paths and connected to each other.
pub fn unix_dgram_pair(cap: usize) -> io::Result<(MsgEnd, MsgEnd)> {
    use std::os::unix::net::UnixDatagram;
    let dir = crate::names::private_dir()?;
    let pa = dir
        .path()
        .join(format!("{}-a.sock", crate::names::unique()));
    let pb = dir
        .path()
        .join(format!("{}-b.sock", crate::names::unique()));
    let a = UnixDatagram::bind(&pa)?;
    let b = UnixDatagram::bind(&pb)?;
    a.connect(&pb)?;
    b.connect(&pa)?;
    drop(dir);
    Ok((
        MsgEnd::new(a.into(), None, cap),
        MsgEnd::new(b.into(), None, cap),
    ))
}

/// A connected Unix seqpacket socket (bound path, removed once connected).
pub fn unix_seqpacket_pair(cap: usize) -> io::Result<(MsgEnd, MsgEnd)> {
    use crate::mech::unix_seqpacket::{accept_within, connect, listen_at};
    let dir = crate::names::private_dir()?;
    let path = dir.path().join(format!("{}.sock", crate::names::unique()));
    let listener = listen_at(&path)?;
    let client = connect(&path)?;
    let server = accept_within(&listener, crate::watchdog::BOUND)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            "accept: the connection made did not arrive",
        )
    })?;
    drop(listener);
    drop(dir);
    Ok((
        MsgEnd::new(server, None, cap),
        MsgEnd::new(client, None, cap),
    ))
}

/// A TCP connection over loopback, TCP_NODELAY on both sides.
pub fn tcp_pair(cap: usize) -> io::Result<(StreamEnd, StreamEnd)> {
    use std::net::{Ipv4Addr, TcpListener, TcpStream};
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    Ok((
        StreamEnd::new(server.into(), None, cap),
        StreamEnd::new(client.into(), None, cap),
    ))
}

/// Two UDP sockets on loopback connected to each other, with receive buffers
/// raised as far as an unprivileged process may (returned: the buffer size).
pub fn udp_pair(cap: usize) -> io::Result<(MsgEnd, MsgEnd, usize)> {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt};
    use std::net::{Ipv4Addr, UdpSocket};
    let a = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    let b = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    a.connect(b.local_addr()?)?;
    b.connect(a.local_addr()?)?;
    for s in [&a, &b] {
        let _ = setsockopt(s, sockopt::RcvBuf, &(4 << 20));
    }
    let rcvbuf = getsockopt(&b, sockopt::RcvBuf)?.min(getsockopt(&a, sockopt::RcvBuf)?);
    Ok((
        MsgEnd::new(a.into(), None, cap),
        MsgEnd::new(b.into(), None, cap),
        rcvbuf,
    ))
}

/// The largest power-of-two datagram (<= `max`) this pair carries: sends
/// halving sizes until one is accepted (EMSGSIZE, ENOBUFS: smaller), and
/// receives it at the other end.
pub fn probe_message_size(a: &mut MsgEnd, b: &mut MsgEnd, max: usize) -> io::Result<usize> {
    let mut size = max;
    while size >= 256 {
        match a.send(0, size) {
            Ok(n) if n == size => {
                let got = b.recv()?;
                if got != size {
                    return Err(io::Error::other(format!(
                        "probe: sent {size} bytes, received {got}"
                    )));
                }
                return Ok(size);
            }
            Ok(n) => {
                return Err(io::Error::other(format!(
                    "probe: a datagram send of {size} accepted {n}"
                )));
            }
            Err(Errno::EMSGSIZE | Errno::ENOBUFS) => size /= 2,
            Err(e) => return Err(e.into()),
        }
    }
    Err(io::Error::other("no datagram of 256 bytes or more fits"))
}

// ------------------------------------------------------------------- eventfd

cfg_if::cfg_if! {
    if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
        use nix::sys::eventfd::EventFd as Counter;
    } else {
        // No eventfd here: `eventfd_pair` fails, no end is ever made.
        use std::os::fd::OwnedFd as Counter;
    }
}

/// Two eventfds, one each way. A message is the 8-byte counter value.
///
/// The two ends share each descriptor rather than holding dup()s of it: a copy
/// made with F_DUPFD_CLOEXEC loses, under qemu-user 7.2 with a big-endian guest
/// (s390x), the byte-order translation qemu applies to the counter, so one end
/// would read the other's 1 as 1 << 56. The kernel's eventfd is the same either way.
pub struct EventEnd {
    tx: Rc<Counter>,
    rx: Rc<Counter>,
    txb: [u8; 64],
    rxb: [u8; 64],
}

impl End for EventEnd {
    const COUNTER: bool = true;
    const SMALL: usize = 8;

    buffers!();

    #[inline(always)]
    fn send(&mut self, off: usize, len: usize) -> Result<usize, Errno> {
        debug_assert!(off == 0 && len == 8);
        let v = u64::from_le_bytes(self.txb[..8].try_into().expect("8 bytes"));
        restart(|| nix::unistd::write(self.tx.as_fd(), &v.to_ne_bytes())).map(|_| len)
    }

    #[inline(always)]
    fn recv(&mut self) -> Result<usize, Errno> {
        let mut b = [0u8; 8];
        let n = restart(|| nix::unistd::read(self.rx.as_fd(), &mut b))?;
        if n != 8 {
            return Err(Errno::EIO);
        }
        self.rxb[..8].copy_from_slice(&u64::from_ne_bytes(b).to_le_bytes());
        Ok(8)
    }
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub fn eventfd_pair() -> io::Result<(EventEnd, EventEnd)> {
    let new = || Counter::from_value_and_flags(0, nix::sys::eventfd::EfdFlags::EFD_CLOEXEC);
    let (a, b) = (Rc::new(new()?), Rc::new(new()?));
    let end = |tx, rx| EventEnd {
        tx,
        rx,
        txb: [0; 64],
        rxb: [0; 64],
    };
    Ok((end(Rc::clone(&a), Rc::clone(&b)), end(b, a)))
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
pub fn eventfd_pair() -> io::Result<(EventEnd, EventEnd)> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no eventfd on this OS",
    ))
}

// ------------------------------------------------------------- POSIX queues

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
pub use pmq::*;

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
mod pmq {
    use super::*;
    use nix::mqueue::{MQ_OFlag, MqAttr, MqdT, mq_open, mq_receive, mq_send, mq_unlink};
    use nix::sys::stat::Mode;

    /// Two POSIX message queues, one each way.
    pub struct MqEnd {
        tx: MqdT,
        rx: MqdT,
        txb: Vec<u8>,
        rxb: Vec<u8>,
    }

    impl End for MqEnd {
        buffers!();

        #[inline(always)]
        fn send(&mut self, off: usize, len: usize) -> Result<usize, Errno> {
            restart(|| mq_send(&self.tx, &self.txb[off..off + len], 0)).map(|_| len)
        }

        #[inline(always)]
        fn recv(&mut self) -> Result<usize, Errno> {
            let mut prio = 0;
            restart(|| mq_receive(&self.rx, &mut self.rxb, &mut prio))
        }
    }

    /// Creates a queue `/ipcconf-...` (mode 0600) for messages of `msgsize`
    /// bytes (halved while the system refuses it), opens it twice, and unlinks it.
    pub fn queue(msgsize: usize, maxmsg: usize) -> io::Result<(MqdT, MqdT, usize)> {
        let mut size = msgsize;
        loop {
            let name = crate::names::unique_slash();
            let member = |v: usize| {
                v.try_into().map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{v} does not fit struct mq_attr's C long"),
                    )
                })
            };
            let attr = MqAttr::new(0, member(maxmsg)?, member(size)?, 0);
            match mq_open(
                name.as_str(),
                MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL | MQ_OFlag::O_RDWR,
                Mode::S_IRUSR | Mode::S_IWUSR,
                Some(&attr),
            ) {
                Ok(a) => {
                    let _unlink = crate::names::Cleanup::new(|| {
                        let _ = mq_unlink(name.as_str());
                    });
                    let b = mq_open(name.as_str(), MQ_OFlag::O_RDWR, Mode::empty(), None)?;
                    return Ok((a, b, size));
                }
                Err(Errno::EINVAL) if size > 256 => size /= 2,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Two queues (one each way) of `msgsize`-byte messages, 10 deep (Linux's
    /// unprivileged default). Returns the ends and the message size granted.
    pub fn posix_mq_pair(msgsize: usize) -> io::Result<(MqEnd, MqEnd, usize)> {
        let (a1, a2, sa) = queue(msgsize, 10)?;
        let (b1, b2, sb) = queue(sa.min(msgsize), 10)?;
        let size = sa.min(sb);
        let mk = |tx, rx| MqEnd {
            tx,
            rx,
            txb: vec![0; size.max(64)],
            rxb: vec![0; sa.max(sb).max(64)],
        };
        Ok((mk(a1, b1), mk(b2, a2), size))
    }
}

// ---------------------------------------------------------- System V queues

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
pub use svq::*;

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "macos"))]
mod svq {
    use super::*;
    use crate::mech::sysv_mq::{Queue, ffi};

    /// A private System V queue (`crate::mech::sysv_mq::Queue`) that the
    /// measuring process's alarm removes if it fires (a System V queue outlives
    /// its processes); removed on drop as well.
    pub struct SysvQueue(Queue);

    impl SysvQueue {
        pub fn new() -> io::Result<SysvQueue> {
            let q = Queue::private()?;
            sys::remove_queue_on_alarm(q.id);
            Ok(SysvQueue(q))
        }

        pub fn id(&self) -> libc::c_int {
            self.0.id
        }
    }

    impl Drop for SysvQueue {
        fn drop(&mut self) {
            // The queue itself is removed when the field drops, right after.
            sys::forget_queue(self.0.id);
        }
    }

    /// The errno of a failed msgsnd or msgrcv.
    pub fn errno(e: io::Error) -> Errno {
        Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
    }

    /// One System V queue: type 1 carries parent→child, type 2 child→parent.
    pub struct SysvEnd {
        q: Rc<SysvQueue>,
        rx_type: libc::c_long,
        txb: ffi::MsgBuf,
        rxb: ffi::MsgBuf,
    }

    impl End for SysvEnd {
        #[inline(always)]
        fn tx(&mut self) -> &mut [u8] {
            self.txb.text_mut()
        }

        #[inline(always)]
        fn rx(&self) -> &[u8] {
            self.rxb.text()
        }

        #[inline(always)]
        fn send(&mut self, off: usize, len: usize) -> Result<usize, Errno> {
            debug_assert_eq!(off, 0);
            // msgsnd and msgrcv are never restarted after a signal handler
            // (signal(7)): the alarm's handler may interrupt them.
            restart(|| ffi::send_buf(self.q.id(), &self.txb, len, 0).map_err(errno)).map(|_| len)
        }

        #[inline(always)]
        fn recv(&mut self) -> Result<usize, Errno> {
            restart(|| ffi::receive_buf(self.q.id(), &mut self.rxb, self.rx_type, 0).map_err(errno))
        }
    }

    /// A private System V queue and its two ends (which keep it until both
    /// are dropped); messages of at most `max` bytes, and at most half the
    /// queue's capacity so that two fit.
    pub fn sysv_pair(max: usize) -> io::Result<(SysvEnd, SysvEnd, usize)> {
        let q = Rc::new(SysvQueue::new()?);
        let size = match ffi::qbytes(q.id()) {
            Some(qb) => max.min(qb / 2),
            None => max.min(1024),
        }
        .max(1);
        let mk = |tx_type, rx_type| {
            let mut txb = ffi::MsgBuf::new(size.max(64));
            txb.set_type(tx_type);
            SysvEnd {
                q: Rc::clone(&q),
                rx_type,
                txb,
                rxb: ffi::MsgBuf::new(size.max(64)),
            }
        };
        Ok((mk(1, 2), mk(2, 1), size))
    }
}

// ------------------------------------------------------------ shared memory

mod shm;
pub use shm::*;

#[cfg(test)]
mod tests {
    use super::*;

    /// A polled pair is non-blocking, and carries bytes both ways unchanged.
    #[test]
    fn polled_ends_are_non_blocking_and_carry_bytes() {
        use nix::fcntl::{FcntlArg, OFlag, fcntl};
        let (mut a, mut b) = polled(unix_stream_pair(64).expect("socket pair")).expect("polled");
        for e in [&a, &b] {
            let fl = OFlag::from_bits_truncate(fcntl(&e.0.tx, FcntlArg::F_GETFL).expect("F_GETFL"));
            assert!(fl.contains(OFlag::O_NONBLOCK));
        }
        // Nothing sent yet: the raw receive would block, and says so.
        assert_eq!(b.0.recv(), Err(Errno::EAGAIN));
        a.tx()[0] = 0x5a;
        assert_eq!(a.send(0, 1), Ok(1));
        assert_eq!(b.recv(), Ok(1));
        assert_eq!(b.rx()[0], 0x5a);
        b.tx()[0] = 0xa5;
        assert_eq!(b.send(0, 1), Ok(1));
        assert_eq!(a.recv(), Ok(1));
        assert_eq!(a.rx()[0], 0xa5);
    }
}

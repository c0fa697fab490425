//! The adapter every message-passing mechanism implements once, so that the
//! characteristics-matrix checks (`crate::matrix`) and the peer helper work over
//! any of them.

use std::io;
use std::time::{Duration, Instant};

use crate::check::Ctx;
use crate::observe::Checked;
use crate::peer::PeerCommand;

/// Which end of a channel an endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Sender,
    Receiver,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sender => "sender",
            Role::Receiver => "receiver",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "sender" => Some(Role::Sender),
            "receiver" => Some(Role::Receiver),
            _ => None,
        }
    }

    /// `sender` for the sending end, `receiver` for the receiving one (a
    /// channel's two ends, as a value of either).
    pub fn pick<T>(self, sender: T, receiver: T) -> T {
        match self {
            Role::Sender => sender,
            Role::Receiver => receiver,
        }
    }
}

/// One open end of a channel, in this process or in a peer.
pub trait Endpoint: Send {
    /// Sends one message (or bytes, for a stream), waiting at most the bound for room.
    fn send(&mut self, msg: &[u8]) -> io::Result<usize>;

    /// Receives without waiting: `Ok(None)` when nothing is there now, `Ok(Some(0))` at end of stream.
    fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;

    /// Waits at most `bound` until a receive would not block; `Ok(false)` on timeout.
    fn wait_readable(&mut self, bound: Duration) -> io::Result<bool>;

    /// The descriptor poll() would watch for arrivals, if the mechanism has one.
    #[cfg(unix)]
    fn poll_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }

    /// What WSAPoll would watch on Windows: the sockets the receiving end reads
    /// from (a server first takes in connections waiting to be accepted), or, for
    /// a handle-based endpoint, the handle value (which WSAPoll is expected to
    /// reject; the pollable check records what it says).
    #[cfg(windows)]
    fn poll_sockets(&self) -> Vec<u64> {
        Vec::new()
    }

    /// Sends `payload` carrying the open descriptor `fd` to the other end.
    #[cfg(unix)]
    fn send_fd(&mut self, _payload: &[u8], _fd: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this endpoint has no way to carry a descriptor",
        ))
    }

    /// Receives a message and the descriptor it carries, if any.
    #[cfg(unix)]
    fn recv_fd(&mut self, _buf: &mut [u8]) -> io::Result<(usize, Option<std::os::fd::OwnedFd>)> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this endpoint has no way to carry a descriptor",
        ))
    }

    /// Sends a message marked urgent; `Unsupported` where the mechanism has no priority.
    fn send_urgent(&mut self, _msg: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no priority parameter on send",
        ))
    }

    /// What the kernel says is queued at this receiving end, not yet received;
    /// `None` where the mechanism has no such count.
    fn queued(&mut self) -> io::Result<Option<Queued>> {
        Ok(None)
    }

    /// Receives, waiting at most `bound`: `Ok(None)` when nothing came in time.
    fn recv(&mut self, buf: &mut [u8], bound: Duration) -> io::Result<Option<usize>> {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(n) = self.try_recv(buf)? {
                return Ok(Some(n));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.wait_readable(left)? {
                return Ok(None);
            }
        }
    }
}

/// A receiving end's queue, as its kernel counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// Bytes of every message or stream byte queued (FIONREAD on a stream socket,
    /// pipe or FIFO; ioctlsocket FIONREAD on Winsock; PeekNamedPipe's total).
    Bytes(usize),
    /// Whole messages queued (macOS SO_NUMRCVPKT on a datagram socket).
    Messages(usize),
    /// The length of the next message only: Linux counts no further on a
    /// datagram socket (FIONREAD there is the first datagram's length).
    NextMessage(usize),
}

/// Waits at most `bound` until every message of `sent` (their lengths, in the
/// order sent) is queued at the receiving end `rx`, so that what a receive
/// returns next depends on the mechanism, not on when the sender's bytes
/// arrive (Nagle's algorithm and delayed ACK hold a small TCP write back).
///
/// `Ok(Ok(evidence))` once all is queued, or where the count cannot tell more
/// (the evidence says what was seen); `Ok(Err(evidence))` when the bound passed
/// with less queued. Receives nothing.
pub fn wait_all_queued(
    rx: &mut dyn Endpoint,
    sent: &[usize],
    bound: Duration,
) -> io::Result<Result<String, String>> {
    let rx = std::cell::RefCell::new(rx);
    wait_counted(
        || rx.borrow_mut().queued(),
        |left| rx.borrow_mut().wait_readable(left),
        sent,
        bound,
    )
}

/// [`wait_all_queued`] over any count: `count` says what is queued, `wait`
/// waits (at most the time given) for a first arrival.
pub fn wait_counted(
    mut count: impl FnMut() -> io::Result<Option<Queued>>,
    mut wait: impl FnMut(Duration) -> io::Result<bool>,
    sent: &[usize],
    bound: Duration,
) -> io::Result<Result<String, String>> {
    let total: usize = sent.iter().sum();
    let deadline = Instant::now() + bound;
    // The interval between two looks at the count once something is queued
    // (poll() says nothing more then); the count, not the interval, decides.
    let mut pause = Duration::from_micros(50);
    loop {
        let q = count()?;
        let (done, seen) = match q {
            None => {
                return Ok(Ok(
                    "the mechanism has no count of queued data; each send completed before the receive"
                        .to_owned(),
                ));
            }
            Some(Queued::Bytes(n)) => (n >= total, format!("{n} of {total} bytes queued")),
            Some(Queued::Messages(k)) => (
                k >= sent.len(),
                format!("{k} of {} messages queued", sent.len()),
            ),
            Some(Queued::NextMessage(n)) => (
                n > 0,
                format!(
                    "the next message ({n} bytes) queued; the kernel counts no further than one datagram"
                ),
            ),
        };
        if done {
            return Ok(Ok(format!("before receiving: {seen}")));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Err(format!("after {bound:?}: {seen}")));
        }
        let empty = matches!(
            q,
            Some(Queued::Bytes(0) | Queued::Messages(0) | Queued::NextMessage(0))
        );
        if empty {
            wait(left)?;
        } else {
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_millis(2));
        }
    }
}

/// One channel object of a mechanism, made by this process.
pub trait Channel {
    /// Opens an end of the channel in this process.
    fn open(&mut self, role: Role) -> io::Result<Box<dyn Endpoint>>;

    /// A peer command that opens an end of this channel in another process: by
    /// name where the mechanism has one, else with descriptors handed over.
    fn peer(&mut self, cx: &Ctx, role: Role) -> io::Result<PeerCommand>;

    /// The name an unrelated process can use to join, if any.
    fn name(&self) -> Option<String>;

    /// Why there is no name, with the evidence (for `unrelated_processes`).
    fn nameless_evidence(&self) -> String {
        "the channel has no name".to_owned()
    }
}

/// A message-passing mechanism, as the matrix checks see it.
pub trait Mechanism {
    /// The claim-id prefix: "pipe", "fifo", "posix_mq", ...
    fn id(&self) -> &'static str;

    /// Makes a fresh channel; `Err` ends the check (unsupported, skipped, error).
    fn create(&self, cx: &mut Ctx) -> Checked<Box<dyn Channel>>;
}

/// Declares `$name`, a unit struct that is the [`Mechanism`] `$id`, whose
/// channels `$create` makes (an expression over `$cx: &mut Ctx` that returns
/// `Checked<Box<dyn Channel>>`).
macro_rules! unit_mechanism {
    ($(#[$attr:meta])* $name:ident, $id:literal, |$cx:ident| $create:expr) => {
        $(#[$attr])*
        pub struct $name;

        impl $crate::channel::Mechanism for $name {
            fn id(&self) -> &'static str {
                $id
            }

            fn create(
                &self,
                $cx: &mut $crate::check::Ctx,
            ) -> $crate::observe::Checked<Box<dyn $crate::channel::Channel>> {
                $create
            }
        }
    };
}
pub(crate) use unit_mechanism;

/// Descriptor-based endpoints (pipes, FIFOs, sockets): non-blocking descriptor,
/// bounded waits through poll().
#[cfg(unix)]
pub mod fd {
    use std::io;
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::time::{Duration, Instant};

    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

    use super::Endpoint;
    use crate::watchdog::BOUND;

    /// Waits for `flags` on `fd` at most `bound`; true when ready.
    pub fn wait(fd: BorrowedFd<'_>, flags: PollFlags, bound: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + bound;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = PollTimeout::try_from(left.as_millis().min(60_000) as i32)
                .unwrap_or(PollTimeout::ZERO);
            let mut fds = [PollFd::new(fd, flags)];
            match poll(&mut fds, ms) {
                Ok(0) => return Ok(false),
                Ok(_) => return Ok(true),
                Err(nix::errno::Errno::EINTR) if !left.is_zero() => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// What poll() says of `fd` right now (revents), without waiting.
    pub fn revents_now(fd: BorrowedFd<'_>) -> io::Result<PollFlags> {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::ZERO)?;
        Ok(fds[0].revents().unwrap_or(PollFlags::empty()))
    }

    pub fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
        let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
        fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        Ok(())
    }

    /// FIONREAD: the bytes waiting to be read on a pipe, FIFO or socket (on a
    /// datagram socket Linux gives the first datagram's length only,
    /// net/ipv4/udp.c udp_ioctl and net/unix/af_unix.c unix_inq_len).
    pub fn fionread(fd: BorrowedFd<'_>) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int through the pointer, which points at `n`;
        // `fd` is a live descriptor for the call.
        let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// A read/write endpoint over one descriptor (pipe end, FIFO, connected socket).
    pub struct FdEndpoint {
        pub fd: OwnedFd,
    }

    impl FdEndpoint {
        /// Wraps `fd`, switching it to non-blocking so every wait is a bounded poll.
        pub fn new(fd: OwnedFd) -> io::Result<Self> {
            set_nonblocking(fd.as_fd())?;
            Ok(FdEndpoint { fd })
        }
    }

    impl Endpoint for FdEndpoint {
        fn send(&mut self, msg: &[u8]) -> io::Result<usize> {
            let deadline = Instant::now() + BOUND;
            let mut done = 0;
            while done < msg.len() {
                match nix::unistd::write(&self.fd, &msg[done..]) {
                    Ok(n) => done += n,
                    Err(nix::errno::Errno::EAGAIN) => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if !wait(self.fd.as_fd(), PollFlags::POLLOUT, left)? {
                            return Err(io::Error::new(
                                io::ErrorKind::TimedOut,
                                "no room to write within the bound",
                            ));
                        }
                    }
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(done)
        }

        fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
            loop {
                match nix::unistd::read(&self.fd, buf) {
                    Ok(n) => return Ok(Some(n)),
                    Err(nix::errno::Errno::EAGAIN) => return Ok(None),
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }

        fn wait_readable(&mut self, bound: Duration) -> io::Result<bool> {
            wait(self.fd.as_fd(), PollFlags::POLLIN, bound)
        }

        fn poll_fd(&self) -> Option<BorrowedFd<'_>> {
            Some(self.fd.as_fd())
        }

        fn queued(&mut self) -> io::Result<Option<super::Queued>> {
            Ok(Some(super::Queued::Bytes(fionread(self.fd.as_fd())?)))
        }

        fn send_fd(&mut self, payload: &[u8], fd: BorrowedFd<'_>) -> io::Result<()> {
            use std::os::fd::AsRawFd;
            let fds = [fd.as_raw_fd()];
            let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
            let iov = [std::io::IoSlice::new(payload)];
            nix::sys::socket::sendmsg::<()>(
                self.fd.as_raw_fd(),
                &iov,
                &cmsg,
                nix::sys::socket::MsgFlags::empty(),
                None,
            )?;
            Ok(())
        }
    }
}

/// Records written by the multiple-writers check: `[b'R', writer, seq_hi, seq_lo, writer...]`.
pub fn record(writer: u8, seq: u16, size: usize) -> Vec<u8> {
    let mut r = vec![writer; size];
    r[0] = b'R';
    r[1] = writer;
    r[2..4].copy_from_slice(&seq.to_be_bytes());
    r
}

/// How many `size`-byte records of `stream` (tagged by [`record`], writers
/// numbered 1..=`writers`) are torn, interleaved, foreign or out of order per writer.
pub fn broken_records(stream: &[u8], writers: u8, size: usize) -> usize {
    let mut next = vec![0u16; usize::from(writers) + 1];
    let mut broken = 0;
    for rec in stream.chunks(size) {
        let w = rec.get(1).copied().unwrap_or(0);
        let seq = u16::from_be_bytes([
            rec.get(2).copied().unwrap_or(0),
            rec.get(3).copied().unwrap_or(0),
        ]);
        let ok = rec.len() == size
            && (1..=writers).contains(&w)
            && rec == record(w, seq, size).as_slice()
            && seq == next[usize::from(w)];
        if ok {
            next[usize::from(w)] += 1;
        } else {
            broken += 1;
        }
    }
    broken
}

/// The peer side of the endpoint protocol (`ipcconf-peer endpoint ...`, see
/// [`crate::peer`]): answers commands on stdin for the endpoint `ep`.
pub fn serve_endpoint(mut ep: Box<dyn Endpoint>) -> Result<(), String> {
    use crate::peer::answer::say;
    use crate::peer::endpoint_protocol::{Answer, Command};
    use crate::peer::wire::WireLine;
    use std::io::BufRead;
    say(&format!("ready {}", std::process::id()))?;
    for line in io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let answer = match Command::from_line(&line) {
            Ok(Command::Quit) => return Ok(()),
            Ok(command) => endpoint_answer(ep.as_mut(), command),
            Err(e) => Answer::Err {
                errno: 0,
                text: e.to_string(),
            },
        };
        say(&answer.to_string())?;
    }
    Ok(())
}

/// Carries out one endpoint command on `ep`.
fn endpoint_answer(
    ep: &mut dyn Endpoint,
    command: crate::peer::endpoint_protocol::Command,
) -> crate::peer::endpoint_protocol::Answer {
    use crate::peer::endpoint_protocol::{Answer, Command};
    match command {
        Command::Send(data) => match ep.send(&data) {
            Ok(n) => Answer::Ok(n as u64),
            Err(e) => Answer::io_error(&e),
        },
        Command::Recv { max, ms } => {
            let mut buf = vec![0u8; max];
            match ep.recv(&mut buf, Duration::from_millis(ms)) {
                Ok(Some(0)) => Answer::Eof,
                Ok(Some(n)) => Answer::Data(buf[..n].to_vec()),
                Ok(None) => Answer::Empty,
                Err(e) => Answer::io_error(&e),
            }
        }
        Command::Queued { lens, ms } => {
            match wait_all_queued(ep, &lens, Duration::from_millis(ms)) {
                Ok(Ok(seen)) => Answer::Queued(seen),
                Ok(Err(seen)) => Answer::Short(seen),
                Err(e) => Answer::io_error(&e),
            }
        }
        Command::Records { size, .. } if size < 4 => Answer::Err {
            errno: 0,
            text: format!("record size {size} below 4, the tag's length"),
        },
        Command::Records {
            writer,
            count,
            size,
        } => (0..count)
            .find_map(|seq| ep.send(&record(writer, seq, size)).err())
            .map_or(Answer::Ok(u64::from(count)), |e| Answer::io_error(&e)),
        #[cfg(unix)]
        Command::RecvFd { max } => {
            let mut buf = vec![0u8; max];
            match ep
                .wait_readable(crate::watchdog::BOUND)
                .and_then(|_| ep.recv_fd(&mut buf))
            {
                Ok((n, Some(fd))) => {
                    let mut content = vec![0u8; 256];
                    match nix::unistd::read(&fd, &mut content) {
                        Ok(k) => Answer::Fd {
                            payload: buf[..n].to_vec(),
                            content: content[..k].to_vec(),
                        },
                        Err(e) => Answer::Err {
                            errno: e as i32,
                            text: format!("reading the received descriptor: {e}"),
                        },
                    }
                }
                Ok((n, None)) => Answer::NoFd(buf[..n].to_vec()),
                Err(e) => Answer::io_error(&e),
            }
        }
        #[cfg(not(unix))]
        Command::RecvFd { .. } => Answer::Err {
            errno: 0,
            text: format!("no descriptor passing on {}", crate::platform::TARGET),
        },
        Command::Quit => Answer::Err {
            errno: 0,
            text: "quit has no answer".to_owned(),
        },
    }
}

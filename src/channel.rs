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

//! signalfd (Linux): a descriptor that becomes readable when one of the peer's
//! blocked signals is pending, read as a `signalfd_siginfo`.

use std::io;
use std::os::fd::AsFd;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::protocol::Answer;
use super::readiness::{revents, wait_ms};

/// A signalfd for `sigs` (non-blocking), and what poll() says of it now.
pub fn open(sigs: &[i32]) -> io::Result<(SignalFd, Answer)> {
    let mut set = SigSet::empty();
    for s in sigs {
        if let Ok(s) = Signal::try_from(*s) {
            set.add(s);
        }
    }
    let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
    let answer = revents(sfd.as_fd()).map_or_else(|e| Answer::io_error(&e), Answer::SfdRevents);
    Ok((sfd, answer))
}

/// Waits (bounded) until the signalfd is readable, then reads one signal.
pub fn wait(sfd: &mut SignalFd, ms: u64) -> io::Result<Answer> {
    let ready = wait_ms(sfd.as_fd(), ms)?;
    let (signo, pid, uid) = match sfd.read_signal()? {
        Some(si) => (si.ssi_signo, si.ssi_pid, si.ssi_uid),
        None => (0, 0, 0),
    };
    Ok(Answer::SfdRead {
        ready,
        signo,
        pid,
        uid,
    })
}

//! EVFILT_SIGNAL on a kqueue (macOS, FreeBSD): the kqueue counts deliveries
//! of the peer's signals (blocked or not) and becomes readable.

use std::io;
use std::os::fd::AsFd;

use nix::sys::event::{EvFlags, EventFilter, FilterFlag, KEvent, Kqueue};

use super::protocol::Answer;
use super::readiness::{revents, wait_ms};

const ZERO: libc::timespec = libc::timespec {
    tv_sec: 0,
    tv_nsec: 0,
};

fn signal_event(sig: usize, flags: EvFlags) -> KEvent {
    KEvent::new(
        sig,
        EventFilter::EVFILT_SIGNAL,
        flags,
        FilterFlag::empty(),
        0,
        0,
    )
}

/// A kqueue watching `sigs`, and what poll() says of it now.
pub fn open(sigs: &[i32]) -> io::Result<(Kqueue, Answer)> {
    let kq = Kqueue::new()?;
    let changes: Vec<KEvent> = sigs
        .iter()
        .map(|&s| signal_event(s as usize, EvFlags::EV_ADD))
        .collect();
    kq.kevent(&changes, &mut [], Some(ZERO))?;
    let answer = revents(kq.as_fd()).map_or_else(|e| Answer::io_error(&e), Answer::KqRevents);
    Ok((kq, answer))
}

/// Waits (bounded) until the kqueue is readable, then takes one event.
pub fn wait(kq: &Kqueue, ms: u64) -> io::Result<Answer> {
    let ready = wait_ms(kq.as_fd(), ms)?;
    let mut events = [signal_event(0, EvFlags::empty())];
    let (ident, data) = match kq.kevent(&[], &mut events, Some(ZERO))? {
        0 => (0, 0),
        _ => (events[0].ident() as u64, events[0].data() as i64),
    };
    Ok(Answer::KqRead { ready, ident, data })
}

//! Readiness of the descriptors a signal peer watches for signals (a Linux
//! signalfd, a BSD or macOS kqueue), in the protocol's terms; used by both
//! watchers.

use std::io;

/// What poll() says of `fd` now, as the protocol's revents bits (signalfd, kqueue).
pub(super) fn revents(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<i16> {
    crate::channel::fd::revents_now(fd).map(|r| r.bits())
}

/// Waits at most `ms` (never beyond the watchdog's bound) until `fd` is readable.
pub(super) fn wait_ms(fd: std::os::fd::BorrowedFd<'_>, ms: u64) -> io::Result<bool> {
    let bound = std::time::Duration::from_millis(ms).min(crate::watchdog::BOUND);
    crate::channel::fd::wait(fd, nix::poll::PollFlags::POLLIN, bound)
}

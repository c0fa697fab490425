//! Process-shared pthread objects: the narrow FFI layer over a
//! `pthread_mutex_t` and a `pthread_cond_t` placed in memory that several
//! processes map. Every function takes raw pointers to the objects and says in
//! its contract what they must point at; nothing here knows the layout of the
//! suite's shared block (that is [`super::sync`]). The PTHREAD_PROCESS_SHARED
//! initialisation is [`crate::sys::shared`]'s, the one the performance
//! harness uses too; here are the bounded waits and the other calls.

use std::io;
use std::time::{Duration, Instant};

pub use crate::sys::shared::{
    PTHREAD_PROCESS_SHARED, check_rc, cond_init_shared, mutex_init_shared,
};

/// An absolute CLOCK_REALTIME time `left` from now (pthread timed waits).
pub fn realtime_deadline(left: Duration) -> libc::timespec {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    *nix::sys::time::TimeSpec::from_duration(now + left).as_ref()
}

/// Locks `m`, waiting at most until `deadline`: pthread_mutex_timedlock where
/// the platform has it, else pthread_mutex_trylock, yielding, until the
/// deadline. A lock not acquired in time is `ErrorKind::TimedOut`.
///
/// # Safety
/// `m` must point to a live (initialised, not destroyed) mutex.
pub unsafe fn mutex_lock_until(m: *mut libc::pthread_mutex_t, deadline: Instant) -> io::Result<()> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
            let left = deadline.saturating_duration_since(Instant::now());
            let ts = realtime_deadline(left);
            // SAFETY: m is a live mutex (contract); ts outlives the call.
            let rc = unsafe { libc::pthread_mutex_timedlock(m, &ts) };
            if rc == libc::ETIMEDOUT {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "pthread_mutex_timedlock: not acquired within the bound"));
            }
            check_rc(rc, "pthread_mutex_timedlock")
        } else {
            // No pthread_mutex_timedlock here: try, yielding, until the deadline.
            loop {
                // SAFETY: m is a live mutex (contract).
                let rc = unsafe { libc::pthread_mutex_trylock(m) };
                if rc == 0 {
                    return Ok(());
                }
                if rc != libc::EBUSY {
                    check_rc(rc, "pthread_mutex_trylock")?;
                }
                if Instant::now() >= deadline {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "pthread_mutex_trylock: not acquired within the bound"));
                }
                std::thread::yield_now();
            }
        }
    }
}

/// pthread_mutex_unlock.
///
/// # Safety
/// `m` must point to a live mutex this thread holds.
pub unsafe fn mutex_unlock(m: *mut libc::pthread_mutex_t) {
    // SAFETY: the caller's contract.
    unsafe { libc::pthread_mutex_unlock(m) };
}

/// One pthread_cond_timedwait of at most `left`, its return code as is.
///
/// # Safety
/// `c` and `m` must point to a live condition variable and a live mutex this
/// thread holds.
pub unsafe fn cond_timedwait(
    c: *mut libc::pthread_cond_t,
    m: *mut libc::pthread_mutex_t,
    left: Duration,
) -> libc::c_int {
    let ts = realtime_deadline(left);
    // SAFETY: the caller's contract; ts outlives the call.
    unsafe { libc::pthread_cond_timedwait(c, m, &ts) }
}

/// pthread_cond_signal.
///
/// # Safety
/// `c` must point to a live condition variable.
pub unsafe fn cond_signal(c: *mut libc::pthread_cond_t) -> io::Result<()> {
    // SAFETY: the caller's contract.
    check_rc(
        unsafe { libc::pthread_cond_signal(c) },
        "pthread_cond_signal",
    )
}

/// pthread_cond_broadcast.
///
/// # Safety
/// `c` must point to a live condition variable.
pub unsafe fn cond_broadcast(c: *mut libc::pthread_cond_t) -> io::Result<()> {
    // SAFETY: the caller's contract.
    check_rc(
        unsafe { libc::pthread_cond_broadcast(c) },
        "pthread_cond_broadcast",
    )
}

/// pthread_cond_destroy.
///
/// # Safety
/// `c` must point to an initialised condition variable no process uses any more.
pub unsafe fn cond_destroy(c: *mut libc::pthread_cond_t) {
    // SAFETY: the caller's contract.
    unsafe { libc::pthread_cond_destroy(c) };
}

/// pthread_mutex_destroy.
///
/// # Safety
/// `m` must point to an initialised, unlocked mutex no process uses any more.
pub unsafe fn mutex_destroy(m: *mut libc::pthread_mutex_t) {
    // SAFETY: the caller's contract.
    unsafe { libc::pthread_mutex_destroy(m) };
}

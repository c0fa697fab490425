//! Futex-style waits on a 32-bit word of memory shared between processes:
//! Linux futex(2) (FUTEX_WAIT / FUTEX_WAKE, not _PRIVATE) and FreeBSD
//! _umtx_op(2) (UMTX_OP_WAIT_UINT / UMTX_OP_WAKE, process-shared). Elsewhere
//! there is none: [`HAS_FUTEX`] is false and a wait fails with ENOSYS.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

use nix::errno::Errno;

/// Whether this target has a futex-style wait on a word of shared memory.
pub const HAS_FUTEX: bool = cfg!(any(target_os = "linux", target_os = "freebsd"));

/// Sleeps while `word` holds `expected`, at most `bound` (then ETIMEDOUT).
/// Returns `Ok` at once when the value already differs, and on a wake-up or a
/// signal (the caller re-checks its condition).
#[inline(always)]
pub fn wait(word: &AtomicU32, expected: u32, bound: Duration) -> Result<(), Errno> {
    cfg_if::cfg_if! {
        if #[cfg(target_os = "linux")] {
            let ts = libc::timespec { tv_sec: bound.as_secs() as libc::time_t, tv_nsec: bound.subsec_nanos() as _ };
            // SAFETY: FUTEX_WAIT (shared, not _PRIVATE: the word is in memory shared
            // with another process) reads the aligned 32-bit word and sleeps with a
            // relative timeout; `word` and `ts` are valid for the call.
            let rc = unsafe {
                libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, expected, &ts as *const libc::timespec, std::ptr::null::<u32>(), 0)
            };
            match rc {
                0 => Ok(()),
                _ => match Errno::last() {
                    Errno::EAGAIN | Errno::EINTR => Ok(()),
                    e => Err(e),
                },
            }
        } else if #[cfg(target_os = "freebsd")] {
            let mut ts = libc::timespec { tv_sec: bound.as_secs() as libc::time_t, tv_nsec: bound.subsec_nanos() as _ };
            // SAFETY: UMTX_OP_WAIT_UINT (process-shared) reads the aligned 32-bit word;
            // uaddr carries the size of the relative timespec passed as uaddr2.
            let rc = unsafe {
                libc::_umtx_op(word.as_ptr().cast(), libc::UMTX_OP_WAIT_UINT, expected as libc::c_ulong, std::mem::size_of::<libc::timespec>() as *mut libc::c_void, (&mut ts as *mut libc::timespec).cast())
            };
            match rc {
                0 => Ok(()),
                _ => match Errno::last() {
                    Errno::EINTR => Ok(()),
                    e => Err(e),
                },
            }
        } else {
            let _ = (word, expected, bound);
            Err(Errno::ENOSYS)
        }
    }
}

/// Wakes one process sleeping in [`wait`] on `word`.
#[inline(always)]
pub fn wake(word: &AtomicU32) {
    cfg_if::cfg_if! {
        if #[cfg(target_os = "linux")] {
            // SAFETY: FUTEX_WAKE only uses the address as a key; `word` is valid.
            unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, 1, std::ptr::null::<libc::timespec>(), std::ptr::null::<u32>(), 0) };
        } else if #[cfg(target_os = "freebsd")] {
            // SAFETY: UMTX_OP_WAKE only uses the address as a key; `word` is valid.
            unsafe { libc::_umtx_op(word.as_ptr().cast(), libc::UMTX_OP_WAKE, 1, std::ptr::null_mut(), std::ptr::null_mut()) };
        } else {
            let _ = word;
        }
    }
}

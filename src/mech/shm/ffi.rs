//! Process-shared pthread objects: the narrow FFI layer over a
//! `pthread_mutex_t` and a `pthread_cond_t` placed in memory that several
//! processes map. Every function takes raw pointers to the objects and says in
//! its contract what they must point at; nothing here knows the layout of the
//! suite's shared block (that is [`super::sync`]).

use std::io;
use std::time::{Duration, Instant};

pub use crate::sys::shared::PTHREAD_PROCESS_SHARED;

/// A pthread return code as a result: the error names the call and the errno.
pub fn check_rc(rc: libc::c_int, what: &str) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        let e = io::Error::from_raw_os_error(rc);
        Err(io::Error::new(
            e.kind(),
            format!("{what}: {}", crate::observe::describe_io_error(&e)),
        ))
    }
}

/// An absolute CLOCK_REALTIME time `left` from now (pthread timed waits).
pub fn realtime_deadline(left: Duration) -> libc::timespec {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    *nix::sys::time::TimeSpec::from_duration(now + left).as_ref()
}

/// The four calls that initialise one kind of pthread object with an
/// attribute: `pthread_<kind>attr_init`, `..._setpshared`, `pthread_<kind>_init`,
/// `pthread_<kind>attr_destroy`.
struct Kind<A, T> {
    name: &'static str,
    attr_init: unsafe extern "C" fn(*mut A) -> libc::c_int,
    setpshared: unsafe extern "C" fn(*mut A, libc::c_int) -> libc::c_int,
    init: unsafe extern "C" fn(*mut T, *const A) -> libc::c_int,
    attr_destroy: unsafe extern "C" fn(*mut A) -> libc::c_int,
}

/// Initialises `obj` with a PTHREAD_PROCESS_SHARED attribute of its kind.
///
/// # Safety
/// `obj` must point to writable, suitably aligned memory for a `T` that no
/// thread or process uses yet.
unsafe fn init_shared<A, T>(obj: *mut T, kind: Kind<A, T>) -> io::Result<()> {
    let name = kind.name;
    let mut attr = std::mem::MaybeUninit::<A>::uninit();
    // SAFETY: the attribute object lives on this stack frame, is initialised
    // before use and destroyed after; `obj` is as the caller promises.
    unsafe {
        check_rc(
            (kind.attr_init)(attr.as_mut_ptr()),
            &format!("pthread_{name}attr_init"),
        )?;
        let rc = (kind.setpshared)(attr.as_mut_ptr(), PTHREAD_PROCESS_SHARED);
        let rc2 = if rc == 0 {
            (kind.init)(obj, attr.as_ptr())
        } else {
            0
        };
        (kind.attr_destroy)(attr.as_mut_ptr());
        check_rc(
            rc,
            &format!("pthread_{name}attr_setpshared(PTHREAD_PROCESS_SHARED)"),
        )?;
        check_rc(rc2, &format!("pthread_{name}_init"))
    }
}

/// pthread_mutex_init with the PTHREAD_PROCESS_SHARED attribute.
///
/// # Safety
/// `m` must point to writable, suitably aligned memory for a `pthread_mutex_t`
/// that no thread or process uses yet.
pub unsafe fn mutex_init_shared(m: *mut libc::pthread_mutex_t) -> io::Result<()> {
    let kind = Kind {
        name: "mutex",
        attr_init: libc::pthread_mutexattr_init,
        setpshared: libc::pthread_mutexattr_setpshared,
        init: libc::pthread_mutex_init,
        attr_destroy: libc::pthread_mutexattr_destroy,
    };
    // SAFETY: the caller's contract.
    unsafe { init_shared(m, kind) }
}

/// pthread_cond_init with the PTHREAD_PROCESS_SHARED attribute.
///
/// # Safety
/// `c` must point to writable, suitably aligned memory for a `pthread_cond_t`
/// that no thread or process uses yet.
pub unsafe fn cond_init_shared(c: *mut libc::pthread_cond_t) -> io::Result<()> {
    let kind = Kind {
        name: "cond",
        attr_init: libc::pthread_condattr_init,
        setpshared: libc::pthread_condattr_setpshared,
        init: libc::pthread_cond_init,
        attr_destroy: libc::pthread_condattr_destroy,
    };
    // SAFETY: the caller's contract.
    unsafe { init_shared(c, kind) }
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

//! Narrow unsafe helpers for the signal peer: the recording SA_SIGINFO
//! handler, sigaction, sigprocmask, sigpending, kill, sigqueue and fstat.
//! Everything here runs in the single-threaded `signal-peer` process, never in
//! the test binary.

use std::io;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};

use super::Delivery;

/// Deliveries the handler can record between two `unblock`s.
const CAP: usize = 512;
static COUNT: AtomicUsize = AtomicUsize::new(0);
static SIGNO: [AtomicI32; CAP] = [const { AtomicI32::new(0) }; CAP];
static PID: [AtomicI32; CAP] = [const { AtomicI32::new(0) }; CAP];
static UID: [AtomicU32; CAP] = [const { AtomicU32::new(0) }; CAP];
static CODE: [AtomicI32; CAP] = [const { AtomicI32::new(0) }; CAP];
static VALUE: [AtomicUsize; CAP] = [const { AtomicUsize::new(0) }; CAP];

/// The SA_SIGINFO handler: records signal number, si_value, si_pid, si_uid and
/// si_code in lock-free statics (async-signal-safe: atomics only).
extern "C" fn record(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let i = COUNT.fetch_add(1, Ordering::SeqCst);
    if i >= CAP || info.is_null() {
        return;
    }
    // SAFETY: for an SA_SIGINFO handler the kernel passes a pointer to a
    // siginfo_t it filled in, valid for the duration of the handler; the
    // accessors read plain fields (si_value as the union's pointer member).
    let (pid, uid, code, value) = unsafe {
        let si = &*info;
        (
            si.si_pid(),
            si.si_uid(),
            si.si_code,
            si.si_value().sival_ptr as usize,
        )
    };
    SIGNO[i].store(sig, Ordering::SeqCst);
    PID[i].store(pid, Ordering::SeqCst);
    UID[i].store(uid, Ordering::SeqCst);
    CODE[i].store(code, Ordering::SeqCst);
    VALUE[i].store(value, Ordering::SeqCst);
}

/// What the handler recorded since the last call (call with the signals blocked).
pub fn take_recorded() -> Vec<Delivery> {
    let n = COUNT.swap(0, Ordering::SeqCst).min(CAP);
    (0..n)
        .map(|i| Delivery {
            signo: SIGNO[i].load(Ordering::SeqCst),
            value: VALUE[i].load(Ordering::SeqCst),
            pid: PID[i].load(Ordering::SeqCst),
            uid: UID[i].load(Ordering::SeqCst),
            code: CODE[i].load(Ordering::SeqCst),
        })
        .collect()
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

pub fn sigset(sigs: &[i32]) -> io::Result<libc::sigset_t> {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; sigaddset only
    // writes into that initialised set.
    unsafe {
        check(libc::sigemptyset(set.as_mut_ptr()))?;
        for &s in sigs {
            check(libc::sigaddset(set.as_mut_ptr(), s))?;
        }
        Ok(set.assume_init())
    }
}

/// sigprocmask(how, sigs) in this (single-threaded) peer.
pub fn mask(how: libc::c_int, sigs: &[i32]) -> io::Result<()> {
    let set = sigset(sigs)?;
    // SAFETY: `set` is an initialised sigset_t; the old mask is not requested.
    check(unsafe { libc::sigprocmask(how, &set, std::ptr::null_mut()) })
}

/// Which of `sigs` are pending.
pub fn pending(sigs: &[i32]) -> io::Result<Vec<i32>> {
    let mut set = sigset(&[])?;
    // SAFETY: sigpending writes into the initialised set it is given.
    check(unsafe { libc::sigpending(&mut set) })?;
    Ok(sigs
        .iter()
        .copied()
        // SAFETY: sigismember reads the initialised set.
        .filter(|&s| unsafe { libc::sigismember(&set, s) } == 1)
        .collect())
}

/// Installs the recording handler for each of `sigs`, with all of `sigs` blocked
/// while it runs (so pending signals are delivered one after the other, in the
/// order the kernel picks, rather than nested).
pub fn install_recorder(sigs: &[i32]) -> io::Result<()> {
    let set = sigset(sigs)?;
    for &s in sigs {
        // SAFETY: an all-zero sigaction is a valid value of the C struct; the
        // fields set below make it an SA_SIGINFO handler with `set` as mask.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = record as *const () as usize;
        sa.sa_mask = set;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        // SAFETY: `sa` is fully initialised and `record` has the SA_SIGINFO
        // handler signature and is async-signal-safe; called in the peer only.
        check(unsafe { libc::sigaction(s, &sa, std::ptr::null_mut()) })?;
    }
    Ok(())
}

/// Whether the system accepts `sig` as a signal number (a query that changes
/// nothing: no new action is given).
pub fn sigaction_valid(sig: i32) -> bool {
    // SAFETY: an all-zero sigaction is a valid value to receive the old action.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only queries; `old` is writable.
    unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) == 0 }
}

/// kill(2).
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill takes plain integers and touches no memory of this process.
    check(unsafe { libc::kill(pid, sig) })
}

/// sigqueue(3) with an integer value.
pub fn sigqueue(pid: i32, sig: i32, value: usize) -> io::Result<()> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "freebsd"))] {
            let v = libc::sigval { sival_ptr: value as *mut libc::c_void };
            // SAFETY: sigqueue takes integers and a sigval passed by value; the
            // pointer member is only carried as a number, never dereferenced.
            check(unsafe { libc::sigqueue(pid, sig, v) })
        } else {
            let _ = (pid, sig, value);
            Err(io::Error::new(io::ErrorKind::Unsupported, format!("no sigqueue() on {}", crate::platform::TARGET)))
        }
    }
}

/// fstat(2) on a descriptor number: (device, inode).
pub fn fstat_raw(fd: i32) -> io::Result<(u64, u64)> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a struct stat into the buffer on success and fails
    // with EBADF for a number that is not an open descriptor.
    check(unsafe { libc::fstat(fd, st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so the struct is initialised.
    let st = unsafe { st.assume_init() };
    #[allow(clippy::unnecessary_cast)]
    Ok((st.st_dev as u64, st.st_ino as u64))
}

//! Linux system calls and constants newer than what the libc crate wraps on
//! every target the suite builds for: memfd_secret, the futex2 calls,
//! pidfd_open's flags, Landlock's scopes, the pidfd socket options. Numbers come
//! from the kernel's uapi headers (the common system-call table, numbers from
//! 424 on, is the same on every architecture the suite builds for); each call
//! returns the kernel's errno untouched, so a kernel without it answers ENOSYS
//! (or EINVAL for an unknown flag) and the check decides what that means.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// memfd_secret(2), Linux 5.14 (include/uapi/asm-generic/unistd.h).
pub const SYS_MEMFD_SECRET: libc::c_long = 447;
/// futex_waitv(2), Linux 5.16.
pub const SYS_FUTEX_WAITV: libc::c_long = 449;
/// futex_wake(2), Linux 6.7.
pub const SYS_FUTEX_WAKE: libc::c_long = 454;
/// futex_wait(2), Linux 6.7.
pub const SYS_FUTEX_WAIT: libc::c_long = 455;
/// landlock_create_ruleset(2), Linux 5.13.
pub const SYS_LANDLOCK_CREATE_RULESET: libc::c_long = 444;
/// landlock_restrict_self(2), Linux 5.13.
pub const SYS_LANDLOCK_RESTRICT_SELF: libc::c_long = 446;

/// A futex word of 32 bits (FUTEX2_SIZE_U32, also futex_waitv's FUTEX_32).
pub const FUTEX2_SIZE_U32: u32 = 0x02;
/// A futex private to this process (FUTEX2_PRIVATE = FUTEX_PRIVATE_FLAG).
pub const FUTEX2_PRIVATE: u32 = 128;

/// The bit mask that matches every waiter; futex2 refuses a mask wider than
/// the futex word (EINVAL), so for 32-bit words it is 32 bits.
const FUTEX_BITSET_MATCH_ANY: libc::c_ulong = 0xffff_ffff;

/// memfd_create(2) flag, Linux 6.3: not executable, sealed against chmod +x.
pub const MFD_NOEXEC_SEAL: libc::c_uint = 0x0008;
/// fcntl(F_ADD_SEALS) seal, Linux 6.3: the mode's exec bits are frozen.
pub const F_SEAL_EXEC: libc::c_int = 0x0020;

/// getsockopt: a pidfd of the peer process of a Unix socket, Linux 6.5.
pub const SO_PEERPIDFD: libc::c_int = 77;
/// setsockopt: receive the sender's pidfd as SCM_PIDFD, Linux 6.5.
pub const SO_PASSPIDFD: libc::c_int = 76;
/// The control message carrying a pidfd, Linux 6.5.
pub const SCM_PIDFD: libc::c_int = 0x04;
/// setsockopt: whether this Unix socket accepts SCM_RIGHTS, Linux 6.16.
pub const SO_PASSRIGHTS: libc::c_int = 83;

/// pidfd_open(2) flag, Linux 6.9: the pid is a thread's (include/uapi/linux/pidfd.h).
pub const PIDFD_THREAD: libc::c_uint = libc::O_EXCL as libc::c_uint;
/// statfs f_type of pidfs (include/uapi/linux/magic.h), Linux 6.9.
pub const PID_FS_MAGIC: i64 = 0x5049_4446;
/// statfs f_type of the anonymous inode file system pidfds lived on before.
pub const ANON_INODE_FS_MAGIC: i64 = 0x0904_1934;

/// landlock_create_ruleset flag: return the ABI version instead of a ruleset.
pub const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
/// Landlock scope, ABI 6 (Linux 6.12): no connect to abstract Unix sockets
/// bound outside the domain.
pub const LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1;
/// Landlock scope, ABI 6 (Linux 6.12): no signals to processes outside the domain.
pub const LANDLOCK_SCOPE_SIGNAL: u64 = 2;

/// `struct __kernel_timespec`: 64-bit seconds on every architecture (the
/// C library's `timespec` has a 32-bit `time_t` on 32-bit targets).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct KernelTimespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

/// CLOCK_REALTIME now plus `after`, as an absolute futex2 timeout.
pub fn realtime_deadline(after: Duration) -> KernelTimespec {
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        + after;
    KernelTimespec {
        tv_sec: at.as_secs() as i64,
        tv_nsec: i64::from(at.subsec_nanos()),
    }
}

fn fd_result(rc: libc::c_long) -> io::Result<OwnedFd> {
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor the kernel just returned, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(rc as libc::c_int) })
}

/// Takes ownership of a descriptor the kernel handed this process through a
/// socket option (SO_PEERPIDFD), which nobody else owns.
pub fn own_fd(raw: libc::c_int) -> io::Result<OwnedFd> {
    fd_result(libc::c_long::from(raw))
}

fn count_result(rc: libc::c_long) -> io::Result<usize> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

/// memfd_secret(2) with O_CLOEXEC: a descriptor of memory removed from the
/// kernel's direct map.
pub fn memfd_secret() -> io::Result<OwnedFd> {
    // SAFETY: the call takes one integer of flags and returns a new descriptor or -1.
    fd_result(unsafe { libc::syscall(SYS_MEMFD_SECRET, libc::O_CLOEXEC as libc::c_uint) })
}

/// memfd_create(2) with raw `flags` (the C library may predate the newer ones).
pub fn memfd_create(name: &std::ffi::CStr, flags: libc::c_uint) -> io::Result<OwnedFd> {
    // SAFETY: a NUL-terminated name valid for the call and integer flags; returns
    // a new descriptor or -1.
    fd_result(unsafe { libc::syscall(libc::SYS_memfd_create, name.as_ptr(), flags) })
}

/// pidfd_open(2) with `flags`.
pub fn pidfd_open(pid: i32, flags: libc::c_uint) -> io::Result<OwnedFd> {
    // SAFETY: the call takes a pid and flags and returns a new descriptor or -1.
    fd_result(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, flags) })
}

/// The calling thread's id.
pub fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// `struct futex_waitv` (include/uapi/linux/futex.h).
#[repr(C)]
struct FutexWaitv {
    val: u64,
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

/// futex_waitv(2) on process-private 32-bit words: sleeps while every
/// `words[i]` holds `expected[i]`, until `deadline` (CLOCK_REALTIME); returns
/// the index of the word whose wake-up ended the wait.
pub fn futex_waitv(
    words: &[&AtomicU32],
    expected: &[u32],
    deadline: &KernelTimespec,
) -> io::Result<usize> {
    let waiters: Vec<FutexWaitv> = words
        .iter()
        .zip(expected)
        .map(|(w, &v)| FutexWaitv {
            val: u64::from(v),
            uaddr: w.as_ptr() as usize as u64,
            flags: FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
            reserved: 0,
        })
        .collect();
    // SAFETY: `waiters` is a live array of `len` entries in the ABI's layout,
    // each naming an aligned 32-bit word that outlives the call; the timeout is
    // a live __kernel_timespec.
    count_result(unsafe {
        libc::syscall(
            SYS_FUTEX_WAITV,
            waiters.as_ptr(),
            waiters.len() as libc::c_uint,
            0 as libc::c_uint,
            deadline as *const KernelTimespec,
            libc::CLOCK_REALTIME,
        )
    })
}

/// futex_wait(2) (futex2) on a process-private 32-bit word: sleeps while it
/// holds `expected`, until `deadline` (CLOCK_REALTIME).
pub fn futex2_wait(word: &AtomicU32, expected: u32, deadline: &KernelTimespec) -> io::Result<()> {
    // SAFETY: an aligned 32-bit word valid for the call, a 32-bit bit mask, the
    // size and private flags, and a live __kernel_timespec.
    count_result(unsafe {
        libc::syscall(
            SYS_FUTEX_WAIT,
            word.as_ptr(),
            libc::c_ulong::from(expected),
            FUTEX_BITSET_MATCH_ANY,
            FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
            deadline as *const KernelTimespec,
            libc::CLOCK_REALTIME,
        )
    })
    .map(drop)
}

/// futex_wake(2) (futex2): wakes at most `nr` waiters of a process-private
/// 32-bit word; returns how many it woke.
pub fn futex2_wake(word: &AtomicU32, nr: i32) -> io::Result<usize> {
    // SAFETY: the word's address is only a key; a 32-bit bit mask and the flags.
    count_result(unsafe {
        libc::syscall(
            SYS_FUTEX_WAKE,
            word.as_ptr(),
            FUTEX_BITSET_MATCH_ANY,
            nr,
            FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
        )
    })
}

/// Wakes at most `nr` waiters of a process-private word with the classic
/// futex(2) FUTEX_WAKE_PRIVATE; returns how many it woke.
pub fn futex_wake_private(word: &AtomicU32, nr: i32) -> io::Result<usize> {
    // SAFETY: FUTEX_WAKE only uses the address as a key; `word` is valid.
    count_result(unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            nr,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0,
        )
    })
}

/// What the kernel says thread `tid` of this process is doing: its state
/// letter and the number of the system call it is in (`/proc/self/task/<tid>/`,
/// proc(5)), e.g. `("S", Some(449))`.
pub fn thread_syscall(tid: i32) -> io::Result<(String, Option<libc::c_long>)> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))?;
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("?")
        .to_owned();
    let call = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall"))?;
    Ok((
        state,
        call.split_whitespace().next().and_then(|n| n.parse().ok()),
    ))
}

/// An int socket option.
pub fn getsockopt_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: a live int and its length as the option buffer of a valid descriptor.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw mut v).cast(),
            &raw mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(v)
}

/// Sets an int socket option.
pub fn setsockopt_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: a live int and its length as the option value of a valid descriptor.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const v).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `struct landlock_ruleset_attr` as of ABI 6 (include/uapi/linux/landlock.h).
#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

/// The Landlock ABI version this kernel offers (1 on Linux 5.13, 6 on 6.12).
pub fn landlock_abi() -> io::Result<i64> {
    // SAFETY: with LANDLOCK_CREATE_RULESET_VERSION the attribute must be null
    // and its size 0; the call returns a number or -1.
    let rc = unsafe {
        libc::syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc as i64)
}

/// Confines the calling thread (and what it starts) to a Landlock domain that
/// handles no access right but the `scoped` scopes: no_new_privs, a ruleset,
/// landlock_restrict_self. A kernel whose Landlock predates scopes refuses the
/// larger attribute with E2BIG.
pub fn landlock_scope_self(scoped: u64) -> io::Result<()> {
    let attr = RulesetAttr {
        handled_access_fs: 0,
        handled_access_net: 0,
        scoped,
    };
    // SAFETY: a live attribute of the size passed; returns a descriptor or -1.
    let ruleset = fd_result(unsafe {
        libc::syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            &raw const attr,
            std::mem::size_of::<RulesetAttr>(),
            0 as libc::c_uint,
        )
    })?;
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS, 1) with its unused arguments zero.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a ruleset descriptor the kernel just returned, no flags.
    let rc = unsafe {
        libc::syscall(
            SYS_LANDLOCK_RESTRICT_SELF,
            ruleset.as_raw_fd(),
            0 as libc::c_uint,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

//! Narrow operating-system helpers for the measurements: the clock, CPU pinning,
//! the per-step watchdog, fork, shared regions, futexes, process-shared pthread
//! objects, eventfd and System V messages. Every `unsafe` block of `crate::perf`
//! lives here, each with its SAFETY comment; the measuring code above this
//! module is safe Rust.
//!
//! These run in `ipcconf-peer` processes (and their forked children) only, never
//! in the multithreaded test binary: pinning, interval timers and signal
//! dispositions are process-wide state (DESIGN rule 3).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

use nix::errno::Errno;

// ------------------------------------------------------------------ the clock

/// The clock of every measurement: system-wide and monotonic, so a timestamp
/// taken in one process can be compared in another. On Linux and FreeBSD
/// CLOCK_MONOTONIC is a vDSO/shared-page read with nanosecond resolution; on
/// macOS CLOCK_MONOTONIC has only microsecond resolution, so CLOCK_UPTIME_RAW
/// (mach_absolute_time's ticks) is used there.
#[cfg(target_vendor = "apple")]
const CLOCK: libc::clockid_t = libc::CLOCK_UPTIME_RAW;
#[cfg(not(target_vendor = "apple"))]
const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;

/// The measurement clock (see `CLOCK`) in nanoseconds.
#[inline(always)]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK exists on the targets it
    // is chosen for, so the call cannot fail.
    unsafe { libc::clock_gettime(CLOCK, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Gives the CPU to another runnable thread (spin waits fall back to this).
#[inline]
pub fn yield_cpu() {
    // SAFETY: sched_yield takes no arguments and has no memory effects.
    unsafe { libc::sched_yield() };
}

/// The 1-minute load average (how busy the machine was), where the OS tells.
pub fn loadavg() -> Option<f64> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android"))] {
            std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
        } else if #[cfg(any(target_os = "macos", target_os = "freebsd"))] {
            let mut v = [0f64; 1];
            // SAFETY: `v` has room for the one value requested.
            let n = unsafe { libc::getloadavg(v.as_mut_ptr(), 1) };
            (n == 1).then_some(v[0])
        } else {
            None
        }
    }
}

// ---------------------------------------------------------------- CPU pinning

/// The CPUs this process may run on, lowest first; empty where the OS has no
/// affinity API (macOS offers only hints).
pub fn allowed_cpus() -> Vec<usize> {
    cfg_if::cfg_if! {
        if #[cfg(target_os = "linux")] {
            // SAFETY: cpu_set_t is plain data (a bit array): all-zero is a valid value.
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            // SAFETY: `set` is writable and its size is passed; pid 0 is this process.
            let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
            if rc != 0 {
                return Vec::new();
            }
            // SAFETY: CPU_ISSET reads the bit array in bounds (cpu < CPU_SETSIZE).
            (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect()
        } else if #[cfg(target_os = "freebsd")] {
            // SAFETY: cpuset_t is plain data (a bit array): all-zero is a valid value.
            let mut set: libc::cpuset_t = unsafe { std::mem::zeroed() };
            // SAFETY: as on Linux: `set` is writable and its size is passed.
            let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpuset_t>(), &mut set) };
            if rc != 0 {
                return Vec::new();
            }
            let bits = std::mem::size_of::<libc::cpuset_t>() * 8;
            // SAFETY: CPU_ISSET reads the bit array in bounds (cpu < bits).
            (0..bits).filter(|&c| unsafe { libc::CPU_ISSET(c, &set) }).collect()
        } else {
            Vec::new()
        }
    }
}

/// Pins this process to one CPU.
pub fn pin_to(cpu: usize) -> io::Result<()> {
    cfg_if::cfg_if! {
        if #[cfg(target_os = "linux")] {
            // SAFETY: all-zero cpu_set_t is the empty set; CPU_SET writes in bounds
            // (the caller took `cpu` from allowed_cpus, below CPU_SETSIZE).
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            unsafe { libc::CPU_SET(cpu, &mut set) };
            // SAFETY: `set` is a valid set of the size passed; pid 0 is this process.
            let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
            if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
        } else if #[cfg(target_os = "freebsd")] {
            // SAFETY: as on Linux, with FreeBSD's cpuset_t.
            let mut set: libc::cpuset_t = unsafe { std::mem::zeroed() };
            unsafe { libc::CPU_SET(cpu, &mut set) };
            // SAFETY: `set` is a valid set of the size passed; pid 0 is this process.
            let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpuset_t>(), &set) };
            if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
        } else {
            let _ = cpu;
            Err(io::Error::new(io::ErrorKind::Unsupported, "no CPU affinity API on this OS"))
        }
    }
}

// ------------------------------------------------------------------- watchdog

/// The longest one step of a measurement may block (DESIGN rule 4): the
/// measuring loops re-arm a SIGALRM timer every few hundred steps, so a peer
/// that stops answering ends this process within this bound (SIGALRM's default
/// action) and the test records `timeout`. No system call is added to the
/// timed steps themselves.
pub const STEP_BOUND_SECS: libc::time_t = 2;

cfg_if::cfg_if! {
    if #[cfg(target_os = "android")] {
        // bionic takes it from the kernel's <linux/time.h>; the libc crate's
        // Android module lacks the constant.
        const ITIMER_REAL: libc::c_int = 0;
    } else {
        use libc::ITIMER_REAL;
    }
}

/// (Re-)arms the watchdog: SIGALRM in `secs` seconds unless re-armed again.
#[inline]
pub fn arm(secs: libc::time_t) {
    let t = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: secs,
            tv_usec: 0,
        },
    };
    // SAFETY: `t` is a valid itimerval; the old value is not requested (null).
    unsafe { libc::setitimer(ITIMER_REAL, &t, std::ptr::null_mut()) };
}

/// Disarms the watchdog.
pub fn disarm() {
    arm(0);
}

/// The System V queue to remove if the watchdog fires (-1: none). A private
/// System V queue outlives its processes, unlike everything else a measurement
/// makes (names are unlinked as soon as both ends are open).
static QUEUE_TO_REMOVE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn on_watchdog(_: libc::c_int) {
    // SAFETY: only async-signal-safe calls: msgctl (a system call), then
    // signal(SIG_DFL) and raise, so the process still ends by SIGALRM and its
    // parent sees why.
    unsafe {
        #[cfg(not(target_os = "android"))]
        {
            let id = QUEUE_TO_REMOVE.load(std::sync::atomic::Ordering::Relaxed);
            if id >= 0 {
                msg::msgctl(id, libc::IPC_RMID, std::ptr::null_mut());
            }
        }
        libc::signal(libc::SIGALRM, libc::SIG_DFL);
        libc::raise(libc::SIGALRM);
    }
}

/// Makes the watchdog remove this measurement's System V queue before the
/// process ends (a peer process only; forked children inherit it).
pub fn watchdog_cleans_up() {
    let handler = nix::sys::signal::SigHandler::Handler(on_watchdog);
    let action = nix::sys::signal::SigAction::new(
        handler,
        nix::sys::signal::SaFlags::empty(),
        nix::sys::signal::SigSet::empty(),
    );
    // SAFETY: the handler makes only async-signal-safe calls (see on_watchdog);
    // this runs in a single-threaded peer process, never in the test binary.
    let _ = unsafe { nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGALRM, &action) };
}

/// Ignores SIGSYS in this (peer) process: on FreeBSD without the mqueuefs
/// module, mq_open raises SIGSYS before failing with ENOSYS.
pub fn ignore_sigsys() {
    // SAFETY: installing SIG_IGN runs no handler code; this is a single-threaded
    // peer process, never the test binary.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGSYS,
            nix::sys::signal::SigHandler::SigIgn,
        )
    };
}

// ----------------------------------------------------------------------- fork

pub use crate::sys::fork::{Forked, die_with_parent, exit_child, fork, kill, wait_child};

// ------------------------------------------------------------ shared regions

/// A mapping shared between this process and the children it forks afterwards:
/// a POSIX shared memory object (named `ipcconf-...`, mode 0600, unlinked as
/// soon as it is mapped), or an anonymous shared mapping for bookkeeping.
/// The mapping is zero-filled when created.
pub struct Region {
    ptr: NonNull<u8>,
    len: usize,
}

impl Region {
    /// An anonymous MAP_SHARED mapping (the children's report page).
    pub fn anonymous(len: usize) -> io::Result<Region> {
        Self::map(len, None)
    }

    /// A POSIX shared memory object of `len` bytes, mapped and already unlinked.
    #[cfg(target_os = "android")]
    pub fn posix_shm(_len: usize) -> io::Result<Region> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("no shm_open API on {}", crate::platform::TARGET),
        ))
    }

    /// A POSIX shared memory object of `len` bytes, mapped and already unlinked.
    #[cfg(not(target_os = "android"))]
    pub fn posix_shm(len: usize) -> io::Result<Region> {
        use nix::fcntl::OFlag;
        use nix::sys::stat::Mode;
        let name = crate::names::unique_slash();
        let fd = nix::sys::mman::shm_open(
            name.as_str(),
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR,
            Mode::S_IRUSR | Mode::S_IWUSR,
        )?;
        // Removed even if what follows fails (or panics): the mapping keeps the
        // object alive for this process and the children it forks.
        let _unlink = crate::names::Cleanup::new(|| {
            let _ = nix::sys::mman::shm_unlink(name.as_str());
        });
        nix::unistd::ftruncate(&fd, len as libc::off_t)?;
        Self::map(len, Some(fd))
    }

    fn map(len: usize, fd: Option<OwnedFd>) -> io::Result<Region> {
        let (flags, raw) = match &fd {
            Some(fd) => (libc::MAP_SHARED, fd.as_raw_fd()),
            None => (libc::MAP_SHARED | libc::MAP_ANON, -1),
        };
        // SAFETY: a fresh mapping at an address the kernel chooses: it aliases no
        // Rust object. `raw` is an open descriptor of at least `len` bytes, or -1
        // with MAP_ANON.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                raw,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        drop(fd);
        Ok(Region {
            ptr: NonNull::new(p.cast()).ok_or_else(|| io::Error::other("mmap returned null"))?,
            len,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn check(&self, off: usize, size: usize, align: usize) {
        assert!(
            off % align == 0 && off.checked_add(size).is_some_and(|e| e <= self.len),
            "region access {off}+{size} (align {align}) outside {} bytes",
            self.len
        );
    }

    /// The 64-bit atomic word at `off`.
    pub fn u64_at(&self, off: usize) -> &AtomicU64 {
        self.check(off, 8, 8);
        // SAFETY: in bounds and aligned (checked); the mapping lives as long as
        // `self`; AtomicU64 has the layout of u64, every bit pattern is valid, and
        // all processes touch the word through atomics only.
        unsafe { &*self.ptr.as_ptr().add(off).cast::<AtomicU64>() }
    }

    /// The 32-bit atomic word at `off` (futex words).
    pub fn u32_at(&self, off: usize) -> &AtomicU32 {
        self.check(off, 4, 4);
        // SAFETY: as for u64_at, with AtomicU32.
        unsafe { &*self.ptr.as_ptr().add(off).cast::<AtomicU32>() }
    }

    /// Copies `src` into the region at `off`. The protocols that call this give
    /// the writer exclusive use of those bytes until it publishes them with a
    /// release store (and readers read only after an acquire load).
    #[inline(always)]
    pub fn write(&self, off: usize, src: &[u8]) {
        self.check(off, src.len(), 1);
        // SAFETY: in bounds (checked); `src` is private memory of this process and
        // cannot overlap the shared mapping; no other process accesses these bytes
        // until the release store that follows (see the doc comment).
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(off), src.len())
        };
    }

    /// Copies bytes at `off` out into `dst` (see `write` for the protocol).
    #[inline(always)]
    pub fn read(&self, off: usize, dst: &mut [u8]) {
        self.check(off, dst.len(), 1);
        // SAFETY: in bounds (checked); `dst` is private memory; the writer
        // published these bytes before the acquire load that let us here and does
        // not touch them until we release them.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(off), dst.as_mut_ptr(), dst.len())
        };
    }

    /// Raw pointer to a pthread object at `off` (see `PMutex`, `PCond`).
    fn raw<T>(&self, off: usize) -> *mut T {
        self.check(off, std::mem::size_of::<T>(), std::mem::align_of::<T>());
        // SAFETY: in bounds and aligned (checked).
        unsafe { self.ptr.as_ptr().add(off).cast() }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`; every reference handed
        // out borrows `self`, so none outlives this.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Bytes reserved for one pthread mutex or condition variable in a region.
pub const PTHREAD_SLOT: usize = 128;

/// A process-shared pthread mutex living in a `Region`.
#[derive(Clone, Copy)]
pub struct PMutex(*mut libc::pthread_mutex_t);

/// A process-shared pthread condition variable living in a `Region`.
#[derive(Clone, Copy)]
pub struct PCond(*mut libc::pthread_cond_t);

fn check_rc(what: &str, rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::new(
            io::Error::from_raw_os_error(rc).kind(),
            format!("{what}: {}", io::Error::from_raw_os_error(rc)),
        ))
    }
}

impl PMutex {
    /// Initialises a PTHREAD_PROCESS_SHARED mutex at `off` (before forking).
    pub fn init(region: &Region, off: usize) -> io::Result<PMutex> {
        assert!(std::mem::size_of::<libc::pthread_mutex_t>() <= PTHREAD_SLOT);
        let m: *mut libc::pthread_mutex_t = region.raw(off);
        // SAFETY: the attribute object is initialised before use and destroyed
        // after; `m` points to zeroed, aligned, unused memory of the region that
        // lives until the region is unmapped, after every user is done.
        unsafe {
            let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
            check_rc(
                "pthread_mutexattr_init",
                libc::pthread_mutexattr_init(attr.as_mut_ptr()),
            )?;
            let rc = libc::pthread_mutexattr_setpshared(
                attr.as_mut_ptr(),
                crate::mech::shm::PTHREAD_PROCESS_SHARED,
            );
            let rc2 = if rc == 0 {
                libc::pthread_mutex_init(m, attr.as_ptr())
            } else {
                rc
            };
            libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
            check_rc("pthread_mutexattr_setpshared(PTHREAD_PROCESS_SHARED)", rc)?;
            check_rc("pthread_mutex_init", rc2)?;
        }
        Ok(PMutex(m))
    }

    #[inline(always)]
    pub fn lock(self) {
        // SAFETY: initialised by `init`; the region outlives every use (the
        // measuring code holds the region while it uses the mutex).
        let rc = unsafe { libc::pthread_mutex_lock(self.0) };
        debug_assert_eq!(rc, 0);
    }

    #[inline(always)]
    pub fn unlock(self) {
        // SAFETY: as for lock; called only by the holder.
        let rc = unsafe { libc::pthread_mutex_unlock(self.0) };
        debug_assert_eq!(rc, 0);
    }
}

impl PCond {
    /// Initialises a PTHREAD_PROCESS_SHARED condition variable at `off`.
    pub fn init(region: &Region, off: usize) -> io::Result<PCond> {
        assert!(std::mem::size_of::<libc::pthread_cond_t>() <= PTHREAD_SLOT);
        let c: *mut libc::pthread_cond_t = region.raw(off);
        // SAFETY: as for PMutex::init, with a condition variable.
        unsafe {
            let mut attr = std::mem::MaybeUninit::<libc::pthread_condattr_t>::uninit();
            check_rc(
                "pthread_condattr_init",
                libc::pthread_condattr_init(attr.as_mut_ptr()),
            )?;
            let rc = libc::pthread_condattr_setpshared(
                attr.as_mut_ptr(),
                crate::mech::shm::PTHREAD_PROCESS_SHARED,
            );
            let rc2 = if rc == 0 {
                libc::pthread_cond_init(c, attr.as_ptr())
            } else {
                rc
            };
            libc::pthread_condattr_destroy(attr.as_mut_ptr());
            check_rc("pthread_condattr_setpshared(PTHREAD_PROCESS_SHARED)", rc)?;
            check_rc("pthread_cond_init", rc2)?;
        }
        Ok(PCond(c))
    }

    /// Waits on the condition; the caller holds `m`. Bounded by the watchdog.
    #[inline(always)]
    pub fn wait(self, m: PMutex) {
        // SAFETY: both objects were initialised by `init` and live in a mapped
        // region; the caller holds the mutex, as pthread_cond_wait requires.
        let rc = unsafe { libc::pthread_cond_wait(self.0, m.0) };
        // EINVAL is no bug here: macOS's libpthread refuses a wait while another
        // process's wait, made through the mutex at another address, is pending
        // (libpthread src/pthread_cond.c _pthread_cond_wait: `cond->busy != NULL
        // && cond->busy != mutex` returns EINVAL). Every caller waits in a loop
        // that re-checks its condition, so it waits again.
        debug_assert!(rc == 0 || rc == libc::EINVAL, "pthread_cond_wait: {rc}");
    }

    #[inline(always)]
    pub fn signal(self) {
        // SAFETY: initialised by `init`, in a mapped region.
        unsafe { libc::pthread_cond_signal(self.0) };
    }

    #[inline(always)]
    pub fn broadcast(self) {
        // SAFETY: initialised by `init`, in a mapped region.
        unsafe { libc::pthread_cond_broadcast(self.0) };
    }
}

// -------------------------------------------------------------------- futexes

/// Whether this target has a futex-style wait on a word of shared memory.
pub const HAS_FUTEX: bool = cfg!(any(target_os = "linux", target_os = "freebsd"));

/// Sleeps while `word` holds `expected` (at most the step bound). Returns at
/// once when the value already differs.
#[inline(always)]
pub fn futex_wait(word: &AtomicU32, expected: u32) -> Result<(), Errno> {
    cfg_if::cfg_if! {
        if #[cfg(target_os = "linux")] {
            let ts = libc::timespec { tv_sec: STEP_BOUND_SECS, tv_nsec: 0 };
            // SAFETY: FUTEX_WAIT (shared, not _PRIVATE: the word is in memory shared
            // with another process) reads the aligned 32-bit word and sleeps with a
            // relative timeout; `word` is valid for the call.
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
            let mut ts = libc::timespec { tv_sec: STEP_BOUND_SECS, tv_nsec: 0 };
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
            let _ = (word, expected);
            Err(Errno::ENOSYS)
        }
    }
}

/// Wakes one process sleeping in `futex_wait` on `word`.
#[inline(always)]
pub fn futex_wake(word: &AtomicU32) {
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

// ------------------------------------------------------------------- eventfd

/// Whether this target has eventfd(2).
pub const HAS_EVENTFD: bool = cfg!(any(target_os = "linux", target_os = "freebsd"));

/// A blocking, close-on-exec eventfd with counter 0.
pub fn eventfd() -> io::Result<OwnedFd> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "freebsd"))] {
            // SAFETY: eventfd takes plain integers and returns a new descriptor or -1.
            let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` is a new descriptor that nothing else owns.
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        } else {
            Err(io::Error::new(io::ErrorKind::Unsupported, "no eventfd on this OS"))
        }
    }
}

/// accept(2) on a listening socket: the connection, close-on-exec.
pub fn accept(listener: &OwnedFd) -> io::Result<OwnedFd> {
    cfg_if::cfg_if! {
        if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
            // SAFETY: null address and length pointers are allowed (peer address not
            // wanted); the listener is open for the call.
            let fd = unsafe { libc::accept4(listener.as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut(), libc::SOCK_CLOEXEC) };
        } else {
            // SAFETY: as above, without flags.
            let fd = unsafe { libc::accept(listener.as_raw_fd(), std::ptr::null_mut(), std::ptr::null_mut()) };
        }
    }
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor returned by accept that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    nix::fcntl::fcntl(
        &fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )?;
    Ok(fd)
}

// ---------------------------------------------------------- raw read / write

/// write(2) of `buf`; EINTR is retried.
#[inline(always)]
pub fn write(fd: libc::c_int, buf: &[u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: `buf` is valid for reads of its length for the call.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        match Errno::last() {
            Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// read(2) into `buf`; EINTR is retried.
#[inline(always)]
pub fn read(fd: libc::c_int, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: `buf` is valid for writes of its length for the call.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        match Errno::last() {
            Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

// ------------------------------------------------------ System V messages

#[cfg(target_vendor = "apple")]
mod apple_msg {
    // The libc crate binds no System V message calls for Apple targets; these are
    // libSystem's (sys/msg.h).
    unsafe extern "C" {
        pub fn msgget(key: libc::key_t, msgflg: libc::c_int) -> libc::c_int;
        pub fn msgsnd(
            msqid: libc::c_int,
            msgp: *const libc::c_void,
            msgsz: libc::size_t,
            msgflg: libc::c_int,
        ) -> libc::c_int;
        pub fn msgrcv(
            msqid: libc::c_int,
            msgp: *mut libc::c_void,
            msgsz: libc::size_t,
            msgtyp: libc::c_long,
            msgflg: libc::c_int,
        ) -> libc::ssize_t;
        pub fn msgctl(msqid: libc::c_int, cmd: libc::c_int, buf: *mut libc::c_void) -> libc::c_int;
    }
}

cfg_if::cfg_if! {
    if #[cfg(target_vendor = "apple")] {
        use apple_msg as msg;
    } else if #[cfg(not(target_os = "android"))] {
        use libc as msg;
    }
    // Android: the libc crate binds no System V calls for bionic; no queue is made.
}

/// A private System V message queue (IPC_PRIVATE, mode 0600), removed on drop.
pub struct SysvQueue {
    pub id: libc::c_int,
}

impl SysvQueue {
    #[cfg(target_os = "android")]
    pub fn new() -> io::Result<SysvQueue> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("no System V message API on {}", crate::platform::TARGET),
        ))
    }

    #[cfg(not(target_os = "android"))]
    pub fn new() -> io::Result<SysvQueue> {
        // SAFETY: msgget takes plain integers.
        let id = unsafe { msg::msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600) };
        if id < 0 {
            return Err(io::Error::last_os_error());
        }
        QUEUE_TO_REMOVE.store(id, std::sync::atomic::Ordering::Relaxed);
        Ok(SysvQueue { id })
    }

    /// The queue's capacity in bytes (msg_qbytes), where the OS reports it.
    pub fn qbytes(&self) -> Option<usize> {
        cfg_if::cfg_if! {
            if #[cfg(any(target_os = "linux", target_os = "freebsd"))] {
                // SAFETY: msqid_ds is plain data; IPC_STAT fills it.
                let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
                // SAFETY: `ds` is writable and of the type IPC_STAT expects.
                let rc = unsafe { libc::msgctl(self.id, libc::IPC_STAT, &mut ds) };
                (rc == 0).then_some(ds.msg_qbytes as usize)
            } else {
                None
            }
        }
    }
}

impl Drop for SysvQueue {
    fn drop(&mut self) {
        let _ = QUEUE_TO_REMOVE.compare_exchange(
            self.id,
            -1,
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
        );
        // SAFETY: IPC_RMID takes no buffer (null is allowed).
        #[cfg(not(target_os = "android"))]
        unsafe {
            msg::msgctl(self.id, libc::IPC_RMID, std::ptr::null_mut())
        };
    }
}

/// A System V message buffer: the `long mtype` word, then the text.
pub struct MsgBuf {
    words: Vec<libc::c_long>,
    cap: usize,
}

const WORD: usize = std::mem::size_of::<libc::c_long>();

impl MsgBuf {
    /// A buffer with room for `cap` bytes of text.
    pub fn new(cap: usize) -> MsgBuf {
        MsgBuf {
            words: vec![0; 1 + cap.div_ceil(WORD)],
            cap,
        }
    }

    pub fn set_type(&mut self, mtype: libc::c_long) {
        self.words[0] = mtype;
    }

    /// The text part.
    pub fn text(&self) -> &[u8] {
        // SAFETY: the words after the first are initialised integers; viewing them
        // as `cap` bytes (<= their size) is in bounds, and u8 has no alignment or
        // validity requirement. The borrow of `self` covers the slice's life.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().add(1).cast::<u8>(), self.cap) }
    }

    /// The text part, writable.
    pub fn text_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `text`; the mutable borrow of `self` makes it exclusive,
        // and any byte pattern is a valid integer.
        unsafe {
            std::slice::from_raw_parts_mut(self.words.as_mut_ptr().add(1).cast::<u8>(), self.cap)
        }
    }
}

/// msgsnd(2) of the first `len` bytes of text of `buf`, with its type.
#[inline(always)]
pub fn msgsnd(id: libc::c_int, buf: &MsgBuf, len: usize) -> Result<(), Errno> {
    assert!(len <= buf.cap);
    // Unreachable on Android: SysvQueue::new fails there, so no queue id exists.
    #[cfg(target_os = "android")]
    #[allow(clippy::needless_return)]
    {
        let _ = id;
        return Err(Errno::ENOSYS);
    }
    #[cfg(not(target_os = "android"))]
    loop {
        // SAFETY: `buf` holds the type word followed by at least `len` bytes of
        // text (asserted), valid for reads during the call.
        let rc = unsafe { msg::msgsnd(id, buf.words.as_ptr().cast(), len, 0) };
        if rc == 0 {
            return Ok(());
        }
        match Errno::last() {
            Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// msgrcv(2) of the next message of type `mtype` into `buf`; returns its length.
#[inline(always)]
pub fn msgrcv(id: libc::c_int, buf: &mut MsgBuf, mtype: libc::c_long) -> Result<usize, Errno> {
    // Unreachable on Android: SysvQueue::new fails there, so no queue id exists.
    #[cfg(target_os = "android")]
    #[allow(clippy::needless_return)]
    {
        let _ = (id, buf, mtype);
        return Err(Errno::ENOSYS);
    }
    #[cfg(not(target_os = "android"))]
    loop {
        // SAFETY: `buf` has room for the type word plus `cap` bytes of text, the
        // size passed; valid for writes during the call.
        let n = unsafe { msg::msgrcv(id, buf.words.as_mut_ptr().cast(), buf.cap, mtype, 0) };
        if n >= 0 {
            return Ok(n as usize);
        }
        match Errno::last() {
            Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

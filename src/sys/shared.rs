//! Memory shared with forked children: a mapping with atomic and bulk
//! accessors ([`Region`]), and process-shared pthread objects placed in it
//! ([`PMutex`], [`PCond`]); the PTHREAD_PROCESS_SHARED initialisation itself
//! works in any memory several processes map ([`mutex_init_shared`],
//! [`cond_init_shared`]).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

/// A shared read-write mapping, zero-filled when created: of a descriptor (a
/// POSIX shared memory object the caller made), or anonymous (MAP_SHARED |
/// MAP_ANON) for bookkeeping between a process and the children it forks
/// afterwards. Unmapped on drop.
pub struct Region {
    ptr: NonNull<u8>,
    len: usize,
}

impl Region {
    /// An anonymous MAP_SHARED mapping of `len` bytes.
    pub fn anonymous(len: usize) -> io::Result<Region> {
        Self::map(len, None)
    }

    /// Maps `len` bytes of `fd` (at least that long) shared; the descriptor is
    /// closed once mapped.
    pub fn of_fd(fd: OwnedFd, len: usize) -> io::Result<Region> {
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

cfg_if::cfg_if! {
    if #[cfg(target_os = "android")] {
        /// bionic's value (<pthread.h>); the libc crate's Android module lacks it.
        pub const PTHREAD_PROCESS_SHARED: libc::c_int = 1;
    } else {
        pub use libc::PTHREAD_PROCESS_SHARED;
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

/// A pthread return code as a result: the error names the call and the errno.
pub fn check_rc(rc: libc::c_int, what: &str) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        let e = io::Error::from_raw_os_error(rc);
        Err(io::Error::new(
            e.kind(),
            format!("{what}: {}", super::describe_io_error(&e)),
        ))
    }
}

/// The calls that make a pthread object `T` of kind `what` ("mutex", "cond")
/// process-shared through its attribute type `A`.
struct Pshared<A, T> {
    what: &'static str,
    attr_init: unsafe extern "C" fn(*mut A) -> libc::c_int,
    attr_setpshared: unsafe extern "C" fn(*mut A, libc::c_int) -> libc::c_int,
    init: unsafe extern "C" fn(*mut T, *const A) -> libc::c_int,
    attr_destroy: unsafe extern "C" fn(*mut A) -> libc::c_int,
}

impl<A, T> Pshared<A, T> {
    /// Initialises the object at `obj` with a PTHREAD_PROCESS_SHARED attribute.
    ///
    /// # Safety
    /// `obj` must point to writable memory, aligned for a `T`, that no thread
    /// or process uses yet.
    unsafe fn init_at(&self, obj: *mut T) -> io::Result<()> {
        let what = self.what;
        let mut attr = std::mem::MaybeUninit::<A>::uninit();
        // SAFETY: the attribute object lives on this stack frame, is
        // initialised before any other use and destroyed after the object's
        // init; these are the matching pthread calls for `A` and `T` (see
        // `mutex_init_shared`, `cond_init_shared`); `obj` is as the caller
        // promises.
        unsafe {
            check_rc(
                (self.attr_init)(attr.as_mut_ptr()),
                &format!("pthread_{what}attr_init"),
            )?;
            let rc = (self.attr_setpshared)(attr.as_mut_ptr(), PTHREAD_PROCESS_SHARED);
            let rc2 = if rc == 0 {
                (self.init)(obj, attr.as_ptr())
            } else {
                0
            };
            (self.attr_destroy)(attr.as_mut_ptr());
            check_rc(
                rc,
                &format!("pthread_{what}attr_setpshared(PTHREAD_PROCESS_SHARED)"),
            )?;
            check_rc(rc2, &format!("pthread_{what}_init"))
        }
    }
}

/// pthread_mutex_init with the PTHREAD_PROCESS_SHARED attribute, in any
/// memory several processes map.
///
/// # Safety
/// `m` must point to writable, suitably aligned memory for a `pthread_mutex_t`
/// that no thread or process uses yet.
pub unsafe fn mutex_init_shared(m: *mut libc::pthread_mutex_t) -> io::Result<()> {
    let kind = Pshared {
        what: "mutex",
        attr_init: libc::pthread_mutexattr_init,
        attr_setpshared: libc::pthread_mutexattr_setpshared,
        init: libc::pthread_mutex_init,
        attr_destroy: libc::pthread_mutexattr_destroy,
    };
    // SAFETY: the caller's contract.
    unsafe { kind.init_at(m) }
}

/// pthread_cond_init with the PTHREAD_PROCESS_SHARED attribute, in any memory
/// several processes map.
///
/// # Safety
/// `c` must point to writable, suitably aligned memory for a `pthread_cond_t`
/// that no thread or process uses yet.
pub unsafe fn cond_init_shared(c: *mut libc::pthread_cond_t) -> io::Result<()> {
    let kind = Pshared {
        what: "cond",
        attr_init: libc::pthread_condattr_init,
        attr_setpshared: libc::pthread_condattr_setpshared,
        init: libc::pthread_cond_init,
        attr_destroy: libc::pthread_condattr_destroy,
    };
    // SAFETY: the caller's contract.
    unsafe { kind.init_at(c) }
}

/// The pthread object `T` at `off` of `region`, for its `init`.
fn slot<T>(region: &Region, off: usize) -> *mut T {
    assert!(std::mem::size_of::<T>() <= PTHREAD_SLOT);
    region.raw(off)
}

impl PMutex {
    /// Initialises a PTHREAD_PROCESS_SHARED mutex at `off` (before forking).
    pub fn init(region: &Region, off: usize) -> io::Result<PMutex> {
        let m = slot(region, off);
        // SAFETY: `m` points to zeroed, aligned, unused memory of the region
        // (checked by `raw`) that lives until the region is unmapped, after
        // every user is done.
        unsafe { mutex_init_shared(m) }.map(|()| PMutex(m))
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
        let c = slot(region, off);
        // SAFETY: as for `PMutex::init`.
        unsafe { cond_init_shared(c) }.map(|()| PCond(c))
    }

    /// Waits on the condition; the caller holds `m`. Bounded by the caller's
    /// watchdog.
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

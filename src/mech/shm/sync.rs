//! The shared sync block of the guide's corrected example: a process-shared
//! mutex and condition variable at the start of a mapping, the flag word, the
//! data and the consumer's result at fixed offsets after them.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::ffi;
use super::{EMPTY, Mapping};

/// A mutex and a condition variable at the start of a shared mapping, with the
/// flag word of the guide's example at [`SYNC_FLAG`], its data at
/// [`SYNC_DATA`] and the consumer's result at [`SYNC_RESULT`].
#[repr(C)]
struct SyncBlock {
    mutex: libc::pthread_mutex_t,
    cond: libc::pthread_cond_t,
}

pub const SYNC_FLAG: usize = 512;
/// The word of the same-address probe (`shm-condvar-same-address`).
pub const SYNC_PROBE: usize = SYNC_FLAG + 8;
/// How long a probing second wait lasts when nothing wakes it.
pub const PROBE_WAIT: Duration = Duration::from_millis(20);
pub const SYNC_DATA: usize = 1024;
pub const SYNC_RESULT: usize = 2048;
pub const SYNC_DATA_LEN: usize = 64;
pub const SYNC_LEN: usize = 4096;
const _: () = assert!(std::mem::size_of::<SyncBlock>() <= SYNC_FLAG);

/// The guide's corrected pattern: `pthread_mutex_t` and `pthread_cond_t` in
/// shared memory, initialised PTHREAD_PROCESS_SHARED by the creator.
pub struct SharedSync<'a> {
    map: &'a Mapping,
    block: *mut SyncBlock,
}

impl<'a> SharedSync<'a> {
    /// Initialises the mutex and condition variable PTHREAD_PROCESS_SHARED at
    /// the start of `map` (the creator, before any other process uses them).
    pub fn init(map: &'a Mapping) -> io::Result<SharedSync<'a>> {
        assert!(map.len() >= SYNC_LEN);
        let sync = SharedSync::attach(map);
        let (m, c) = (sync.mutex(), sync.cond());
        // SAFETY: both point to suitably aligned (page start) memory inside the
        // live mapping that no other process uses yet.
        unsafe {
            ffi::mutex_init_shared(m)?;
            if let Err(e) = ffi::cond_init_shared(c) {
                ffi::mutex_destroy(m);
                return Err(e);
            }
        }
        map.atomic(SYNC_FLAG).store(EMPTY, Ordering::Release);
        Ok(sync)
    }

    /// Uses objects another process initialised in `map`.
    pub fn attach(map: &'a Mapping) -> SharedSync<'a> {
        let block = map
            .at(0, std::mem::size_of::<SyncBlock>())
            .cast::<SyncBlock>();
        SharedSync { map, block }
    }

    fn mutex(&self) -> *mut libc::pthread_mutex_t {
        // SAFETY: block points inside the live mapping (checked in `attach`);
        // only the field's address is taken.
        unsafe { &raw mut (*self.block).mutex }
    }

    fn cond(&self) -> *mut libc::pthread_cond_t {
        // SAFETY: as in `mutex`.
        unsafe { &raw mut (*self.block).cond }
    }

    pub fn flag(&self) -> &AtomicU32 {
        self.map.atomic(SYNC_FLAG)
    }

    pub fn map(&self) -> &Mapping {
        self.map
    }

    /// Locks the mutex, waiting at most until `deadline`.
    pub fn lock(&self, deadline: Instant) -> io::Result<Locked<'_, 'a>> {
        // SAFETY: the mutex was initialised process-shared in the live mapping.
        unsafe { ffi::mutex_lock_until(self.mutex(), deadline) }?;
        Ok(Locked { sync: self })
    }

    /// Destroys the condition variable and the mutex (the creator, once no
    /// other process uses them).
    pub fn destroy(self) {
        // SAFETY: both objects are initialised and, by the caller's contract,
        // no longer used by any process.
        unsafe {
            ffi::cond_destroy(self.cond());
            ffi::mutex_destroy(self.mutex());
        }
    }
}

/// The mutex of a [`SharedSync`], held; unlocked on drop.
pub struct Locked<'s, 'a> {
    sync: &'s SharedSync<'a>,
}

impl Locked<'_, '_> {
    /// pthread_cond_timedwait until `deadline`: Ok(true) when woken (possibly
    /// spuriously), Ok(false) on timeout.
    pub fn wait(&self, deadline: Instant) -> io::Result<bool> {
        match self.wait_rc(deadline.saturating_duration_since(Instant::now())) {
            0 => Ok(true),
            libc::ETIMEDOUT => Ok(false),
            rc => ffi::check_rc(rc, "pthread_cond_timedwait").map(|_| false),
        }
    }

    /// One pthread_cond_timedwait of at most `left`, its return code as is:
    /// 0 (woken), ETIMEDOUT, or EINVAL where the implementation refuses the
    /// wait (macOS: another waiter's mutex address is recorded, see
    /// `second_waiter_rule`).
    pub fn wait_rc(&self, left: Duration) -> libc::c_int {
        // SAFETY: the condition variable and mutex are live process-shared
        // objects; this thread holds the mutex (this guard exists).
        unsafe { ffi::cond_timedwait(self.sync.cond(), self.sync.mutex(), left) }
    }

    pub fn signal(&self) -> io::Result<()> {
        // SAFETY: a live process-shared condition variable.
        unsafe { ffi::cond_signal(self.sync.cond()) }
    }

    pub fn broadcast(&self) -> io::Result<()> {
        // SAFETY: a live process-shared condition variable.
        unsafe { ffi::cond_broadcast(self.sync.cond()) }
    }
}

impl Drop for Locked<'_, '_> {
    fn drop(&mut self) {
        // SAFETY: this thread holds the mutex (the guard exists only then).
        unsafe { ffi::mutex_unlock(self.sync.mutex()) }
    }
}

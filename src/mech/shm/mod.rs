//! Shared memory in general: the mapping every shared-memory mechanism of the
//! suite works through (POSIX shm, System V shm, memory-mapped files), the
//! memory peer protocol, bounded spinning, process-shared pthread mutex and
//! condition variable, SysV keys, name-limit bisection, and the peer roles of
//! the `shm.*` claims (the guide's "common mistakes" around shared memory).
//!
//! Memory peer protocol (a peer that mapped a region, one line each way; offsets
//! and lengths in bytes, data hex, u32 values decimal):
//! - the peer first prints `ready <pid>`;
//! - `read <off> <len>` → `data <hex>` (volatile byte loads);
//! - `write <off> <hex>` → `ok <n>` (volatile byte stores);
//! - `store <off> <u32>` → `ok` (atomic store, release);
//! - `load <off>` → `value <u32>` (atomic load, acquire);
//! - `publish <data_off> <hex> <flag_off> <u32>` → `ok`: stores the bytes, then the
//!   flag (release), with no system call in between;
//! - `append <index_off> <slots_off> <slots> <writer> <count> <size> <arrive_off>
//!   <start_off> <ms>` → `ok <count>`: announces itself on `arrive_off` (fetch-add),
//!   spins until `start_off` is non-zero, then writes `count` records
//!   (`crate::channel::record`), each into a slot reserved with a fetch-add on
//!   `index_off`;
//! - `follow <seq_off> <slots_off> <count> <size> <arrive_off> <ack_off> <ms>` →
//!   `ok <whole> <torn> <observations>`: announces itself on `arrive_off`, then
//!   watches the sequence number at `seq_off` (acquire loads, yielding between
//!   them), checking each record
//!   (`crate::channel::record` of writer 0) as it appears and storing how many it
//!   has seen at `ack_off`, until `count` records were published;
//! - `fdprobe <off>` → `same <fd>` | `different <fd> <dev> <ino>` | `err <errno> <text>`:
//!   reads a descriptor number (u32 at `off`) and the device and inode (u64 at
//!   `off+8`, `off+16`) of the file it names in the writer, and fstat()s that
//!   number here;
//! - `sync` → `ok` (msync MS_SYNC);
//! - `quit` → the peer exits 0.
//!
//! Roles add their own commands (see each role).

/// Peer roles of the `shm.*` claims: `shm-waiter <name> <len>` maps a POSIX
/// shared-memory object holding a [`SharedSync`] block and serves the memory
/// protocol plus `wait <spin|cond> <leave|process> <ms>`: prints `waiting`, waits
/// for the flag to become READY (spinning on it, or in the guide's
/// pthread_cond_wait() loop), processes the data when asked, then answers `ok
/// <cpu_us> <wall_us> <loads|wakeups> <voluntary> <involuntary>` (getrusage
/// deltas over the wait: CPU time and context switches).
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            unix::peer_role(role, args)
        } else {
            let _ = (role, args);
            None
        }
    }
}

#[cfg(any(unix, windows))]
pub use common::*;
#[cfg(unix)]
pub use unix::*;

/// What every target with shared memory has: mappings, spinning, the memory
/// peer protocol.
#[cfg(any(unix, windows))]
mod common {
    pub use crate::peer::answer::{err_line, say};
    use std::ffi::c_void;
    use std::io::{self, BufRead};
    use std::ptr::NonNull;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    use crate::peer::{hex, unhex};

    /// The flag values of the guide's example.
    pub const EMPTY: u32 = 0;
    pub const READY: u32 = 1;
    pub const PROCESSED: u32 = 2;

    // ------------------------------------------------------------- mappings

    enum Release {
        #[cfg(unix)]
        Munmap,
        #[cfg(all(unix, not(target_os = "android")))]
        Shmdt,
        #[cfg(windows)]
        UnmapView,
    }

    /// A shared mapping: memory that other processes may change at any time.
    /// Every access goes through volatile byte copies or atomics, never through
    /// Rust references to plain data, so concurrent stores by another process are
    /// never a data race in this process's view.
    pub struct Mapping {
        ptr: NonNull<c_void>,
        len: usize,
        release: Release,
    }

    // SAFETY: a Mapping is a pointer to memory that stays mapped until drop; all
    // access is volatile or atomic, so sharing it between threads is the same as
    // sharing the memory between processes, which the type is made for.
    unsafe impl Send for Mapping {}
    // SAFETY: see Send.
    unsafe impl Sync for Mapping {}

    impl Mapping {
        /// mmap(2) of `len` bytes of `fd` from offset 0.
        #[cfg(unix)]
        pub fn map(
            fd: std::os::fd::BorrowedFd<'_>,
            len: usize,
            prot: nix::sys::mman::ProtFlags,
            flags: nix::sys::mman::MapFlags,
        ) -> io::Result<Mapping> {
            let length = std::num::NonZeroUsize::new(len)
                .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
            // SAFETY: the kernel chooses the address (None), so the new mapping
            // overlaps no memory Rust owns; the pointer is kept only in this
            // Mapping, which unmaps it exactly once, on drop.
            let ptr = unsafe { nix::sys::mman::mmap(None, length, prot, flags, fd, 0) }?;
            Ok(Mapping {
                ptr,
                len,
                release: Release::Munmap,
            })
        }

        /// Wraps a System V attachment (released with shmdt).
        ///
        /// # Safety
        /// `ptr` must be the address shmat(2) returned, attached for at least `len`
        /// bytes, and not be detached by anyone else.
        #[cfg(all(unix, not(target_os = "android")))]
        pub unsafe fn from_shmat(ptr: NonNull<c_void>, len: usize) -> Mapping {
            Mapping {
                ptr,
                len,
                release: Release::Shmdt,
            }
        }

        /// Wraps a view of a Windows file mapping (released with UnmapViewOfFile).
        ///
        /// # Safety
        /// `ptr` must be the address MapViewOfFile returned for a view of at least
        /// `len` bytes, and not be unmapped by anyone else.
        #[cfg(windows)]
        pub unsafe fn from_view(ptr: NonNull<c_void>, len: usize) -> Mapping {
            Mapping {
                ptr,
                len,
                release: Release::UnmapView,
            }
        }

        pub fn len(&self) -> usize {
            self.len
        }

        pub fn is_empty(&self) -> bool {
            self.len == 0
        }

        /// The first byte of the mapping.
        pub fn as_ptr(&self) -> *mut u8 {
            self.ptr.as_ptr().cast()
        }

        fn check(&self, off: usize, len: usize) {
            assert!(
                off.checked_add(len).is_some_and(|end| end <= self.len),
                "access [{off}, +{len}) outside a {}-byte mapping",
                self.len
            );
        }

        /// A pointer to byte `off`, for structures placed in the mapping
        /// (sem_t, pthread objects); `len` bytes from there must be inside.
        pub fn at(&self, off: usize, len: usize) -> *mut u8 {
            self.check(off, len);
            // SAFETY: in bounds (checked above) of a live mapping.
            unsafe { self.as_ptr().add(off) }
        }

        /// The u32 at `off` (4-aligned), as an atomic shared with other processes.
        pub fn atomic(&self, off: usize) -> &AtomicU32 {
            assert!(off % 4 == 0, "unaligned atomic at {off}");
            let p = self.at(off, 4);
            // SAFETY: in bounds and 4-aligned (mappings start on a page boundary);
            // the memory stays mapped for the lifetime of &self; AtomicU32 has the
            // layout of u32, and every process of the suite touches these words
            // only with atomic operations.
            unsafe { AtomicU32::from_ptr(p.cast()) }
        }

        /// Copies `len` bytes out with volatile loads.
        pub fn read(&self, off: usize, len: usize) -> Vec<u8> {
            let p = self.at(off, len);
            // SAFETY: [off, off+len) is inside the live mapping (checked in `at`);
            // volatile loads read whatever is there without assuming it is stable.
            (0..len)
                .map(|i| unsafe { std::ptr::read_volatile(p.add(i)) })
                .collect()
        }

        /// Stores bytes with volatile stores. Through a mapping without
        /// PROT_WRITE this traps (the read-only probe relies on that).
        pub fn write(&self, off: usize, data: &[u8]) {
            let p = self.at(off, data.len());
            for (i, b) in data.iter().enumerate() {
                // SAFETY: inside the live mapping (checked in `at`); the memory is
                // not aliased by any Rust reference, only by other processes.
                unsafe { std::ptr::write_volatile(p.add(i), *b) };
            }
        }

        /// Writes the mapping back to its file: msync(MS_SYNC), or FlushViewOfFile.
        pub fn sync(&self) -> io::Result<()> {
            cfg_if::cfg_if! {
                if #[cfg(unix)] {
                    // SAFETY: the whole live mapping, page-aligned at its start.
                    unsafe { nix::sys::mman::msync(self.ptr, self.len, nix::sys::mman::MsFlags::MS_SYNC) }?;
                } else {
                    // SAFETY: the whole live view.
                    let ok = unsafe { windows_sys::Win32::System::Memory::FlushViewOfFile(self.ptr.as_ptr(), self.len) };
                    if ok == 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
            }
            Ok(())
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            match self.release {
                // SAFETY: the mapping this value made; nothing refers to it after
                // drop (accessors borrow self).
                #[cfg(unix)]
                Release::Munmap => unsafe {
                    let _ = nix::sys::mman::munmap(self.ptr, self.len);
                },
                // SAFETY: the attachment shmat returned (contract of from_shmat).
                #[cfg(all(unix, not(target_os = "android")))]
                Release::Shmdt => unsafe {
                    libc::shmdt(self.ptr.as_ptr());
                },
                // SAFETY: the view MapViewOfFile returned (contract of from_view).
                #[cfg(windows)]
                Release::UnmapView => unsafe {
                    windows_sys::Win32::System::Memory::UnmapViewOfFile(
                        windows_sys::Win32::System::Memory::MEMORY_MAPPED_VIEW_ADDRESS {
                            Value: self.ptr.as_ptr(),
                        },
                    );
                },
            }
        }
    }

    // ------------------------------------------------------------- spinning

    /// Spins on `word` with atomic loads (acquire) until `done(value)` or `bound`
    /// passes. The loop makes no system call: the clock is read every 1024
    /// iterations (clock_gettime, a vDSO call on Linux). Ok((value, iterations))
    /// or Err(last value seen).
    pub fn spin_until(
        word: &AtomicU32,
        done: impl Fn(u32) -> bool,
        bound: Duration,
    ) -> Result<(u32, u64), u32> {
        let start = Instant::now();
        let mut spins: u64 = 0;
        loop {
            let v = word.load(Ordering::Acquire);
            if done(v) {
                return Ok((v, spins));
            }
            spins += 1;
            if spins % 1024 == 0 && start.elapsed() >= bound {
                return Err(v);
            }
            std::hint::spin_loop();
        }
    }

    /// Waits (bounded) for `done(word)` while yielding the CPU between loads: for
    /// the controller waiting on peers to reach a point, where giving the two
    /// cores of a small machine to the peers matters more than reaction time.
    pub fn yield_until(
        word: &AtomicU32,
        done: impl Fn(u32) -> bool,
        bound: Duration,
    ) -> Result<u32, u32> {
        let start = Instant::now();
        loop {
            let v = word.load(Ordering::Acquire);
            if done(v) {
                return Ok(v);
            }
            if start.elapsed() >= bound {
                return Err(v);
            }
            std::thread::yield_now();
        }
    }

    // ------------------------------------------------------ name-limit probing

    /// The longest name `probe` accepts, by bisection between `good` (a length
    /// known to work) and `bad` (one known to fail). `probe(len)` creates and
    /// removes an object whose name has `len` characters. Returns the limit and
    /// the error of the first length beyond it.
    pub fn bisect_name_limit(
        mut good: usize,
        mut bad: usize,
        probe: &mut dyn FnMut(usize) -> io::Result<()>,
    ) -> io::Result<(usize, io::Error)> {
        probe(good)?;
        let mut beyond = match probe(bad) {
            Ok(()) => {
                return Err(io::Error::other(format!(
                    "a name of {bad} characters was accepted"
                )));
            }
            Err(e) => e,
        };
        while bad - good > 1 {
            let mid = good + (bad - good) / 2;
            match probe(mid) {
                Ok(()) => good = mid,
                Err(e) => {
                    bad = mid;
                    beyond = e;
                }
            }
        }
        Ok((good, beyond))
    }

    /// `base` padded with 'x' to exactly `len` characters.
    pub fn padded_name(base: &str, len: usize) -> String {
        let mut s = base.to_owned();
        while s.len() < len {
            s.push('x');
        }
        s.truncate(len);
        s
    }

    // ----------------------------------------------------- the memory server

    pub(super) fn num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
        s.parse().map_err(|_| format!("bad number {s:?}"))
    }

    /// A role's own commands: `Some(answer)` when it handled the words.
    pub type Extra<'e> = dyn FnMut(&[&str]) -> Option<Result<String, String>> + 'e;

    /// Serves the memory protocol (module doc) over `map` until `quit` or the end
    /// of input; `extra` handles the role's own commands first.
    pub fn serve_memory(map: &Mapping, extra: &mut Extra<'_>) -> Result<(), String> {
        say(&format!("ready {}", std::process::id()))?;
        let stdin = io::stdin();
        for line in stdin.lock().lines() {
            let line = line.map_err(|e| e.to_string())?;
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.as_slice() == ["quit"] {
                return Ok(());
            }
            let answer = match extra(&words) {
                Some(a) => a?,
                None => memory_command(map, &words)?,
            };
            say(&answer)?;
        }
        Ok(())
    }

    fn in_bounds(map: &Mapping, off: usize, len: usize) -> Result<(), String> {
        if off.checked_add(len).is_some_and(|e| e <= map.len()) {
            Ok(())
        } else {
            Err(format!(
                "[{off}, +{len}) is outside the {}-byte mapping",
                map.len()
            ))
        }
    }

    fn aligned(map: &Mapping, off: usize) -> Result<&AtomicU32, String> {
        in_bounds(map, off, 4)?;
        if off % 4 != 0 {
            return Err(format!("offset {off} is not 4-aligned"));
        }
        Ok(map.atomic(off))
    }

    fn memory_command(map: &Mapping, words: &[&str]) -> Result<String, String> {
        Ok(match words {
            ["read", off, len] => {
                let (off, len) = (num(off)?, num(len)?);
                in_bounds(map, off, len)?;
                format!("data {}", hex(&map.read(off, len)))
            }
            ["write", off, h] => {
                let off = num(off)?;
                let data = unhex(h).ok_or("bad hex")?;
                in_bounds(map, off, data.len())?;
                map.write(off, &data);
                format!("ok {}", data.len())
            }
            ["store", off, v] => {
                aligned(map, num(off)?)?.store(num(v)?, Ordering::Release);
                "ok".to_owned()
            }
            ["load", off] => format!("value {}", aligned(map, num(off)?)?.load(Ordering::Acquire)),
            ["publish", data_off, h, flag_off, v] => {
                let data_off = num(data_off)?;
                let data = unhex(h).ok_or("bad hex")?;
                in_bounds(map, data_off, data.len())?;
                let flag = aligned(map, num(flag_off)?)?;
                let v = num(v)?;
                // Plain stores, then the flag: no system call in between.
                map.write(data_off, &data);
                flag.store(v, Ordering::Release);
                "ok".to_owned()
            }
            [
                "append",
                index_off,
                slots_off,
                slots,
                writer,
                count,
                size,
                arrive_off,
                start_off,
                ms,
            ] => {
                let index = aligned(map, num(index_off)?)?;
                let (slots_off, slots): (usize, usize) = (num(slots_off)?, num(slots)?);
                let (writer, count, size): (u8, u16, usize) =
                    (num(writer)?, num(count)?, num(size)?);
                in_bounds(map, slots_off, slots.checked_mul(size).ok_or("overflow")?)?;
                let arrive = aligned(map, num(arrive_off)?)?;
                let start = aligned(map, num(start_off)?)?;
                arrive.fetch_add(1, Ordering::AcqRel);
                if let Err(v) = yield_until(start, |v| v != 0, Duration::from_millis(num(ms)?)) {
                    return Ok(format!("timeout start flag still {v}"));
                }
                for seq in 0..count {
                    let slot = index.fetch_add(1, Ordering::AcqRel) as usize;
                    if slot >= slots {
                        return Ok(format!("err 0 slot {slot} beyond the {slots} slots"));
                    }
                    map.write(
                        slots_off + slot * size,
                        &crate::channel::record(writer, seq, size),
                    );
                }
                format!("ok {count}")
            }
            [
                "follow",
                seq_off,
                slots_off,
                count,
                size,
                arrive_off,
                ack_off,
                ms,
            ] => {
                let seq = aligned(map, num(seq_off)?)?;
                let (slots_off, count, size): (usize, u32, usize) =
                    (num(slots_off)?, num(count)?, num(size)?);
                in_bounds(map, slots_off, count as usize * size)?;
                let arrive = aligned(map, num(arrive_off)?)?;
                let ack = aligned(map, num(ack_off)?)?;
                let deadline = Instant::now() + Duration::from_millis(num(ms)?);
                arrive.fetch_add(1, Ordering::AcqRel);
                let (mut seen, mut whole, mut torn, mut observations) = (0u32, 0u32, 0u32, 0u32);
                while seen < count {
                    let published = match yield_until(
                        seq,
                        |v| v > seen,
                        deadline.saturating_duration_since(Instant::now()),
                    ) {
                        Ok(v) => v.min(count),
                        Err(v) => {
                            return Ok(format!(
                                "timeout {seen} of {count} records seen, sequence {v}"
                            ));
                        }
                    };
                    observations += 1;
                    for i in seen..published {
                        let got = map.read(slots_off + i as usize * size, size);
                        if got == crate::channel::record(0, i as u16, size) {
                            whole += 1;
                        } else {
                            torn += 1;
                        }
                    }
                    seen = published;
                    ack.store(seen, Ordering::Release);
                }
                format!("ok {whole} {torn} {observations}")
            }
            #[cfg(unix)]
            ["fdprobe", off] => {
                let off: usize = num(off)?;
                let fd = aligned(map, off)?.load(Ordering::Acquire);
                in_bounds(map, off + 8, 16)?;
                let b = map.read(off + 8, 16);
                let dev = u64::from_ne_bytes(b[..8].try_into().expect("8 bytes"));
                let ino = u64::from_ne_bytes(b[8..].try_into().expect("8 bytes"));
                // SAFETY: fstat on a bare number: only inspects whatever that
                // number names in this process (if anything), never closes it.
                let fd_b = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd as i32) };
                match nix::sys::stat::fstat(fd_b) {
                    Ok(st) if wide_id(st.st_dev) == dev && wide_id(st.st_ino) == ino => {
                        format!("same {fd}")
                    }
                    Ok(st) => format!(
                        "different {fd} {} {}",
                        wide_id(st.st_dev),
                        wide_id(st.st_ino)
                    ),
                    Err(e) => err_line(&e.into()),
                }
            }
            ["sync"] => match map.sync() {
                Ok(()) => "ok".to_owned(),
                Err(e) => err_line(&e),
            },
            _ => format!("err 0 unknown command {:?}", words.join(" ")),
        })
    }

    #[cfg(unix)]
    /// st_dev and st_ino widened to u64 (their types differ per target: i32 or
    /// u64 device numbers, u64 inodes).
    pub(super) fn wide_id<T: Into<i128>>(x: T) -> u64 {
        x.into() as u64
    }

    /// The bytes of a peer's `data <hex>` answer; anything else ends the check
    /// with an error naming the request.
    pub fn data_of(answer: &str, what: &str) -> crate::observe::Checked<Vec<u8>> {
        answer.strip_prefix("data ").and_then(unhex).ok_or_else(|| {
            crate::observe::Observation::error(format!("{what}: the peer answered {answer:?}"))
        })
    }

    /// Ends the check with an error unless the peer answered `ok...`.
    pub fn ok_of(answer: &str, what: &str) -> crate::observe::Checked<()> {
        if answer == "ok" || answer.starts_with("ok ") {
            Ok(())
        } else {
            Err(crate::observe::Observation::error(format!(
                "{what}: the peer answered {answer:?}"
            )))
        }
    }

    /// Fresh random printable bytes (a pattern no earlier run left behind).
    pub fn pattern(len: usize) -> Vec<u8> {
        crate::names::random_hex(len).into_bytes()
    }
}

/// Unix only: getrusage, System V keys, process-shared pthread objects, the
/// `shm.*` peer roles.
#[cfg(unix)]
mod unix {
    use std::io;
    use std::os::fd::{AsRawFd, BorrowedFd};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    use super::common::*;

    // --------------------------------------------------------- CPU accounting

    /// What getrusage(RUSAGE_SELF) says of this process so far.
    #[derive(Debug, Clone, Copy)]
    pub struct Usage {
        /// User + system CPU time, microseconds.
        pub cpu_us: u64,
        /// Voluntary context switches (the process blocked).
        pub voluntary: u64,
        /// Involuntary context switches (the process was preempted).
        pub involuntary: u64,
    }

    impl Usage {
        pub fn now() -> io::Result<Usage> {
            use nix::sys::resource::{UsageWho, getrusage};
            let u = getrusage(UsageWho::RUSAGE_SELF)?;
            // time_t and suseconds_t differ per target (i32 on some).
            #[allow(clippy::unnecessary_cast)]
            let us = |t: nix::sys::time::TimeVal| {
                (t.tv_sec() as i64 * 1_000_000 + t.tv_usec() as i64).max(0) as u64
            };
            Ok(Usage {
                cpu_us: us(u.user_time()) + us(u.system_time()),
                voluntary: u.voluntary_context_switches().max(0) as u64,
                involuntary: u.involuntary_context_switches().max(0) as u64,
            })
        }

        /// What happened between `earlier` and this one.
        pub fn since(&self, earlier: &Usage) -> Usage {
            Usage {
                cpu_us: self.cpu_us.saturating_sub(earlier.cpu_us),
                voluntary: self.voluntary.saturating_sub(earlier.voluntary),
                involuntary: self.involuntary.saturating_sub(earlier.involuntary),
            }
        }
    }

    // ------------------------------------------------------------- SysV keys

    /// A fresh System V key with the suite's mark (see [`crate::names::sysv_key`]).
    /// Callers create with IPC_EXCL and draw again on EEXIST, so a key already in
    /// use is never taken over.
    pub fn ipc_key() -> libc::key_t {
        crate::names::sysv_key() as libc::key_t
    }

    // ---------------------------------------------- process-shared pthreads

    /// A mutex and a condition variable at the start of a shared mapping, with the
    /// flag word of the guide's example at [`SYNC_FLAG`], its data at
    /// [`SYNC_DATA`] and the consumer's result at [`SYNC_RESULT`].
    #[repr(C)]
    struct SyncBlock {
        mutex: libc::pthread_mutex_t,
        cond: libc::pthread_cond_t,
    }

    cfg_if::cfg_if! {
        if #[cfg(target_os = "android")] {
            /// bionic's <pthread.h> defines it as 1 and implements
            /// pthread_{mutex,cond}attr_setpshared; the libc crate's Android
            /// module lacks the constant.
            pub const PTHREAD_PROCESS_SHARED: libc::c_int = 1;
        } else {
            pub use libc::PTHREAD_PROCESS_SHARED;
        }
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

    fn check_rc(rc: libc::c_int, what: &str) -> io::Result<()> {
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
    fn realtime_deadline(left: Duration) -> libc::timespec {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        *nix::sys::time::TimeSpec::from_duration(now + left).as_ref()
    }

    impl<'a> SharedSync<'a> {
        /// Initialises the mutex and condition variable PTHREAD_PROCESS_SHARED at
        /// the start of `map` (the creator, before any other process uses them).
        pub fn init(map: &'a Mapping) -> io::Result<SharedSync<'a>> {
            assert!(map.len() >= SYNC_LEN);
            let block = map
                .at(0, std::mem::size_of::<SyncBlock>())
                .cast::<SyncBlock>();
            // SAFETY: block points to suitably aligned (page start) memory inside
            // the live mapping that no other process uses yet; the attribute
            // objects live on this stack frame and are destroyed after use.
            unsafe {
                let mut ma = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
                check_rc(
                    libc::pthread_mutexattr_init(ma.as_mut_ptr()),
                    "pthread_mutexattr_init",
                )?;
                let rc =
                    libc::pthread_mutexattr_setpshared(ma.as_mut_ptr(), PTHREAD_PROCESS_SHARED);
                let rc2 = if rc == 0 {
                    libc::pthread_mutex_init(&raw mut (*block).mutex, ma.as_ptr())
                } else {
                    0
                };
                libc::pthread_mutexattr_destroy(ma.as_mut_ptr());
                check_rc(rc, "pthread_mutexattr_setpshared(PTHREAD_PROCESS_SHARED)")?;
                check_rc(rc2, "pthread_mutex_init")?;

                let mut ca = std::mem::MaybeUninit::<libc::pthread_condattr_t>::uninit();
                check_rc(
                    libc::pthread_condattr_init(ca.as_mut_ptr()),
                    "pthread_condattr_init",
                )?;
                let rc = libc::pthread_condattr_setpshared(ca.as_mut_ptr(), PTHREAD_PROCESS_SHARED);
                let rc2 = if rc == 0 {
                    libc::pthread_cond_init(&raw mut (*block).cond, ca.as_ptr())
                } else {
                    0
                };
                libc::pthread_condattr_destroy(ca.as_mut_ptr());
                if rc != 0 || rc2 != 0 {
                    libc::pthread_mutex_destroy(&raw mut (*block).mutex);
                }
                check_rc(rc, "pthread_condattr_setpshared(PTHREAD_PROCESS_SHARED)")?;
                check_rc(rc2, "pthread_cond_init")?;
            }
            map.atomic(SYNC_FLAG).store(EMPTY, Ordering::Release);
            Ok(SharedSync { map, block })
        }

        /// Uses objects another process initialised in `map`.
        pub fn attach(map: &'a Mapping) -> SharedSync<'a> {
            let block = map
                .at(0, std::mem::size_of::<SyncBlock>())
                .cast::<SyncBlock>();
            SharedSync { map, block }
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
            let m = unsafe { &raw mut (*self.block).mutex };
            cfg_if::cfg_if! {
                if #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))] {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let ts = realtime_deadline(left);
                    // SAFETY: m is a live process-shared mutex; ts outlives the call.
                    let rc = unsafe { libc::pthread_mutex_timedlock(m, &ts) };
                    if rc == libc::ETIMEDOUT {
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "pthread_mutex_timedlock: not acquired within the bound"));
                    }
                    check_rc(rc, "pthread_mutex_timedlock")?;
                } else {
                    // No pthread_mutex_timedlock here: try, yielding, until the deadline.
                    loop {
                        // SAFETY: m is a live process-shared mutex.
                        let rc = unsafe { libc::pthread_mutex_trylock(m) };
                        if rc == 0 {
                            break;
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
            Ok(Locked { sync: self })
        }

        /// Destroys the condition variable and the mutex (the creator, once no
        /// other process uses them).
        pub fn destroy(self) {
            // SAFETY: both objects are initialised and, by the caller's contract,
            // no longer used by any process.
            unsafe {
                libc::pthread_cond_destroy(&raw mut (*self.block).cond);
                libc::pthread_mutex_destroy(&raw mut (*self.block).mutex);
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
            let ts = realtime_deadline(deadline.saturating_duration_since(Instant::now()));
            // SAFETY: the condition variable and mutex are live process-shared
            // objects; this thread holds the mutex (this guard exists).
            let rc = unsafe {
                libc::pthread_cond_timedwait(
                    &raw mut (*self.sync.block).cond,
                    &raw mut (*self.sync.block).mutex,
                    &ts,
                )
            };
            match rc {
                0 => Ok(true),
                libc::ETIMEDOUT => Ok(false),
                rc => check_rc(rc, "pthread_cond_timedwait").map(|_| false),
            }
        }

        /// One pthread_cond_timedwait of at most `left`, its return code as is:
        /// 0 (woken), ETIMEDOUT, or EINVAL where the implementation refuses the
        /// wait (macOS: another waiter's mutex address is recorded, see
        /// `second_waiter_rule`).
        pub fn wait_rc(&self, left: Duration) -> libc::c_int {
            let ts = realtime_deadline(left);
            // SAFETY: the condition variable and mutex are live process-shared
            // objects; this thread holds the mutex (this guard exists).
            unsafe {
                libc::pthread_cond_timedwait(
                    &raw mut (*self.sync.block).cond,
                    &raw mut (*self.sync.block).mutex,
                    &ts,
                )
            }
        }

        pub fn signal(&self) -> io::Result<()> {
            // SAFETY: a live process-shared condition variable.
            check_rc(
                unsafe { libc::pthread_cond_signal(&raw mut (*self.sync.block).cond) },
                "pthread_cond_signal",
            )
        }

        pub fn broadcast(&self) -> io::Result<()> {
            // SAFETY: a live process-shared condition variable.
            check_rc(
                unsafe { libc::pthread_cond_broadcast(&raw mut (*self.sync.block).cond) },
                "pthread_cond_broadcast",
            )
        }
    }

    impl Drop for Locked<'_, '_> {
        fn drop(&mut self) {
            // SAFETY: this thread holds the mutex (the guard exists only then).
            unsafe {
                libc::pthread_mutex_unlock(&raw mut (*self.sync.block).mutex);
            }
        }
    }

    /// The descriptor number, device and inode the `fdprobe` command reads, as
    /// stored at `off` of `map` (u32 number, then u64 device and inode at +8).
    pub fn store_fd_identity(
        map: &Mapping,
        off: usize,
        fd: BorrowedFd<'_>,
    ) -> io::Result<(u32, u64, u64)> {
        let st = nix::sys::stat::fstat(fd)?;
        let (n, dev, ino) = (
            fd.as_raw_fd() as u32,
            wide_id(st.st_dev),
            wide_id(st.st_ino),
        );
        map.write(off + 8, &dev.to_ne_bytes());
        map.write(off + 16, &ino.to_ne_bytes());
        map.atomic(off).store(n, Ordering::Release);
        Ok((n, dev, ino))
    }

    // --------------------------------------------------------- shm.* roles

    /// What the consumer of the guide's example does to the data: reverses it.
    pub fn process(data: &[u8]) -> Vec<u8> {
        data.iter().rev().copied().collect()
    }

    pub(super) fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
        match (role, args) {
            // The waiter maps a POSIX shared-memory object: none on bionic.
            #[cfg(not(target_os = "android"))]
            ("shm-waiter", [name, len]) => Some(waiter(name, len)),
            #[cfg(not(target_os = "android"))]
            ("shm-condvar-same-address", [name, len]) => Some(same_address_probe(name, len)),
            _ => None,
        }
    }

    /// What a second wait on a process-shared condition variable returned while
    /// another process's wait was pending, in words.
    ///
    /// macOS records the waiting mutex's address in the condition variable
    /// (`cond->busy = mutex`, cleared when no waiter is left) and refuses a wait
    /// through a mutex at any other address with EINVAL (apple-oss-distributions/
    /// libpthread src/pthread_cond.c, _pthread_cond_wait: `if (!ulock &&
    /// cond->busy != NULL && cond->busy != mutex) return EINVAL;` and
    /// _pthread_psynch_cond_wait, _pthread_cond_updateval). Two processes that
    /// map the object separately usually see it at different addresses; a child
    /// forked after the mapping sees the parent's.
    pub fn second_waiter_rule(rc: libc::c_int) -> String {
        match rc {
            0 | libc::ETIMEDOUT => format!(
                "accepted ({})",
                if rc == 0 {
                    "woken"
                } else {
                    "ETIMEDOUT after its 20 ms"
                }
            ),
            rc => format!("refused: {}", crate::sys::errno_name(rc)),
        }
    }

    /// `shm-condvar-same-address <name> <len>`: maps the object, forks (the
    /// child sees the mapping, so the mutex, at the parent's address), lets the
    /// child wait on the condition variable, and while that wait is pending
    /// waits once more from the parent through the same mutex address.
    /// Answers `probe <rc> child <exit>`.
    #[cfg(not(target_os = "android"))]
    fn same_address_probe(name: &str, len: &str) -> Result<(), String> {
        use crate::sys::fork::{Forked, exit_child, fork, kill, wait_child};
        const IN_WAIT: u32 = 1;
        const RELEASED: u32 = 2;
        let len: usize = num(len)?;
        let obj = crate::mech::posix_shm::Object::open(name, len)
            .map_err(|e| format!("open {name}: {}", crate::observe::describe_io_error(&e)))?;
        let sync = SharedSync::attach(&obj.map);
        let word = obj.map.atomic(SYNC_PROBE);
        word.store(0, Ordering::Release);
        let deadline = Instant::now() + crate::watchdog::BOUND;
        match fork().map_err(|e| format!("fork: {e}"))? {
            Forked::Child => {
                // Announce the wait while holding the mutex: the parent, once it
                // holds the mutex and sees IN_WAIT, knows this wait is pending.
                let code = match sync.lock(deadline) {
                    Err(_) => 3,
                    Ok(locked) => {
                        word.store(IN_WAIT, Ordering::Release);
                        let mut code = 0;
                        while word.load(Ordering::Acquire) != RELEASED {
                            let left = deadline.saturating_duration_since(Instant::now());
                            match locked.wait_rc(left) {
                                0 => {}
                                libc::ETIMEDOUT => {
                                    code = 4;
                                    break;
                                }
                                _ => {
                                    code = 5;
                                    break;
                                }
                            }
                        }
                        drop(locked);
                        code
                    }
                };
                exit_child(code)
            }
            Forked::Parent(pid) => {
                let rc = loop {
                    let locked = match sync.lock(deadline) {
                        Ok(l) => l,
                        Err(e) => {
                            kill(pid);
                            let _ = wait_child(pid);
                            return Err(format!("lock: {e}"));
                        }
                    };
                    if word.load(Ordering::Acquire) == IN_WAIT {
                        let rc = locked.wait_rc(PROBE_WAIT);
                        word.store(RELEASED, Ordering::Release);
                        let _ = locked.broadcast();
                        break rc;
                    }
                    drop(locked);
                    if Instant::now() >= deadline {
                        kill(pid);
                        let _ = wait_child(pid);
                        return Err("the forked child never waited".into());
                    }
                    std::thread::yield_now();
                };
                // The child's own waits end by its deadline: this wait is bounded.
                let child = match wait_child(pid) {
                    Ok(code) => code.to_string(),
                    Err(e) => e.replace(' ', "_"),
                };
                say(&format!("probe {rc} child {child}"))
            }
        }
    }

    #[cfg(not(target_os = "android"))]
    fn waiter(name: &str, len: &str) -> Result<(), String> {
        let len: usize = num(len)?;
        let obj = crate::mech::posix_shm::Object::open(name, len)
            .map_err(|e| format!("open {name}: {}", crate::observe::describe_io_error(&e)))?;
        let sync = SharedSync::attach(&obj.map);
        serve_memory(&obj.map, &mut |words: &[&str]| match words {
            ["wait", how, then, ms] => Some(wait_for_ready(&sync, how, then, ms)),
            _ => None,
        })
    }

    /// `wait <spin|cond> <leave|process> <ms>`.
    #[cfg(not(target_os = "android"))]
    fn wait_for_ready(
        sync: &SharedSync<'_>,
        how: &str,
        then: &str,
        ms: &str,
    ) -> Result<String, String> {
        let bound = Duration::from_millis(num(ms)?);
        let process_it = match then {
            "process" => true,
            "leave" => false,
            _ => return Err(format!("bad wait mode {then:?}")),
        };
        let usage0 = Usage::now().map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        let deadline = t0 + bound;
        let mut wakeups: u64 = 0;
        match how {
            "spin" => {
                // The guide's mistake: while (shared->flag != READY) {}
                say("waiting")?;
                match spin_until(sync.flag(), |v| v == READY, bound) {
                    Ok((_, spins)) => wakeups = spins,
                    Err(v) => return Ok(format!("timeout flag {v}")),
                }
                if process_it {
                    let data = sync.map().read(SYNC_DATA, SYNC_DATA_LEN);
                    sync.map().write(SYNC_RESULT, &process(&data));
                    sync.flag().store(PROCESSED, Ordering::Release);
                }
            }
            "cond" => {
                // The guide's correction, line by line.
                let locked = match sync.lock(deadline) {
                    Ok(l) => l,
                    Err(e) => return Ok(err_line(&e)),
                };
                say("waiting")?;
                while sync.flag().load(Ordering::Acquire) != READY {
                    match locked.wait(deadline) {
                        Ok(true) => wakeups += 1,
                        Ok(false) => {
                            return Ok(format!(
                                "timeout flag {}",
                                sync.flag().load(Ordering::Acquire)
                            ));
                        }
                        Err(e) => return Ok(err_line(&e)),
                    }
                }
                if process_it {
                    let data = sync.map().read(SYNC_DATA, SYNC_DATA_LEN);
                    sync.map().write(SYNC_RESULT, &process(&data));
                    sync.flag().store(PROCESSED, Ordering::Release);
                    if let Err(e) = locked.signal() {
                        return Ok(err_line(&e));
                    }
                }
                drop(locked);
            }
            _ => return Err(format!("bad wait kind {how:?}")),
        }
        let wall = t0.elapsed().as_micros();
        let u = Usage::now().map_err(|e| e.to_string())?.since(&usage0);
        Ok(format!(
            "ok {} {wall} {wakeups} {} {}",
            u.cpu_us, u.voluntary, u.involuntary
        ))
    }
}

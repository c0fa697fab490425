//! The guide's "Linux newcomers": memfd, pidfd and io_uring. Only their
//! availability is claimed; this module has the narrow system-call helpers the
//! checks need (nix has no wrapper for pidfd_open or io_uring) and the
//! `pidfd-child` peer role, a process to watch through a pidfd.

/// Peer roles: `pidfd-child` prints `ready <pid>` and exits on `quit` or at end
/// of input.
pub fn peer_role(role: &str, _args: &[String]) -> Option<Result<(), String>> {
    match role {
        "pidfd-child" => Some(pidfd_child()),
        _ => None,
    }
}

fn pidfd_child() -> Result<(), String> {
    use std::io::{BufRead, Write};
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", std::process::id())
        .and_then(|_| out.flush())
        .map_err(|e| e.to_string())?;
    for line in std::io::stdin().lock().lines() {
        if line.map_err(|e| e.to_string())?.trim() == "quit" {
            break;
        }
    }
    Ok(())
}

/// Stores `bytes` at `offset` through a MAP_SHARED mapping of the first `len`
/// bytes of `fd`, then unmaps it.
#[cfg(unix)]
pub fn store_through_shared_mapping(
    fd: std::os::fd::BorrowedFd<'_>,
    len: usize,
    offset: usize,
    bytes: &[u8],
) -> std::io::Result<()> {
    use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};
    let Some(length) = std::num::NonZeroUsize::new(len) else {
        return Err(std::io::Error::other("empty mapping"));
    };
    if offset + bytes.len() > len {
        return Err(std::io::Error::other("store beyond the mapping"));
    }
    // SAFETY: a fresh shared mapping of `len` bytes of `fd` (which the caller has
    // sized to at least `len`); no other Rust object aliases it.
    let ptr = unsafe {
        mmap(
            None,
            length,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
            fd,
            0,
        )
    }?;
    // SAFETY: offset + bytes.len() <= len (checked above), so the copy stays inside
    // the mapping; the source is a live slice that cannot overlap the new mapping.
    // Then the mapping made above is unmapped with its own address and length.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            ptr.as_ptr().cast::<u8>().add(offset),
            bytes.len(),
        );
        munmap(ptr, len)?;
    }
    Ok(())
}

#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
    use std::ptr::NonNull;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// pidfd_open(2): a descriptor that refers to process `pid`.
    pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
        // SAFETY: the system call takes a pid and flags and returns a new
        // descriptor (close-on-exec, per pidfd_open(2)) or -1.
        let rc = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor the kernel just returned, owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(rc as i32) })
    }

    // The io_uring ABI (include/uapi/linux/io_uring.h).
    #[repr(C)]
    #[derive(Default, Debug)]
    struct SqOffsets {
        head: u32,
        tail: u32,
        ring_mask: u32,
        ring_entries: u32,
        flags: u32,
        dropped: u32,
        array: u32,
        resv1: u32,
        user_addr: u64,
    }

    #[repr(C)]
    #[derive(Default, Debug)]
    struct CqOffsets {
        head: u32,
        tail: u32,
        ring_mask: u32,
        ring_entries: u32,
        overflow: u32,
        cqes: u32,
        flags: u32,
        resv1: u32,
        user_addr: u64,
    }

    #[repr(C)]
    #[derive(Default, Debug)]
    struct Params {
        sq_entries: u32,
        cq_entries: u32,
        flags: u32,
        sq_thread_cpu: u32,
        sq_thread_idle: u32,
        features: u32,
        wq_fd: u32,
        resv: [u32; 3],
        sq_off: SqOffsets,
        cq_off: CqOffsets,
    }

    #[repr(C)]
    #[derive(Default)]
    struct Sqe {
        opcode: u8,
        flags: u8,
        ioprio: u16,
        fd: i32,
        off: u64,
        addr: u64,
        len: u32,
        op_flags: u32,
        user_data: u64,
        buf_index: u16,
        personality: u16,
        splice_fd_in: i32,
        addr3: u64,
        pad: u64,
    }

    #[repr(C)]
    struct Cqe {
        user_data: u64,
        res: i32,
        flags: u32,
    }

    const _: () = assert!(std::mem::size_of::<Params>() == 120);
    const _: () = assert!(std::mem::size_of::<Sqe>() == 64);
    const _: () = assert!(std::mem::size_of::<Cqe>() == 16);

    // The mmap offsets the io_uring ABI names; each fits a 32-bit off_t.
    const IORING_OFF_SQ_RING: libc::off_t = 0;
    const IORING_OFF_CQ_RING: libc::off_t = 0x800_0000;
    const IORING_OFF_SQES: libc::off_t = 0x1000_0000;
    const IORING_OP_NOP: u8 = 0;
    const IORING_ENTER_GETEVENTS: u32 = 1;

    /// A shared mapping of part of the ring descriptor, unmapped on drop.
    struct Map {
        ptr: NonNull<libc::c_void>,
        len: usize,
    }

    impl Map {
        fn new(fd: &OwnedFd, len: usize, offset: libc::off_t) -> io::Result<Map> {
            use nix::sys::mman::{MapFlags, ProtFlags, mmap};
            let length = std::num::NonZeroUsize::new(len)
                .ok_or_else(|| io::Error::other("empty ring region"))?;
            // SAFETY: a fresh shared mapping of the ring region at `offset` of the
            // io_uring descriptor, `len` bytes as the kernel's offsets describe.
            let ptr = unsafe {
                mmap(
                    None,
                    length,
                    ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                    MapFlags::MAP_SHARED | MapFlags::MAP_POPULATE,
                    fd.as_fd(),
                    offset,
                )
            }?;
            Ok(Map { ptr, len })
        }

        /// A pointer `off` bytes into the mapping, checked to hold a `T`.
        fn at<T>(&self, off: u32) -> io::Result<*mut T> {
            let off = off as usize;
            if off + std::mem::size_of::<T>() > self.len || off % std::mem::align_of::<T>() != 0 {
                return Err(io::Error::other(format!(
                    "ring offset {off} outside its {} byte region",
                    self.len
                )));
            }
            // SAFETY: in bounds and aligned (checked above).
            Ok(unsafe { self.ptr.as_ptr().cast::<u8>().add(off).cast::<T>() })
        }
    }

    impl Drop for Map {
        fn drop(&mut self) {
            // SAFETY: unmaps exactly the region this value mapped.
            let _ = unsafe { nix::sys::mman::munmap(self.ptr, self.len) };
        }
    }

    /// What one NOP through a fresh ring showed.
    #[derive(Debug)]
    pub struct NopReport {
        pub sq_entries: u32,
        pub cq_entries: u32,
        pub features: u32,
        /// io_uring_enter's return value (a C long).
        pub submitted: libc::c_long,
        /// (user_data, res) of the completion, if one arrived.
        pub completion: Option<(u64, i32)>,
    }

    /// The user_data the NOP carries, to recognise its completion.
    pub const NOP_USER_DATA: u64 = 0x01c0_ffee;

    fn setup(entries: u32) -> io::Result<(OwnedFd, Params)> {
        let mut p = Params::default();
        // SAFETY: io_uring_setup writes the kernel's answer into `p`, a live
        // struct with the ABI's layout (size asserted above).
        let rc = unsafe { libc::syscall(libc::SYS_io_uring_setup, entries, &raw mut p) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor the kernel just returned (close-on-exec by default).
        Ok((unsafe { OwnedFd::from_raw_fd(rc as i32) }, p))
    }

    /// Sets up a ring of `entries`, submits one NOP and reaps its completion.
    pub fn nop_roundtrip(entries: u32) -> io::Result<NopReport> {
        let (fd, p) = setup(entries)?;
        let sq_len = p.sq_off.array as usize + p.sq_entries as usize * 4;
        let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * std::mem::size_of::<Cqe>();
        let sq = Map::new(&fd, sq_len, IORING_OFF_SQ_RING)?;
        let cq = Map::new(&fd, cq_len, IORING_OFF_CQ_RING)?;
        let sqes = Map::new(
            &fd,
            p.sq_entries as usize * std::mem::size_of::<Sqe>(),
            IORING_OFF_SQES,
        )?;
        let sq_tail = sq.at::<u32>(p.sq_off.tail)?;
        let sq_mask = sq.at::<u32>(p.sq_off.ring_mask)?;
        let cq_head = cq.at::<u32>(p.cq_off.head)?;
        let cq_tail = cq.at::<u32>(p.cq_off.tail)?;
        let cq_mask = cq.at::<u32>(p.cq_off.ring_mask)?;
        // SAFETY: every pointer comes from `Map::at`, in bounds and aligned inside a
        // live mapping of the ring; the head/tail words the kernel also touches are
        // accessed only through atomics (AtomicU32 has u32's layout); the SQE slot
        // and the array entry are written before the tail is published with
        // Release, and the CQE is read after its tail is loaded with Acquire, as
        // the io_uring ABI requires.
        unsafe {
            let mask = *sq_mask;
            let tail = AtomicU32::from_ptr(sq_tail).load(Ordering::Acquire);
            let slot = tail & mask;
            let sqe = sqes.at::<Sqe>(slot * std::mem::size_of::<Sqe>() as u32)?;
            sqe.write(Sqe {
                opcode: IORING_OP_NOP,
                user_data: NOP_USER_DATA,
                ..Sqe::default()
            });
            let array = sq.at::<u32>(p.sq_off.array + slot * 4)?;
            array.write(slot);
            AtomicU32::from_ptr(sq_tail).store(tail.wrapping_add(1), Ordering::Release);
        }
        // SAFETY: io_uring_enter with integer arguments and a null signal mask.
        let submitted = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                fd.as_raw_fd(),
                1u32,
                1u32,
                IORING_ENTER_GETEVENTS,
                std::ptr::null::<libc::c_void>(),
                0usize,
            )
        };
        if submitted < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above: atomics for the shared head/tail, the CQE read after the
        // Acquire load of the tail that published it, inside the CQ mapping.
        let completion = unsafe {
            let head = AtomicU32::from_ptr(cq_head).load(Ordering::Acquire);
            let tail = AtomicU32::from_ptr(cq_tail).load(Ordering::Acquire);
            if head == tail {
                None
            } else {
                let idx = head & *cq_mask;
                let cqe = cq
                    .at::<Cqe>(p.cq_off.cqes + idx * std::mem::size_of::<Cqe>() as u32)?
                    .read();
                AtomicU32::from_ptr(cq_head).store(head.wrapping_add(1), Ordering::Release);
                Some((cqe.user_data, cqe.res))
            }
        };
        drop((sqes, cq, sq));
        Ok(NopReport {
            sq_entries: p.sq_entries,
            cq_entries: p.cq_entries,
            features: p.features,
            submitted,
            completion,
        })
    }

    /// Why io_uring may be refused with EPERM here: the sysctl and the seccomp
    /// mode of this process, as the system reports them.
    pub fn io_uring_policy() -> String {
        let sysctl = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
            .map(|s| format!("kernel.io_uring_disabled = {}", s.trim()))
            .unwrap_or_else(|e| format!("kernel.io_uring_disabled unreadable ({e})"));
        let seccomp = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("Seccomp:"))
                    .map(|l| l.split_whitespace().last().unwrap_or("?").to_owned())
            })
            .map(|m| format!("Seccomp mode {m} (0 none, 1 strict, 2 filter)"))
            .unwrap_or_else(|| "Seccomp mode unknown".to_owned());
        format!("{sysctl}; {seccomp}")
    }
}

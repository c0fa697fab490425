//! The guide's "Linux newcomers" (memfd, pidfd, io_uring) and the IPC
//! facilities Linux added since 5.10 (memfd_secret, MFD_NOEXEC_SEAL, the futex2
//! calls, IORING_OP_MSG_RING, PIDFD_THREAD and pidfs, Landlock's IPC scopes).
//! This module has the narrow system-call helpers the checks need (nix has no
//! wrapper for pidfd_open or io_uring; the newer calls are in `sys::linux`)
//! and two peer roles: `pidfd-child`, a process to watch through a pidfd, and
//! `landlock-scoped`, a process that confines itself with a Landlock scope and
//! tries an IPC operation before and after.

use crate::peer::codec::Dash;
use crate::peer::wire::messages;

/// Peer roles:
/// - `pidfd-child` prints `ready <pid>` and exits on `quit` or at end of input;
/// - `landlock-scoped abstract <name>` / `landlock-scoped signal <pid>` prints
///   one [`ScopeAnswer`] line and exits: it connects to the abstract Unix
///   socket `<name>` (or sends signal 0 to `<pid>`), confines itself to a
///   Landlock domain with the matching scope, and tries again.
pub fn peer_role(role: &str, args: &[String]) -> Option<Result<(), String>> {
    match role {
        "pidfd-child" => Some(pidfd_child()),
        "landlock-scoped" => Some(landlock_scoped(args)),
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

messages! {
    /// The answer of a `landlock-scoped` peer: the Landlock ABI version and the
    /// errno (0 for success) of the operation before and after it confined
    /// itself, or the step that failed (`abi=-` when unknown).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum ScopeAnswer: "a landlock-scoped answer" {
        /// `tried abi=<n> before=<errno> after=<errno>`
        "tried" Tried { abi: i64 = "abi", before: i32 = "before", after: i32 = "after" },
        /// `refused abi=<n|-> step=<step> errno=<errno>`
        "refused" Refused { abi: Option<i64> as Dash = "abi", step: String = "step", errno: i32 = "errno" },
    }
}

#[cfg(target_os = "linux")]
fn landlock_scoped(args: &[String]) -> Result<(), String> {
    use crate::sys::linux::{
        LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, LANDLOCK_SCOPE_SIGNAL, landlock_abi,
        landlock_scope_self,
    };
    let errno = |e: &std::io::Error| e.raw_os_error().unwrap_or(-1);
    let (scope, attempt): (u64, Box<dyn Fn() -> i32>) = match args {
        [what, name] if what == "abstract" => {
            let name = name.clone();
            let attempt = move || {
                use std::os::linux::net::SocketAddrExt;
                let r = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                    .and_then(|a| std::os::unix::net::UnixStream::connect_addr(&a));
                r.map_or_else(|e| errno(&e), |_| 0)
            };
            (LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, Box::new(attempt))
        }
        [what, pid] if what == "signal" => {
            let pid: i32 = crate::peer::codec::num(pid, "pid")?;
            let attempt = move || {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                    .map_or_else(|e| e as i32, |_| 0)
            };
            (LANDLOCK_SCOPE_SIGNAL, Box::new(attempt))
        }
        _ => {
            return Err(format!(
                "usage: landlock-scoped abstract NAME | signal PID, not {args:?}"
            ));
        }
    };
    let answer = match landlock_abi() {
        Err(e) => ScopeAnswer::Refused {
            abi: None,
            step: "abi".into(),
            errno: errno(&e),
        },
        Ok(abi) => {
            let before = attempt();
            match landlock_scope_self(scope) {
                Err(e) => ScopeAnswer::Refused {
                    abi: Some(abi),
                    step: "restrict".into(),
                    errno: errno(&e),
                },
                Ok(()) => ScopeAnswer::Tried {
                    abi,
                    before,
                    after: attempt(),
                },
            }
        }
    };
    crate::peer::answer::say(&answer.to_string())
}

#[cfg(not(target_os = "linux"))]
fn landlock_scoped(_args: &[String]) -> Result<(), String> {
    Err("Landlock is Linux's".to_owned())
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

/// Reads `len` bytes at `offset` through a fresh MAP_SHARED mapping of the
/// first `map_len` bytes of `fd`, then unmaps it.
#[cfg(unix)]
pub fn load_through_shared_mapping(
    fd: std::os::fd::BorrowedFd<'_>,
    map_len: usize,
    offset: usize,
    len: usize,
) -> std::io::Result<Vec<u8>> {
    use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};
    let Some(length) = std::num::NonZeroUsize::new(map_len) else {
        return Err(std::io::Error::other("empty mapping"));
    };
    if offset + len > map_len {
        return Err(std::io::Error::other("load beyond the mapping"));
    }
    // SAFETY: a fresh shared read-only mapping of `map_len` bytes of `fd` (which
    // the caller has sized to at least that); no Rust object aliases it.
    let ptr = unsafe {
        mmap(
            None,
            length,
            ProtFlags::PROT_READ,
            MapFlags::MAP_SHARED,
            fd,
            0,
        )
    }?;
    // SAFETY: offset + len <= map_len (checked above), so the slice lies inside
    // the mapping, which stays mapped until the copy is made; then it is
    // unmapped with its own address and length.
    let bytes = unsafe {
        let bytes = std::slice::from_raw_parts(ptr.as_ptr().cast::<u8>().add(offset), len).to_vec();
        munmap(ptr, map_len)?;
        bytes
    };
    Ok(bytes)
}

#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
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

    /// A ring: its descriptor, parameters and the three mappings.
    pub struct Ring {
        // Fields drop in this order: the mappings before the descriptor.
        sq: Map,
        cq: Map,
        sqes: Map,
        p: Params,
        fd: OwnedFd,
    }

    impl Ring {
        /// io_uring_setup of `entries` and the mappings of its rings.
        pub fn new(entries: u32) -> io::Result<Ring> {
            let mut p = Params::default();
            // SAFETY: io_uring_setup writes the kernel's answer into `p`, a live
            // struct with the ABI's layout (size asserted above).
            let rc = unsafe { libc::syscall(libc::SYS_io_uring_setup, entries, &raw mut p) };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: a descriptor the kernel just returned (close-on-exec by default).
            let fd = unsafe { OwnedFd::from_raw_fd(rc as i32) };
            let sq_len = p.sq_off.array as usize + p.sq_entries as usize * 4;
            let cq_len =
                p.cq_off.cqes as usize + p.cq_entries as usize * std::mem::size_of::<Cqe>();
            let sq = Map::new(&fd, sq_len, IORING_OFF_SQ_RING)?;
            let cq = Map::new(&fd, cq_len, IORING_OFF_CQ_RING)?;
            let sqes = Map::new(
                &fd,
                p.sq_entries as usize * std::mem::size_of::<Sqe>(),
                IORING_OFF_SQES,
            )?;
            Ok(Ring {
                sq,
                cq,
                sqes,
                p,
                fd,
            })
        }

        pub fn fd(&self) -> BorrowedFd<'_> {
            self.fd.as_fd()
        }

        /// Queues `sqe` and calls io_uring_enter to submit it, waiting for
        /// `wait` completions; returns io_uring_enter's value (a C long).
        fn submit(&self, sqe: Sqe, wait: u32) -> io::Result<libc::c_long> {
            let sq_tail = self.sq.at::<u32>(self.p.sq_off.tail)?;
            let sq_mask = self.sq.at::<u32>(self.p.sq_off.ring_mask)?;
            // SAFETY: every pointer comes from `Map::at`, in bounds and aligned
            // inside a live mapping of the ring; the tail word the kernel also
            // reads is accessed only through atomics (AtomicU32 has u32's
            // layout); the SQE slot and the array entry are written before the
            // tail is published with Release, as the io_uring ABI requires.
            unsafe {
                let mask = *sq_mask;
                let tail = AtomicU32::from_ptr(sq_tail).load(Ordering::Acquire);
                let slot = tail & mask;
                let at = slot * std::mem::size_of::<Sqe>() as u32;
                self.sqes.at::<Sqe>(at)?.write(sqe);
                self.sq
                    .at::<u32>(self.p.sq_off.array + slot * 4)?
                    .write(slot);
                AtomicU32::from_ptr(sq_tail).store(tail.wrapping_add(1), Ordering::Release);
            }
            self.enter(1, wait)
        }

        /// io_uring_enter(to_submit, min_complete, IORING_ENTER_GETEVENTS).
        fn enter(&self, to_submit: u32, wait: u32) -> io::Result<libc::c_long> {
            // SAFETY: io_uring_enter with integer arguments and a null signal mask.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_io_uring_enter,
                    self.fd.as_raw_fd(),
                    to_submit,
                    wait,
                    IORING_ENTER_GETEVENTS,
                    std::ptr::null::<libc::c_void>(),
                    0usize,
                )
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(rc)
        }

        /// The oldest completion, (user_data, res), if one is there.
        pub fn reap(&self) -> io::Result<Option<(u64, i32)>> {
            let cq_head = self.cq.at::<u32>(self.p.cq_off.head)?;
            let cq_tail = self.cq.at::<u32>(self.p.cq_off.tail)?;
            let cq_mask = self.cq.at::<u32>(self.p.cq_off.ring_mask)?;
            // SAFETY: atomics for the shared head/tail, the CQE read after the
            // Acquire load of the tail that published it, inside the CQ mapping.
            unsafe {
                let head = AtomicU32::from_ptr(cq_head).load(Ordering::Acquire);
                let tail = AtomicU32::from_ptr(cq_tail).load(Ordering::Acquire);
                if head == tail {
                    return Ok(None);
                }
                let idx = head & *cq_mask;
                let cqe = self
                    .cq
                    .at::<Cqe>(self.p.cq_off.cqes + idx * std::mem::size_of::<Cqe>() as u32)?
                    .read();
                AtomicU32::from_ptr(cq_head).store(head.wrapping_add(1), Ordering::Release);
                Ok(Some((cqe.user_data, cqe.res)))
            }
        }

        /// IORING_REGISTER_PROBE (Linux 5.6): the highest opcode this kernel
        /// knows and whether `op` is supported.
        pub fn probe(&self, op: u8) -> io::Result<(u8, bool)> {
            let mut probe = Probe {
                last_op: 0,
                ops_len: 0,
                resv: 0,
                resv2: [0; 3],
                ops: [ProbeOp::default(); 256],
            };
            // SAFETY: the kernel fills at most `nr_args` (256) entries of the
            // live probe struct, which has the ABI's layout and room for them.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_io_uring_register,
                    self.fd.as_raw_fd(),
                    IORING_REGISTER_PROBE,
                    &raw mut probe,
                    256u32,
                )
            };
            if rc < 0 {
                return Err(io::Error::last_os_error());
            }
            let known = usize::from(op) < usize::from(probe.ops_len);
            let supported = known && probe.ops[usize::from(op)].flags & IO_URING_OP_SUPPORTED != 0;
            Ok((probe.last_op, supported))
        }
    }

    #[repr(C)]
    #[derive(Default, Clone, Copy)]
    struct ProbeOp {
        op: u8,
        resv: u8,
        flags: u16,
        resv2: u32,
    }

    #[repr(C)]
    struct Probe {
        last_op: u8,
        ops_len: u8,
        resv: u16,
        resv2: [u32; 3],
        ops: [ProbeOp; 256],
    }

    const IORING_REGISTER_PROBE: u32 = 8;
    const IO_URING_OP_SUPPORTED: u16 = 1;
    /// IORING_OP_MSG_RING (Linux 5.18): post a completion to another ring.
    pub const IORING_OP_MSG_RING: u8 = 40;

    /// Sets up a ring of `entries`, submits one NOP and reaps its completion.
    pub fn nop_roundtrip(entries: u32) -> io::Result<NopReport> {
        let ring = Ring::new(entries)?;
        let submitted = ring.submit(
            Sqe {
                opcode: IORING_OP_NOP,
                user_data: NOP_USER_DATA,
                ..Sqe::default()
            },
            1,
        )?;
        Ok(NopReport {
            sq_entries: ring.p.sq_entries,
            cq_entries: ring.p.cq_entries,
            features: ring.p.features,
            submitted,
            completion: ring.reap()?,
        })
    }

    /// What one IORING_OP_MSG_RING from one ring to another showed.
    #[derive(Debug)]
    pub struct MsgRingReport {
        /// The probe's highest known opcode and whether MSG_RING is supported.
        pub probe: io::Result<(u8, bool)>,
        /// The sending ring's completion (user_data, res).
        pub sender: Option<(u64, i32)>,
        /// What arrived on the target ring (user_data, res).
        pub target: Option<(u64, i32)>,
    }

    /// The user_data and result the message carries to the target ring.
    pub const MSG_USER_DATA: u64 = 0x5eed_0001;
    pub const MSG_RES: u32 = 0x2a;
    /// The sending SQE's own user_data.
    pub const MSG_SENDER_DATA: u64 = 0x5eed_0002;

    /// Two rings; the first sends the second a message with
    /// IORING_OP_MSG_RING (fd = the target ring, len = the result to post, off =
    /// its user_data, addr = IORING_MSG_DATA).
    pub fn msg_ring() -> io::Result<MsgRingReport> {
        let from = Ring::new(4)?;
        let to = Ring::new(4)?;
        let probe = from.probe(IORING_OP_MSG_RING);
        from.submit(
            Sqe {
                opcode: IORING_OP_MSG_RING,
                fd: to.fd.as_raw_fd(),
                len: MSG_RES,
                off: MSG_USER_DATA,
                user_data: MSG_SENDER_DATA,
                ..Sqe::default()
            },
            1,
        )?;
        let sender = from.reap()?;
        // The message is posted while the sender's SQE runs; an enter on the
        // target runs any task work that would still deliver it.
        let mut target = to.reap()?;
        if target.is_none() {
            to.enter(0, 0)?;
            target = to.reap()?;
        }
        Ok(MsgRingReport {
            probe,
            sender,
            target,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::wire::testing::{refused, round_trip_all};

    #[test]
    fn scope_answers_round_trip() {
        round_trip_all([
            ScopeAnswer::Tried {
                abi: 6,
                before: 0,
                after: 1,
            },
            ScopeAnswer::Refused {
                abi: None,
                step: "abi".into(),
                errno: 38,
            },
            ScopeAnswer::Refused {
                abi: Some(2),
                step: "restrict".into(),
                errno: 7,
            },
        ]);
        refused::<ScopeAnswer>(&[
            "tried abi=x before=0 after=0",
            "tried 6 0 1",
            "refused abi=2 step=restrict",
        ]);
    }
}
